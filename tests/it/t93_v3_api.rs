//! Nacos 3.x's HTTP APIs on a real node: the client API (`/nacos/v3/client/...`: a config
//! read; register, heartbeat, list and deregister an instance) and the admin API
//! (`/nacos/v3/admin/...`: configs, services, instances, namespaces), in the
//! `{code, message, data}` envelope with 3.x's parameter names (`groupName`), and bad input.

use reqwest::Method;
use reqwest::StatusCode;
use serde_json::Value;
use tests::Nacosd;

fn call(node: &Nacosd, method: Method, path: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let response = node.http().request(method, node.url(path)).query(form).send().unwrap();
    let status = response.status();
    let text = response.text().unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn ok(node: &Nacosd, method: Method, path: &str, form: &[(&str, &str)]) -> Value {
    let (status, body) = call(node, method, path, form);
    assert_eq!((status, &body["code"]), (StatusCode::OK, &Value::from(0)), "{path}: {body}");
    body["data"].clone()
}

const ADMIN_CONFIG: &str = "/nacos/v3/admin/cs/config";
const CLIENT_CONFIG: &str = "/nacos/v3/client/cs/config";

#[test]
fn configs_through_the_v3_client_and_admin_apis() {
    let dir = tempfile::tempdir().unwrap();
    let node = Nacosd::start(&dir.path().join("node"));
    let key = [("dataId", "app.yaml"), ("groupName", "G3")];
    let publish = [key[0], key[1], ("content", "a: 1"), ("type", "yaml"), ("desc", "the app"), ("configTags", "x,y")];
    assert_eq!(ok(&node, Method::POST, ADMIN_CONFIG, &publish), true);

    let read = ok(&node, Method::GET, CLIENT_CONFIG, &key);
    assert_eq!((read["content"].as_str(), read["contentType"].as_str()), (Some("a: 1"), Some("yaml")));
    assert_eq!(read["beta"], false);
    assert_eq!(read["md5"].as_str().map(str::len), Some(32));
    let detail = ok(&node, Method::GET, ADMIN_CONFIG, &key);
    assert_eq!((detail["groupName"].as_str(), detail["desc"].as_str()), (Some("G3"), Some("the app")));
    assert_eq!(detail["configTags"], "x,y");
    let list = ok(&node, Method::GET, "/nacos/v3/admin/cs/config/list", &[("groupName", "G3"), ("dataId", "app")]);
    assert_eq!(list["totalCount"], 1, "{list}");
    assert_eq!(list["pageItems"][0]["dataId"], "app.yaml");

    // A tag's version, read through the client API and removed through the admin API.
    assert_eq!(ok(&node, Method::POST, ADMIN_CONFIG, &[key[0], key[1], ("content", "a: 2"), ("tag", "canary")]), true);
    let tagged = ok(&node, Method::GET, CLIENT_CONFIG, &[key[0], key[1], ("tag", "canary")]);
    assert_eq!((tagged["content"].as_str(), tagged["tag"].as_str()), (Some("a: 2"), Some("canary")));
    assert_eq!(ok(&node, Method::DELETE, ADMIN_CONFIG, &[key[0], key[1], ("tag", "canary")]), true);
    assert_eq!(ok(&node, Method::GET, CLIENT_CONFIG, &[key[0], key[1], ("tag", "canary")])["content"], "a: 1");

    // Bad input: a clear error in the envelope, nothing changed.
    for (form, code, why) in [
        (vec![("dataId", "app.yaml"), ("content", "z")], 10000, "no groupName"),
        (vec![("dataId", "a b"), ("groupName", "G3"), ("content", "z")], 20008, "a bad dataId"),
        (vec![key[0], key[1], ("content", "z"), ("tag", "bad tag")], 20002, "a bad tag"),
    ] {
        let (status, body) = call(&node, Method::POST, ADMIN_CONFIG, &form);
        assert_eq!((status, &body["code"]), (StatusCode::BAD_REQUEST, &Value::from(code)), "{why}: {body}");
    }
    assert_eq!(ok(&node, Method::GET, CLIENT_CONFIG, &key)["content"], "a: 1");

    // History: the list, one record, and the one before it; the beta through its own path.
    let history = ok(&node, Method::GET, "/nacos/v3/admin/cs/history/list", &key);
    let items = history["pageItems"].as_array().unwrap();
    assert!(items.len() >= 3, "{history}");
    assert!(items.iter().any(|item| item["grayName"] == "tag_canary" && item["publishType"] == "gray"), "{history}");
    let formal = items.iter().find(|item| item["publishType"] == "formal").unwrap();
    let nid = formal["id"].as_str().unwrap();
    let record = ok(&node, Method::GET, "/nacos/v3/admin/cs/history", &[key[0], key[1], ("nid", nid)]);
    assert_eq!((record["content"].as_str(), record["groupName"].as_str()), (Some("a: 1"), Some("G3")));
    let (status, body) = call(
        &node,
        Method::GET,
        "/nacos/v3/admin/cs/history",
        &[("dataId", "other"), ("groupName", "G3"), ("nid", nid)],
    );
    assert_eq!(status, StatusCode::NOT_FOUND, "a record of another config: {body}");
    let (status, _) = call(&node, Method::GET, "/nacos/v3/admin/cs/history", &[key[0], key[1], ("nid", "x")]);
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let mut beta = node.http().post(node.url(ADMIN_CONFIG)).query(&[key[0], key[1], ("content", "a: ip")]);
    beta = beta.header("betaIps", "127.0.0.1");
    assert_eq!(beta.send().unwrap().status(), StatusCode::OK);
    let shown = ok(&node, Method::GET, "/nacos/v3/admin/cs/config/beta", &key);
    assert_eq!((shown["content"].as_str(), shown["grayRule"].as_str()), (Some("a: ip"), Some("127.0.0.1")));
    assert_eq!(ok(&node, Method::GET, CLIENT_CONFIG, &key)["beta"], true);
    assert_eq!(ok(&node, Method::DELETE, "/nacos/v3/admin/cs/config/beta", &key), true);
    assert_eq!(ok(&node, Method::GET, "/nacos/v3/admin/cs/config/beta", &key), Value::Null);

    assert_eq!(ok(&node, Method::DELETE, ADMIN_CONFIG, &key), true);
    let (status, body) = call(&node, Method::GET, CLIENT_CONFIG, &key);
    assert_eq!((status, &body["code"]), (StatusCode::NOT_FOUND, &Value::from(20004)), "{body}");
    let (status, _) = call(&node, Method::POST, CLIENT_CONFIG, &[key[0], key[1], ("content", "z")]);
    assert!(status.is_client_error(), "the client API does not publish: {status}");
}

#[test]
fn instances_through_the_v3_client_api_and_services_through_the_admin_api() {
    let dir = tempfile::tempdir().unwrap();
    let node = Nacosd::start(&dir.path().join("node"));
    let client = "/nacos/v3/client/ns/instance";
    let instance = [("serviceName", "orders"), ("groupName", "G3"), ("ip", "127.31.0.1"), ("port", "8080")];
    assert_eq!(ok(&node, Method::POST, client, &instance), "ok");
    let hosts =
        ok(&node, Method::GET, "/nacos/v3/client/ns/instance/list", &[("serviceName", "orders"), ("groupName", "G3")]);
    assert_eq!(hosts[0]["ip"], "127.31.0.1", "{hosts}");
    assert_eq!(hosts.as_array().unwrap().len(), 1);

    let beat = [instance[0], instance[1], instance[2], instance[3], ("heartBeat", "true")];
    assert_eq!(ok(&node, Method::POST, client, &beat), "ok");
    let unknown = [instance[0], instance[1], ("ip", "127.31.0.9"), ("port", "1"), ("heartBeat", "true")];
    let (_, body) = call(&node, Method::POST, client, &unknown);
    assert_eq!(body["code"], 21003, "an unknown instance's heartbeat asks to register again: {body}");
    let (status, _) = call(&node, Method::POST, "/nacos/v3/client/ns/service", &[("serviceName", "x")]);
    assert_eq!(status, StatusCode::NOT_FOUND, "the client API has no service operations");
    let (status, body) = call(&node, Method::POST, client, &[("serviceName", "orders"), ("ip", "127.31.0.2")]);
    assert_eq!(status, StatusCode::BAD_REQUEST, "no port: {body}");

    let admin = "/nacos/v3/admin/ns";
    let service = [("serviceName", "stock"), ("groupName", "G3"), ("protectThreshold", "0.5")];
    assert_eq!(ok(&node, Method::POST, &format!("{admin}/service"), &service), "ok");
    let detail = ok(&node, Method::GET, &format!("{admin}/service"), &service[..2]);
    assert_eq!((detail["serviceName"].as_str(), detail["protectThreshold"].as_f64()), (Some("stock"), Some(0.5)));
    let persistent = [service[0], service[1], ("ip", "127.31.0.3"), ("port", "9"), ("ephemeral", "false")];
    assert_eq!(ok(&node, Method::POST, &format!("{admin}/instance"), &persistent), "ok");
    let listed = ok(&node, Method::GET, &format!("{admin}/instance/list"), &service[..2]);
    assert_eq!(listed[0]["ip"], "127.31.0.3", "{listed}");

    assert_eq!(ok(&node, Method::DELETE, client, &instance), "ok");
    let hosts =
        ok(&node, Method::GET, "/nacos/v3/client/ns/instance/list", &[("serviceName", "orders"), ("groupName", "G3")]);
    assert_eq!(hosts, Value::Array(Vec::new()));
}

#[test]
fn namespaces_through_the_v3_admin_api() {
    let dir = tempfile::tempdir().unwrap();
    let node = Nacosd::start(&dir.path().join("node"));
    let path = "/nacos/v3/admin/core/namespace";
    assert_eq!(ok(&node, Method::POST, path, &[("namespaceId", "dev3"), ("namespaceName", "Dev")]), true);
    let list = ok(&node, Method::GET, &format!("{path}/list"), &[]);
    assert!(list.as_array().unwrap().iter().any(|ns| ns["namespace"] == "dev3"), "{list}");
    assert_eq!(ok(&node, Method::GET, path, &[("namespaceId", "dev3")])["namespaceShowName"], "Dev");
    let (status, body) = call(&node, Method::POST, path, &[("namespaceId", "bad id!"), ("namespaceName", "x")]);
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(ok(&node, Method::DELETE, path, &[("namespaceId", "dev3")]), true);
    let (status, _) = call(&node, Method::GET, path, &[("namespaceId", "dev3")]);
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[test]
fn state_cluster_operator_and_listener_queries_through_the_v3_admin_api() {
    let dir = tempfile::tempdir().unwrap();
    let node = Nacosd::start(&dir.path().join("node"));
    assert_eq!(ok(&node, Method::GET, "/nacos/v3/admin/core/state/liveness", &[]), "ok");
    assert_eq!(ok(&node, Method::GET, "/nacos/v3/admin/core/state/readiness", &[]), "ok");
    let nodes = ok(&node, Method::GET, "/nacos/v3/admin/core/cluster/node/list", &[]);
    assert_eq!((nodes.as_array().map(Vec::len), nodes[0]["state"].as_str()), (Some(1), Some("UP")), "{nodes}");
    assert_eq!(ok(&node, Method::GET, "/nacos/v3/admin/core/cluster/node/self", &[])["state"], "UP");
    let metrics = ok(&node, Method::GET, "/nacos/v3/admin/ns/ops/metrics", &[]);
    assert_eq!(metrics["status"], "UP", "{metrics}");
    let switch = [("entry", "checkTimes"), ("value", "5")];
    assert_eq!(ok(&node, Method::PUT, "/nacos/v3/admin/ns/ops/switches", &switch), "ok");
    assert_eq!(ok(&node, Method::GET, "/nacos/v3/admin/ns/ops/switches", &[])["checkTimes"], 5);

    // A long poll held on a config shows in both listener queries, with the md5 it holds.
    let publish = [("dataId", "watched"), ("groupName", "G3"), ("content", "v1")];
    assert_eq!(ok(&node, Method::POST, ADMIN_CONFIG, &publish), true);
    let md5 = ok(&node, Method::GET, ADMIN_CONFIG, &publish[..2])["md5"].as_str().unwrap().to_owned();
    let poll = {
        let listening = format!("watched\u{2}G3\u{2}{md5}\u{1}");
        let (http, url) = (node.http().clone(), node.url("/nacos/v1/cs/configs/listener"));
        std::thread::spawn(move || {
            http.post(url).header("Long-Pulling-Timeout", "30000").form(&[("Listening-Configs", listening)]).send()
        })
    };
    let by_config = [("dataId", "watched"), ("groupName", "G3")];
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let listeners = loop {
        let data = ok(&node, Method::GET, "/nacos/v3/admin/cs/config/listener", &by_config);
        if data["listenersStatus"].as_object().is_some_and(|status| !status.is_empty()) {
            break data;
        }
        assert!(std::time::Instant::now() < deadline, "the poll never showed: {data}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(listeners["queryType"], "config");
    assert_eq!(listeners["listenersStatus"]["127.0.0.1"], md5.as_str(), "{listeners}");
    let by_ip = ok(&node, Method::GET, "/nacos/v3/admin/cs/listener", &[("ip", "127.0.0.1")]);
    assert_eq!(by_ip["queryType"], "ip");
    assert_eq!(by_ip["listenersStatus"]["watched+G3"], md5.as_str(), "{by_ip}");
    let (status, body) = call(&node, Method::GET, "/nacos/v3/admin/cs/listener", &[]);
    assert_eq!(status, StatusCode::BAD_REQUEST, "no ip: {body}");
    let (status, body) = call(&node, Method::GET, "/nacos/v3/admin/cs/config/listener", &[("groupName", "G3")]);
    assert_eq!(status, StatusCode::BAD_REQUEST, "no dataId: {body}");
    let changed = [("dataId", "watched"), ("groupName", "G3"), ("content", "v2")];
    assert_eq!(ok(&node, Method::POST, ADMIN_CONFIG, &changed), true);
    let answer = poll.join().unwrap().unwrap().text().unwrap();
    assert!(answer.starts_with("watched"), "the poll is answered with the change: {answer}");
}
