//! The registry over HTTP v1/v2 against a real process: beats and expiry, UDP push, the
//! service API, the protect threshold, and bad input. Plus naming bad input over raw gRPC.

use std::io::Read;
use std::net::UdpSocket;
use std::time::{Duration, Instant};

use reqwest::blocking::Response;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tests::Nacosd;

use crate::t70_grpc_protocol::{payload, runtime, unary, RawClient};

const INSTANCE: &str = "/nacos/v1/ns/instance";
/// Beat every 300 ms; unhealthy after 1 s of silence, gone after 2 s.
const QUICK: &str = r#"{"preserved.heart.beat.interval":"300","preserved.heart.beat.timeout":"1000","preserved.ip.delete.timeout":"2000"}"#;

fn node() -> (tempfile::TempDir, Nacosd) {
    let dir = tempfile::tempdir().unwrap();
    let node = Nacosd::start(&dir.path().join("node"));
    (dir, node)
}

fn send(node: &Nacosd, method: reqwest::Method, path: &str, form: &[(&str, &str)]) -> Response {
    node.http().request(method, node.url(path)).query(form).send().unwrap()
}

fn json_of(response: Response) -> Value {
    let status = response.status();
    let text = response.text().unwrap();
    assert_eq!(status, StatusCode::OK, "{text}");
    serde_json::from_str(&text).unwrap()
}

fn list(node: &Nacosd, service: &str) -> Value {
    json_of(send(node, reqwest::Method::GET, "/nacos/v1/ns/instance/list", &[("serviceName", service)]))
}

fn hosts(node: &Nacosd, service: &str) -> Vec<Value> {
    list(node, service)["hosts"].as_array().unwrap().clone()
}

fn beat(node: &Nacosd, form: &[(&str, &str)]) -> Value {
    json_of(send(node, reqwest::Method::PUT, "/nacos/v1/ns/instance/beat", form))
}

/// Polls until `check` holds, failing after `deadline`.
fn eventually(deadline: Duration, what: &str, mut check: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !check() {
        assert!(started.elapsed() < deadline, "{what}: not within {deadline:?}");
        std::thread::sleep(Duration::from_millis(25));
    }
    started.elapsed()
}

/// The expiry timings themselves are tested in paused time (app's `registry_tasks`); here,
/// that a real node takes the heartbeat settings from metadata and answers beats with them.
#[test]
fn heartbeat_settings_come_from_metadata_and_beats_answer_them() {
    let (_dir, node) = node();
    let form = [("serviceName", "beating"), ("ip", "127.0.8.1"), ("port", "2"), ("metadata", QUICK)];
    assert_eq!(send(&node, reqwest::Method::POST, INSTANCE, &form).text().unwrap(), "ok");
    assert_eq!(hosts(&node, "beating")[0]["instanceHeartBeatTimeOut"], 1000);
    assert_eq!(hosts(&node, "beating")[0]["ipDeleteTimeout"], 2000);
    let reply = beat(&node, &[("serviceName", "beating"), ("ip", "127.0.8.1"), ("port", "2")]);
    assert_eq!(reply, json!({ "clientBeatInterval": 300, "code": 10200, "lightBeatEnabled": true }));
}

#[test]
fn beats_for_unknown_instances_ask_to_register_or_re_register_from_the_beat() {
    let (_dir, node) = node();
    let light = beat(&node, &[("serviceName", "lost"), ("ip", "127.9.0.101"), ("port", "80")]);
    assert_eq!(light["code"], 20404);
    assert!(hosts(&node, "lost").is_empty());

    let full = r#"{"serviceName":"DEFAULT_GROUP@@lost","ip":"127.9.0.101","port":80,"cluster":"c1","weight":2.0,"metadata":{"v":"1"},"scheduled":false,"period":5000,"stopped":false,"ephemeral":true}"#;
    let reply = beat(&node, &[("serviceName", "DEFAULT_GROUP@@lost"), ("beat", full)]);
    assert_eq!(reply["code"], 10200);
    let listed = hosts(&node, "lost");
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0]["clusterName"].as_str(), listed[0]["weight"].as_f64()), (Some("c1"), Some(2.0)));
    assert_eq!(listed[0]["metadata"]["v"], "1");
}

