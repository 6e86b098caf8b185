//! HTTP scenarios: a closed loop per connection with hyper's client.

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::driver::{self, Worker};
use crate::report::Stats;
use crate::{Load, CONTENT, DATA_ID, GROUP, PUBLISH_DATA_IDS};

#[derive(Debug, Clone, Copy)]
pub(crate) enum Op {
    Get,
    Publish,
    /// POST /nacos/v1/ns/instance: each connection re-registers its own 100 instances.
    NamingRegister,
    /// GET /nacos/v1/ns/instance/list of the 100-instance service.
    NamingList,
}

/// The service `naming-list-http` and the gRPC reads query, seeded with 100 instances.
pub(crate) const LIST_SERVICE: &str = "bench-list";
const LIST_INSTANCES: u16 = 100;

/// The ip a worker registers from (request numbers start at worker × 1,000,000).
pub(crate) fn worker_ip(n: u64) -> String {
    let worker = n / 1_000_000;
    format!("127.{}.{}.1", (worker / 256) % 256, worker % 256)
}

/// A response to replay from the baseline server.
#[derive(Debug, Clone)]
pub(crate) struct Captured {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, Vec<u8>)>,
    pub(crate) body: Bytes,
}

/// The access token every request carries (`--username`, with auth on the server).
pub(crate) static ACCESS_TOKEN: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// A request to `addr`, with the access token when there is one.
fn builder(addr: SocketAddr) -> hyper::http::request::Builder {
    let builder = Request::builder().header("host", addr.to_string());
    match ACCESS_TOKEN.get() {
        Some(token) => builder.header("authorization", format!("Bearer {token}")),
        None => builder,
    }
}

/// Logs in and keeps the token for every later request.
pub(crate) async fn login(addr: SocketAddr, username: &str, password: &str) -> anyhow::Result<()> {
    let mut sender = connect(addr).await?;
    let form = format!("username={username}&password={password}");
    let response = sender.send_request(form_post(addr, "/nacos/v1/auth/login", form)?).await?;
    anyhow::ensure!(response.status().is_success(), "login failed: {}", response.status());
    let body: serde_json::Value = serde_json::from_slice(&response.into_body().collect().await?.to_bytes())?;
    let token = body["accessToken"].as_str().ok_or_else(|| anyhow::format_err!("login answered no token"))?;
    ACCESS_TOKEN.set(token.to_owned()).map_err(|_| anyhow::format_err!("logged in twice"))?;
    Ok(())
}

fn request(addr: SocketAddr, op: Op, n: u64) -> Request<Full<Bytes>> {
    let builder = builder(addr);
    let request = match op {
        Op::Get => builder
            .method(Method::GET)
            .uri(format!("/nacos/v1/cs/configs?dataId={DATA_ID}&group={GROUP}"))
            .body(Full::new(Bytes::new())),
        Op::Publish => builder
            .method(Method::POST)
            .uri("/nacos/v1/cs/configs")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Full::new(Bytes::from(format!(
                "dataId=bench-publish-{}&group={GROUP}&content=value-{n}",
                n % PUBLISH_DATA_IDS
            )))),
        Op::NamingRegister => builder
            .method(Method::POST)
            .uri("/nacos/v1/ns/instance")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Full::new(Bytes::from(format!(
                "serviceName=bench-reg-{}&ip={}&port={}",
                n % 16,
                worker_ip(n),
                1000 + n % 100
            )))),
        Op::NamingList => builder
            .method(Method::GET)
            .uri(format!("/nacos/v1/ns/instance/list?serviceName={LIST_SERVICE}"))
            .body(Full::new(Bytes::new())),
    };
    // Every part above is a valid literal; a failure here is a bug in this tool.
    request.unwrap_or_else(|err| panic!("bad request: {err}"))
}

/// Publishes the config the read scenarios fetch.
pub(crate) async fn seed(addr: SocketAddr) -> anyhow::Result<()> {
    let mut sender = connect(addr).await?;
    let body = format!("dataId={DATA_ID}&group={GROUP}&content={}", CONTENT.replace('\n', "%0A").replace('=', "%3D"));
    let request = builder(addr)
        .method(Method::POST)
        .uri("/nacos/v1/cs/configs")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Full::new(Bytes::from(body)))?;
    let response = sender.send_request(request).await?;
    anyhow::ensure!(response.status().is_success(), "seeding the config failed: {}", response.status());
    Ok(())
}

