//! The real Rust Nacos SDK's naming client against a real nacosd, over gRPC.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nacos_sdk::api::naming::{
    NamingChangeEvent, NamingEventListener, NamingService, NamingServiceBuilder, ServiceInstance,
};
use nacos_sdk::api::props::ClientProps;
use serde_json::Value;
use tests::Nacosd;

/// The env var that turns `registrar_child` into a registering process.
const REGISTRAR_ENV: &str = "NACOSD_TEST_REGISTRAR";

fn with_node(test: impl for<'a> AsyncFnOnce(&'a Nacosd, &'a Path)) {
    let dir = tempfile::tempdir().unwrap();
    let node = Nacosd::start(&dir.path().join("node"));
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(test(&node, dir.path()));
}

async fn naming(node: &Nacosd, namespace: &str, cache: &Path) -> NamingService {
    let props = ClientProps::new()
        .server_addr(node.http_addr())
        .remote_grpc_port(node.grpc_port)
        .namespace(namespace)
        .app_name("nacosd-tests")
        .naming_push_empty_protection(false)
        .naming_load_cache_at_start(false)
        .cache_dir(cache);
    NamingServiceBuilder::new(props).build().await.unwrap()
}

fn instance(ip: &str, port: i32) -> ServiceInstance {
    ServiceInstance { ip: ip.to_owned(), port, ..ServiceInstance::default() }
}

fn addrs(instances: &[ServiceInstance]) -> Vec<String> {
    let mut addrs: Vec<String> = instances.iter().map(ServiceInstance::ip_and_port).collect();
    addrs.sort();
    addrs
}

