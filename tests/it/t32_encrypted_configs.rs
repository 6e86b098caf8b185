//! Encrypted configs (the SDKs' config-encryption plugin): the `encryptedDataKey` a client
//! publishes with a `cipher-*` config comes back on every read, HTTP and gRPC, in history,
//! and after a restart. Without it the client cannot decrypt its own config.

use reqwest::StatusCode;
use serde_json::{json, Value};
use tests::Nacosd;

use crate::t70_grpc_protocol::{payload, runtime, unary, RawClient};

const DATA_ID: &str = "cipher-aes-app.yaml";
const KEY_1: &str = "KQ1wJz0o8b1VZf3m2wH9xA==";
const KEY_2: &str = "c2Vjb25kLWRhdGEta2V5LTI=";

fn publish(node: &Nacosd, content: &str, data_key: Option<&str>) -> StatusCode {
    let mut form = vec![("dataId", DATA_ID), ("group", "DEFAULT_GROUP"), ("content", content)];
    form.extend(data_key.map(|key| ("encryptedDataKey", key)));
    node.http().post(node.url("/nacos/v1/cs/configs")).form(&form).send().unwrap().status()
}

/// The `Encrypted-Data-Key` header of a v1 and a v2 read.
fn read_keys(node: &Nacosd) -> [Option<String>; 2] {
    let header = |path: &str, namespace: &str| {
        let query = [("dataId", DATA_ID), ("group", "DEFAULT_GROUP"), (namespace, "")];
        let response = node.http().get(node.url(path)).query(&query).send().unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        response.headers().get("encrypted-data-key").map(|value| value.to_str().unwrap().to_owned())
    };
    [header("/nacos/v1/cs/configs", "tenant"), header("/nacos/v2/cs/config", "namespaceId")]
}

fn json_of(node: &Nacosd, path: &str, query: &[(&str, &str)]) -> Value {
    serde_json::from_str(&node.http().get(node.url(path)).query(query).send().unwrap().text().unwrap()).unwrap()
}

#[test]
fn the_data_key_comes_back_on_every_read_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = Nacosd::start(&dir.path().join("node"));
    assert_eq!(publish(&node, "ciphertext-1", Some(KEY_1)), StatusCode::OK);
    assert_eq!(read_keys(&node), [Some(KEY_1.to_owned()), Some(KEY_1.to_owned())]);

    let search = [("search", "accurate"), ("dataId", DATA_ID), ("group", ""), ("pageNo", "1"), ("pageSize", "10")];
    let found = json_of(&node, "/nacos/v1/cs/configs", &search);
    assert_eq!(found["pageItems"][0]["encryptedDataKey"], KEY_1, "{found}");

    // gRPC: the query answers the key; a publish through additionMap stores its own.
    let runtime = runtime();
    runtime.block_on(async {
        let client = RawClient::connect(&node).await;
        let query = json!({"dataId": DATA_ID, "group": "DEFAULT_GROUP", "tenant": ""});
        let (_, body) = unary(&client.channel, payload("ConfigQueryRequest", &query)).await;
        assert_eq!((body["content"].as_str(), body["encryptedDataKey"].as_str()), (Some("ciphertext-1"), Some(KEY_1)));
        let publish = json!({
            "dataId": DATA_ID, "group": "DEFAULT_GROUP", "tenant": "", "content": "ciphertext-2",
            "additionMap": {"encryptedDataKey": KEY_2, "type": "yaml"},
        });
        let (_, body) = unary(&client.channel, payload("ConfigPublishRequest", &publish)).await;
        assert_eq!(body["resultCode"], 200, "{body}");
    });
    assert_eq!(read_keys(&node), [Some(KEY_2.to_owned()), Some(KEY_2.to_owned())]);

    // A plain publish leaves a plain config; history keeps each version's own key.
    assert_eq!(publish(&node, "plain", None), StatusCode::OK);
    assert_eq!(read_keys(&node), [None, None]);
    node.terminate();
    node.restart();
    assert_eq!(read_keys(&node), [None, None]);
    let history = [("search", "accurate"), ("dataId", DATA_ID), ("group", "DEFAULT_GROUP"), ("tenant", "")];
    let records = json_of(&node, "/nacos/v1/cs/history", &history);
    let keys: Vec<&str> =
        records["pageItems"].as_array().unwrap().iter().map(|r| r["encryptedDataKey"].as_str().unwrap()).collect();
    // Newest first: the update to "plain" replaced version 2, the one before replaced 1,
    // the insert shows version 1.
    assert_eq!(keys, [KEY_2, KEY_1, KEY_1], "{records}");
    let id = records["pageItems"][0]["id"].as_str().unwrap().to_owned();
    let detail =
        json_of(&node, "/nacos/v1/cs/history", &[("nid", &id), ("dataId", DATA_ID), ("group", "DEFAULT_GROUP")]);
    assert_eq!(detail["encryptedDataKey"], KEY_2, "{detail}");
}

#[test]
fn an_oversized_data_key_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let node = Nacosd::start(&dir.path().join("node"));
    assert_eq!(publish(&node, "ciphertext-1", Some(KEY_1)), StatusCode::OK);
    let huge = "k".repeat(4097);
    let response = node
        .http()
        .post(node.url("/nacos/v1/cs/configs"))
        .form(&[("dataId", DATA_ID), ("group", "DEFAULT_GROUP"), ("content", "other"), ("encryptedDataKey", &huge)])
        .send()
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().unwrap().contains("encryptedDataKey"));
    assert_eq!(read_keys(&node), [Some(KEY_1.to_owned()), Some(KEY_1.to_owned())]);
}
