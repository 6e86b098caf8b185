//! Scale scenarios: how long it takes to load many instances or configs, and how much
//! memory the server holds for them.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use proto::nacos::request_client::RequestClient;
use serde_json::json;
use tokio::task::JoinSet;

use crate::grpc::payload;
use crate::http;
use crate::report::{micros, new_histogram, ProcStats};

/// What a scale run found.
pub(crate) struct ScaleReport {
    pub(crate) what: &'static str,
    pub(crate) items: u64,
    pub(crate) took: Duration,
    pub(crate) rss_before: Option<u64>,
    pub(crate) rss_after: Option<u64>,
    /// scale-instances: what happened when every client left at once.
    pub(crate) departure: Option<Departure>,
    /// Each load request's latency, in microseconds.
    pub(crate) latency: Histogram<u64>,
}

/// Every client leaving at once: how long until the registry is empty, and how slow the
/// liveness probe got meanwhile (a stalled server answers it late or not at all).
pub(crate) struct Departure {
    pub(crate) emptied_after: Option<Duration>,
    pub(crate) slowest_liveness: Duration,
    pub(crate) probes: u64,
}

impl ScaleReport {
    pub(crate) fn table(&self) -> String {
        let mut out = format!(
            "{}: {} loaded in {:.2}s ({:.0}/s); per request p50 {} µs, p99 {} µs, max {} µs",
            self.what,
            self.items,
            self.took.as_secs_f64(),
            self.rate(),
            self.latency.value_at_quantile(0.5),
            self.latency.value_at_quantile(0.99),
            self.latency.max(),
        );
        if let Some(departure) = &self.departure {
            out.push_str(&format!(
                "\n  all clients left at once: registry empty after {}, slowest liveness answer {:.0} ms ({} probes)",
                departure
                    .emptied_after
                    .map_or("never, or not reported".to_owned(), |took| format!("{:.2}s", took.as_secs_f64())),
                departure.slowest_liveness.as_secs_f64() * 1000.0,
                departure.probes,
            ));
        }
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
            "p50_us": self.latency.value_at_quantile(0.5),
            "p99_us": self.latency.value_at_quantile(0.99),
            "max_us": self.latency.max(),
            "rss_before_bytes": self.rss_before,
            "rss_after_bytes": self.rss_after,
            "growth_bytes_per_item": self.rss_before.zip(self.rss_after).map(|(b, a)| self.bytes_per_item(a.saturating_sub(b))),
            "departure_emptied_seconds": self.departure.as_ref().and_then(|d| d.emptied_after).map(|d| d.as_secs_f64()),
            "departure_slowest_liveness_ms": self.departure.as_ref().map(|d| d.slowest_liveness.as_secs_f64() * 1000.0),
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
    http_addr: SocketAddr,
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
            let mut latency = new_histogram();
            for s in 0..per_connection {
                let request = json!({
                    "namespace": "public", "groupName": "DEFAULT_GROUP", "serviceName": format!("bench-scale-{s}"),
                    "type": "registerInstance", "module": "naming",
                    "instance": { "ip": format!("127.{}.{}.2", c / 256, c % 256), "port": 8080, "weight": 1.0,
                                  "healthy": true, "enabled": true, "ephemeral": true, "clusterName": "DEFAULT",
                                  "metadata": { "version": "1.0.0" } },
                });
                let sent = Instant::now();
                let reply = client.request(payload("InstanceRequest", request)).await?.into_inner();
                latency.saturating_record(micros(sent.elapsed()));
                let body: serde_json::Value =
                    reply.body.as_ref().and_then(|any| serde_json::from_slice(&any.value).ok()).unwrap_or_default();
                anyhow::ensure!(body["resultCode"] == 200, "register failed: {body}");
            }
            anyhow::Ok((channel, latency))
        });
    }
    let mut channels = Vec::with_capacity(connections);
    let mut latency = new_histogram();
    while let Some(joined) = tasks.join_next().await {
        let (channel, theirs) = joined??;
        channels.push(channel);
        latency.add(theirs)?;
    }
    let took = started.elapsed();
    // Give the allocator a moment to settle before reading RSS.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_after = rss(pid)?;
    let (stop_probing, stopped) = tokio::sync::oneshot::channel();
    let prober = tokio::spawn(probe_liveness(http_addr, stopped));
    // Every client leaves at once: streams and channels dropped together.
    let left = Instant::now();
    drop(kept);
    drop(channels);
    let emptied_after = wait_until_empty(http_addr, left).await;
    let _ = stop_probing.send(());
    let (slowest_liveness, probes) = prober.await?;
    Ok(ScaleReport {
        what: "scale-instances",
        items: (connections * per_connection) as u64,
        took,
        rss_before,
        rss_after,
        departure: Some(Departure { emptied_after, slowest_liveness, probes }),
        latency,
    })
}

