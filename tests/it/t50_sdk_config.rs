//! The real Rust Nacos SDK (`nacos-sdk`) against a real nacosd, over gRPC.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nacos_sdk::api::config::{ConfigChangeListener, ConfigResponse, ConfigService, ConfigServiceBuilder};
use nacos_sdk::api::error::Error as SdkError;
use nacos_sdk::api::props::ClientProps;
use tests::Nacosd;

const GROUP: &str = "DEFAULT_GROUP";

/// Runs `test` on a tokio runtime against a fresh node. The node (and its blocking HTTP
/// client) lives outside the runtime, which must not drop it.
fn with_node(test: impl for<'a> AsyncFnOnce(&'a Nacosd, &'a Path)) {
    let dir = tempfile::tempdir().unwrap();
    let node = Nacosd::start(&dir.path().join("node"));
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(test(&node, dir.path()));
}

async fn client(node: &Nacosd, namespace: &str, cache: &std::path::Path) -> ConfigService {
    let props = ClientProps::new()
        .server_addr(node.http_addr())
        .remote_grpc_port(node.grpc_port)
        .namespace(namespace)
        .app_name("nacosd-tests")
        .cache_dir(cache);
    ConfigServiceBuilder::new(props).build().await.unwrap()
}

/// Records every notification a listener receives.
#[derive(Default)]
struct Recorder {
    seen: Mutex<Vec<String>>,
}

impl ConfigChangeListener for Recorder {
    fn notify(&self, config: ConfigResponse) {
        self.seen.lock().unwrap().push(config.content().clone());
    }
}

