//! The Rust SDK across a server restart: it reconnects (nacosd tells it to, with
//! `ConnectResetRequest`, as it shuts down), re-registers its ephemeral instance, its naming
//! subscription keeps working and its config client reads again. (Its config listens are
//! re-sent only by the SDK's 60-second re-listen loop, against Java Nacos too, so this test
//! does not wait for a config push after the restart.)

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nacos_sdk::api::config::{ConfigChangeListener, ConfigResponse, ConfigServiceBuilder};
use nacos_sdk::api::naming::{NamingChangeEvent, NamingEventListener, NamingServiceBuilder, ServiceInstance};
use nacos_sdk::api::props::ClientProps;
use serde_json::Value;
use tests::Nacosd;

#[derive(Default)]
struct Seen(Mutex<Vec<String>>);

impl ConfigChangeListener for Seen {
    fn notify(&self, config: ConfigResponse) {
        self.0.lock().unwrap().push(config.content().clone());
    }
}

impl NamingEventListener for Seen {
    fn event(&self, event: Arc<NamingChangeEvent>) {
        let mut ips: Vec<String> = event.instances.iter().flatten().map(|i| i.ip.clone()).collect();
        ips.sort();
        self.0.lock().unwrap().push(ips.join(","));
    }
}

impl Seen {
    async fn wait_for(&self, want: &str, deadline: Duration) {
        let started = Instant::now();
        while !self.0.lock().unwrap().iter().any(|seen| seen == want) {
            assert!(started.elapsed() < deadline, "{want:?} never seen; saw {:?}", self.0.lock().unwrap());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn props(node: &Nacosd, cache: &std::path::Path) -> ClientProps {
    ClientProps::new()
        .server_addr(node.http_addr())
        .remote_grpc_port(node.grpc_port)
        .naming_push_empty_protection(false)
        .naming_load_cache_at_start(false)
        .cache_dir(cache)
}

fn hosts(node: &Nacosd, service: &str) -> Vec<String> {
    let url = node.url("/nacos/v1/ns/instance/list");
    let body = node.http().get(url).query(&[("serviceName", service)]).send().unwrap().text().unwrap();
    let body: Value = serde_json::from_str(&body).unwrap();
    body["hosts"].as_array().unwrap().iter().map(|h| h["ip"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn sdk_clients_recover_their_state_after_a_server_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = Nacosd::start(&dir.path().join("node"));
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let (config, naming, config_seen, naming_seen) = runtime.block_on(async {
        let config = ConfigServiceBuilder::new(props(&node, &dir.path().join("c"))).build().await.unwrap();
        let naming = NamingServiceBuilder::new(props(&node, &dir.path().join("n"))).build().await.unwrap();
        config.publish_config("survivor".into(), "G".into(), "before".into(), None).await.unwrap();
        let config_seen = Arc::new(Seen::default());
        config.add_listener("survivor".into(), "G".into(), config_seen.clone()).await.unwrap();
        let instance = ServiceInstance {
            ip: "127.40.0.101".into(),
            port: 80,
            metadata: HashMap::new(),
            ..ServiceInstance::default()
        };
        naming.register_instance("phoenix".into(), None, instance).await.unwrap();
        let naming_seen = Arc::new(Seen::default());
        naming.subscribe("phoenix".into(), None, vec![], naming_seen.clone()).await.unwrap();
        naming_seen.wait_for("127.40.0.101", Duration::from_secs(5)).await;
        (config, naming, config_seen, naming_seen)
    });

    node.terminate();
    node.restart();
    let deadline = Instant::now() + Duration::from_secs(20);
    while hosts(&node, "phoenix") != ["127.40.0.101"] {
        assert!(Instant::now() < deadline, "the SDK did not re-register its instance after the restart");
        std::thread::sleep(Duration::from_millis(100));
    }

    runtime.block_on(async {
        // The config client reconnected: it reads what was published after the restart (a
        // key it does not listen to: for listened keys the SDK answers from its cache).
        let form = [("dataId", "fresh"), ("group", "G"), ("content", "after")];
        let url = node.url("/nacos/v1/cs/configs");
        tokio::task::block_in_place(|| node.http().post(url).form(&form).send().unwrap());
        let started = Instant::now();
        loop {
            match config.get_config("fresh".into(), "G".into()).await {
                Ok(read) if read.content() == "after" => break,
                other => assert!(started.elapsed() < Duration::from_secs(20), "config read after restart: {other:?}"),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(config_seen.0.lock().unwrap().is_empty(), "no spurious notification");

        // The subscription was re-made: another registration after the restart is pushed.
        let other = NamingServiceBuilder::new(props(&node, &dir.path().join("o"))).build().await.unwrap();
        let instance = ServiceInstance { ip: "127.40.0.102".into(), port: 80, ..ServiceInstance::default() };
        other.register_instance("phoenix".into(), None, instance).await.unwrap();
        naming_seen.wait_for("127.40.0.101,127.40.0.102", Duration::from_secs(20)).await;
        drop((config, naming, other));
    });
}