/// Asks for liveness every 100 ms until `stop`; answers the slowest answer and how many.
async fn probe_liveness(http_addr: SocketAddr, mut stop: tokio::sync::oneshot::Receiver<()>) -> (Duration, u64) {
    let (mut slowest, mut probes) = (Duration::ZERO, 0);
    loop {
        tokio::select! {
            _ = &mut stop => return (slowest, probes),
            () = tokio::time::sleep(Duration::from_millis(100)) => {}
        }
        let asked = Instant::now();
        let _ = tokio::time::timeout(GIVE_UP, http::get(http_addr, "/nacos/v1/console/health/liveness")).await;
        slowest = slowest.max(asked.elapsed());
        probes += 1;
    }
}

/// How long a departure is watched before it counts as "never".
const GIVE_UP: Duration = Duration::from_secs(60);

/// Polls the registry's ephemeral instance count until it is zero; answers when, from
/// `since`, or `None` if it never is or the server does not report the count.
async fn wait_until_empty(http_addr: SocketAddr, since: Instant) -> Option<Duration> {
    while since.elapsed() < GIVE_UP {
        let metrics =
            tokio::time::timeout(GIVE_UP, http::get(http_addr, "/nacos/v1/ns/operator/metrics?onlyStatus=false"));
        if let Ok(Ok(body)) = metrics.await {
            // Ephemeral instances only: the seeded service's persistent ones stay.
            let ephemeral = serde_json::from_slice::<serde_json::Value>(&body).ok().and_then(|m| {
                Some(m["instanceCount"].as_u64()?.saturating_sub(m["persistentIpPortClientCount"].as_u64()?))
            });
            match ephemeral {
                Some(0) => return Some(since.elapsed()),
                Some(_) => {}
                // A server without Nacos's counts (r-nacos answers `{"status":"UP"}`):
                // nothing to wait for.
                None => return None,
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

/// `scale-configs`: `count` configs of [`CONFIG_BYTES`] published over HTTP by
/// `connections` concurrent clients.
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
            let mut latency = new_histogram();
            for i in (c..count).step_by(connections) {
                let form = format!("dataId=bench-scale-{i}.properties&group=SCALE&content={}", config_content(i));
                let sent = Instant::now();
                http::post(http_addr, "/nacos/v1/cs/configs", form).await?;
                latency.saturating_record(micros(sent.elapsed()));
            }
            anyhow::Ok(latency)
        });
    }
    let mut latency = new_histogram();
    while let Some(joined) = tasks.join_next().await {
        latency.add(joined??)?;
    }
    let took = started.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_after = rss(pid)?;
    Ok(ScaleReport {
        what: "scale-configs",
        items: count as u64,
        took,
        rss_before,
        rss_after,
        departure: None,
        latency,
    })
}

/// The size of each scale-configs config.
const CONFIG_BYTES: usize = 1024;

/// `CONFIG_BYTES` of properties, different for each config, form-encoded (`%3D` is `=`,
/// `%0A` a newline; both count as one byte of content).
fn config_content(i: usize) -> String {
    let line = format!("key{i}=value-{i}\n");
    let mut content = line.repeat(CONFIG_BYTES / line.len() + 1);
    content.truncate(CONFIG_BYTES);
    content.replace('=', "%3D").replace('\n', "%0A")
}
