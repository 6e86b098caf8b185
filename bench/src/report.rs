//! Counting and reporting: latency histograms, the server's /proc figures, the table and
//! the JSON.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde_json::json;

use crate::Load;

/// What one side of a run measured.
pub(crate) struct Stats {
    pub(crate) ops: u64,
    pub(crate) errors: u64,
    /// Latency in microseconds.
    pub(crate) latency: Histogram<u64>,
    /// Latency per second of the run, so that a periodic stall shows as the seconds it hit
    /// rather than disappearing into one p99.
    pub(crate) by_second: Vec<Histogram<u64>>,
    /// When each successful call was answered, in milliseconds into the measured part: the
    /// longest stretch without one is how long the server could not be written (a leader
    /// killed during the run).
    pub(crate) completions_ms: Vec<u32>,
    pub(crate) elapsed: Duration,
}

impl Stats {
    pub(crate) fn new() -> Self {
        Self {
            ops: 0,
            errors: 0,
            latency: new_histogram(),
            by_second: Vec::new(),
            completions_ms: Vec::new(),
            elapsed: Duration::ZERO,
        }
    }

    pub(crate) fn record(&mut self, micros: u64) {
        self.ops += 1;
        // Values beyond the histogram's range are clamped, not lost.
        let _ = self.latency.record(micros.clamp(1, 60_000_000));
    }

    /// Records a call sent `second` whole seconds into the measured part of the run.
    pub(crate) fn record_at(&mut self, second: usize, micros: u64) {
        self.record(micros);
        while self.by_second.len() <= second {
            self.by_second.push(new_histogram());
        }
        let _ = self.by_second[second].record(micros.clamp(1, 60_000_000));
    }

    /// Notes a successful call answered `after` the measured part began.
    pub(crate) fn completed_at(&mut self, after: Duration) {
        self.completions_ms.push(u32::try_from(after.as_millis()).unwrap_or(u32::MAX));
    }

    /// The longest time in the measured part without a successful answer, in milliseconds.
    pub(crate) fn longest_gap_ms(&self) -> u64 {
        let mut at: Vec<u64> = self.completions_ms.iter().map(|ms| u64::from(*ms)).collect();
        at.sort_unstable();
        let end = u64::try_from(self.elapsed.as_millis()).unwrap_or(u64::MAX);
        let edges = std::iter::once(0).chain(at.iter().copied()).chain(std::iter::once(end));
        let edges: Vec<u64> = edges.collect();
        edges.windows(2).map(|pair| pair[1].saturating_sub(pair[0])).max().unwrap_or(0)
    }

    pub(crate) fn merge(&mut self, other: &Stats) {
        self.completions_ms.extend_from_slice(&other.completions_ms);
        self.ops += other.ops;
        self.errors += other.errors;
        let _ = self.latency.add(&other.latency);
        while self.by_second.len() < other.by_second.len() {
            self.by_second.push(new_histogram());
        }
        for (mine, theirs) in self.by_second.iter_mut().zip(&other.by_second) {
            let _ = mine.add(theirs);
        }
    }

    /// p99 of each second, in microseconds.
    pub(crate) fn p99_by_second(&self) -> Vec<u64> {
        self.by_second.iter().map(|second| second.value_at_quantile(0.99)).collect()
    }

    pub(crate) fn ops_per_sec(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }
}

/// A latency in whole microseconds, the histograms' unit.
pub(crate) fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

pub(crate) fn new_histogram() -> Histogram<u64> {
    // 1 µs to 60 s at 3 significant figures; these bounds are valid, so this cannot fail.
    Histogram::new_with_bounds(1, 60_000_000, 3)
        .unwrap_or_else(|_| Histogram::new(3).unwrap_or_else(|_| unreachable!()))
}

