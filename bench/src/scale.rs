//! Scale scenarios: how long it takes to load many instances or configs, and how much
//! memory the server holds for them.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use proto::nacos::request_client::RequestClient;
use serde_json::json;
use tokio::task::JoinSet;

use crate::grpc::payload;
use crate::http;
use crate::report::ProcStats;

/// What a scale run found.
pub(crate) struct ScaleReport {
    pub(crate) what: &'static str,
    pub(crate) items: u64,
    pub(crate) took: Duration,
    pub(crate) rss_before: Option<u64>,
    pub(crate) rss_after: Option<u64>,
}

impl ScaleReport {
    pub(crate) fn table(&self) -> String {
        let mut out =
            format!("{}: {} loaded in {:.2}s ({:.0}/s)", self.what, self.items, self.took.as_secs_f64(), self.rate());
        if let (Some(before), Some(after)) = (self.rss_before, self.rss_after) {
            out.push_str(&format!(
                "\n  server RSS {:.1} MiB -> {:.1} MiB: {:.0} bytes per item (growth), {:.0} bytes per item (total)",
                mib(before),
                mib(after),
                self.bytes_per_item(after.saturating_sub(before)),
                self.bytes_per_item(after),
            ));
        }
        out
    }

    pub(crate) fn json(&self) -> String {
        json!({
            "scenario": self.what,
            "items": self.items,
            "seconds": self.took.as_secs_f64(),
            "per_second": self.rate(),
            "rss_before_bytes": self.rss_before,
            "rss_after_bytes": self.rss_after,
            "growth_bytes_per_item": self.rss_before.zip(self.rss_after).map(|(b, a)| self.bytes_per_item(a.saturating_sub(b))),
        })
        .to_string()
    }

    fn rate(&self) -> f64 {
        self.items as f64 / self.took.as_secs_f64().max(1e-9)
    }

    fn bytes_per_item(&self, bytes: u64) -> f64 {
        bytes as f64 / self.items.max(1) as f64
    }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn rss(pid: Option<u32>) -> anyhow::Result<Option<u64>> {
    Ok(pid.map(ProcStats::read).transpose()?.map(|stats| stats.rss_bytes))
}

/// `scale-instances`: `connections` gRPC clients each register `per_connection` instances
/// (one in each of `per_connection` services), and stay connected while RSS is read.
pub(crate) async fn instances(
    grpc_addr: SocketAddr,
    connections: usize,
    per_connection: usize,
    pid: Option<u32>,
) -> anyhow::Result<ScaleReport> {
    let rss_before = rss(pid)?;
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    let mut kept = Vec::with_capacity(connections);
    for c in 0..connections {
        let (channel, stream) = crate::grpc::connect(grpc_addr, "naming").await?;
        kept.push(stream);
        tasks.spawn(async move {
            let mut client = RequestClient::new(channel.clone());
            for s in 0..per_connection {
                let request = json!({
                    "namespace": "public", "groupName": "DEFAULT_GROUP", "serviceName": format!("bench-scale-{s}"),
                    "type": "registerInstance", "module": "naming",
                    "instance": { "ip": format!("10.{}.{}.2", c / 256, c % 256), "port": 8080, "weight": 1.0,
                                  "healthy": true, "enabled": true, "ephemeral": true, "clusterName": "DEFAULT",
                                  "metadata": { "version": "1.0.0" } },
                });
                let reply = client.request(payload("InstanceRequest", request)).await?.into_inner();
                let body: serde_json::Value =
                    reply.body.as_ref().and_then(|any| serde_json::from_slice(&any.value).ok()).unwrap_or_default();
                anyhow::ensure!(body["resultCode"] == 200, "register failed: {body}");
            }
            anyhow::Ok(channel)
        });
    }
    let mut channels = Vec::with_capacity(connections);
    while let Some(joined) = tasks.join_next().await {
        channels.push(joined??);
    }
    let took = started.elapsed();
    // Give the allocator a moment to settle before reading RSS.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_after = rss(pid)?;
    drop(kept);
    Ok(ScaleReport {
        what: "scale-instances",
        items: (connections * per_connection) as u64,
        took,
        rss_before,
        rss_after,
    })
}

/// `scale-configs`: `count` configs published over HTTP by `connections` concurrent
/// clients.
pub(crate) async fn configs(
    http_addr: SocketAddr,
    count: usize,
    connections: usize,
    pid: Option<u32>,
) -> anyhow::Result<ScaleReport> {
    let rss_before = rss(pid)?;
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    let connections = connections.clamp(1, count.max(1));
    for c in 0..connections {
        tasks.spawn(async move {
            for i in (c..count).step_by(connections) {
                let content = format!("key{i}=value-{i}\n").repeat(8);
                let form = format!("dataId=bench-scale-{i}.properties&group=SCALE&content={content}");
                http::post(http_addr, "/nacos/v1/cs/configs", form.replace('\n', "%0A").replace("=value", "%3Dvalue"))
                    .await?;
            }
            anyhow::Ok(())
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined??;
    }
    let took = started.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_after = rss(pid)?;
    Ok(ScaleReport { what: "scale-configs", items: count as u64, took, rss_before, rss_after })
}