#[test]
fn listing_with_a_udp_port_gets_pushes_over_udp() {
    let (_dir, node) = node();
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let udp_port = socket.local_addr().unwrap().port().to_string();
    let view = json_of(send(
        &node,
        reqwest::Method::GET,
        "/nacos/v1/ns/instance/list",
        &[("serviceName", "udp-svc"), ("udpPort", &udp_port), ("clientIP", "127.0.0.1")],
    ));
    assert_eq!(view["name"], "DEFAULT_GROUP@@udp-svc", "v1 lists carry the grouped name");
    assert_eq!(view["hosts"], json!([]));

    let started = Instant::now();
    let form = [("serviceName", "udp-svc"), ("ip", "127.10.0.101"), ("port", "8080")];
    assert_eq!(send(&node, reqwest::Method::POST, INSTANCE, &form).status(), StatusCode::OK);
    let mut buffer = vec![0_u8; 65_536];
    let (len, from) = socket.recv_from(&mut buffer).expect("no UDP push in 5 s");
    assert!(started.elapsed() < Duration::from_secs(1), "UDP push took {:?}", started.elapsed());
    let mut datagram = buffer[..len].to_vec();
    if datagram.starts_with(&[0x1f, 0x8b]) {
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(&datagram[..]).read_to_end(&mut plain).unwrap();
        datagram = plain;
    }
    let push: Value = serde_json::from_slice(&datagram).unwrap();
    assert_eq!(push["type"], "dom");
    let data: Value = serde_json::from_str(push["data"].as_str().unwrap()).unwrap();
    assert_eq!(data["hosts"][0]["ip"], "127.10.0.101");
    assert!(push["lastRefTime"].as_u64().unwrap() > 0);
    let ack = json!({ "type": "push-ack", "lastRefTime": push["lastRefTime"], "data": "" });
    socket.send_to(ack.to_string().as_bytes(), from).unwrap();
}