/// CPU seconds and resident memory of a process, from /proc.
pub(crate) struct ProcStats {
    pub(crate) cpu_seconds: f64,
    pub(crate) rss_bytes: u64,
    /// Anonymous resident memory (heap, stacks), without the mapped binary and files.
    pub(crate) anon_bytes: u64,
    /// Highest RSS and anonymous memory sampled during the run (see [`PeakSampler`]).
    pub(crate) peak_rss_bytes: u64,
    pub(crate) peak_anon_bytes: u64,
}

impl ProcStats {
    pub(crate) fn read(pid: u32) -> anyhow::Result<Self> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
        // Fields after the parenthesised command name; utime and stime are the 12th and
        // 13th of those (fields 14 and 15 of the whole line).
        let after_name = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or_default();
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        let ticks: u64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0)
            + fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        let (rss_bytes, anon_bytes) = memory(&status);
        Ok(Self {
            cpu_seconds: ticks as f64 / clock_ticks_per_second(),
            rss_bytes,
            anon_bytes,
            peak_rss_bytes: rss_bytes,
            peak_anon_bytes: anon_bytes,
        })
    }

    /// CPU used between `before` and now; memory as of now, and the peaks `sampled`.
    pub(crate) fn since(&self, before: &ProcStats, sampled: (u64, u64)) -> ProcStats {
        ProcStats {
            cpu_seconds: self.cpu_seconds - before.cpu_seconds,
            rss_bytes: self.rss_bytes,
            anon_bytes: self.anon_bytes,
            peak_rss_bytes: sampled.0.max(self.rss_bytes),
            peak_anon_bytes: sampled.1.max(self.anon_bytes),
        }
    }
}

/// `VmRSS` and `RssAnon` of a `/proc/<pid>/status`, in bytes.
fn memory(status: &str) -> (u64, u64) {
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kib| kib.parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    };
    (field("VmRSS:"), field("RssAnon:"))
}

/// Samples a process's memory every 100 ms while a run goes on, keeping the peaks: a
/// reading at the end misses what the load raised and the allocator gave back.
pub(crate) struct PeakSampler {
    task: tokio::task::JoinHandle<(u64, u64)>,
    stop: tokio::sync::watch::Sender<bool>,
}

impl PeakSampler {
    pub(crate) fn start(pid: u32) -> Self {
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(async move {
            let mut peaks = (0, 0);
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            loop {
                if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
                    let (rss, anon) = memory(&status);
                    peaks = (peaks.0.max(rss), peaks.1.max(anon));
                }
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stopped.changed() => return peaks,
                }
            }
        });
        Self { task, stop }
    }

    /// The peaks (RSS, anonymous) seen.
    pub(crate) async fn finish(self) -> (u64, u64) {
        let _ = self.stop.send(true);
        self.task.await.unwrap_or_default()
    }
}

fn clock_ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(100.0)
}

pub(crate) struct Measurement {
    pub(crate) scenario: String,
    pub(crate) load: Load,
    pub(crate) ours: Stats,
    /// The server's CPU and RSS over the measured part of the run (warm-up included).
    pub(crate) server: Option<ProcStats>,
    pub(crate) limit: Option<Stats>,
}

impl Measurement {
    fn cpu_us_per_op(&self) -> Option<f64> {
        let total_ops = self.ours.ops as f64 * (1.0 + self.load.warmup.as_secs_f64() / self.ours.elapsed.as_secs_f64());
        self.server.as_ref().map(|server| server.cpu_seconds * 1e6 / total_ops.max(1.0))
    }

    fn percent_of_limit(&self) -> Option<f64> {
        self.limit.as_ref().map(|limit| 100.0 * self.ours.ops_per_sec() / limit.ops_per_sec().max(f64::EPSILON))
    }

