//! Gray release by tag, beside the beta (by ip), as the gray-rule model of Nacos 2.5+ has
//! it: a publish with a `tag` stores a version for that tag; clients reading with the tag
//! (the query's `tag`, the `Vipserver-Tag` header, or the gRPC connection's label as Java's
//! client sends it) read it, others the formal config; removing with the tag stops only that
//! version; history and listeners see tag versions as they see the beta.

use reqwest::blocking::RequestBuilder;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tests::Nacosd;

use crate::t70_grpc_protocol::{payload, runtime, unary, RawClient};

const CONFIGS: &str = "/nacos/v1/cs/configs";
const KEY: [(&str, &str); 2] = [("dataId", "tagged"), ("group", "DEFAULT_GROUP")];

/// What a GET answers: content, and the `tag` / `isBeta` headers.
fn read(request: RequestBuilder) -> (String, Option<String>, bool) {
    let response = request.send().unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let tag = response.headers().get("tag").map(|tag| tag.to_str().unwrap().to_owned());
    let beta = response.headers().get("isBeta").is_some_and(|value| value == "true");
    (response.text().unwrap(), tag, beta)
}

fn get(node: &Nacosd, tag: Option<&str>) -> (String, Option<String>, bool) {
    let mut query = KEY.to_vec();
    query.extend(tag.map(|tag| ("tag", tag)));
    read(node.http().get(node.url(CONFIGS)).query(&query))
}

fn publish(node: &Nacosd, content: &str, tag: Option<&str>) -> (StatusCode, String) {
    let mut form = KEY.to_vec();
    form.push(("content", content));
    form.extend(tag.map(|tag| ("tag", tag)));
    let response = node.http().post(node.url(CONFIGS)).form(&form).send().unwrap();
    (response.status(), response.text().unwrap())
}

fn grpc_query(client: &RawClient, runtime: &tokio::runtime::Runtime, body: Value) -> Value {
    runtime.block_on(unary(&client.channel, payload("ConfigQueryRequest", &body))).1
}

