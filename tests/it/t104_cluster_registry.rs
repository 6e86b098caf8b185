//! The registry across three real processes (Distro): an instance registered on one node
//! is on the others within a second, a starting node loads the registry before it serves,
//! and when a client's node is killed the Rust SDK moves to another node, registers again,
//! and no subscriber ever sees the service empty.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nacos_sdk::api::naming::{
    NamingChangeEvent, NamingEventListener, NamingService, NamingServiceBuilder, ServiceInstance,
};
use nacos_sdk::api::props::ClientProps;
use serde_json::Value;
use tests::{Cluster, Nacosd};

use crate::t100_cluster::DEADLINE;

/// An SDK naming client given `nodes`' addresses (it picks one, and moves on failure).
/// The SDK's first connection fails outright when it picks a node that is down (it moves
/// on only once connected), so building is retried; what is tested is the server side.
async fn naming(nodes: &[&Nacosd], cache: &std::path::Path) -> NamingService {
    let addrs: Vec<String> = nodes.iter().map(|node| node.http_addr()).collect();
    let started = Instant::now();
    loop {
        let props = ClientProps::new()
            .server_addr(addrs.join(","))
            .namespace("")
            .app_name("nacosd-cluster-tests")
            .naming_push_empty_protection(false)
            .naming_load_cache_at_start(false)
            .cache_dir(cache);
        match NamingServiceBuilder::new(props).build().await {
            Ok(naming) => return naming,
            Err(err) => assert!(started.elapsed() < DEADLINE, "no SDK client for {addrs:?}: {err}"),
        }
    }
}

/// The hosts a node's `GET /nacos/v1/ns/instance/list` shows, as `ip:port`; `None` when
/// it does not answer.
fn http_hosts(node: &Nacosd, service: &str) -> Option<Vec<String>> {
    let url = node.url("/nacos/v1/ns/instance/list");
    let response =
        node.http().get(url).query(&[("serviceName", service)]).timeout(Duration::from_secs(2)).send().ok()?;
    let body: Value = serde_json::from_str(&response.text().ok()?).ok()?;
    let mut hosts: Vec<String> = body["hosts"]
        .as_array()?
        .iter()
        .map(|h| format!("{}:{}", h["ip"].as_str().unwrap_or_default(), h["port"]))
        .collect();
    hosts.sort();
    Some(hosts)
}

