//! Health checks of persistent instances against real processes: the test starts a real TCP
//! listener and a real HTTP server on loopback, registers them as persistent instances, then
//! stops them or makes them answer 500, and watches the server mark the instances unhealthy
//! and healthy again (through the HTTP API and an SDK subscriber's pushes). The timings
//! themselves (three probes, 2-7 s apart) are tested in paused time in app's `health_tasks`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nacos_sdk::api::naming::{NamingChangeEvent, NamingEventListener, NamingServiceBuilder};
use nacos_sdk::api::props::ClientProps;
use reqwest::blocking::Response;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tests::{Cluster, Nacosd};

/// Three probes up to 7 s apart, and time for the change to be applied.
const FLIP_WITHIN: Duration = Duration::from_secs(45);

fn send(node: &Nacosd, method: Method, path: &str, form: &[(&str, &str)]) -> Response {
    node.http().request(method, node.url(path)).query(form).send().unwrap()
}

fn ok(response: Response) -> String {
    let status = response.status();
    let text = response.text().unwrap();
    assert_eq!(status, StatusCode::OK, "{text}");
    text
}

fn register_persistent(node: &Nacosd, service: &str, addr: SocketAddr, cluster: &str) {
    let port = addr.port().to_string();
    let ip = addr.ip().to_string();
    let form = [
        ("serviceName", service),
        ("ip", ip.as_str()),
        ("port", port.as_str()),
        ("clusterName", cluster),
        ("ephemeral", "false"),
    ];
    assert_eq!(ok(send(node, Method::POST, "/nacos/v1/ns/instance", &form)), "ok");
}

/// The instance's recorded health, as `GET /nacos/v1/ns/instance` shows it.
fn healthy(node: &Nacosd, service: &str, addr: SocketAddr, cluster: &str) -> bool {
    let (ip, port) = (addr.ip().to_string(), addr.port().to_string());
    let form = [("serviceName", service), ("ip", ip.as_str()), ("port", port.as_str()), ("clusterName", cluster)];
    let body: Value = serde_json::from_str(&ok(send(node, Method::GET, "/nacos/v1/ns/instance", &form))).unwrap();
    body["healthy"].as_bool().unwrap()
}

fn wait_for_health(node: &Nacosd, service: &str, addr: SocketAddr, cluster: &str, want: bool) -> Duration {
    let started = Instant::now();
    while healthy(node, service, addr, cluster) != want {
        assert!(started.elapsed() < FLIP_WITHIN, "{service} {addr} never turned healthy={want}");
        std::thread::sleep(Duration::from_millis(100));
    }
    started.elapsed()
}

fn set_cluster(node: &Nacosd, service: &str, cluster: &str, checker: &str) -> Response {
    let form = [
        ("serviceName", service),
        ("clusterName", cluster),
        ("checkPort", "80"),
        ("useInstancePort4Check", "true"),
        ("healthChecker", checker),
    ];
    send(node, Method::PUT, "/nacos/v1/ns/cluster", &form)
}

fn service_detail(node: &Nacosd, version: &str, service: &str) -> Value {
    let path = format!("/nacos/{version}/ns/service");
    serde_json::from_str(&ok(send(node, Method::GET, &path, &[("serviceName", service)]))).unwrap()
}

/// A real HTTP server on loopback: answers every request with `status`, and records the
/// request lines it saw.
struct HttpInstance {
    addr: SocketAddr,
    status: Arc<AtomicU16>,
    requests: Arc<Mutex<Vec<String>>>,
}

impl HttpInstance {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let status = Arc::new(AtomicU16::new(200));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (answer, seen) = (Arc::clone(&status), Arc::clone(&requests));
        std::thread::spawn(move || {
            for mut stream in listener.incoming().map_while(Result::ok) {
                let mut request = [0u8; 2048];
                let Ok(read) = stream.read(&mut request) else { continue };
                let request = String::from_utf8_lossy(&request[..read]).into_owned();
                seen.lock().unwrap().push(request);
                let code = answer.load(Ordering::SeqCst);
                let _ = stream.write_all(format!("HTTP/1.1 {code} X\r\nContent-Length: 0\r\n\r\n").as_bytes());
            }
        });
        Self { addr, status, requests }
    }
}

/// Records, per push, whether the instance at `addr` was healthy.
struct HealthEvents {
    addr: String,
    seen: Mutex<Vec<bool>>,
}

impl NamingEventListener for HealthEvents {
    fn event(&self, event: Arc<NamingChangeEvent>) {
        let instances = event.instances.as_deref().unwrap_or_default();
        if let Some(instance) = instances.iter().find(|i| i.ip_and_port() == self.addr) {
            self.seen.lock().unwrap().push(instance.healthy);
        }
    }
}

