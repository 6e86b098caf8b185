//! Nacos 3.x fuzzy watch over raw gRPC, as the 3.x Java client speaks it: the server
//! advertises `fuzzyWatch`; a watch of `namespace>>group>>dataId*` is answered, then synced
//! (keys the client lacks added, keys it has that are gone removed, then the end of the
//! initial sync); configs that come into being or go are announced; bad patterns and too
//! many patterns are refused; a cancelled watch hears nothing more. The same for services
//! (`NamingFuzzyWatchRequest`): a service is announced when it appears in the service list
//! and when it leaves it; a pattern matching more than 500 services is cut there.

use serde_json::{json, Value};
use tests::Nacosd;

use crate::t70_grpc_protocol::{payload, runtime, unary, RawClient};

fn publish(node: &Nacosd, data_id: &str, group: &str) {
    let form = [("dataId", data_id), ("group", group), ("content", "x")];
    let response = node.http().post(node.url("/nacos/v1/cs/configs")).form(&form).send().unwrap();
    assert_eq!(response.text().unwrap(), "true");
}

fn remove(node: &Nacosd, data_id: &str) {
    let query = [("dataId", data_id), ("group", "DEFAULT_GROUP")];
    assert_eq!(
        node.http().delete(node.url("/nacos/v1/cs/configs")).query(&query).send().unwrap().text().unwrap(),
        "true"
    );
}

/// The next server request, acknowledged as an SDK does.
async fn next(client: &mut RawClient) -> (String, Value) {
    let (kind, body) = client.next_push().await;
    let answer = kind.replace("Request", "Response");
    let ack = json!({ "requestId": body["requestId"], "resultCode": 200, "errorCode": 0 });
    client.outbound.send(payload(&answer, &ack)).await.unwrap();
    (kind, body)
}

fn watch(pattern: &str, received: &[&str], watch_type: &str) -> Value {
    json!({ "groupKeyPattern": pattern, "receivedGroupKeys": received, "watchType": watch_type, "initializing": true, "module": "config" })
}

