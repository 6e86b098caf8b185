//! `config-push-fanout`: N gRPC connections listen to one config; the tool publishes it
//! over HTTP and measures, per round, how long until each listener hears of it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use proto::nacos::bi_request_stream_client::BiRequestStreamClient;
use proto::nacos::request_client::RequestClient;
use serde_json::json;
use tokio::sync::{mpsc, Mutex};
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;

use crate::grpc::payload;
use crate::report::Stats;
use crate::{http, GROUP};

const FANOUT_DATA_ID: &str = "bench-fanout";

/// Connects `listeners` clients, then runs publish rounds for `duration`; every latency is
/// from the publish being sent to one listener receiving its push.
pub(crate) async fn run(
    http_addr: SocketAddr,
    grpc_addr: SocketAddr,
    listeners: usize,
    duration: Duration,
) -> anyhow::Result<(Stats, Stats)> {
    http::publish(http_addr, FANOUT_DATA_ID, "round-0").await?;
    let (pushes_tx, mut pushes) = mpsc::unbounded_channel::<Instant>();
    let mut keep = Vec::with_capacity(listeners);
    for _ in 0..listeners {
        keep.push(listen(grpc_addr, pushes_tx.clone()).await?);
    }
    // Let every listen registration land before the first round.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let mut per_listener = Stats::new();
    let mut all_heard = Stats::new();
    let started = Instant::now();
    let mut round = 1u64;
    while started.elapsed() < duration {
        while pushes.try_recv().is_ok() {}
        let sent = Instant::now();
        http::publish(http_addr, FANOUT_DATA_ID, &format!("round-{round}")).await?;
        let mut heard = 0;
        while heard < listeners {
            match tokio::time::timeout(Duration::from_secs(10), pushes.recv()).await {
                Ok(Some(at)) => {
                    heard += 1;
                    per_listener.record(micros(at.saturating_duration_since(sent)));
                }
                _ => {
                    per_listener.errors += (listeners - heard) as u64;
                    break;
                }
            }
        }
        all_heard.record(micros(sent.elapsed()));
        round += 1;
    }
    per_listener.elapsed = started.elapsed();
    all_heard.elapsed = started.elapsed();
    drop(keep);
    Ok((per_listener, all_heard))
}

fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

/// One listening connection that acknowledges pushes and reports when each arrived.
async fn listen(addr: SocketAddr, heard: mpsc::UnboundedSender<Instant>) -> anyhow::Result<Channel> {
    let channel = Channel::from_shared(format!("http://{addr}"))?.connect().await?;
    let (outbound, rx) = mpsc::channel(16);
    outbound.send(payload("ConnectionSetupRequest", json!({ "labels": { "module": "config" }, "tenant": "" }))).await?;
    let mut inbound =
        BiRequestStreamClient::new(channel.clone()).request_bi_stream(ReceiverStream::new(rx)).await?.into_inner();
    let outbound = Arc::new(Mutex::new(outbound));
    tokio::spawn(async move {
        while let Ok(Some(message)) = inbound.message().await {
            let kind = message.metadata.as_ref().map(|m| m.r#type.clone()).unwrap_or_default();
            let body: serde_json::Value =
                message.body.as_ref().and_then(|any| serde_json::from_slice(&any.value).ok()).unwrap_or_default();
            if kind == "ConfigChangeNotifyRequest" {
                let _ = heard.send(Instant::now());
            }
            let ack = json!({ "requestId": body["requestId"], "resultCode": 200, "errorCode": 0 });
            let _ = outbound.lock().await.send(payload(&kind.replace("Request", "Response"), ack)).await;
        }
    });
    let listen = json!({
        "listen": true,
        "configListenContexts": [{ "dataId": FANOUT_DATA_ID, "group": GROUP, "tenant": "", "md5": "" }],
    });
    RequestClient::new(channel.clone()).request(payload("ConfigBatchListenRequest", listen)).await?;
    Ok(channel)
}
