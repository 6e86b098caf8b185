//! `config-push-fanout`: N gRPC connections listen to one config; the tool publishes it
//! over HTTP and measures, per round, how long until each listener hears of it.

use std::future::Future;
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
use crate::report::{micros, Stats};
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
    let (pushes_tx, mut pushes) = mpsc::unbounded_channel::<Heard>();
    let mut keep = Vec::with_capacity(listeners);
    for _ in 0..listeners {
        keep.push(listen(grpc_addr, pushes_tx.clone()).await?);
    }
    // Let every listen registration land before the first round.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let measured = rounds(listeners, duration, &mut pushes, |round| async move {
        http::publish(http_addr, FANOUT_DATA_ID, &format!("round-{round}")).await
    })
    .await;
    drop(keep);
    measured
}

/// A push as a client heard it: when, and the newest round it shows (`u64::MAX` when any
/// push is news, as for a config change).
pub(crate) type Heard = (Instant, u64);

/// Runs rounds for `duration`: `trigger(round)` makes a change, then every one of the
/// `clients` must report a push showing that round. Answers the latency from the trigger to
/// each client's push, and to the last one of each round.
pub(crate) async fn rounds<F, Fut>(
    clients: usize,
    duration: Duration,
    pushes: &mut mpsc::UnboundedReceiver<Heard>,
    mut trigger: F,
) -> anyhow::Result<(Stats, Stats)>
where
    F: FnMut(u64) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let mut per_client = Stats::new();
    let mut all_heard = Stats::new();
    let started = Instant::now();
    let mut round = 1u64;
    while started.elapsed() < duration {
        while pushes.try_recv().is_ok() {}
        let sent = Instant::now();
        trigger(round).await?;
        let mut heard = 0;
        while heard < clients {
            match tokio::time::timeout(Duration::from_secs(10), pushes.recv()).await {
                Ok(Some((at, shows))) if shows >= round => {
                    heard += 1;
                    per_client.record(micros(at.saturating_duration_since(sent)));
                }
                Ok(Some(_)) => {}
                _ => {
                    per_client.errors += (clients - heard) as u64;
                    break;
                }
            }
        }
        all_heard.record(micros(sent.elapsed()));
        round += 1;
    }
    per_client.elapsed = started.elapsed();
    all_heard.elapsed = started.elapsed();
    Ok((per_client, all_heard))
}

/// One listening connection that acknowledges pushes and reports when each arrived.
async fn listen(addr: SocketAddr, heard: mpsc::UnboundedSender<Heard>) -> anyhow::Result<Channel> {
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
                let _ = heard.send((Instant::now(), u64::MAX));
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
