//! The config slice over HTTP v1 against a real process: happy paths and bad input.

use reqwest::blocking::Response;
use reqwest::StatusCode;
use tests::Nacosd;

const CONFIGS: &str = "/nacos/v1/cs/configs";

fn publish(node: &Nacosd, form: &[(&str, &str)]) -> Response {
    node.http().post(node.url(CONFIGS)).form(form).send().unwrap()
}

fn get(node: &Nacosd, data_id: &str, group: &str, tenant: &str) -> Response {
    node.http()
        .get(node.url(CONFIGS))
        .query(&[("dataId", data_id), ("group", group), ("tenant", tenant)])
        .send()
        .unwrap()
}

fn content(node: &Nacosd, data_id: &str) -> Option<String> {
    let response = get(node, data_id, "DEFAULT_GROUP", "");
    match response.status() {
        StatusCode::OK => Some(response.text().unwrap()),
        StatusCode::NOT_FOUND => None,
        other => panic!("unexpected {other}: {}", response.text().unwrap()),
    }
}

/// Asserts a 4xx with a body that mentions `needle`.
fn assert_refused(response: Response, status: StatusCode, needle: &str) {
    assert_eq!(response.status(), status);
    let body = response.text().unwrap();
    assert!(body.contains(needle), "body {body:?} does not mention {needle:?}");
}

#[test]
fn publish_get_delete_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let node = Nacosd::start(&dir.path().join("node"));

    let response =
        publish(&node, &[("dataId", "app.yaml"), ("group", "DEFAULT_GROUP"), ("content", "a: 1"), ("type", "yaml")]);
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().unwrap(), "true");

    let response = get(&node, "app.yaml", "DEFAULT_GROUP", "");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-md5"], md5_of("a: 1").as_str());
    assert_eq!(response.headers()["config-type"], "yaml");
    assert_eq!(response.text().unwrap(), "a: 1");

    // "public" and "" are one namespace.
    assert_eq!(get(&node, "app.yaml", "DEFAULT_GROUP", "public").text().unwrap(), "a: 1");

    let response = node
        .http()
        .delete(node.url(CONFIGS))
        .query(&[("dataId", "app.yaml"), ("group", "DEFAULT_GROUP")])
        .send()
        .unwrap();
    assert_eq!(response.text().unwrap(), "true");
    let response = get(&node, "app.yaml", "DEFAULT_GROUP", "");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(response.text().unwrap(), "config data not exist\n");

    // Deleting what is not there succeeds, as in Nacos.
    let response =
        node.http().delete(node.url(CONFIGS)).query(&[("dataId", "never"), ("group", "DEFAULT_GROUP")]).send().unwrap();
    assert_eq!(response.text().unwrap(), "true");
}

#[test]
fn namespaces_and_groups_are_isolated_and_content_survives_unicode_and_size() {
    let dir = tempfile::tempdir().unwrap();
    let node = Nacosd::start(&dir.path().join("node"));
    let big = "x".repeat(1024 * 1024);
    let unicode = "名字: 配置中心 ✓\nemoji: 🚀\n";
    publish(&node, &[("dataId", "d"), ("group", "G1"), ("content", unicode)]);
    publish(&node, &[("dataId", "d"), ("group", "G2"), ("content", &big)]);
    publish(&node, &[("dataId", "d"), ("group", "G1"), ("tenant", "dev"), ("content", "dev")]);

    assert_eq!(get(&node, "d", "G1", "").text().unwrap(), unicode);
    assert_eq!(get(&node, "d", "G2", "").text().unwrap(), big);
    assert_eq!(get(&node, "d", "G1", "dev").text().unwrap(), "dev");
    assert_eq!(get(&node, "d", "G2", "dev").status(), StatusCode::NOT_FOUND);
}

#[test]
fn cas_publish_refuses_a_stale_md5() {
    let dir = tempfile::tempdir().unwrap();
    let node = Nacosd::start(&dir.path().join("node"));
    publish(&node, &[("dataId", "cas"), ("group", "DEFAULT_GROUP"), ("content", "v1")]);

    let stale = node
        .http()
        .post(node.url(CONFIGS))
        .header("casMd5", md5_of("something else"))
        .form(&[("dataId", "cas"), ("group", "DEFAULT_GROUP"), ("content", "v2")])
        .send()
        .unwrap();
    assert_refused(stale, StatusCode::INTERNAL_SERVER_ERROR, "Cas publish fail");
    assert_eq!(content(&node, "cas").as_deref(), Some("v1"));

    let fresh = node
        .http()
        .post(node.url(CONFIGS))
        .header("casMd5", md5_of("v1"))
        .form(&[("dataId", "cas"), ("group", "DEFAULT_GROUP"), ("content", "v2")])
        .send()
        .unwrap();
    assert_eq!(fresh.text().unwrap(), "true");
    assert_eq!(content(&node, "cas").as_deref(), Some("v2"));
}

