//! Export, import and clone of configs on a real node, in Nacos's archive formats and
//! answers; bad archives change nothing.

use std::io::{Cursor, Read, Write};

use reqwest::blocking::multipart::{Form, Part};
use serde_json::Value;
use tests::Nacosd;

fn publish(node: &Nacosd, tenant: &str, data_id: &str, content: &str, config_type: &str) {
    let form = [
        ("dataId", data_id),
        ("group", "G"),
        ("content", content),
        ("tenant", tenant),
        ("appName", "shop"),
        ("desc", "described"),
        ("type", config_type),
    ];
    assert_eq!(node.http().post(node.url("/nacos/v1/cs/configs")).form(&form).send().unwrap().text().unwrap(), "true");
}

fn content(node: &Nacosd, tenant: &str, data_id: &str) -> Option<String> {
    let query = [("dataId", data_id), ("group", "G"), ("tenant", tenant)];
    let response = node.http().get(node.url("/nacos/v1/cs/configs")).query(&query).send().unwrap();
    response.status().is_success().then(|| response.text().unwrap())
}

fn detail(node: &Nacosd, tenant: &str, data_id: &str) -> Value {
    let query = [("dataId", data_id), ("group", "G"), ("tenant", tenant), ("show", "all")];
    node.http().get(node.url("/nacos/v1/cs/configs")).query(&query).send().unwrap().json().unwrap()
}