impl Recorder {
    /// Waits until `content` has been delivered; how long it took.
    async fn wait_for(&self, content: &str, deadline: Duration) -> Duration {
        let started = Instant::now();
        loop {
            if self.seen.lock().unwrap().iter().any(|seen| seen == content) {
                return started.elapsed();
            }
            assert!(started.elapsed() < deadline, "{content:?} not delivered; saw {:?}", self.seen.lock().unwrap());
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

#[test]
fn sdk_publishes_reads_and_removes() {
    with_node(async |node, dir| {
        let sdk = client(node, "", &dir.join("cache")).await;

        assert!(matches!(sdk.get_config("missing".into(), GROUP.into()).await, Err(SdkError::ConfigNotFound(_))));
        assert!(sdk.publish_config("app.yaml".into(), GROUP.into(), "a: 1".into(), Some("yaml".into())).await.unwrap());
        let config = sdk.get_config("app.yaml".into(), GROUP.into()).await.unwrap();
        assert_eq!(config.content(), "a: 1");
        assert_eq!(config.content_type(), "yaml");

        let unicode = "名字: 配置 🚀\n".repeat(1000);
        let big = "x".repeat(1024 * 1024);
        assert!(sdk.publish_config("unicode".into(), GROUP.into(), unicode.clone(), None).await.unwrap());
        assert!(sdk.publish_config("big".into(), GROUP.into(), big.clone(), None).await.unwrap());
        assert_eq!(sdk.get_config("unicode".into(), GROUP.into()).await.unwrap().content(), &unicode);
        assert_eq!(sdk.get_config("big".into(), GROUP.into()).await.unwrap().content(), &big);

        // What the SDK wrote, HTTP reads: one store behind both protocols.
        let over_http = node.http().clone();
        let over_http =
            over_http.get(node.url("/nacos/v1/cs/configs")).query(&[("dataId", "app.yaml"), ("group", GROUP)]);
        let over_http = tokio::task::spawn_blocking(move || over_http.send().unwrap().text().unwrap()).await.unwrap();
        assert_eq!(over_http, "a: 1");

        assert!(sdk.remove_config("app.yaml".into(), GROUP.into()).await.unwrap());
        assert!(matches!(sdk.get_config("app.yaml".into(), GROUP.into()).await, Err(SdkError::ConfigNotFound(_))));
    });
}

#[test]
fn cas_conflicts_are_refused() {
    with_node(async |node, dir| {
        let sdk = client(node, "", &dir.join("cache")).await;
        sdk.publish_config("cas".into(), GROUP.into(), "v1".into(), None).await.unwrap();
        let current = sdk.get_config("cas".into(), GROUP.into()).await.unwrap().md5().clone();

        let stale = sdk.publish_config_cas("cas".into(), GROUP.into(), "v2".into(), None, "0".repeat(32)).await;
        assert!(!matches!(stale, Ok(true)), "a stale cas publish succeeded");
        assert_eq!(sdk.get_config("cas".into(), GROUP.into()).await.unwrap().content(), "v1");

        assert!(sdk.publish_config_cas("cas".into(), GROUP.into(), "v2".into(), None, current).await.unwrap());
        assert_eq!(sdk.get_config("cas".into(), GROUP.into()).await.unwrap().content(), "v2");
    });
}

#[test]
fn namespaces_and_groups_isolate_configs() {
    with_node(async |node, dir| {
        let public = client(node, "", &dir.join("cache-public")).await;
        let dev = client(node, "dev", &dir.join("cache-dev")).await;
        public.publish_config("d".into(), GROUP.into(), "public".into(), None).await.unwrap();
        dev.publish_config("d".into(), GROUP.into(), "dev".into(), None).await.unwrap();
        dev.publish_config("d".into(), "OTHER".into(), "dev-other".into(), None).await.unwrap();

        assert_eq!(public.get_config("d".into(), GROUP.into()).await.unwrap().content(), "public");
        assert_eq!(dev.get_config("d".into(), GROUP.into()).await.unwrap().content(), "dev");
        assert_eq!(dev.get_config("d".into(), "OTHER".into()).await.unwrap().content(), "dev-other");
        assert!(matches!(public.get_config("d".into(), "OTHER".into()).await, Err(SdkError::ConfigNotFound(_))));
    });
}

#[test]
fn a_listener_hears_publishes_by_another_client_and_by_http() {
    with_node(async |node, dir| {
        let listener_client = client(node, "", &dir.join("cache-a")).await;
        let publisher = client(node, "", &dir.join("cache-b")).await;

        publisher.publish_config("watched".into(), GROUP.into(), "v1".into(), None).await.unwrap();
        let recorder = Arc::new(Recorder::default());
        listener_client.add_listener("watched".into(), GROUP.into(), recorder.clone()).await.unwrap();
        // A listener on a key that does not exist yet.
        let later = Arc::new(Recorder::default());
        listener_client.add_listener("created-later".into(), GROUP.into(), later.clone()).await.unwrap();

        publisher.publish_config("watched".into(), GROUP.into(), "v2".into(), None).await.unwrap();
        let took = recorder.wait_for("v2", Duration::from_secs(5)).await;
        assert!(took < Duration::from_secs(1), "push took {took:?}");

        let form = [("dataId", "watched"), ("group", GROUP), ("content", "v3-from-http")];
        let request = node.http().post(node.url("/nacos/v1/cs/configs")).form(&form);
        tokio::task::spawn_blocking(move || request.send().unwrap()).await.unwrap();
        let took = recorder.wait_for("v3-from-http", Duration::from_secs(5)).await;
        assert!(took < Duration::from_secs(1), "push after HTTP publish took {took:?}");

        // The SDK fills its cache silently on a key's first value (its `initializing` flag,
        // as against Java Nacos); the change after that reaches the listener.
        publisher.publish_config("created-later".into(), GROUP.into(), "born".into(), None).await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while listener_client.get_config("created-later".into(), GROUP.into()).await.is_err() {
            assert!(Instant::now() < deadline, "created-later never became readable");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        publisher.publish_config("created-later".into(), GROUP.into(), "grown".into(), None).await.unwrap();
        later.wait_for("grown", Duration::from_secs(5)).await;
    });
}

#[test]
fn two_hundred_listeners_on_one_config_are_all_notified() {
    with_node(async |node, dir| {
        let publisher = client(node, "", &dir.join("cache-pub")).await;
        publisher.publish_config("fanout".into(), GROUP.into(), "v0".into(), None).await.unwrap();

        // Two hundred separate SDK clients (connections), set up concurrently.
        let mut setups = tokio::task::JoinSet::new();
        for i in 0..200 {
            let props = ClientProps::new()
                .server_addr(node.http_addr())
                .remote_grpc_port(node.grpc_port)
                .namespace("")
                .cache_dir(dir.join(format!("cache-{i}")));
            setups.spawn(async move {
                let sdk = ConfigServiceBuilder::new(props).build().await.unwrap();
                let recorder = Arc::new(Recorder::default());
                sdk.add_listener("fanout".into(), GROUP.into(), recorder.clone()).await.unwrap();
                (sdk, recorder)
            });
        }
        let (clients, recorders): (Vec<_>, Vec<_>) = setups.join_all().await.into_iter().unzip();
        // Listens are sent in the background by the SDK: wait until the server holds them all.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let query = node
                .http()
                .clone()
                .get(node.url("/nacos/v1/cs/configs/listener"))
                .query(&[("dataId", "fanout"), ("group", GROUP)]);
            let body = tokio::task::spawn_blocking(move || query.send().unwrap().text().unwrap()).await.unwrap();
            let listening: serde_json::Value = serde_json::from_str(&body).unwrap();
            if listening["listenerCount"].as_u64() == Some(200) {
                break;
            }
            assert!(Instant::now() < deadline, "listeners never registered: {body}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        publisher.publish_config("fanout".into(), GROUP.into(), "v1".into(), None).await.unwrap();
        for recorder in &recorders {
            recorder.wait_for("v1", Duration::from_secs(10)).await;
        }
        drop(clients);
    });
}