#[test]
fn a_fuzzy_watch_is_synced_then_told_of_keys_that_come_and_go() {
    let dir = tempfile::tempdir().unwrap();
    let node = Nacosd::start(&dir.path().join("node"));
    for (data_id, group) in
        [("app-1", "DEFAULT_GROUP"), ("app-2", "DEFAULT_GROUP"), ("web-1", "DEFAULT_GROUP"), ("app-3", "OTHER")]
    {
        publish(&node, data_id, group);
    }
    let runtime = runtime();
    runtime.block_on(async {
        let mut client = RawClient::connect(&node).await;
        let pattern = "public>>DEFAULT_GROUP>>app-*";
        let request = watch(pattern, &["app-2+DEFAULT_GROUP+public", "gone+DEFAULT_GROUP+public"], "WATCH");
        let (kind, body) = unary(&client.channel, payload("ConfigFuzzyWatchRequest", &request)).await;
        assert_eq!((kind.as_str(), body["resultCode"].as_i64()), ("ConfigFuzzyWatchResponse", Some(200)), "{body}");

        let (kind, sync) = next(&mut client).await;
        assert_eq!(kind, "ConfigFuzzyWatchSyncRequest");
        assert_eq!(
            (sync["syncType"].as_str(), sync["groupKeyPattern"].as_str()),
            (Some("FUZZY_WATCH_INIT_NOTIFY"), Some(pattern))
        );
        let mut contexts: Vec<(String, String)> = sync["contexts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["groupKey"].as_str().unwrap().to_owned(), c["changedType"].as_str().unwrap().to_owned()))
            .collect();
        contexts.sort();
        assert_eq!(
            contexts,
            [
                ("app-1+DEFAULT_GROUP+public".to_owned(), "ADD_CONFIG".to_owned()),
                ("gone+DEFAULT_GROUP+public".to_owned(), "DELETE_CONFIG".to_owned())
            ]
        );
        let (_, finish) = next(&mut client).await;
        assert_eq!(finish["syncType"], "FINISH_FUZZY_WATCH_INIT_NOTIFY");

        // A new matching key, an update (no notice: listens carry content), a removal, and
        // keys the pattern does not match.
        tokio::task::block_in_place(|| {
            publish(&node, "app-9", "DEFAULT_GROUP");
            publish(&node, "app-9", "DEFAULT_GROUP");
            publish(&node, "web-9", "DEFAULT_GROUP");
            publish(&node, "app-9", "OTHER");
            remove(&node, "app-1");
        });
        let (kind, added) = next(&mut client).await;
        assert_eq!(kind, "ConfigFuzzyWatchChangeNotifyRequest");
        assert_eq!(
            (added["groupKey"].as_str(), added["changeType"].as_str()),
            (Some("app-9+DEFAULT_GROUP+public"), Some("CONFIG_CHANGED"))
        );
        let (_, removed) = next(&mut client).await;
        assert_eq!(
            (removed["groupKey"].as_str(), removed["changeType"].as_str()),
            (Some("app-1+DEFAULT_GROUP+public"), Some("DELETE_CONFIG"))
        );

        // Cancelled: nothing more for this pattern, while another pattern still hears.
        let other =
            json!({ "groupKeyPattern": "public>>DEFAULT_GROUP>>zzz*", "watchType": "WATCH", "initializing": false });
        let (_, body) = unary(&client.channel, payload("ConfigFuzzyWatchRequest", &other)).await;
        assert_eq!(body["resultCode"], 200);
        let (_, body) =
            unary(&client.channel, payload("ConfigFuzzyWatchRequest", &watch(pattern, &[], "CANCEL_WATCH"))).await;
        assert_eq!(body["resultCode"], 200);
        tokio::task::block_in_place(|| {
            publish(&node, "app-10", "DEFAULT_GROUP");
            publish(&node, "zzz-1", "DEFAULT_GROUP");
        });
        let (_, next_notice) = next(&mut client).await;
        assert_eq!(next_notice["groupKey"], "zzz-1+DEFAULT_GROUP+public", "the cancelled pattern was told of app-10");
    });
}

#[test]
fn bad_patterns_and_too_many_patterns_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let node = Nacosd::start(&dir.path().join("node"));
    let runtime = runtime();
    runtime.block_on(async {
        let client = RawClient::connect(&node).await;
        for (request, code) in [
            (watch("DEFAULT_GROUP>>app-*", &[], "WATCH"), 400),
            (watch("public>>>>app", &[], "WATCH"), 400),
            (watch("public>>G>>a", &[], "LISTEN"), 400),
            (json!({ "watchType": "WATCH" }), 400),
            (json!({ "groupKeyPattern": 5 }), 502),
        ] {
            let (_, body) = unary(&client.channel, payload("ConfigFuzzyWatchRequest", &request)).await;
            assert_eq!(
                (body["resultCode"].as_i64(), body["errorCode"].as_i64()),
                (Some(500), Some(code)),
                "{request}: {body}"
            );
        }
        for n in 0..20 {
            let request = watch(&format!("public>>G>>p{n}*"), &[], "WATCH");
            let (_, body) = unary(&client.channel, payload("ConfigFuzzyWatchRequest", &request)).await;
            assert_eq!(body["resultCode"], 200, "{body}");
        }
        let (_, body) =
            unary(&client.channel, payload("ConfigFuzzyWatchRequest", &watch("public>>G>>one-more*", &[], "WATCH")))
                .await;
        assert_eq!(body["errorCode"], 50310, "the 21st pattern: {body}");
    });
}

fn register(node: &Nacosd, service: &str, port: u16) {
    let port = port.to_string();
    let form = [("serviceName", service), ("ip", "127.0.0.1"), ("port", port.as_str())];
    let response = node.http().post(node.url("/nacos/v1/ns/instance")).form(&form).send().unwrap();
    assert_eq!(response.text().unwrap(), "ok");
}

fn deregister(node: &Nacosd, service: &str, port: u16) {
    let port = port.to_string();
    let query = [("serviceName", service), ("ip", "127.0.0.1"), ("port", port.as_str())];
    let response = node.http().delete(node.url("/nacos/v1/ns/instance")).query(&query).send().unwrap();
    assert_eq!(response.text().unwrap(), "ok");
}

fn naming_watch(pattern: &str, received: &[&str], watch_type: &str) -> Value {
    json!({ "groupKeyPattern": pattern, "receivedGroupKeys": received, "watchType": watch_type,
            "initializing": true, "namespace": "public", "module": "naming" })
}