fn export(node: &Nacosd, query: &[(&str, &str)]) -> (String, Vec<(String, String)>) {
    let response = node.http().get(node.url("/nacos/v1/cs/configs")).query(query).send().unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/zip");
    let disposition = response.headers()["content-disposition"].to_str().unwrap().to_owned();
    let bytes = response.bytes().unwrap();
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes.to_vec())).unwrap();
    let mut entries = Vec::new();
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).unwrap();
        let mut text = String::new();
        entry.read_to_string(&mut text).unwrap();
        entries.push((entry.name().to_owned(), text));
    }
    (disposition, entries)
}

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, content) in entries {
        writer.start_file(*name, options).unwrap();
        writer.write_all(content).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

fn import(node: &Nacosd, namespace: &str, policy: &str, zip: Vec<u8>) -> Value {
    let part = Part::bytes(zip).file_name("nacos_config_export.zip").mime_str("application/zip").unwrap();
    let form = Form::new().text("policy", policy.to_owned()).part("file", part);
    let url = node.url("/nacos/v1/cs/configs");
    let response =
        node.http().post(url).query(&[("import", "true"), ("namespace", namespace)]).multipart(form).send().unwrap();
    assert_eq!(response.status(), 200, "Nacos answers imports with 200 whatever the outcome");
    response.json().unwrap()
}

fn entries(zip: &[(String, String)]) -> Vec<(&str, &[u8])> {
    zip.iter().map(|(name, text)| (name.as_str(), text.as_bytes())).collect()
}

#[test]
fn configs_export_import_and_clone_in_nacos_formats() {
    let dir = tempfile::tempdir().unwrap();
    let node = Nacosd::start(&dir.path().join("node"));
    let create = [("customNamespaceId", "dev"), ("namespaceName", "Development")];
    let namespaces = node.url("/nacos/v1/console/namespaces");
    assert_eq!(node.http().post(&namespaces).form(&create).send().unwrap().text().unwrap(), "true");
    publish(&node, "", "app.yaml", "a: 1", "yaml");
    publish(&node, "", "db.json", "{\"x\": 1}", "json");
    publish(&node, "", "plain", "hello", "text");

    // v2 export: every config of the namespace, with .metadata.yml.
    let (disposition, v2) = export(&node, &[("exportV2", "true"), ("tenant", "")]);
    assert!(disposition.starts_with("attachment;filename=nacos_config_export_"), "{disposition}");
    let names: Vec<&str> = v2.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["G/app.yaml", "G/db.json", "G/plain", ".metadata.yml"]);
    assert_eq!(v2[0].1, "a: 1");
    let metadata = &v2[3].1;
    assert!(metadata.starts_with("metadata:\n- appName: shop\n  dataId: app.yaml\n"), "{metadata}");
    assert!(metadata.contains("  type: json\n"), "{metadata}");

    // v1 export of a selection by id, with .meta.yml's app lines.
    let id = detail(&node, "", "app.yaml")["id"].as_str().unwrap().to_owned();
    let (_, v1) = export(&node, &[("export", "true"), ("ids", &id)]);
    assert_eq!(
        v1,
        [("G/app.yaml".to_owned(), "a: 1".to_owned()), (".meta.yml".to_owned(), "G.app~yaml.app=shop".to_owned())]
    );

    // Import into dev: everything new.
    let answer = import(&node, "dev", "ABORT", zip_of(&entries(&v2)));
    assert_eq!((answer["code"].as_i64(), answer["data"]["succCount"].as_i64()), (Some(200), Some(3)), "{answer}");
    let imported = detail(&node, "dev", "db.json");
    assert_eq!((imported["type"].as_str(), imported["desc"].as_str()), (Some("json"), Some("described")));
    assert_eq!(imported["appName"], "shop");

    // Conflicts: ABORT changes nothing, SKIP leaves existing ones, OVERWRITE replaces.
    publish(&node, "dev", "app.yaml", "changed: true", "yaml");
    let partial = zip_of(&[("G/app.yaml", b"a: 1"), ("G/new", b"fresh")]);
    let answer = import(&node, "dev", "ABORT", partial.clone());
    assert_eq!(answer["data"]["succCount"], 0, "{answer}");
    assert_eq!(answer["data"]["failData"], serde_json::json!([{ "dataId": "app.yaml", "group": "G" }]));
    assert_eq!(answer["data"]["skipData"], serde_json::json!([{ "dataId": "new", "group": "G" }]));
    assert_eq!(content(&node, "dev", "new"), None, "an aborted import writes nothing");
    let answer = import(&node, "dev", "SKIP", partial.clone());
    assert_eq!((answer["data"]["succCount"].as_i64(), answer["data"]["skipCount"].as_i64()), (Some(1), Some(1)));
    assert_eq!(content(&node, "dev", "app.yaml").as_deref(), Some("changed: true"));
    let answer = import(&node, "dev", "OVERWRITE", partial);
    assert_eq!(answer["data"]["succCount"], 2, "{answer}");
    assert_eq!(content(&node, "dev", "app.yaml").as_deref(), Some("a: 1"));

    // Entries outside the layout are reported, not imported.
    let answer = import(&node, "dev", "OVERWRITE", zip_of(&[("G/more", b"m"), ("stray.txt", b"?")]));
    assert_eq!(answer["data"]["unrecognizedData"], serde_json::json!([{ "itemName": "stray.txt" }]));
    assert_eq!(answer["data"]["unrecognizedCount"], 1);

    // Clone from public into dev under a new name; the source stays.
    let body = serde_json::json!([{ "cfgId": id, "dataId": "app-copy.yaml", "group": "" }]);
    let url = node.url("/nacos/v1/cs/configs");
    let clone = node.http().post(&url).query(&[("clone", "true"), ("tenant", "dev"), ("policy", "ABORT")]);
    let answer: Value = clone.json(&body).send().unwrap().json().unwrap();
    assert_eq!(
        (answer["code"].as_i64(), answer["message"].as_str()),
        (Some(200), Some("Clone Completed Successfully"))
    );
    assert_eq!(content(&node, "dev", "app-copy.yaml").as_deref(), Some("a: 1"));
    assert_eq!(detail(&node, "dev", "app-copy.yaml")["appName"], "shop");
    let nothing = node.http().post(&url).query(&[("clone", "true"), ("tenant", "dev")]).json(&serde_json::json!([]));
    assert_eq!(nothing.send().unwrap().json::<Value>().unwrap()["code"], 100_006);
    let missing = node.http().post(&url).query(&[("clone", "true"), ("tenant", "nowhere")]).json(&body);
    assert_eq!(missing.send().unwrap().json::<Value>().unwrap()["code"], 100_001);
    let garbage = node.http().post(&url).query(&[("clone", "true"), ("tenant", "dev")]).json(&"not a list");
    assert_eq!(garbage.send().unwrap().status(), 400);
}