#[test]
fn bad_instances_are_refused_with_a_message_and_nothing_registered() {
    let (_dir, node) = node();
    let cases: [(&[(&str, &str)], &str); 8] = [
        (&[("ip", "127.0.0.101"), ("port", "1")], "serviceName"),
        (&[("serviceName", "svc"), ("ip", "not an ip"), ("port", "1")], "ip"),
        (&[("serviceName", "svc"), ("ip", "127.0.0.101"), ("port", "70000")], "port"),
        (&[("serviceName", "svc"), ("ip", "127.0.0.101"), ("port", "1"), ("weight", "10001")], "weights range"),
        (&[("serviceName", "svc"), ("ip", "127.0.0.101"), ("port", "1"), ("metadata", "{not json")], "metadata"),
        (&[("serviceName", "bad/name"), ("ip", "127.0.0.101"), ("port", "1")], "serviceName"),
        (&[("serviceName", "G1@@svc"), ("groupName", "G2"), ("ip", "127.0.0.101"), ("port", "1")], "disagrees"),
        (&[("serviceName", "svc"), ("ip", "127.0.0.101"), ("port", "1"), ("clusterName", "a_b")], "cluster"),
    ];
    for (form, needle) in cases {
        let response = send(&node, reqwest::Method::POST, INSTANCE, form);
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{form:?}");
        let body = response.text().unwrap();
        assert!(body.contains(needle), "{form:?}: {body:?} does not mention {needle:?}");
    }
    let heartbeat_times = [
        ("serviceName", "svc"),
        ("ip", "127.0.0.101"),
        ("port", "1"),
        ("metadata", r#"{"preserved.heart.beat.interval":"9000","preserved.heart.beat.timeout":"1000"}"#),
    ];
    let response = send(&node, reqwest::Method::POST, INSTANCE, &heartbeat_times);
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(hosts(&node, "svc").is_empty(), "nothing was half-registered");

    // Absurd paging is an empty page, not an overflow.
    let huge = [("serviceName", "svc"), ("pageNo", "9223372036854775807"), ("pageSize", "500")];
    for path in ["/nacos/v1/ns/service/subscribers", "/nacos/v1/ns/catalog/instances", "/nacos/v1/ns/service/list"] {
        let page = json_of(send(&node, reqwest::Method::GET, path, &huge));
        assert!(page.to_string().contains("\"count\":0"), "{path}: {page}");
    }
    let response =
        send(&node, reqwest::Method::GET, "/nacos/v1/ns/service/list", &[("pageNo", "-5"), ("pageSize", "x")]);
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    // v2 answers the same refusals in its envelope.
    let response =
        send(&node, reqwest::Method::POST, "/nacos/v2/ns/instance", &[("serviceName", "svc"), ("port", "1")]);
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = serde_json::from_str(&response.text().unwrap()).unwrap();
    assert_eq!(body["code"], 10000);
    assert!(body["data"].as_str().unwrap().contains("ip"));
}

#[test]
fn the_service_api_creates_updates_and_removes_persistent_services() {
    let (_dir, node) = node();
    let create = [("serviceName", "catalog"), ("protectThreshold", "0.5"), ("metadata", "owner=team-a,tier=1")];
    assert_eq!(send(&node, reqwest::Method::POST, "/nacos/v1/ns/service", &create).text().unwrap(), "ok");
    let again = send(&node, reqwest::Method::POST, "/nacos/v1/ns/service", &create);
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    assert!(again.text().unwrap().contains("already exists"));

    let detail = json_of(send(&node, reqwest::Method::GET, "/nacos/v1/ns/service", &[("serviceName", "catalog")]));
    assert_eq!((detail["name"].as_str(), detail["protectThreshold"].as_f64()), (Some("catalog"), Some(0.5)));
    assert_eq!(detail["metadata"]["owner"], "team-a");
    let console =
        json_of(send(&node, reqwest::Method::GET, "/nacos/v1/ns/catalog/service", &[("serviceName", "catalog")]));
    assert_eq!(console, detail, "the console's detail is the service API's");

    // Persistent instances; one set unhealthy by the health API trips the 0.5 threshold.
    for port in ["1", "2"] {
        let form = [("serviceName", "catalog"), ("ip", "127.11.0.101"), ("port", port), ("ephemeral", "false")];
        assert_eq!(send(&node, reqwest::Method::POST, INSTANCE, &form).status(), StatusCode::OK);
    }
    let health = [("serviceName", "catalog"), ("ip", "127.11.0.101"), ("port", "1"), ("healthy", "false")];
    assert_eq!(send(&node, reqwest::Method::PUT, "/nacos/v1/ns/health/instance", &health).status(), StatusCode::OK);
    let view = list(&node, "catalog");
    assert_eq!(view["reachProtectionThreshold"], true);
    assert!(view["hosts"].as_array().unwrap().iter().all(|h| h["healthy"] == true));
    let one = json_of(send(
        &node,
        reqwest::Method::GET,
        INSTANCE,
        &[("serviceName", "catalog"), ("ip", "127.11.0.101"), ("port", "1")],
    ));
    assert_eq!(one["healthy"], false, "the instance itself is unhealthy");

    let busy = send(&node, reqwest::Method::DELETE, "/nacos/v1/ns/service", &[("serviceName", "catalog")]);
    assert_eq!(busy.status(), StatusCode::BAD_REQUEST);
    assert!(busy.text().unwrap().contains("not empty"));
    for port in ["1", "2"] {
        let form = [("serviceName", "catalog"), ("ip", "127.11.0.101"), ("port", port), ("ephemeral", "false")];
        assert_eq!(send(&node, reqwest::Method::DELETE, INSTANCE, &form).status(), StatusCode::OK);
    }
    let list_page =
        json_of(send(&node, reqwest::Method::GET, "/nacos/v1/ns/service/list", &[("pageNo", "1"), ("pageSize", "10")]));
    assert_eq!(list_page, json!({ "count": 1, "doms": ["catalog"] }), "an explicitly created service stays");
    let update = [("serviceName", "catalog"), ("protectThreshold", "0.2")];
    assert_eq!(send(&node, reqwest::Method::PUT, "/nacos/v1/ns/service", &update).status(), StatusCode::OK);
    assert_eq!(
        send(&node, reqwest::Method::DELETE, "/nacos/v1/ns/service", &[("serviceName", "catalog")]).status(),
        StatusCode::OK
    );
    let gone = send(&node, reqwest::Method::GET, "/nacos/v1/ns/service", &[("serviceName", "catalog")]);
    assert_eq!(gone.status(), StatusCode::BAD_REQUEST);
    assert!(gone.text().unwrap().contains("not found"));
}

#[test]
fn v2_instances_and_metrics_answer_in_their_shapes() {
    let (_dir, node) = node();
    let form = [("serviceName", "v2svc"), ("ip", "127.12.0.101"), ("port", "80"), ("metadata", r#"{"k":"v"}"#)];
    let registered = json_of(send(&node, reqwest::Method::POST, "/nacos/v2/ns/instance", &form));
    assert_eq!(registered, json!({ "code": 0, "message": "success", "data": "ok" }));
    let listed = json_of(send(&node, reqwest::Method::GET, "/nacos/v2/ns/instance/list", &[("serviceName", "v2svc")]));
    assert_eq!(listed["data"]["hosts"][0]["metadata"]["k"], "v");
    let services = json_of(send(&node, reqwest::Method::GET, "/nacos/v2/ns/service/list", &[]));
    assert_eq!(services["data"], json!({ "count": 1, "services": ["v2svc"] }));
    let status = json_of(send(&node, reqwest::Method::GET, "/nacos/v1/ns/operator/metrics", &[]));
    assert_eq!(status, json!({ "status": "UP" }));
    let metrics =
        json_of(send(&node, reqwest::Method::GET, "/nacos/v1/ns/operator/metrics", &[("onlyStatus", "false")]));
    assert_eq!((metrics["serviceCount"].as_u64(), metrics["instanceCount"].as_u64()), (Some(1), Some(1)));
    eventually(Duration::from_secs(1), "the catalog counts the instance", || {
        let catalog = json_of(send(&node, reqwest::Method::GET, "/nacos/v1/ns/catalog/services", &[]));
        catalog["serviceList"][0]["ipCount"] == 1
    });
}

#[test]
fn naming_requests_over_grpc_refuse_bad_input_without_dropping_the_stream() {
    let (_dir, node) = node();
    runtime().block_on(async {
        let client = RawClient::connect(&node).await;
        let bad = json!({
            "namespace": "public", "serviceName": "svc", "groupName": "DEFAULT_GROUP", "type": "registerInstance",
            "instance": { "ip": "127.0.0.101", "port": 99999, "clusterName": "DEFAULT" }, "headers": {}, "module": "naming",
        });
        let (kind, body) = unary(&client.channel, payload("InstanceRequest", &bad)).await;
        assert_eq!((kind.as_str(), body["errorCode"].as_i64()), ("InstanceResponse", Some(400)));
        assert!(body["message"].as_str().unwrap().contains("port"));
        let unknown_type = json!({ "serviceName": "svc", "type": "explode", "instance": { "ip": "127.0.0.101", "port": 1 } });
        let (_, body) = unary(&client.channel, payload("InstanceRequest", &unknown_type)).await;
        assert_eq!(body["errorCode"], 400);
        let illegal_name = json!({ "serviceName": "a b", "type": "registerInstance", "instance": { "ip": "127.0.0.101", "port": 1 } });
        let (_, body) = unary(&client.channel, payload("InstanceRequest", &illegal_name)).await;
        assert_eq!(body["errorCode"], 400);
        let list = json!({ "namespace": "public", "groupName": "DEFAULT_GROUP", "pageNo": 1, "pageSize": 10 });
        let (kind, body) = unary(&client.channel, payload("ServiceListRequest", &list)).await;
        assert_eq!((kind.as_str(), body["count"].as_u64()), ("ServiceListResponse", Some(0)), "nothing registered");
        let query = json!({ "serviceName": "svc", "groupName": "DEFAULT_GROUP", "cluster": "", "healthyOnly": false });
        let (kind, body) = unary(&client.channel, payload("ServiceQueryRequest", &query)).await;
        assert_eq!(kind, "QueryServiceResponse");
        assert_eq!(body["serviceInfo"]["hosts"], json!([]));
        assert_eq!(body["serviceInfo"]["name"], "svc", "gRPC views carry the ungrouped name");
    });
}

/// Metadata is limited as Java Nacos limits it (1024 characters, keys and values together)
/// on every way in; a refused registration leaves nothing behind.
#[test]
fn oversized_metadata_is_refused_everywhere_and_registers_nothing() {
    let (_dir, node) = node();
    let huge = format!(r#"{{"blob":"{}"}}"#, "x".repeat(8 << 20));
    let just_over = format!(r#"{{"k":"{}"}}"#, "v".repeat(1024));
    for (path, metadata) in [
        ("/nacos/v1/ns/instance", huge.as_str()),
        ("/nacos/v1/ns/instance", just_over.as_str()),
        ("/nacos/v2/ns/instance", just_over.as_str()),
    ] {
        let form = [
            ("serviceName", "fat"),
            ("ip", "127.0.0.9"),
            ("port", "9"),
            ("ephemeral", "false"),
            ("metadata", metadata),
        ];
        let response = node.http().post(node.url(path)).form(&form).send().unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::BAD_REQUEST, "{path}");
        let body = response.text().unwrap();
        assert!(body.contains("should not exceed 1024"), "{path}: {}", &body[..body.len().min(200)]);
    }
    assert!(hosts(&node, "fat").is_empty());
    let service = [("serviceName", "fat-service"), ("protectThreshold", "0"), ("metadata", just_over.as_str())];
    let response = node.http().post(node.url("/nacos/v1/ns/service")).form(&service).send().unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::BAD_REQUEST);
    let at_limit = format!(r#"{{"k":"{}"}}"#, "v".repeat(1023));
    let form = [("serviceName", "fat"), ("ip", "127.0.0.9"), ("port", "9"), ("metadata", at_limit.as_str())];
    let response = node.http().post(node.url(INSTANCE)).form(&form).send().unwrap();
    assert_eq!(response.text().unwrap(), "ok", "1024 characters is within the limit");
}

/// Java Nacos's parameter-check lengths (cluster 64, ip 128, group 128, namespace 64) answer
/// 400 with its message over HTTP v1 and v2, and register nothing.
#[test]
fn overlong_names_are_refused_with_the_nacos_message() {
    let (_dir, node) = node();
    let cluster = "c".repeat(65);
    let group = "g".repeat(129);
    let namespace = "n".repeat(65);
    let cases = [
        ("clusterName", cluster.as_str(), "Param 'clusterName' is illegal, the param length should not exceed 64."),
        ("groupName", group.as_str(), "Param 'groupName' is illegal, the param length should not exceed 128."),
        ("namespaceId", namespace.as_str(), "Param 'namespaceId' is illegal, the param length should not exceed 64."),
    ];
    for path in ["/nacos/v1/ns/instance", "/nacos/v2/ns/instance"] {
        for (param, value, message) in cases {
            let form = [("serviceName", "named"), ("ip", "127.0.0.9"), ("port", "9"), (param, value)];
            let response = node.http().post(node.url(path)).form(&form).send().unwrap();
            assert_eq!(response.status(), reqwest::StatusCode::BAD_REQUEST, "{path} {param}");
            let body = response.text().unwrap();
            assert!(body.contains(message), "{path} {param}: {body}");
        }
    }
    assert!(hosts(&node, "named").is_empty());
}

/// `PUT`/`DELETE /instance/metadata/batch`: named instances of one kind, or all of them;
/// an absent instance or bad input refuses the whole batch and changes nothing.
#[test]
fn metadata_batches_edit_the_named_instances_and_refuse_a_missing_one() {
    let (_dir, node) = node();
    let batch = "/nacos/v1/ns/instance/metadata/batch";
    for (service, ip, ephemeral) in
        [("tagged", "127.30.0.1", "true"), ("tagged", "127.30.0.2", "true"), ("stored", "127.30.0.3", "false")]
    {
        let form =
            [("serviceName", service), ("ip", ip), ("port", "80"), ("ephemeral", ephemeral), ("metadata", "a=1")];
        assert_eq!(send(&node, reqwest::Method::POST, INSTANCE, &form).text().unwrap(), "ok");
    }
    let metadata_of = |service: &str, ip: &str| {
        let form = [("serviceName", service), ("ip", ip), ("port", "80")];
        json_of(send(&node, reqwest::Method::GET, INSTANCE, &form))["metadata"].clone()
    };

    let one = r#"[{"ip":"127.30.0.1","port":80,"clusterName":"DEFAULT"}]"#;
    let form = [("serviceName", "tagged"), ("instances", one), ("metadata", r#"{"zone":"z1"}"#)];
    let updated = json_of(send(&node, reqwest::Method::PUT, batch, &form));
    assert_eq!(updated, json!({ "updated": ["127.30.0.1:80:unknown:DEFAULT:ephemeral"] }));
    assert_eq!(metadata_of("tagged", "127.30.0.1"), json!({ "a": "1", "zone": "z1" }));
    assert_eq!(metadata_of("tagged", "127.30.0.2"), json!({ "a": "1" }), "not named");

    // No instances named: every persistent one (through raft).
    let form = [("serviceName", "stored"), ("consistencyType", "persist"), ("metadata", "b=2")];
    let updated = json_of(send(&node, reqwest::Method::PUT, batch, &form));
    assert_eq!(updated, json!({ "updated": ["127.30.0.3:80:unknown:DEFAULT:persist"] }));
    assert_eq!(metadata_of("stored", "127.30.0.3"), json!({ "a": "1", "b": "2" }));

    let form = [("serviceName", "tagged"), ("instances", one), ("metadata", "a=,zone=")];
    json_of(send(&node, reqwest::Method::DELETE, batch, &form));
    assert_eq!(metadata_of("tagged", "127.30.0.1"), json!({}));
    let v2 = "/nacos/v2/ns/instance/metadata/batch";
    let form = [("serviceName", "tagged"), ("metadata", "c=3")];
    let answer = json_of(send(&node, reqwest::Method::PUT, v2, &form));
    assert_eq!(answer["data"]["updated"].as_array().unwrap().len(), 2, "{answer}");

    let all = || {
        [("tagged", "127.30.0.1"), ("tagged", "127.30.0.2"), ("stored", "127.30.0.3")]
            .iter()
            .map(|(service, ip)| metadata_of(service, ip))
            .collect::<Vec<Value>>()
    };
    let before = all();
    let missing = r#"[{"ip":"127.30.0.1","port":80},{"ip":"127.30.0.9","port":80}]"#;
    let long = format!("k={}", "v".repeat(1100));
    let no_port = r#"[{"ip":"127.30.0.1","port":"x"}]"#;
    for (form, why) in [
        (vec![("serviceName", "tagged"), ("instances", missing), ("metadata", "d=4")], "a missing instance"),
        (vec![("serviceName", "tagged"), ("instances", "[{"), ("metadata", "d=4")], "malformed instances"),
        (vec![("serviceName", "tagged"), ("instances", no_port), ("metadata", "d=4")], "no port"),
        (vec![("serviceName", "tagged"), ("metadata", "{not json")], "malformed metadata"),
        (vec![("serviceName", "tagged")], "no metadata"),
        (vec![("serviceName", "tagged"), ("metadata", long.as_str())], "oversize metadata"),
        (
            vec![("serviceName", "stored"), ("consistencyType", "persist"), ("metadata", long.as_str())],
            "oversize, persistent",
        ),
    ] {
        let response = send(&node, reqwest::Method::PUT, batch, &form);
        let status = response.status();
        let text = response.text().unwrap();
        assert!(status.is_client_error(), "{why}: {status} {text}");
        assert!(!text.contains("panicked") && !text.is_empty(), "{why}: {text}");
    }
    assert_eq!(all(), before, "a refused batch changed metadata");
}

/// A label selector: a consumer sees the providers whose label matches its own, the labels
/// of an ip being the metadata of its instances in the namespace; a malformed expression is
/// refused and changes nothing.
#[test]
fn a_label_selector_shows_each_consumer_the_providers_that_share_its_labels() {
    let (_dir, node) = node();
    let selector = r#"{"type":"label","expression":"CONSUMER.label.zone = PROVIDER.label.zone"}"#;
    let create = [("serviceName", "zoned"), ("ephemeral", "true"), ("protectThreshold", "0"), ("selector", selector)];
    assert_eq!(send(&node, reqwest::Method::POST, "/nacos/v1/ns/service", &create).text().unwrap(), "ok");
    for (ip, zone) in [("127.32.0.1", "a"), ("127.32.0.2", "b")] {
        let metadata = format!("zone={zone}");
        let form = [("serviceName", "zoned"), ("ip", ip), ("port", "80"), ("metadata", metadata.as_str())];
        assert_eq!(send(&node, reqwest::Method::POST, INSTANCE, &form).text().unwrap(), "ok");
    }
    // The consumer (this test, at 127.0.0.1) is itself an instance of another service, in zone a.
    let own = [("serviceName", "caller"), ("ip", "127.0.0.1"), ("port", "81"), ("metadata", "zone=a")];
    assert_eq!(send(&node, reqwest::Method::POST, INSTANCE, &own).text().unwrap(), "ok");
    let ips = |extra: &[(&str, &str)]| -> Vec<String> {
        let mut form = vec![("serviceName", "zoned")];
        form.extend_from_slice(extra);
        let body = json_of(send(&node, reqwest::Method::GET, "/nacos/v1/ns/instance/list", &form));
        let mut ips: Vec<String> =
            body["hosts"].as_array().unwrap().iter().map(|h| h["ip"].as_str().unwrap().to_owned()).collect();
        ips.sort();
        ips
    };
    assert_eq!(ips(&[]), ["127.32.0.1"], "a zone-a consumer sees zone a");
    assert_eq!(ips(&[("clientIP", "127.32.9.9")]), ["127.32.0.1", "127.32.0.2"], "a consumer without labels sees all");

    let before = json_of(send(&node, reqwest::Method::GET, "/nacos/v1/ns/service", &[("serviceName", "zoned")]));
    for bad in ["zone", "CONSUMER.label.zone = PROVIDER.label.env", "CONSUMER.label.zone = PROVIDER.label.zone &"] {
        let selector = json!({ "type": "label", "expression": bad }).to_string();
        let form = [("serviceName", "zoned"), ("protectThreshold", "0"), ("selector", selector.as_str())];
        let response = send(&node, reqwest::Method::PUT, "/nacos/v1/ns/service", &form);
        let status = response.status();
        let text = response.text().unwrap();
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {text}");
        assert!(text.contains("expression"), "{bad}: {text}");
    }
    let after = json_of(send(&node, reqwest::Method::GET, "/nacos/v1/ns/service", &[("serviceName", "zoned")]));
    assert_eq!(after, before, "a refused selector changed the service");
}