fn service_contexts(sync: &Value) -> Vec<(String, String)> {
    let mut contexts: Vec<(String, String)> = sync["contexts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["serviceKey"].as_str().unwrap().to_owned(), c["changedType"].as_str().unwrap().to_owned()))
        .collect();
    contexts.sort();
    contexts
}

#[test]
fn a_service_fuzzy_watch_is_synced_then_told_of_services_that_come_and_go() {
    let dir = tempfile::tempdir().unwrap();
    let node = Nacosd::start(&dir.path().join("node"));
    register(&node, "order-api", 8080);
    register(&node, "user-api", 8080);
    let runtime = runtime();
    runtime.block_on(async {
        let mut client = RawClient::connect(&node).await;
        let pattern = "public>>DEFAULT_GROUP>>order-*";
        let request = naming_watch(pattern, &["public@@DEFAULT_GROUP@@order-old"], "WATCH");
        let (kind, body) = unary(&client.channel, payload("NamingFuzzyWatchRequest", &request)).await;
        assert_eq!((kind.as_str(), body["resultCode"].as_i64()), ("NamingFuzzyWatchResponse", Some(200)), "{body}");

        let (kind, sync) = next(&mut client).await;
        assert_eq!(kind, "NamingFuzzyWatchSyncRequest");
        assert_eq!(
            (sync["syncType"].as_str(), sync["module"].as_str()),
            (Some("FUZZY_WATCH_INIT_NOTIFY"), Some("naming"))
        );
        assert_eq!(
            service_contexts(&sync),
            [
                ("public@@DEFAULT_GROUP@@order-api".to_owned(), "ADD_SERVICE".to_owned()),
                ("public@@DEFAULT_GROUP@@order-old".to_owned(), "DELETE_SERVICE".to_owned())
            ]
        );
        let (_, finish) = next(&mut client).await;
        assert_eq!(finish["syncType"], "FINISH_FUZZY_WATCH_INIT_NOTIFY");

        // A new matching service, a second instance of it (no notice), a service that does
        // not match (none), then the first one's last instance leaves.
        tokio::task::block_in_place(|| {
            register(&node, "order-web", 8080);
            register(&node, "order-web", 8081);
            register(&node, "user-web", 8080);
        });
        let (kind, added) = next(&mut client).await;
        assert_eq!(kind, "NamingFuzzyWatchChangeNotifyRequest");
        assert_eq!(
            (added["serviceKey"].as_str(), added["changedType"].as_str(), added["syncType"].as_str()),
            (Some("public@@DEFAULT_GROUP@@order-web"), Some("ADD_SERVICE"), Some("FUZZY_WATCH_RESOURCE_CHANGED"))
        );
        tokio::task::block_in_place(|| deregister(&node, "order-api", 8080));
        let (_, removed) = next(&mut client).await;
        assert_eq!(
            (removed["serviceKey"].as_str(), removed["changedType"].as_str()),
            (Some("public@@DEFAULT_GROUP@@order-api"), Some("DELETE_SERVICE"))
        );

        // Cancelled: nothing more for this pattern, while another pattern still hears.
        let other = naming_watch("public>>DEFAULT_GROUP>>zzz*", &[], "WATCH");
        let (_, body) = unary(&client.channel, payload("NamingFuzzyWatchRequest", &other)).await;
        assert_eq!(body["resultCode"], 200);
        let (_, finish) = next(&mut client).await;
        assert_eq!(finish["syncType"], "FINISH_FUZZY_WATCH_INIT_NOTIFY", "nothing matches: only the end");
        let cancel = naming_watch(pattern, &[], "CANCEL_WATCH");
        let (_, body) = unary(&client.channel, payload("NamingFuzzyWatchRequest", &cancel)).await;
        assert_eq!(body["resultCode"], 200);
        tokio::task::block_in_place(|| {
            register(&node, "order-new", 8080);
            register(&node, "zzz-1", 8080);
        });
        let (_, next_notice) = next(&mut client).await;
        assert_eq!(next_notice["serviceKey"], "public@@DEFAULT_GROUP@@zzz-1", "the cancelled pattern was told");

        // Bad patterns are refused, as for configs.
        for request in [naming_watch("DEFAULT_GROUP>>a*", &[], "WATCH"), naming_watch("public>>G>>a", &[], "LISTEN")] {
            let (_, body) = unary(&client.channel, payload("NamingFuzzyWatchRequest", &request)).await;
            assert_eq!((body["resultCode"].as_i64(), body["errorCode"].as_i64()), (Some(500), Some(400)), "{body}");
        }
    });
}

#[test]
fn a_service_pattern_matching_more_than_500_services_is_cut_there() {
    let dir = tempfile::tempdir().unwrap();
    let node = Nacosd::start(&dir.path().join("node"));
    for n in 0..501 {
        register(&node, &format!("many-{n:03}"), 8080);
    }
    let runtime = runtime();
    runtime.block_on(async {
        let mut client = RawClient::connect(&node).await;
        let request = naming_watch("public>>DEFAULT_GROUP>>many-*", &[], "WATCH");
        let (_, body) = unary(&client.channel, payload("NamingFuzzyWatchRequest", &request)).await;
        assert_eq!(body["errorCode"], 50311, "{body}");
        let mut announced = 0;
        loop {
            let (_, sync) = next(&mut client).await;
            if sync["syncType"] == "FINISH_FUZZY_WATCH_INIT_NOTIFY" {
                break;
            }
            assert_eq!(sync["totalBatch"], 5);
            announced += sync["contexts"].as_array().unwrap().len();
        }
        assert_eq!(announced, 500);
    });
}
