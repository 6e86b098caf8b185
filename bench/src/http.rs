//! HTTP scenarios: a closed loop per connection with hyper's client.

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::driver::{self, Worker};
use crate::report::Stats;
use crate::{Load, CONTENT, DATA_ID, GROUP};

#[derive(Debug, Clone, Copy)]
pub(crate) enum Op {
    Get,
    Publish,
}

/// A response to replay from the baseline server.
#[derive(Debug, Clone)]
pub(crate) struct Captured {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, Vec<u8>)>,
    pub(crate) body: Bytes,
}

fn request(addr: SocketAddr, op: Op, n: u64) -> Request<Full<Bytes>> {
    let builder = Request::builder().header("host", addr.to_string());
    let request = match op {
        Op::Get => builder
            .method(Method::GET)
            .uri(format!("/nacos/v1/cs/configs?dataId={DATA_ID}&group={GROUP}"))
            .body(Full::new(Bytes::new())),
        Op::Publish => builder
            .method(Method::POST)
            .uri("/nacos/v1/cs/configs")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Full::new(Bytes::from(format!("dataId=bench-publish-{}&group={GROUP}&content=value-{n}", n % 16)))),
    };
    // Every part above is a valid literal; a failure here is a bug in this tool.
    request.unwrap_or_else(|err| panic!("bad request: {err}"))
}

/// Publishes the config the read scenarios fetch.
pub(crate) async fn seed(addr: SocketAddr) -> anyhow::Result<()> {
    let mut sender = connect(addr).await?;
    let body = format!("dataId={DATA_ID}&group={GROUP}&content={}", CONTENT.replace('\n', "%0A").replace('=', "%3D"));
    let request = Request::builder()
        .method(Method::POST)
        .uri("/nacos/v1/cs/configs")
        .header("host", addr.to_string())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Full::new(Bytes::from(body)))?;
    let response = sender.send_request(request).await?;
    anyhow::ensure!(response.status().is_success(), "seeding the config failed: {}", response.status());
    Ok(())
}

/// Publishes `content` under `data_id` and waits for the answer.
pub(crate) async fn publish(addr: SocketAddr, data_id: &str, content: &str) -> anyhow::Result<()> {
    let mut sender = connect(addr).await?;
    let request = Request::builder()
        .method(Method::POST)
        .uri("/nacos/v1/cs/configs")
        .header("host", addr.to_string())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Full::new(Bytes::from(format!("dataId={data_id}&group={GROUP}&content={content}"))))?;
    let response = sender.send_request(request).await?;
    anyhow::ensure!(response.status().is_success(), "publish failed: {}", response.status());
    Ok(())
}

/// One request, its response kept for the baseline server to replay.
pub(crate) async fn capture(addr: SocketAddr, publish: bool) -> anyhow::Result<Captured> {
    let mut sender = connect(addr).await?;
    let op = if publish { Op::Publish } else { Op::Get };
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

async fn connect(addr: SocketAddr) -> anyhow::Result<hyper::client::conn::http1::SendRequest<Full<Bytes>>> {
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

pub(crate) async fn run(addr: SocketAddr, load: Load, op: Op) -> anyhow::Result<Stats> {
    driver::run(load, || async move { Ok(HttpWorker { addr, op, sender: connect(addr).await? }) }).await
}