/// Registers the 100 persistent instances of [`LIST_SERVICE`] (persistent, so they do not
/// expire without beats).
pub(crate) async fn seed_naming(addr: SocketAddr) -> anyhow::Result<()> {
    let mut sender = connect(addr).await?;
    for port in 0..LIST_INSTANCES {
        let form = format!("serviceName={LIST_SERVICE}&ip=127.200.0.101&port={}&ephemeral=false", 9000 + port);
        sender.ready().await?;
        let response = sender.send_request(form_post(addr, "/nacos/v1/ns/instance", form)?).await?;
        let ok = response.status().is_success();
        response.into_body().collect().await?;
        anyhow::ensure!(ok, "seeding {LIST_SERVICE} failed");
    }
    Ok(())
}

/// GETs `path` once and answers the body.
pub(crate) async fn get(addr: SocketAddr, path: &str) -> anyhow::Result<Bytes> {
    let mut sender = connect(addr).await?;
    let request = builder(addr).method(Method::GET).uri(path).body(Full::default())?;
    let response = sender.send_request(request).await?;
    anyhow::ensure!(response.status().is_success(), "GET {path} failed: {}", response.status());
    Ok(response.into_body().collect().await?.to_bytes())
}

/// POSTs `form` to `path` once.
pub(crate) async fn post(addr: SocketAddr, path: &str, form: String) -> anyhow::Result<()> {
    let mut sender = connect(addr).await?;
    let response = sender.send_request(form_post(addr, path, form)?).await?;
    anyhow::ensure!(response.status().is_success(), "POST {path} failed: {}", response.status());
    Ok(())
}

fn form_post(addr: SocketAddr, path: &str, form: String) -> anyhow::Result<Request<Full<Bytes>>> {
    Ok(builder(addr)
        .method(Method::POST)
        .uri(path)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Full::new(Bytes::from(form)))?)
}

/// Publishes `content` under `data_id` and waits for the answer.
pub(crate) async fn publish(addr: SocketAddr, data_id: &str, content: &str) -> anyhow::Result<()> {
    let mut sender = connect(addr).await?;
    let request = builder(addr)
        .method(Method::POST)
        .uri("/nacos/v1/cs/configs")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Full::new(Bytes::from(format!("dataId={data_id}&group={GROUP}&content={content}"))))?;
    let response = sender.send_request(request).await?;
    anyhow::ensure!(response.status().is_success(), "publish failed: {}", response.status());
    Ok(())
}

/// One request, its response kept for the baseline server to replay.
pub(crate) async fn capture(addr: SocketAddr, op: Op) -> anyhow::Result<Captured> {
    let mut sender = connect(addr).await?;
    let response = sender.send_request(request(addr, op, 0)).await?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "date" | "content-length" | "transfer-encoding"))
        .map(|(name, value)| (name.as_str().to_owned(), value.as_bytes().to_vec()))
        .collect();
    let body = response.into_body().collect().await?.to_bytes();
    Ok(Captured { status, headers, body })
}

pub(crate) async fn connect(addr: SocketAddr) -> anyhow::Result<hyper::client::conn::http1::SendRequest<Full<Bytes>>> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    Ok(sender)
}

/// One HTTP/1.1 connection; reconnects after a transport error.
struct HttpWorker {
    addr: SocketAddr,
    op: Op,
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
}

impl Worker for HttpWorker {
    async fn call(&mut self, n: u64) -> bool {
        match self.sender.send_request(request(self.addr, self.op, n)).await {
            Ok(response) => {
                let success = response.status().is_success();
                response.into_body().collect().await.is_ok() && success
            }
            Err(_) => {
                if let Ok(sender) = connect(self.addr).await {
                    self.sender = sender;
                }
                false
            }
        }
    }
}

/// Runs `op` from `load.connections` connections spread over `addrs` in turn.
pub(crate) async fn run(addrs: &[SocketAddr], load: Load, op: Op) -> anyhow::Result<Stats> {
    anyhow::ensure!(!addrs.is_empty(), "no target");
    driver::run(load, |worker| {
        let addr = addrs[worker % addrs.len()];
        async move { Ok(HttpWorker { addr, op, sender: connect(addr).await? }) }
    })
    .await
}
