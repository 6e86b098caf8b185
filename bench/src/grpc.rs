//! gRPC scenarios: the real Nacos handshake (server check, bi-stream set-up), then a closed
//! loop of unary requests per connection.

use std::net::SocketAddr;
use std::time::Duration;

use proto::nacos::bi_request_stream_client::BiRequestStreamClient;
use proto::nacos::request_client::RequestClient;
use proto::nacos::{Metadata, Payload};
use serde_json::json;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;

use crate::driver::{self, Worker};
use crate::report::Stats;
use crate::{Load, DATA_ID, GROUP};

#[derive(Debug, Clone, Copy)]
pub(crate) enum Op {
    Query,
    Publish,
}

pub(crate) fn payload(kind: &str, body: serde_json::Value) -> Payload {
    Payload {
        metadata: Some(Metadata {
            r#type: kind.to_owned(),
            client_ip: "127.0.0.1".to_owned(),
            headers: Default::default(),
        }),
        body: Some(prost_types::Any { type_url: String::new(), value: body.to_string().into_bytes() }),
    }
}

fn request(op: Op, n: u64) -> Payload {
    match op {
        Op::Query => payload(
            "ConfigQueryRequest",
            json!({ "dataId": DATA_ID, "group": GROUP, "tenant": "", "module": "config" }),
        ),
        Op::Publish => payload(
            "ConfigPublishRequest",
            json!({ "dataId": format!("bench-publish-{}", n % 16), "group": GROUP, "tenant": "", "content": format!("value-{n}") }),
        ),
    }
}

/// A connection set up as an SDK does; the returned sender keeps its stream open.
async fn connect(addr: SocketAddr) -> anyhow::Result<(Channel, mpsc::Sender<Payload>)> {
    let channel = Channel::from_shared(format!("http://{addr}"))?.connect().await?;
    RequestClient::new(channel.clone()).request(payload("ServerCheckRequest", json!({}))).await?;
    let (outbound, rx) = mpsc::channel(8);
    let setup =
        json!({ "clientVersion": "nacosd-bench", "labels": { "source": "sdk", "module": "config" }, "tenant": "" });
    outbound.send(payload("ConnectionSetupRequest", setup)).await?;
    let mut inbound =
        BiRequestStreamClient::new(channel.clone()).request_bi_stream(ReceiverStream::new(rx)).await?.into_inner();
    // Drain whatever the server pushes (set-up ack, detections are answered by nobody).
    tokio::spawn(async move { while let Ok(Some(_)) = inbound.message().await {} });
    Ok((channel, outbound))
}

/// One request's answer, for the baseline server to replay.
pub(crate) async fn capture(addr: SocketAddr, publish: bool) -> anyhow::Result<Payload> {
    let (channel, _stream) = connect(addr).await?;
    let op = if publish { Op::Publish } else { Op::Query };
    Ok(RequestClient::new(channel).request(request(op, 0)).await?.into_inner())
}

/// One set-up connection; `_stream` keeps its bi-stream open.
struct GrpcWorker {
    client: RequestClient<Channel>,
    op: Op,
    _stream: mpsc::Sender<Payload>,
}

impl Worker for GrpcWorker {
    async fn call(&mut self, n: u64) -> bool {
        match tokio::time::timeout(Duration::from_secs(10), self.client.request(request(self.op, n))).await {
            Ok(Ok(reply)) => success(&reply.into_inner()),
            _ => false,
        }
    }
}

pub(crate) async fn run(addr: SocketAddr, load: Load, op: Op) -> anyhow::Result<Stats> {
    driver::run(load, || async move {
        let (channel, stream) = connect(addr).await?;
        let client = RequestClient::new(channel).max_decoding_message_size(16 * 1024 * 1024);
        Ok(GrpcWorker { client, op, _stream: stream })
    })
    .await
}

fn success(reply: &Payload) -> bool {
    let body = reply.body.as_ref().map(|any| any.value.as_slice()).unwrap_or_default();
    serde_json::from_slice::<serde_json::Value>(body).is_ok_and(|value| value["resultCode"] == 200)
}