#[test]
fn bad_archives_are_refused_with_a_clear_message_and_import_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let node = Nacosd::start(&dir.path().join("node"));
    let count = || {
        let query = [("search", "accurate"), ("tenant", ""), ("pageNo", "1"), ("pageSize", "10")];
        let page: Value =
            node.http().get(node.url("/nacos/v1/cs/configs")).query(&query).send().unwrap().json().unwrap();
        page["totalCount"].as_i64().unwrap()
    };
    let bomb = vec![b'a'; 65 * 1024 * 1024];
    let too_big = vec![b'b'; 10 * 1024 * 1024 + 1];
    let cases: Vec<(Vec<u8>, i64, &str)> = vec![
        (b"this is not a zip".to_vec(), 100_004, "not a zip"),
        (Vec::new(), 100_005, "empty"),
        (zip_of(&[("G/ok", b"fine"), ("../../etc/evil", b"x")]), 100_004, "outside the archive"),
        (zip_of(&[("G/ok", b"fine"), ("G/bomb", &bomb)]), 100_004, "expands past"),
        (zip_of(&[("G/ok", b"fine"), ("G/big", &too_big)]), 100_004, "too large"),
        (
            zip_of(&[
                ("G/ok", b"fine"),
                (
                    ".metadata.yml",
                    b"metadata:\n- dataId: ok\n  group: G\n  type: text\n- dataId: gone\n  group: G\n  type: text\n",
                ),
            ]),
            100_002,
            "G/gone",
        ),
        (zip_of(&[("G/ok", b"fine"), (".metadata.yml", b"metadata: [unclosed")]), 100_002, "metadata"),
        (zip_of(&[("loose", b"x")]), 100_003, "no config"),
    ];
    for (zip, code, says) in cases {
        let answer = import(&node, "", "OVERWRITE", zip);
        assert_eq!(answer["code"], code, "{answer}");
        assert!(answer["message"].as_str().unwrap().contains(says), "{answer}");
        assert_eq!(count(), 0, "nothing imported: {answer}");
    }
    let answer = import(&node, "nowhere", "OVERWRITE", zip_of(&[("G/ok", b"fine")]));
    assert_eq!(answer["code"], 100_001);
    let part = Part::bytes(zip_of(&[("G/ok", b"fine")])).file_name("a.zip");
    let form = Form::new().text("policy", "MERGE").part("file", part);
    let bad_policy = node.http().post(node.url("/nacos/v1/cs/configs")).query(&[("import", "true")]).multipart(form);
    assert_eq!(bad_policy.send().unwrap().status(), 400);
    assert!(node.answers_liveness_within(std::time::Duration::from_secs(5)));
}

/// A clone reads its sources: a user who may write the target but not read a source is
/// refused, and nothing is written.
#[test]
fn a_clone_needs_read_access_to_every_source() {
    use crate::t114_auth::{admin_token, login, ok, start, ADMIN_PASSWORD};
    use reqwest::Method;
    let dir = tempfile::tempdir().unwrap();
    let node = start(dir.path(), Some(ADMIN_PASSWORD));
    let admin = admin_token(&node);
    for id in ["secret", "mine"] {
        ok(
            &node,
            Method::POST,
            "/nacos/v1/console/namespaces",
            &admin,
            &[("customNamespaceId", id), ("namespaceName", id)],
        );
    }
    let publish = [("tenant", "secret"), ("dataId", "db.yaml"), ("group", "G"), ("content", "password: x")];
    ok(&node, Method::POST, "/nacos/v1/cs/configs", &admin, &publish);
    ok(&node, Method::POST, "/nacos/v1/auth/users", &admin, &[("username", "eve"), ("password", "eve-pw")]);
    ok(&node, Method::POST, "/nacos/v1/auth/roles", &admin, &[("role", "MINE"), ("username", "eve")]);
    ok(
        &node,
        Method::POST,
        "/nacos/v1/auth/permissions",
        &admin,
        &[("role", "MINE"), ("resource", "mine:*:*"), ("action", "rw")],
    );
    let eve = login(&node, "eve", "eve-pw").unwrap();
    let show = [("tenant", "secret"), ("dataId", "db.yaml"), ("group", "G"), ("show", "all")];
    let id = serde_json::from_str::<Value>(&ok(&node, Method::GET, "/nacos/v1/cs/configs", &admin, &show)).unwrap()
        ["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let clone = |token: &str| {
        let body = serde_json::json!([{ "cfgId": id, "dataId": "", "group": "" }]);
        let url = node.url("/nacos/v1/cs/configs");
        let query = [("clone", "true"), ("tenant", "mine"), ("policy", "OVERWRITE"), ("accessToken", token)];
        node.http().post(url).query(&query).json(&body).send().unwrap()
    };
    assert_eq!(clone(&eve).status(), 403, "eve may write mine but not read secret");
    let copied = [("tenant", "mine"), ("dataId", "db.yaml"), ("group", "G")];
    assert_eq!(crate::t114_auth::status(&node, Method::GET, "/nacos/v1/cs/configs", Some(&admin), &copied).0, 404);
    assert_eq!(clone(&admin).json::<Value>().unwrap()["data"]["succCount"], 1);
}
