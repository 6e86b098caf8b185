//! Gray release by client ip: listed clients read the beta, others the formal config, over
//! HTTP and gRPC; stopping the beta restores the formal config for everyone.

use reqwest::StatusCode;
use serde_json::json;
use tests::Nacosd;

use crate::t70_grpc_protocol::{payload, runtime, unary, RawClient};

const CONFIGS: &str = "/nacos/v1/cs/configs";

fn get(node: &Nacosd) -> (String, bool) {
    let response =
        node.http().get(node.url(CONFIGS)).query(&[("dataId", "gray"), ("group", "DEFAULT_GROUP")]).send().unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let beta = response.headers().get("isBeta").is_some_and(|value| value == "true");
    (response.text().unwrap(), beta)
}

fn publish(node: &Nacosd, content: &str, beta_ips: Option<&str>) -> StatusCode {
    let mut request = node.http().post(node.url(CONFIGS)).form(&[
        ("dataId", "gray"),
        ("group", "DEFAULT_GROUP"),
        ("content", content),
    ]);
    if let Some(ips) = beta_ips {
        request = request.header("betaIps", ips);
    }
    request.send().unwrap().status()
}

#[test]
fn beta_content_reaches_only_the_listed_ips() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = Nacosd::start(&dir.path().join("node"));
    assert_eq!(publish(&node, "formal", None), StatusCode::OK);

    // A beta for someone else: this client (127.0.0.1) still reads the formal config.
    assert_eq!(publish(&node, "gray-for-others", Some("127.1.1.101")), StatusCode::OK);
    assert_eq!(get(&node), ("formal".to_owned(), false));

    // A beta that lists us, and the raw gRPC client's self-reported ip (127.9.8.107).
    assert_eq!(publish(&node, "gray", Some("127.0.0.1,127.9.8.107")), StatusCode::OK);
    assert_eq!(get(&node), ("gray".to_owned(), true));
    let runtime = runtime();
    runtime.block_on(async {
        let client = RawClient::connect(&node).await;
        let query = json!({ "dataId": "gray", "group": "DEFAULT_GROUP", "tenant": "" });
        let (_, body) = unary(&client.channel, payload("ConfigQueryRequest", &query)).await;
        assert_eq!((body["content"].as_str(), body["beta"].as_bool()), (Some("gray"), Some(true)));
    });

    let info: serde_json::Value = serde_json::from_str(
        &node
            .http()
            .get(node.url(CONFIGS))
            .query(&[("dataId", "gray"), ("group", "DEFAULT_GROUP"), ("beta", "true")])
            .send()
            .unwrap()
            .text()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(info["data"]["betaIps"], "127.0.0.1,127.9.8.107");

    // The beta survives a crash, then stopping it restores the formal config.
    node.kill9();
    node.restart();
    assert_eq!(get(&node), ("gray".to_owned(), true));
    let stop = node.http().delete(node.url(CONFIGS)).query(&[
        ("dataId", "gray"),
        ("group", "DEFAULT_GROUP"),
        ("beta", "true"),
    ]);
    assert_eq!(stop.send().unwrap().text().unwrap(), "true");
    assert_eq!(get(&node), ("formal".to_owned(), false));

    assert_eq!(publish(&node, "x", Some("not-an-ip")), StatusCode::BAD_REQUEST);
    assert_eq!(get(&node), ("formal".to_owned(), false));
}

#[test]
fn a_listener_on_a_listed_ip_sees_the_beta_as_a_change() {
    let dir = tempfile::tempdir().unwrap();
    let node = Nacosd::start(&dir.path().join("node"));
    assert_eq!(publish(&node, "formal", None), StatusCode::OK);
    let formal_md5 = node
        .http()
        .get(node.url(CONFIGS))
        .query(&[("dataId", "gray"), ("group", "DEFAULT_GROUP")])
        .send()
        .unwrap()
        .headers()["content-md5"]
        .to_str()
        .unwrap()
        .to_owned();
    let runtime = runtime();
    let mut client = runtime.block_on(RawClient::connect(&node));
    let listen = json!({
        "listen": true,
        "configListenContexts": [{ "dataId": "gray", "group": "DEFAULT_GROUP", "tenant": "", "md5": formal_md5 }],
    });
    let (_, body) = runtime.block_on(unary(&client.channel, payload("ConfigBatchListenRequest", &listen)));
    assert_eq!(body["changedConfigs"], json!([]));

    assert_eq!(publish(&node, "gray", Some("127.9.8.107")), StatusCode::OK);
    runtime.block_on(async {
        let (kind, _) = client.next_push().await;
        assert_eq!(kind, "ConfigChangeNotifyRequest");
        let (_, body) = unary(&client.channel, payload("ConfigBatchListenRequest", &listen)).await;
        assert_eq!(body["changedConfigs"][0]["dataId"], "gray", "for this ip the formal md5 is stale now");
    });
}
