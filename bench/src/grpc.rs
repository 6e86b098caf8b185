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
use crate::http::{worker_ip, LIST_SERVICE};
use crate::report::Stats;
use crate::{Load, DATA_ID, GROUP, PUBLISH_DATA_IDS};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Query,
    Publish,
    /// InstanceRequest: each connection registers its own instances.
    NamingRegister,
    /// ServiceQueryRequest of the 100-instance service.
    NamingQuery,
    /// SubscribeServiceRequest of the 100-instance service (each answered with the view
    /// and followed by a push, which the connection acknowledges).
    NamingSubscribe,
}

impl Op {
    fn module(self) -> &'static str {
        match self {
            Self::Query | Self::Publish => "config",
            Self::NamingRegister | Self::NamingQuery | Self::NamingSubscribe => "naming",
        }
    }
}

pub(crate) fn payload(kind: &str, body: serde_json::Value) -> Payload {
    Payload {
        metadata: Some(Metadata {
            r#type: kind.to_owned(),
            client_ip: "127.0.0.1".to_owned(),
            headers: crate::http::ACCESS_TOKEN
                .get()
                .map(|token| [("accessToken".to_owned(), token.clone())].into())
                .unwrap_or_default(),
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
            json!({ "dataId": format!("bench-publish-{}", n % PUBLISH_DATA_IDS), "group": GROUP, "tenant": "", "content": format!("value-{n}") }),
        ),
        Op::NamingRegister => payload(
            "InstanceRequest",
            json!({
                "namespace": "public", "groupName": "DEFAULT_GROUP", "serviceName": format!("bench-grpc-{}", n % 16),
                "type": "registerInstance", "module": "naming",
                "instance": { "ip": worker_ip(n), "port": 1000 + n % 100, "weight": 1.0, "healthy": true,
                              "enabled": true, "ephemeral": true, "clusterName": "DEFAULT", "metadata": {} },
            }),
        ),
        Op::NamingQuery => payload(
            "ServiceQueryRequest",
            json!({ "namespace": "public", "groupName": "DEFAULT_GROUP", "serviceName": LIST_SERVICE,
                    "cluster": "", "healthyOnly": false, "udpPort": 0, "module": "naming" }),
        ),
        Op::NamingSubscribe => payload(
            "SubscribeServiceRequest",
            json!({ "namespace": "public", "groupName": "DEFAULT_GROUP", "serviceName": LIST_SERVICE,
                    "clusters": "", "subscribe": true, "module": "naming" }),
        ),
    }
}

/// A connection set up as an SDK does; the returned sender keeps its stream open. Server
/// requests on the stream (pushes, detections) are acknowledged as an SDK would.
pub(crate) async fn connect(addr: SocketAddr, module: &str) -> anyhow::Result<(Channel, mpsc::Sender<Payload>)> {
    let channel = Channel::from_shared(format!("http://{addr}"))?.connect().await?;
    RequestClient::new(channel.clone()).request(payload("ServerCheckRequest", json!({}))).await?;
    let (outbound, rx) = mpsc::channel(64);
    let setup =
        json!({ "clientVersion": "nacosd-bench", "labels": { "source": "sdk", "module": module }, "tenant": "" });
    outbound.send(payload("ConnectionSetupRequest", setup)).await?;
    let mut inbound =
        BiRequestStreamClient::new(channel.clone()).request_bi_stream(ReceiverStream::new(rx)).await?.into_inner();
    // Weak: when the caller drops its sender, the stream ends and the server sees the
    // client leave (scale-instances' departure relies on it).
    let acks = outbound.downgrade();
    tokio::spawn(async move {
        while let Ok(Some(message)) = inbound.message().await {
            let Some(acks) = acks.upgrade() else { return };
            let kind = message.metadata.as_ref().map(|m| m.r#type.clone()).unwrap_or_default();
            let body: serde_json::Value =
                message.body.as_ref().and_then(|any| serde_json::from_slice(&any.value).ok()).unwrap_or_default();
            if body.get("requestId").is_some() && kind.ends_with("Request") && kind != "SetupAckRequest" {
                let ack = json!({ "requestId": body["requestId"], "resultCode": 200, "errorCode": 0 });
                let _ = acks.try_send(payload(&kind.replace("Request", "Response"), ack));
            }
        }
    });
    Ok((channel, outbound))
}

/// A set-up connection whose stream the caller reads itself (pushes it wants to see).
pub(crate) async fn connect_streaming(
    addr: SocketAddr,
    module: &str,
) -> anyhow::Result<(Channel, mpsc::Sender<Payload>, tonic::Streaming<Payload>)> {
    let channel = Channel::from_shared(format!("http://{addr}"))?.connect().await?;
    let (outbound, rx) = mpsc::channel(64);
    let setup =
        json!({ "clientVersion": "nacosd-bench", "labels": { "source": "sdk", "module": module }, "tenant": "" });
    outbound.send(payload("ConnectionSetupRequest", setup)).await?;
    let inbound =
        BiRequestStreamClient::new(channel.clone()).request_bi_stream(ReceiverStream::new(rx)).await?.into_inner();
    Ok((channel, outbound, inbound))
}

/// One request's answer, for the baseline server to replay.
pub(crate) async fn capture(addr: SocketAddr, op: Op) -> anyhow::Result<Payload> {
    let (channel, _stream) = connect(addr, op.module()).await?;
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

/// Runs `op` from `load.connections` connections spread over `addrs` in turn.
pub(crate) async fn run(addrs: &[SocketAddr], load: Load, op: Op) -> anyhow::Result<Stats> {
    anyhow::ensure!(!addrs.is_empty(), "no target");
    driver::run(load, |worker| {
        let addr = addrs[worker % addrs.len()];
        async move {
            let (channel, stream) = connect(addr, op.module()).await?;
            let client = RequestClient::new(channel).max_decoding_message_size(16 * 1024 * 1024);
            Ok(GrpcWorker { client, op, _stream: stream })
        }
    })
    .await
}

/// Whether the answer says `resultCode` 200. A byte search, not a parse: the load tool
/// must not spend more per answer than the server does (a 100-instance view is ~45 KB).
fn success(reply: &Payload) -> bool {
    let body = reply.body.as_ref().map(|any| any.value.as_slice()).unwrap_or_default();
    let needle = br#""resultCode":200"#;
    body.windows(needle.len()).any(|window| window == needle)
}