#[test]
fn a_persistent_instance_turns_unhealthy_when_its_port_closes_and_healthy_when_it_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let node = Nacosd::start(&dir.path().join("node"));
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    register_persistent(&node, "tcp-checked", addr, "DEFAULT");
    // A second instance that stays up: with none healthy, the protect threshold (0) would
    // show every host healthy in pushes, as Java does.
    let steady = TcpListener::bind("127.0.0.1:0").unwrap();
    register_persistent(&node, "tcp-checked", steady.local_addr().unwrap(), "DEFAULT");

    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let events = Arc::new(HealthEvents { addr: addr.to_string(), seen: Mutex::new(Vec::new()) });
    let _subscriber = runtime.block_on(async {
        let props = ClientProps::new()
            .server_addr(node.http_addr())
            .remote_grpc_port(node.grpc_port)
            .naming_push_empty_protection(false)
            .naming_load_cache_at_start(false)
            .cache_dir(dir.path().join("cache"));
        let sdk = NamingServiceBuilder::new(props).build().await.unwrap();
        sdk.subscribe("tcp-checked".into(), None, vec![], events.clone()).await.unwrap();
        sdk
    });

    // Listening: probes pass and nothing changes; closed: unhealthy, pushed.
    assert!(healthy(&node, "tcp-checked", addr, "DEFAULT"));
    drop(listener);
    let took = wait_for_health(&node, "tcp-checked", addr, "DEFAULT", false);
    eprintln!("unhealthy {took:?} after the port closed");
    let pushed = Instant::now();
    while !events.seen.lock().unwrap().contains(&false) {
        assert!(
            pushed.elapsed() < Duration::from_secs(5),
            "the subscriber was not pushed the unhealthy instance: {:?}",
            events.seen.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    let _reopened = TcpListener::bind(addr).unwrap();
    let took = wait_for_health(&node, "tcp-checked", addr, "DEFAULT", true);
    eprintln!("healthy {took:?} after the port reopened");
    let pushed = Instant::now();
    while events.seen.lock().unwrap().last() != Some(&true) {
        assert!(pushed.elapsed() < Duration::from_secs(5), "the subscriber was not pushed the healthy instance");
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(runtime);
}

#[test]
fn an_http_checker_gets_its_path_and_judges_the_status() {
    let dir = tempfile::tempdir().unwrap();
    let node = Nacosd::start(&dir.path().join("node"));
    let server = HttpInstance::start();
    register_persistent(&node, "http-checked", server.addr, "web");
    let checker = r#"{"type":"HTTP","path":"/health","headers":"X-Checked-By:nacosd","expectedResponseCode":200}"#;
    assert_eq!(ok(set_cluster(&node, "http-checked", "web", checker)), "ok");

    let detail = service_detail(&node, "v1", "http-checked");
    let cluster = detail["clusters"].as_array().unwrap().iter().find(|c| c["name"] == "web").unwrap().clone();
    assert_eq!(cluster["healthChecker"]["type"], "HTTP");
    assert_eq!(cluster["healthChecker"]["path"], "/health");
    let v2 = service_detail(&node, "v2", "http-checked");
    assert_eq!(v2["data"]["clusterMap"]["web"]["healthChecker"]["expectedResponseCode"], 200);

    // A 500 says the path is not served: unhealthy at the next probe.
    server.status.store(500, Ordering::SeqCst);
    wait_for_health(&node, "http-checked", server.addr, "web", false);
    server.status.store(200, Ordering::SeqCst);
    wait_for_health(&node, "http-checked", server.addr, "web", true);
    let requests = server.requests.lock().unwrap().clone();
    assert!(requests.len() >= 4, "{requests:?}");
    for request in &requests {
        assert!(request.starts_with("GET /health HTTP/1.1\r\n"), "{request}");
        assert!(request.contains("\r\nX-Checked-By: nacosd\r\n"), "{request}");
    }
}

#[test]
fn a_none_checker_leaves_health_alone_and_bad_checkers_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let node = Nacosd::start(&dir.path().join("node"));
    // Two closed ports: one in a cluster that is not checked, one (the control) checked.
    let closed = |_| TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let (unchecked, control): (SocketAddr, SocketAddr) = (closed(0), closed(1));
    register_persistent(&node, "mixed", unchecked, "quiet");
    assert_eq!(ok(set_cluster(&node, "mixed", "quiet", r#"{"type":"NONE"}"#)), "ok");
    register_persistent(&node, "mixed", control, "DEFAULT");

    let before = service_detail(&node, "v1", "mixed");
    for (checker, why) in [
        (r#"{"type":"MYSQL"}"#, "an unknown type"),
        (r#"{"type":"HTTP","expectedResponseCode":"x"}"#, "a code that is not a number"),
        (r#"{"type":"HTTP","expectedResponseCode":700}"#, "a code that is not an HTTP status"),
        (r#"{"path":"/x"}"#, "no type"),
        ("TCP", "not JSON"),
    ] {
        let response = set_cluster(&node, "mixed", "quiet", checker);
        let status = response.status();
        let text = response.text().unwrap();
        assert_eq!(status, StatusCode::BAD_REQUEST, "{why}: {text}");
        assert!(text.contains("healthChecker"), "{why}: {text}");
    }
    let long_path = format!(r#"{{"type":"HTTP","path":"/{}"}}"#, "p".repeat(2000));
    assert_eq!(set_cluster(&node, "mixed", "quiet", &long_path).status(), StatusCode::BAD_REQUEST);
    let missing = send(&node, Method::PUT, "/nacos/v1/ns/cluster", &[("serviceName", "mixed"), ("clusterName", "x")]);
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
    let absent = set_cluster(&node, "no-such-service", "c", r#"{"type":"TCP"}"#);
    assert!(absent.status().is_client_error(), "{}", absent.status());
    assert_eq!(service_detail(&node, "v1", "mixed"), before, "a refused change changed the service");

    // Once the control has been found unhealthy (three probes), the unchecked one is still
    // as registered.
    wait_for_health(&node, "mixed", control, "DEFAULT", false);
    assert!(healthy(&node, "mixed", unchecked, "quiet"), "a NONE cluster's instance was probed");
}

#[test]
fn in_a_cluster_a_survivor_takes_over_the_checks_of_a_killed_node() {
    let mut cluster = Cluster::start(3, &[]);
    let leader = cluster.wait_for_leader(Duration::from_secs(30));
    let server = HttpInstance::start();
    register_persistent(&cluster.nodes[leader], "checked-everywhere", server.addr, "DEFAULT");
    let checker = r#"{"type":"HTTP","path":"/ready"}"#;
    assert_eq!(ok(set_cluster(&cluster.nodes[leader], "checked-everywhere", "DEFAULT", checker)), "ok");
    // Each service is probed by one node: kill one (whichever was responsible, a survivor is
    // now, or already was), then fail the probes.
    let killed = cluster.other_than(leader);
    cluster.nodes[killed].kill9();
    server.status.store(404, Ordering::SeqCst);
    for node in cluster.nodes.iter().filter(|node| node.is_running()) {
        wait_for_health(node, "checked-everywhere", server.addr, "DEFAULT", false);
    }
    server.status.store(200, Ordering::SeqCst);
    for node in cluster.nodes.iter().filter(|node| node.is_running()) {
        wait_for_health(node, "checked-everywhere", server.addr, "DEFAULT", true);
    }
}

/// `GET`/`PUT /nacos/v1/ns/operator/switches`: every Java switch shown with its type; a set
/// one holds on every member and across a restart; bad entries and values change nothing.
#[test]
fn switches_are_shown_set_cluster_wide_and_refused_when_bad() {
    let mut cluster = Cluster::start(3, &[]);
    let leader = cluster.wait_for_leader(Duration::from_secs(30));
    let switches = |node: &Nacosd| -> Value {
        serde_json::from_str(&ok(send(node, Method::GET, "/nacos/v1/ns/operator/switches", &[]))).unwrap()
    };
    let shown = switches(&cluster.nodes[leader]);
    assert_eq!((shown["healthCheckEnabled"].as_bool(), shown["checkTimes"].as_i64()), (Some(true), Some(3)));
    assert_eq!(shown["distroThreshold"].as_f64(), Some(0.7));
    assert_eq!(shown["name"], "00-00---000-NACOS_SWITCH_DOMAIN-000---00-00");

    let follower = cluster.other_than(leader);
    let set = |node: &Nacosd, form: &[(&str, &str)]| send(node, Method::PUT, "/nacos/v1/ns/operator/switches", form);
    assert_eq!(ok(set(&cluster.nodes[follower], &[("entry", "checkTimes"), ("value", "5")])), "ok");
    assert_eq!(ok(set(&cluster.nodes[leader], &[("entry", "pushJavaVersion"), ("value", "2.1.0")])), "ok");
    for node in &cluster.nodes {
        let started = Instant::now();
        while switches(node)["checkTimes"] != 5 {
            assert!(started.elapsed() < Duration::from_secs(10), "checkTimes never reached a member");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    for (form, why) in [
        (vec![("entry", "noSuchSwitch"), ("value", "1")], "an unknown switch"),
        (vec![("entry", "checkTimes"), ("value", "many")], "not a number"),
        (vec![("entry", "checkTimes"), ("value", "0")], "below 1"),
        (vec![("entry", "healthCheckEnabled"), ("value", "maybe")], "not a boolean"),
        (vec![("entry", "checkTimes")], "no value"),
    ] {
        let response = set(&cluster.nodes[leader], &form);
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{why}: {}", response.text().unwrap());
    }
    cluster.nodes[leader].terminate();
    cluster.nodes[leader].restart();
    let shown = switches(&cluster.nodes[leader]);
    assert_eq!((shown["checkTimes"].as_i64(), shown["pushJavaVersion"].as_str()), (Some(5), Some("2.1.0")));
    assert_eq!(shown["healthCheckEnabled"], true, "refused changes changed nothing");
}