#[test]
fn tag_versions_reach_only_clients_reading_with_their_tag() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = Nacosd::start(&dir.path().join("node"));
    assert_eq!(publish(&node, "formal", None).0, StatusCode::OK);
    assert_eq!(publish(&node, "for-blue", Some("blue")), (StatusCode::OK, "true".to_owned()));
    let runtime = runtime();
    // A tag publish over gRPC, as the SDKs send it (`additionMap.tag`).
    let client = runtime.block_on(RawClient::connect(&node));
    let grpc_publish = json!({
        "dataId": "tagged", "group": "DEFAULT_GROUP", "tenant": "", "content": "for-green",
        "additionMap": { "tag": "green" },
    });
    let (_, body) = runtime.block_on(unary(&client.channel, payload("ConfigPublishRequest", &grpc_publish)));
    assert_eq!(body["resultCode"], 200, "{body}");

    assert_eq!(get(&node, None), ("formal".into(), None, false));
    assert_eq!(get(&node, Some("blue")), ("for-blue".into(), Some("blue".into()), false));
    assert_eq!(get(&node, Some("green")).0, "for-green");
    assert_eq!(get(&node, Some("red")), ("formal".into(), None, false), "a tag without a version");
    let by_header = node.http().get(node.url(CONFIGS)).query(&KEY).header("Vipserver-Tag", "blue");
    assert_eq!(read(by_header).0, "for-blue");
    let v2 = node.http().get(node.url("/nacos/v2/cs/config")).query(&KEY).query(&[("tag", "green")]);
    let v2: Value = serde_json::from_str(&v2.send().unwrap().text().unwrap()).unwrap();
    assert_eq!(v2["data"], "for-green");

    // gRPC: the query's tag, a header, and the connection label Java's client sets.
    let query = json!({ "dataId": "tagged", "group": "DEFAULT_GROUP", "tenant": "", "tag": "blue" });
    let body = grpc_query(&client, &runtime, query);
    assert_eq!(
        (body["content"].as_str(), body["tag"].as_str(), body["beta"].as_bool()),
        (Some("for-blue"), Some("blue"), Some(false))
    );
    let untagged = json!({ "dataId": "tagged", "group": "DEFAULT_GROUP", "tenant": "" });
    let body = grpc_query(&client, &runtime, untagged.clone());
    assert_eq!(body["content"], "formal");
    assert!(body.get("tag").is_none(), "no tag field without a tag hit: {body}");
    let with_header =
        json!({ "dataId": "tagged", "group": "DEFAULT_GROUP", "tenant": "", "headers": { "Vipserver-Tag": "green" } });
    assert_eq!(grpc_query(&client, &runtime, with_header)["content"], "for-green");
    let labelled = runtime.block_on(RawClient::connect_with_labels(&node, json!({ "Vipserver-Tag": "green" })));
    assert_eq!(grpc_query(&labelled, &runtime, untagged)["content"], "for-green");

    // History records tag versions as gray ones, by name.
    let history = node.http().get(node.url("/nacos/v1/cs/history")).query(&KEY).query(&[("search", "accurate")]);
    let history: Value = serde_json::from_str(&history.send().unwrap().text().unwrap()).unwrap();
    let gray_names: Vec<&str> = history["pageItems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|item| item["publishType"] == "gray")
        .map(|item| item["grayName"].as_str().unwrap())
        .collect();
    assert!(gray_names.contains(&"tag_blue") && gray_names.contains(&"tag_green"), "{history}");

    // Tag versions survive a crash; removing with a tag stops only that tag's version.
    node.kill9();
    node.restart();
    assert_eq!(get(&node, Some("blue")).0, "for-blue");
    let stop = node.http().delete(node.url(CONFIGS)).query(&KEY).query(&[("tag", "blue")]);
    assert_eq!(stop.send().unwrap().text().unwrap(), "true");
    assert_eq!(get(&node, Some("blue")), ("formal".into(), None, false));
    assert_eq!(get(&node, Some("green")).0, "for-green");
    assert_eq!(get(&node, None).0, "formal", "the formal config stays");
    let client = runtime.block_on(RawClient::connect(&node));
    let remove = json!({ "dataId": "tagged", "group": "DEFAULT_GROUP", "tenant": "", "tag": "green" });
    let (_, body) = runtime.block_on(unary(&client.channel, payload("ConfigRemoveRequest", &remove)));
    assert_eq!(body["resultCode"], 200, "{body}");
    assert_eq!(get(&node, Some("green")).0, "formal");
    assert_eq!(get(&node, None).0, "formal");
}

