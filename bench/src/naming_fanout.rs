//! `naming-subscribe-fanout`: N gRPC connections subscribe to one service; each round the
//! tool registers one more instance over HTTP and measures how long until each subscriber
//! is pushed a view that holds it.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use proto::nacos::request_client::RequestClient;
use serde_json::json;
use tokio::sync::mpsc;
use tonic::transport::Channel;

use crate::fanout::{rounds, Heard};
use crate::grpc::payload;
use crate::http;
use crate::report::Stats;

const SERVICE: &str = "bench-fanout-svc";

/// Connects `subscribers`, then runs register rounds for `duration`: round `n` registers
/// the `n`th instance, and a subscriber has heard it when a push shows `n` hosts.
pub(crate) async fn run(
    http_addr: SocketAddr,
    grpc_addr: SocketAddr,
    subscribers: usize,
    duration: Duration,
) -> anyhow::Result<(Stats, Stats)> {
    let (pushes_tx, mut pushes) = mpsc::unbounded_channel::<Heard>();
    let mut keep = Vec::with_capacity(subscribers);
    for _ in 0..subscribers {
        keep.push(subscribe(grpc_addr, pushes_tx.clone()).await?);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let measured = rounds(subscribers, duration, &mut pushes, |round| async move {
        let form = format!("serviceName={SERVICE}&ip=127.250.0.101&port={}", 10_000 + round);
        http::post(http_addr, "/nacos/v1/ns/instance", form).await
    })
    .await;
    drop(keep);
    measured
}

/// One subscribing connection; reports each push with how many hosts it carried.
async fn subscribe(addr: SocketAddr, heard: mpsc::UnboundedSender<Heard>) -> anyhow::Result<Channel> {
    let (channel, outbound, mut inbound) = crate::grpc::connect_streaming(addr, "naming").await?;
    tokio::spawn(async move {
        while let Ok(Some(message)) = inbound.message().await {
            let kind = message.metadata.as_ref().map(|m| m.r#type.clone()).unwrap_or_default();
            let body: serde_json::Value =
                message.body.as_ref().and_then(|any| serde_json::from_slice(&any.value).ok()).unwrap_or_default();
            if kind == "NotifySubscriberRequest" {
                let hosts = body["serviceInfo"]["hosts"].as_array().map_or(0, Vec::len);
                let _ = heard.send((Instant::now(), hosts as u64));
            }
            let ack = json!({ "requestId": body["requestId"], "resultCode": 200, "errorCode": 0 });
            let _ = outbound.send(payload(&kind.replace("Request", "Response"), ack)).await;
        }
    });
    let request = json!({ "namespace": "public", "groupName": "DEFAULT_GROUP", "serviceName": SERVICE,
                          "clusters": "", "subscribe": true, "module": "naming" });
    RequestClient::new(channel.clone()).request(payload("SubscribeServiceRequest", request)).await?;
    Ok(channel)
}