/// Polls `node` until it lists exactly `want`; how long that took.
fn wait_hosts(node: &Nacosd, service: &str, want: &[&str]) -> Duration {
    let started = Instant::now();
    loop {
        if http_hosts(node, service).is_some_and(|hosts| hosts == want) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < DEADLINE,
            "{} lists {:?}, not {want:?}",
            node.http_addr(),
            http_hosts(node, service)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Records every change event a subscriber receives.
#[derive(Default)]
struct Events(Mutex<Vec<Vec<String>>>);

impl NamingEventListener for Events {
    fn event(&self, event: Arc<NamingChangeEvent>) {
        let mut hosts: Vec<String> =
            event.instances.as_deref().unwrap_or_default().iter().map(ServiceInstance::ip_and_port).collect();
        hosts.sort();
        self.0.lock().unwrap().push(hosts);
    }
}

fn instance(ip: &str, port: i32) -> ServiceInstance {
    ServiceInstance { ip: ip.to_owned(), port, ..ServiceInstance::default() }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

#[test]
fn an_instance_registered_on_one_node_is_on_every_node_within_a_second() {
    let cluster = Cluster::start(3, &[]);
    let cache = tempfile::tempdir().unwrap();
    runtime().block_on(async {
        let client = naming(&[&cluster.nodes[0]], cache.path()).await;
        client.register_instance("orders".into(), None, instance("127.0.0.201", 8080)).await.unwrap();
        tokio::task::block_in_place(|| {
            for node in &cluster.nodes[1..] {
                let took = wait_hosts(node, "orders", &["127.0.0.201:8080"]);
                assert!(took < Duration::from_secs(1), "{} saw it after {took:?}", node.http_addr());
            }
        });

        // An HTTP (beat-kept) registration on another node travels the same way.
        tokio::task::block_in_place(|| {
            let node = &cluster.nodes[1];
            let form = [("serviceName", "orders"), ("ip", "127.0.0.202"), ("port", "8080")];
            let response = node.http().post(node.url("/nacos/v1/ns/instance")).form(&form).send().unwrap();
            assert_eq!(response.text().unwrap(), "ok");
            for node in &cluster.nodes {
                wait_hosts(node, "orders", &["127.0.0.201:8080", "127.0.0.202:8080"]);
            }
        });

        client.deregister_instance("orders".into(), None, instance("127.0.0.201", 8080)).await.unwrap();
        tokio::task::block_in_place(|| {
            for node in &cluster.nodes {
                wait_hosts(node, "orders", &["127.0.0.202:8080"]);
            }
        });
    });
}

#[test]
fn a_killed_node_s_client_moves_registers_again_and_no_subscriber_sees_it_gone() {
    let mut cluster = Cluster::start(3, &[]);
    let cache = tempfile::tempdir().unwrap();
    let (a, b, c) = (0, 1, 2);
    // B down: the registrar, given A and B, can only connect to A.
    cluster.nodes[b].terminate();
    let rt = runtime();
    let events = Arc::new(Events::default());
    let (_registrar, _subscriber) = rt.block_on(async {
        let subscriber = naming(&[&cluster.nodes[c]], cache.path()).await;
        subscriber.subscribe("orders".into(), None, Vec::new(), events.clone()).await.unwrap();
        let registrar = naming(&[&cluster.nodes[a], &cluster.nodes[b]], cache.path()).await;
        registrar.register_instance("orders".into(), None, instance("127.0.0.201", 8080)).await.unwrap();
        (registrar, subscriber)
    });
    wait_hosts(&cluster.nodes[c], "orders", &["127.0.0.201:8080"]);

    // B starts again and has the registry before it serves: no polling here.
    cluster.nodes[b].restart();
    assert_eq!(http_hosts(&cluster.nodes[b], "orders").unwrap(), ["127.0.0.201:8080"], "B served before loading");

    // A dies with the registrar's connection. Past the lease of A's copies, the instance
    // must never have been missing on C, nor pushed empty.
    cluster.nodes[a].kill9();
    let watch_until = Instant::now() + Duration::from_millis(domain::naming::distro::LEASE_MS + 5_000);
    while Instant::now() < watch_until {
        let hosts = http_hosts(&cluster.nodes[c], "orders").expect("C answers");
        assert_eq!(hosts, ["127.0.0.201:8080"], "C lost the instance while its client moved");
        std::thread::sleep(Duration::from_millis(200));
    }
    // The instance is B's now: it is still there after A's copies expired, on B and C.
    assert_eq!(http_hosts(&cluster.nodes[b], "orders").unwrap(), ["127.0.0.201:8080"]);
    // Pushes from the first that listed the instance on (the subscription began before
    // the registration, when the service was rightly empty).
    let seen = events.0.lock().unwrap().clone();
    let live: Vec<&Vec<String>> = seen.iter().skip_while(|hosts| hosts.is_empty()).collect();
    assert!(!live.is_empty(), "the subscriber never heard of the instance: {seen:?}");
    assert!(live.iter().all(|hosts| !hosts.is_empty()), "a push was empty once the service was live: {seen:?}");
    drop(rt);
}

/// An HTTP (beat-kept) client is handled by the node responsible for its `ip:port`,
/// whichever node it talks to; when that node dies, the client's beats through another
/// node keep the instance, healthy, past the dead node's lease.
#[test]
fn an_http_client_s_writes_are_routed_and_its_beats_keep_it_when_its_node_dies() {
    use domain::naming::distro::{responsible, LEASE_MS};
    let mut cluster = Cluster::start(3, &[]);
    // Every node knows every other's HTTP address (from the member probe) and sees it UP.
    for index in 0..3 {
        cluster.wait_for_members(index, DEADLINE, |members| {
            members.len() == 3 && members.iter().all(|m| m["state"] == "UP")
        });
    }
    // A client whose responsible node is not node 1, registering through node 1.
    let (ip, owner) = (100..200)
        .map(|last| format!("127.0.1.{last}"))
        .map(|ip| {
            let owner = responsible(&format!("{ip}:8080"), &[1, 2, 3]).unwrap();
            (ip, owner)
        })
        .find(|(_, owner)| *owner != 1)
        .unwrap();
    let owner_index = usize::try_from(owner).unwrap() - 1;
    let send = |node: &Nacosd, method: reqwest::Method, path: &str| {
        let form = [("serviceName", "billing"), ("ip", ip.as_str()), ("port", "8080")];
        let response = node.http().request(method, node.url(path)).form(&form).send().unwrap();
        response.text().unwrap()
    };
    assert_eq!(send(&cluster.nodes[0], reqwest::Method::POST, "/nacos/v1/ns/instance"), "ok");
    let want = format!("{ip}:8080");
    // Passed to its node, and read at once where it was written: no polling.
    assert_eq!(http_hosts(&cluster.nodes[0], "billing").unwrap(), [want.as_str()]);
    for node in &cluster.nodes {
        wait_hosts(node, "billing", &[want.as_str()]);
    }

    // The responsible node dies; the client keeps beating through node 1.
    cluster.nodes[owner_index].kill9();
    let survivors: Vec<usize> = (0..3).filter(|&i| i != owner_index).collect();
    let until = Instant::now() + Duration::from_millis(LEASE_MS + 6_000);
    while Instant::now() < until {
        let beat = send(&cluster.nodes[0], reqwest::Method::PUT, "/nacos/v1/ns/instance/beat");
        let reply: Value = serde_json::from_str(&beat).unwrap();
        assert_eq!(reply["code"], 10200, "the beat found no instance: {reply}");
        for &index in &survivors {
            let hosts = http_hosts(&cluster.nodes[index], "billing").expect("a survivor answers");
            assert_eq!(hosts, [want.as_str()], "node {} lost a beating instance", index + 1);
        }
        std::thread::sleep(Duration::from_millis(1_000));
    }
}