/// The hosts `GET /nacos/v1/ns/instance/list` shows, as `ip:port`.
fn http_hosts(node: &Nacosd, service: &str) -> Vec<String> {
    let url = node.url("/nacos/v1/ns/instance/list");
    let body = node.http().get(url).query(&[("serviceName", service)]).send().unwrap().text().unwrap();
    let body: Value = serde_json::from_str(&body).unwrap();
    let mut hosts: Vec<String> = body["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| format!("{}:{}", h["ip"].as_str().unwrap(), h["port"]))
        .collect();
    hosts.sort();
    hosts
}

/// [`http_hosts`] from inside the runtime (the blocking client must not run on it).
fn hosts_now(node: &Nacosd, service: &str) -> Vec<String> {
    tokio::task::block_in_place(|| http_hosts(node, service))
}

/// Records every change event a subscriber receives.
#[derive(Default)]
struct Events(Mutex<Vec<Vec<String>>>);

impl NamingEventListener for Events {
    fn event(&self, event: Arc<NamingChangeEvent>) {
        self.0.lock().unwrap().push(addrs(event.instances.as_deref().unwrap_or_default()));
    }
}

impl Events {
    async fn wait_for(&self, want: &[&str], deadline: Duration) -> Duration {
        let started = Instant::now();
        loop {
            if self.0.lock().unwrap().iter().any(|seen| seen == want) {
                return started.elapsed();
            }
            assert!(started.elapsed() < deadline, "{want:?} never pushed; saw {:?}", self.0.lock().unwrap());
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

#[test]
fn sdk_registers_selects_and_deregisters() {
    with_node(async |node, dir| {
        let sdk = naming(node, "", &dir.join("a")).await;
        let mut sick = instance("127.1.0.102", 8080);
        sick.healthy = false;
        sick.cluster_name = Some("blue".into());
        sdk.register_instance("orders".into(), None, instance("127.1.0.101", 8080)).await.unwrap();
        sdk.register_instance("orders".into(), None, sick).await.unwrap();

        let reader = naming(node, "", &dir.join("b")).await;
        let all = reader.get_all_instances("orders".into(), None, vec![], false).await.unwrap();
        assert_eq!(addrs(&all), ["127.1.0.101:8080", "127.1.0.102:8080"]);
        let healthy = reader.select_instances("orders".into(), None, vec![], false, true).await.unwrap();
        assert_eq!(addrs(&healthy), ["127.1.0.101:8080"]);
        let unhealthy = reader.select_instances("orders".into(), None, vec![], false, false).await.unwrap();
        assert_eq!(addrs(&unhealthy), ["127.1.0.102:8080"]);
        let blue = reader.get_all_instances("orders".into(), None, vec!["blue".into()], false).await.unwrap();
        assert_eq!(addrs(&blue), ["127.1.0.102:8080"]);
        assert_eq!(blue[0].cluster_name.as_deref(), Some("blue"));
        assert!(blue[0].ephemeral);

        sdk.deregister_instance("orders".into(), None, instance("127.1.0.101", 8080)).await.unwrap();
        let left = reader.get_all_instances("orders".into(), None, vec![], false).await.unwrap();
        assert_eq!(addrs(&left), ["127.1.0.102:8080"]);
        assert_eq!(hosts_now(node, "orders"), ["127.1.0.102:8080"]);
    });
}

#[test]
fn metadata_weights_and_groups_round_trip() {
    with_node(async |node, dir| {
        let sdk = naming(node, "", &dir.join("a")).await;
        let mut rich = instance("127.2.0.101", 9000);
        rich.weight = 2.5;
        rich.metadata = HashMap::from([
            ("version".to_owned(), "1.2.3".to_owned()),
            ("unicode".to_owned(), "值✓".to_owned()),
            ("json".to_owned(), r#"{"a":[1,2]}"#.to_owned()),
        ]);
        sdk.register_instance("meta".into(), Some("G1".into()), rich.clone()).await.unwrap();
        let got = sdk.get_all_instances("meta".into(), Some("G1".into()), vec![], false).await.unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].metadata, rich.metadata);
        assert!((got[0].weight - 2.5).abs() < 1e-9);
        assert!(
            sdk.get_all_instances("meta".into(), None, vec![], false).await.unwrap().is_empty(),
            "another group is another service"
        );
        let (names, count) = sdk.get_service_list(1, 10, Some("G1".into())).await.unwrap();
        assert_eq!((names, count), (vec!["meta".to_owned()], 1));
    });
}

#[test]
fn namespaces_isolate_services() {
    with_node(async |node, dir| {
        let dev = naming(node, "dev", &dir.join("dev")).await;
        let public = naming(node, "", &dir.join("public")).await;
        dev.register_instance("shared".into(), None, instance("127.3.0.101", 1)).await.unwrap();
        public.register_instance("shared".into(), None, instance("127.3.0.102", 2)).await.unwrap();
        let seen_in_dev = dev.get_all_instances("shared".into(), None, vec![], false).await.unwrap();
        let seen_in_public = public.get_all_instances("shared".into(), None, vec![], false).await.unwrap();
        assert_eq!(addrs(&seen_in_dev), ["127.3.0.101:1"]);
        assert_eq!(addrs(&seen_in_public), ["127.3.0.102:2"]);
    });
}

#[test]
fn a_subscriber_is_pushed_another_clients_registration_within_a_second() {
    with_node(async |node, dir| {
        let watcher = naming(node, "", &dir.join("w")).await;
        let events = Arc::new(Events::default());
        watcher.subscribe("pushed".into(), None, vec![], events.clone()).await.unwrap();
        let other = naming(node, "", &dir.join("o")).await;
        let started = Instant::now();
        other.register_instance("pushed".into(), None, instance("127.4.0.101", 80)).await.unwrap();
        events.wait_for(&["127.4.0.101:80"], Duration::from_secs(5)).await;
        let latency = started.elapsed();
        assert!(latency < Duration::from_secs(1), "push took {latency:?}");
        other.register_instance("pushed".into(), None, instance("127.4.0.102", 80)).await.unwrap();
        events.wait_for(&["127.4.0.101:80", "127.4.0.102:80"], Duration::from_secs(1)).await;
    });
}

#[test]
fn batch_registration_replaces_the_clients_set() {
    with_node(async |node, dir| {
        let sdk = naming(node, "", &dir.join("a")).await;
        let batch = vec![instance("127.5.0.101", 1), instance("127.5.0.102", 2), instance("127.5.0.103", 3)];
        sdk.batch_register_instance("batch".into(), None, batch).await.unwrap();
        assert_eq!(hosts_now(node, "batch"), ["127.5.0.101:1", "127.5.0.102:2", "127.5.0.103:3"]);
        sdk.batch_register_instance("batch".into(), None, vec![instance("127.5.0.103", 3)]).await.unwrap();
        assert_eq!(hosts_now(node, "batch"), ["127.5.0.103:3"]);
    });
}

#[test]
fn persistent_instances_outlive_their_client_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = Nacosd::start(&dir.path().join("node"));
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let sdk = naming(&node, "", &dir.path().join("a")).await;
        let mut durable = instance("127.6.0.101", 3306);
        durable.ephemeral = false;
        sdk.register_instance("db".into(), None, durable).await.unwrap();
        drop(sdk);
    });
    node.terminate();
    node.restart();
    let url = node.url("/nacos/v1/ns/instance/list");
    let body = node.http().get(url).query(&[("serviceName", "db")]).send().unwrap().text().unwrap();
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["hosts"][0]["ip"], "127.6.0.101");
    assert_eq!(body["hosts"][0]["ephemeral"], false);
    // Ephemeral registrations into a persistent service are refused, with Nacos's message.
    let refused = node
        .http()
        .post(node.url("/nacos/v1/ns/instance"))
        .form(&[("serviceName", "db"), ("ip", "127.6.0.102"), ("port", "1")])
        .send()
        .unwrap();
    assert_eq!(refused.status(), 400);
    assert!(refused.text().unwrap().contains("is persistent service"));
}

