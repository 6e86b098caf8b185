//! A Rust `nacos-sdk` client for the console's browser journey (`tests/console`): it
//! registers one instance, subscribes to its service, and prints every change the server
//! pushes as one JSON line on stdout, so the journey can check that what an operator does
//! in the console reaches the SDK's subscriber.
//!
//!   sdk_agent <http host:port> <grpc port> <username> <password> <service> <ip> <port>

#![allow(clippy::unwrap_used, reason = "a test helper: a failure ends it, and the journey fails")]

use std::io::Write;
use std::sync::Arc;

use nacos_sdk::api::naming::{NamingChangeEvent, NamingEventListener, NamingServiceBuilder, ServiceInstance};
use nacos_sdk::api::props::ClientProps;

struct Printer;

impl NamingEventListener for Printer {
    fn event(&self, event: Arc<NamingChangeEvent>) {
        let instances: Vec<serde_json::Value> = event
            .instances
            .as_deref()
            .unwrap_or_default()
            .iter()
            .map(|instance| {
                serde_json::json!({
                    "ip": instance.ip,
                    "port": instance.port,
                    "enabled": instance.enabled,
                    "healthy": instance.healthy,
                })
            })
            .collect();
        emit(&serde_json::json!({ "event": "instances", "instances": instances }));
    }
}

/// One JSON line on stdout, flushed: the journey reads them as they come.
fn emit(line: &serde_json::Value) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").unwrap();
    out.flush().unwrap();
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [server, grpc_port, username, password, service, ip, port] = args.as_slice() else {
        panic!("usage: sdk_agent <http host:port> <grpc port> <username> <password> <service> <ip> <port>");
    };
    let cache = tempfile::tempdir().unwrap();
    let props = ClientProps::new()
        .server_addr(server)
        .remote_grpc_port(grpc_port.parse().unwrap())
        .naming_push_empty_protection(false)
        .naming_load_cache_at_start(false)
        .cache_dir(cache.path())
        .auth_username(username)
        .auth_password(password);
    let naming = NamingServiceBuilder::new(props).enable_auth_plugin_http().build().await.unwrap();
    let instance = ServiceInstance { ip: ip.clone(), port: port.parse().unwrap(), ..ServiceInstance::default() };
    naming.register_instance(service.clone(), None, instance).await.unwrap();
    naming.subscribe(service.clone(), None, vec![], Arc::new(Printer)).await.unwrap();
    emit(&serde_json::json!({ "event": "registered" }));
    // Runs until the journey kills it.
    std::future::pending::<()>().await;
}