#[test]
fn a_tag_outranks_the_beta_and_bad_tags_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let node = Nacosd::start(&dir.path().join("node"));
    assert_eq!(publish(&node, "formal", None).0, StatusCode::OK);
    let mut form = KEY.to_vec();
    form.push(("content", "for-ip"));
    let beta = node.http().post(node.url(CONFIGS)).form(&form).header("betaIps", "127.0.0.1");
    assert_eq!(beta.send().unwrap().status(), StatusCode::OK);
    assert_eq!(publish(&node, "for-blue", Some("blue")).0, StatusCode::OK);
    assert_eq!(get(&node, None), ("for-ip".into(), None, true), "this client's ip is listed");
    assert_eq!(get(&node, Some("blue")), ("for-blue".into(), Some("blue".into()), false), "the tag wins");

    for (tag, why) in [("a b", "a space"), ("x/y", "a slash"), ("seventeen-chars-x", "over 16 characters")] {
        let (status, text) = publish(&node, "bad", Some(tag));
        assert_eq!(status, StatusCode::BAD_REQUEST, "{why}: {text}");
        assert!(text.contains("tag"), "{why}: {text}");
    }
    let both = node.http().post(node.url(CONFIGS)).form(&[KEY[0], KEY[1], ("content", "x"), ("tag", "blue")]);
    let both = both.header("betaIps", "127.0.0.1").send().unwrap();
    assert_eq!(both.status(), StatusCode::BAD_REQUEST, "betaIps and a tag at once");
    let runtime = runtime();
    let client = runtime.block_on(RawClient::connect(&node));
    let bad = json!({
        "dataId": "tagged", "group": "DEFAULT_GROUP", "tenant": "", "content": "bad",
        "additionMap": { "tag": "no spaces allowed" },
    });
    let (_, body) = runtime.block_on(unary(&client.channel, payload("ConfigPublishRequest", &bad)));
    assert_eq!((body["resultCode"].as_i64(), body["errorCode"].as_i64()), (Some(500), Some(400)), "{body}");
    let bad_remove = node.http().delete(node.url(CONFIGS)).query(&KEY).query(&[("tag", "a b")]).send().unwrap();
    assert_eq!(bad_remove.status(), StatusCode::BAD_REQUEST);

    assert_eq!(get(&node, None), ("for-ip".into(), None, true));
    assert_eq!(get(&node, Some("blue")).0, "for-blue");
    let untouched = json!({ "dataId": "tagged", "group": "DEFAULT_GROUP", "tenant": "", "tag": "no spaces allowed" });
    // The raw gRPC client reports its ip as 127.9.8.107, not in the beta's list.
    assert_eq!(grpc_query(&client, &runtime, untouched)["content"], "formal", "an unknown tag reads as untagged");
}

#[test]
fn a_listener_reading_with_the_tag_sees_its_version_as_a_change() {
    let dir = tempfile::tempdir().unwrap();
    let node = Nacosd::start(&dir.path().join("node"));
    assert_eq!(publish(&node, "formal", None).0, StatusCode::OK);
    let formal_md5 = node.http().get(node.url(CONFIGS)).query(&KEY).send().unwrap().headers()["content-md5"]
        .to_str()
        .unwrap()
        .to_owned();
    let runtime = runtime();
    let listen = json!({
        "listen": true,
        "configListenContexts": [{ "dataId": "tagged", "group": "DEFAULT_GROUP", "tenant": "", "md5": formal_md5 }],
    });
    let mut tagged = runtime.block_on(RawClient::connect_with_labels(&node, json!({ "Vipserver-Tag": "blue" })));
    let mut plain = runtime.block_on(RawClient::connect(&node));
    for client in [&tagged, &plain] {
        let (_, body) = runtime.block_on(unary(&client.channel, payload("ConfigBatchListenRequest", &listen)));
        assert_eq!(body["changedConfigs"], json!([]));
    }

    assert_eq!(publish(&node, "for-blue", Some("blue")).0, StatusCode::OK);
    runtime.block_on(async {
        for client in [&mut tagged, &mut plain] {
            let (kind, _) = client.next_push().await;
            assert_eq!(kind, "ConfigChangeNotifyRequest", "every listener of the key is told");
        }
        let (_, body) = unary(&tagged.channel, payload("ConfigBatchListenRequest", &listen)).await;
        assert_eq!(body["changedConfigs"][0]["dataId"], "tagged", "with the tag, the formal md5 is stale");
        let (_, body) = unary(&plain.channel, payload("ConfigBatchListenRequest", &listen)).await;
        assert_eq!(body["changedConfigs"], json!([]), "without it, nothing changed");
    });

    // An HTTP long poll with the tag header answers at once: it holds the formal md5.
    let listening = format!("tagged\u{2}DEFAULT_GROUP\u{2}{formal_md5}\u{1}");
    let poll = node
        .http()
        .post(node.url("/nacos/v1/cs/configs/listener"))
        .header("Long-Pulling-Timeout", "30000")
        .header("Vipserver-Tag", "blue")
        .form(&[("Listening-Configs", listening.as_str())]);
    let started = std::time::Instant::now();
    let answer = poll.send().unwrap().text().unwrap();
    assert!(answer.starts_with("tagged"), "{answer:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "held instead of answering at once");
}