#[test]
fn an_instance_goes_within_a_second_of_its_registering_process_dying() {
    let dir = tempfile::tempdir().unwrap();
    let node = Nacosd::start(&dir.path().join("node"));
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "t92_sdk_naming::registrar_child", "--ignored", "--nocapture", "--test-threads=1"])
        .env(REGISTRAR_ENV, format!("{}:{}:{}", node.http_addr(), node.grpc_port, dir.path().join("child").display()))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while http_hosts(&node, "doomed") != ["127.7.0.101:7"] {
        assert!(Instant::now() < deadline, "the child never registered");
        std::thread::sleep(Duration::from_millis(20));
    }
    let killed = Instant::now();
    child.kill().unwrap();
    child.wait().unwrap();
    while !http_hosts(&node, "doomed").is_empty() {
        assert!(killed.elapsed() < Duration::from_secs(1), "instance still listed {:?} after kill", killed.elapsed());
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Not a test on its own: the child process of the test above, run with [`REGISTRAR_ENV`]
/// set; it registers an instance and stays alive until killed. Ignored in normal runs, and
/// it fails if run without its variable, so it can never pass by doing nothing.
#[test]
#[ignore = "the child process of an_instance_goes_within_a_second_of_its_registering_process_dying"]
fn registrar_child() {
    let spec =
        std::env::var(REGISTRAR_ENV).expect("registrar_child runs only as a child, with NACOSD_TEST_REGISTRAR set");
    let mut parts = spec.splitn(4, ':');
    let (host, http_port, grpc_port, cache) =
        (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    runtime.block_on(async {
        let props = ClientProps::new()
            .server_addr(format!("{host}:{http_port}"))
            .remote_grpc_port(grpc_port.parse().unwrap())
            .cache_dir(cache);
        let sdk = NamingServiceBuilder::new(props).build().await.unwrap();
        sdk.register_instance("doomed".into(), None, instance("127.7.0.101", 7)).await.unwrap();
        tokio::time::sleep(Duration::from_secs(3600)).await;
    });
}

/// `GET /nacos/v{1,2}/ns/client/*`: an SDK's connection, an HTTP client kept by beats and a
/// persistent instance's client are listed, with what each registered and subscribes to;
/// an unknown or missing `clientId` is refused.
#[test]
fn client_views_list_connections_http_clients_and_what_they_hold() {
    with_node(async |node, dir| {
        let sdk = naming(node, "", &dir.join("a")).await;
        sdk.register_instance("viewed".into(), None, instance("127.7.0.101", 9001)).await.unwrap();
        let events = Arc::new(Events::default());
        sdk.subscribe("watched".into(), None, vec![], events).await.unwrap();
        let get = |path: &str, query: &[(&str, &str)]| {
            tokio::task::block_in_place(|| {
                let response = node.http().get(node.url(path)).query(query).send().unwrap();
                let status = response.status();
                (status, serde_json::from_str::<Value>(&response.text().unwrap()).unwrap_or(Value::Null))
            })
        };
        let post = |form: &[(&str, &str)]| {
            tokio::task::block_in_place(|| {
                let response = node.http().post(node.url("/nacos/v1/ns/instance")).query(form).send().unwrap();
                assert_eq!(response.text().unwrap(), "ok");
            })
        };
        post(&[("serviceName", "viewed"), ("ip", "127.7.0.102"), ("port", "9002")]);
        post(&[("serviceName", "stored"), ("ip", "127.7.0.103"), ("port", "9003"), ("ephemeral", "false")]);

        let (_, ids) = get("/nacos/v2/ns/client/list", &[]);
        let ids: Vec<String> =
            ids["data"].as_array().unwrap().iter().map(|id| id.as_str().unwrap().to_owned()).collect();
        assert!(ids.contains(&"127.7.0.102:9002#true".to_owned()), "{ids:?}");
        assert!(ids.contains(&"127.7.0.103:9003#false".to_owned()), "{ids:?}");
        let connection = ids.iter().find(|id| !id.contains('#')).expect("the SDK's connection").clone();

        let (_, detail) = get("/nacos/v1/ns/client", &[("clientId", &connection)]);
        assert_eq!(
            (detail["clientType"].as_str(), detail["clientIp"].as_str()),
            (Some("connection"), Some("127.0.0.1"))
        );
        let (_, published) = get("/nacos/v1/ns/client/publish/list", &[("clientId", &connection)]);
        assert_eq!(published[0]["serviceName"], "viewed");
        assert_eq!(published[0]["registeredInstance"]["ip"], "127.7.0.101");
        let (_, subscribed) = get("/nacos/v2/ns/client/subscribe/list", &[("clientId", &connection)]);
        assert_eq!(subscribed["data"][0]["serviceName"], "watched", "{subscribed}");
        let (_, stored) = get("/nacos/v1/ns/client/publish/list", &[("clientId", "127.7.0.103:9003#false")]);
        assert_eq!(stored[0]["serviceName"], "stored");

        let (_, publishers) = get("/nacos/v1/ns/client/service/publisher/list", &[("serviceName", "viewed")]);
        let mut clients: Vec<&str> =
            publishers.as_array().unwrap().iter().map(|p| p["clientId"].as_str().unwrap()).collect();
        clients.sort_unstable();
        assert_eq!(clients.len(), 2, "{publishers}");
        assert!(clients.contains(&"127.7.0.102:9002#true") && clients.contains(&connection.as_str()));
        let only = [("serviceName", "viewed"), ("ip", "127.7.0.102"), ("port", "9002")];
        let (_, narrowed) = get("/nacos/v1/ns/client/service/publisher/list", &only);
        assert_eq!(narrowed.as_array().unwrap().len(), 1, "{narrowed}");
        let persistent = [("serviceName", "stored"), ("ephemeral", "false")];
        let (_, stored) = get("/nacos/v1/ns/client/service/publisher/list", &persistent);
        assert_eq!(stored[0]["clientId"], "127.7.0.103:9003#false");
        let (_, subscribers) = get("/nacos/v1/ns/client/service/subscriber/list", &[("serviceName", "watched")]);
        assert_eq!(subscribers[0]["clientId"], connection.as_str(), "{subscribers}");

        let (status, missing) = get("/nacos/v2/ns/client", &[("clientId", "1_127.0.0.1_1")]);
        assert_eq!(status, reqwest::StatusCode::NOT_FOUND, "{missing}");
        let (status, _) = get("/nacos/v1/ns/client/publish/list", &[]);
        assert_eq!(status, reqwest::StatusCode::BAD_REQUEST);
        let (status, _) =
            get("/nacos/v1/ns/client/service/publisher/list", &[("serviceName", "viewed"), ("port", "x")]);
        assert_eq!(status, reqwest::StatusCode::BAD_REQUEST);
    });
}

/// Under a label selector a subscriber is pushed only the providers sharing its labels (its
/// own instance's metadata), and later registrations are filtered the same way.
#[test]
fn a_subscriber_under_a_label_selector_is_pushed_only_matching_providers() {
    with_node(async |node, dir| {
        let http = |path: &str, form: &[(&str, &str)]| {
            tokio::task::block_in_place(|| {
                let response = node.http().post(node.url(path)).query(form).send().unwrap();
                assert_eq!(response.text().unwrap(), "ok");
            })
        };
        let selector = r#"{"type":"label","expression":"CONSUMER.label.zone = PROVIDER.label.zone"}"#;
        http("/nacos/v1/ns/service", &[("serviceName", "zoned"), ("ephemeral", "true"), ("selector", selector)]);
        for (ip, zone) in [("127.33.0.1", "zone=a"), ("127.33.0.2", "zone=b")] {
            http("/nacos/v1/ns/instance", &[("serviceName", "zoned"), ("ip", ip), ("port", "80"), ("metadata", zone)]);
        }
        let sdk = naming(node, "", &dir.join("w")).await;
        let events = Arc::new(Events::default());
        sdk.subscribe("zoned".into(), None, vec![], events.clone()).await.unwrap();
        events.wait_for(&["127.33.0.1:80", "127.33.0.2:80"], Duration::from_secs(5)).await;
        // The SDK's connection reports its own ip; its instance there, in zone a, gives it
        // its labels (a consumer that registers nothing sees every provider, as above).
        let ip = tokio::task::block_in_place(|| {
            let url = node.url("/nacos/v1/ns/service/subscribers");
            let body = node.http().get(url).query(&[("serviceName", "zoned")]).send().unwrap().text().unwrap();
            let body: Value = serde_json::from_str(&body).unwrap();
            body["subscribers"][0]["ip"].as_str().unwrap().to_owned()
        });
        let mut own = instance(&ip, 9100);
        own.metadata = HashMap::from([("zone".to_owned(), "a".to_owned())]);
        sdk.register_instance("caller".into(), None, own).await.unwrap();

        // The next change to the service is pushed filtered by those labels.
        http(
            "/nacos/v1/ns/instance",
            &[("serviceName", "zoned"), ("ip", "127.33.0.3"), ("port", "80"), ("metadata", "zone=a")],
        );
        events.wait_for(&["127.33.0.1:80", "127.33.0.3:80"], Duration::from_secs(5)).await;
        let filtered_at = events.0.lock().unwrap().len();
        http(
            "/nacos/v1/ns/instance",
            &[("serviceName", "zoned"), ("ip", "127.33.0.4"), ("port", "80"), ("metadata", "zone=b")],
        );
        http(
            "/nacos/v1/ns/instance",
            &[("serviceName", "zoned"), ("ip", "127.33.0.5"), ("port", "80"), ("metadata", "zone=a")],
        );
        events.wait_for(&["127.33.0.1:80", "127.33.0.3:80", "127.33.0.5:80"], Duration::from_secs(5)).await;
        let seen = events.0.lock().unwrap().clone();
        assert!(
            seen[filtered_at..]
                .iter()
                .flatten()
                .all(|addr| !addr.starts_with("127.33.0.2") && !addr.starts_with("127.33.0.4")),
            "a zone-b provider was pushed after the labels were known: {seen:?}"
        );
    });
}
