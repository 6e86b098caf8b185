//! Listeners across a leader change: a gRPC listener (the Rust SDK) and an HTTP long poll
//! on each surviving member, while one key is published version after version through
//! every node and the leader is killed (-9). Each listener's notifications only ever go
//! forward, and each ends at the last version.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nacos_sdk::api::config::{ConfigChangeListener, ConfigResponse, ConfigServiceBuilder};
use nacos_sdk::api::props::ClientProps;
use tests::Cluster;

use crate::t100_cluster::{publish, DEADLINE};

const KEY: &str = "watched-across-leaders";

/// The versions a listener was told of, in order.
#[derive(Default)]
struct Versions(Mutex<Vec<u64>>);

impl Versions {
    fn push(&self, content: &str) {
        if let Some(version) = content.strip_prefix('v').and_then(|n| n.parse().ok()) {
            self.0.lock().unwrap().push(version);
        }
    }

    fn seen(&self) -> Vec<u64> {
        self.0.lock().unwrap().clone()
    }
}

impl ConfigChangeListener for Versions {
    fn notify(&self, config: ConfigResponse) {
        self.push(config.content());
    }
}

/// Long-polls the node at `base` for changes to [`KEY`] until `stop`, reading each new
/// version.
fn long_poll(http: &reqwest::blocking::Client, base: &str, versions: &Versions, stop: &AtomicBool) {
    let mut md5 = String::new();
    while !stop.load(Ordering::Relaxed) {
        let listening = format!("{KEY}\u{2}DEFAULT_GROUP\u{2}{md5}\u{1}");
        let changed = http
            .post(format!("{base}/nacos/v1/cs/configs/listener"))
            .header("Long-Pulling-Timeout", "2000")
            .timeout(Duration::from_secs(10))
            .form(&[("Listening-Configs", listening.as_str())])
            .send()
            .and_then(|response| response.text())
            .unwrap_or_default();
        if changed.is_empty() {
            continue;
        }
        let query = [("dataId", KEY), ("group", "DEFAULT_GROUP")];
        let Ok(response) = http.get(format!("{base}/nacos/v1/cs/configs")).query(&query).send() else { continue };
        let new_md5 = response.headers().get("content-md5").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        let content = response.text().unwrap_or_default();
        if !new_md5.is_empty() && new_md5 != md5 {
            versions.push(&content);
            md5 = new_md5;
        }
    }
}

/// Checks a listener's versions: never backwards, and the last is `last`.
fn check(name: &str, seen: &[u64], last: u64) {
    assert!(seen.windows(2).all(|pair| pair[0] < pair[1]), "{name} went backwards or repeated: {seen:?}");
    assert_eq!(seen.last(), Some(&last), "{name} did not end at v{last}: {seen:?}");
}

#[test]
fn listeners_on_every_survivor_only_go_forward_across_a_leader_kill_and_end_at_the_last_version() {
    let mut cluster = Cluster::start(3, &[]);
    let leader = cluster.wait_for_leader(DEADLINE);
    let survivors: Vec<usize> = (0..3).filter(|&i| i != leader).collect();
    publish(&cluster.nodes[survivors[0]], KEY, "v0").unwrap();

    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let grpc: Vec<Arc<Versions>> = survivors.iter().map(|_| Arc::default()).collect();
    let _sdks: Vec<_> = survivors
        .iter()
        .zip(&grpc)
        .map(|(&index, versions)| {
            let node = &cluster.nodes[index];
            let props = ClientProps::new()
                .server_addr(node.http_addr())
                .remote_grpc_port(node.grpc_port)
                .app_name("nacosd-tests")
                .cache_dir(cache.path().join(format!("sdk{index}")));
            runtime.block_on(async {
                let sdk = ConfigServiceBuilder::new(props).build().await.unwrap();
                sdk.add_listener(KEY.into(), "DEFAULT_GROUP".into(), versions.clone()).await.unwrap();
                sdk
            })
        })
        .collect();
    let stop = Arc::new(AtomicBool::new(false));
    let polls: Vec<Arc<Versions>> = survivors.iter().map(|_| Arc::default()).collect();
    let pollers: Vec<_> = survivors
        .iter()
        .zip(&polls)
        .map(|(&index, versions)| {
            let node = &cluster.nodes[index];
            let (http, base, versions, stop) =
                (node.http().clone(), node.url(""), Arc::clone(versions), Arc::clone(&stop));
            std::thread::spawn(move || long_poll(&http, &base, &versions, &stop))
        })
        .collect();

    // Versions through every node in turn; the leader is killed a third of the way in.
    let mut last = 0;
    for version in 1..=60u64 {
        if version == 20 {
            cluster.nodes[leader].kill9();
        }
        let through: Vec<usize> = (0..3).filter(|&i| cluster.nodes[i].is_running()).collect();
        let node = &cluster.nodes[through[version as usize % through.len()]];
        let deadline = Instant::now() + DEADLINE;
        while publish(node, KEY, &format!("v{version}")).is_err() {
            assert!(Instant::now() < deadline, "v{version} could not be published");
            std::thread::sleep(Duration::from_millis(50));
        }
        last = version;
    }

    let deadline = Instant::now() + DEADLINE;
    for (name, versions) in grpc.iter().map(|v| ("a gRPC listener", v)).chain(polls.iter().map(|v| ("a long poll", v)))
    {
        while versions.seen().last() != Some(&last) {
            assert!(Instant::now() < deadline, "{name} did not reach v{last}: {:?}", versions.seen());
            std::thread::sleep(Duration::from_millis(20));
        }
        eprintln!("{name} was told of {} versions", versions.seen().len());
        check(name, &versions.seen(), last);
    }
    stop.store(true, Ordering::Relaxed);
    for poller in pollers {
        poller.join().unwrap();
    }
}