    pub(crate) fn json(&self) -> String {
        let side = |stats: &Stats| {
            json!({
                "ops": stats.ops,
                "errors": stats.errors,
                "ops_per_sec": stats.ops_per_sec(),
                "p50_us": stats.latency.value_at_quantile(0.5),
                "p90_us": stats.latency.value_at_quantile(0.9),
                "p99_us": stats.latency.value_at_quantile(0.99),
                "max_us": stats.latency.max(),
                "p99_us_by_second": stats.p99_by_second(),
                "longest_gap_ms": stats.longest_gap_ms(),
            })
        };
        json!({
            "scenario": self.scenario,
            "connections": self.load.connections,
            "seconds": self.ours.elapsed.as_secs_f64(),
            "ours": side(&self.ours),
            "server_cpu_us_per_op": self.cpu_us_per_op(),
            "server_rss_bytes": self.server.as_ref().map(|server| server.rss_bytes),
            "server_peak_rss_bytes": self.server.as_ref().map(|server| server.peak_rss_bytes),
            "server_peak_anon_bytes": self.server.as_ref().map(|server| server.peak_anon_bytes),
            "limit": self.limit.as_ref().map(side),
            "percent_of_limit": self.percent_of_limit(),
        })
        .to_string()
    }

    pub(crate) fn table(&self) -> String {
        let row = |name: &str, stats: &Stats| {
            format!(
                "{name:<8} {:>10.0} {:>8} {:>8} {:>8} {:>8} {:>8}\n",
                stats.ops_per_sec(),
                stats.latency.value_at_quantile(0.5),
                stats.latency.value_at_quantile(0.9),
                stats.latency.value_at_quantile(0.99),
                stats.latency.max(),
                stats.errors,
            )
        };
        let mut out = format!(
            "{} — {} connections, {:.1} s\n{:<8} {:>10} {:>8} {:>8} {:>8} {:>8} {:>8}\n",
            self.scenario,
            self.load.connections,
            self.ours.elapsed.as_secs_f64(),
            "",
            "ops/s",
            "p50 µs",
            "p90 µs",
            "p99 µs",
            "max µs",
            "errors"
        );
        out.push_str(&row("nacosd", &self.ours));
        if let Some(limit) = &self.limit {
            out.push_str(&row("limit", limit));
        }
        if let Some(cpu) = self.cpu_us_per_op() {
            out.push_str(&format!("server CPU per op: {cpu:.1} µs\n"));
        }
        let by_second = self.ours.p99_by_second();
        if by_second.len() > 1 {
            let listed: Vec<String> = by_second.iter().map(|us| format!("{:.1}", *us as f64 / 1000.0)).collect();
            out.push_str(&format!("p99 by second (ms): {}\n", listed.join(" ")));
        }
        if let Some(server) = &self.server {
            let mib = |bytes: u64| bytes as f64 / 1048576.0;
            out.push_str(&format!(
                "server RSS: {:.1} MiB at the end, {:.1} MiB at peak (anonymous: {:.1} MiB, peak {:.1} MiB)\n",
                mib(server.rss_bytes),
                mib(server.peak_rss_bytes),
                mib(server.anon_bytes),
                mib(server.peak_anon_bytes)
            ));
        }
        if let Some(percent) = self.percent_of_limit() {
            out.push_str(&format!("nacosd throughput = {percent:.1}% of the bare-server limit\n"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_gap_counts_the_run_s_edges_and_any_order_of_merging() {
        let mut first = Stats::new();
        for ms in [100, 200, 1_900] {
            first.completed_at(Duration::from_millis(ms));
        }
        let mut second = Stats::new();
        second.completed_at(Duration::from_millis(300));
        first.merge(&second);
        first.elapsed = Duration::from_secs(2);
        assert_eq!(first.longest_gap_ms(), 1_600, "from 300 ms to 1,900 ms");
        first.elapsed = Duration::from_secs(5);
        assert_eq!(first.longest_gap_ms(), 3_100, "from the last answer to the end");
        let mut none = Stats::new();
        none.elapsed = Duration::from_secs(1);
        assert_eq!(none.longest_gap_ms(), 1_000);
    }
}