#[test]
fn bad_input_is_refused_clearly_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let node = Nacosd::start_with(&dir.path().join("node"), &["--max-content-bytes", "4096"]);
    publish(&node, &[("dataId", "keep"), ("group", "DEFAULT_GROUP"), ("content", "original")]);

    // Missing parameters are named.
    assert_refused(publish(&node, &[("group", "DEFAULT_GROUP"), ("content", "x")]), StatusCode::BAD_REQUEST, "dataId");
    assert_refused(publish(&node, &[("dataId", "keep"), ("content", "x")]), StatusCode::BAD_REQUEST, "group");
    assert_refused(
        publish(&node, &[("dataId", "keep"), ("group", "DEFAULT_GROUP")]),
        StatusCode::BAD_REQUEST,
        "content",
    );
    assert_refused(
        publish(&node, &[("dataId", "keep"), ("group", "DEFAULT_GROUP"), ("content", "  ")]),
        StatusCode::BAD_REQUEST,
        "content",
    );
    assert_refused(
        node.http().get(node.url(CONFIGS)).query(&[("group", "DEFAULT_GROUP")]).send().unwrap(),
        StatusCode::BAD_REQUEST,
        "dataId",
    );

    // Characters and lengths Nacos rejects.
    for bad in ["a b", "a/b", "配置", "a*b"] {
        assert_refused(
            publish(&node, &[("dataId", bad), ("group", "DEFAULT_GROUP"), ("content", "x")]),
            StatusCode::BAD_REQUEST,
            "dataId",
        );
        assert_refused(
            publish(&node, &[("dataId", "keep"), ("group", bad), ("content", "x")]),
            StatusCode::BAD_REQUEST,
            "group",
        );
    }
    let long = "x".repeat(257);
    assert_refused(
        publish(&node, &[("dataId", &long), ("group", "DEFAULT_GROUP"), ("content", "x")]),
        StatusCode::BAD_REQUEST,
        "dataId",
    );
    assert_refused(
        publish(&node, &[("dataId", "keep"), ("group", &long), ("content", "x")]),
        StatusCode::BAD_REQUEST,
        "group",
    );

    // Content over the configured maximum, and a body far over it.
    let over = "y".repeat(4097);
    assert_refused(
        publish(&node, &[("dataId", "keep"), ("group", "DEFAULT_GROUP"), ("content", &over)]),
        StatusCode::PAYLOAD_TOO_LARGE,
        "4096",
    );
    let huge = "z".repeat(1024 * 1024);
    let response = publish(&node, &[("dataId", "keep"), ("group", "DEFAULT_GROUP"), ("content", &huge)]);
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // The server reads the refused body before answering (t98 checks that on a raw
    // socket) and says it closes the connection, so the next request goes on a fresh one.
    assert_eq!(response.headers().get("connection").map(|v| v.to_str().unwrap()), Some("close"));

    // Bytes that are not UTF-8, percent-encoded and raw.
    let response = node
        .http()
        .post(node.url(CONFIGS))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("dataId=keep&group=DEFAULT_GROUP&content=%FF%FE")
        .send()
        .unwrap();
    assert_refused(response, StatusCode::BAD_REQUEST, "UTF-8");
    let response = node
        .http()
        .post(node.url(CONFIGS))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(b"dataId=keep&group=DEFAULT_GROUP&content=\xff\xfe".to_vec())
        .send()
        .unwrap();
    assert_refused(response, StatusCode::BAD_REQUEST, "UTF-8");

    // Unknown paths and methods answer, they do not hang or 500.
    assert_eq!(node.http().get(node.url("/nacos/v1/cs/nothing")).send().unwrap().status(), StatusCode::NOT_FOUND);
    assert_eq!(node.http().put(node.url(CONFIGS)).send().unwrap().status(), StatusCode::METHOD_NOT_ALLOWED);

    assert_eq!(content(&node, "keep").as_deref(), Some("original"), "bad input changed stored data");
}

/// md5 as Nacos computes it, by a second implementation (the system's md5sum).
fn md5_of(text: &str) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("md5sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    String::from_utf8(output.stdout).unwrap().split_whitespace().next().unwrap().to_owned()
}
