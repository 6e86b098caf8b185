//! The closed loop every throughput scenario shares: N connections, each sending its next
//! request as soon as the previous one is answered, counted only after the warm-up.

use std::future::Future;
use std::time::Instant;

use crate::report::{micros, Stats};
use crate::Load;

/// One connection's side of a scenario.
pub(crate) trait Worker: Send + 'static {
    /// Sends request number `n` and waits for its answer; `true` when it succeeded.
    fn call(&mut self, n: u64) -> impl Future<Output = bool> + Send;
}

/// Connects `load.connections` workers with `connect` (given each worker's number), runs
/// them until the deadline, and merges what they measured.
pub(crate) async fn run<W, C, F>(load: Load, connect: C) -> anyhow::Result<Stats>
where
    W: Worker,
    C: Fn(usize) -> F,
    F: Future<Output = anyhow::Result<W>> + Send + 'static,
{
    let measure_from = Instant::now() + load.warmup;
    let until = measure_from + load.duration;
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..load.connections {
        let connecting = connect(worker);
        workers.spawn(async move {
            let mut stats = Stats::new();
            let mut worker_state = connecting.await?;
            let mut n = worker as u64 * 1_000_000;
            while Instant::now() < until {
                let sent = Instant::now();
                let ok = worker_state.call(n).await;
                n += 1;
                if sent >= measure_from {
                    if ok {
                        let second = usize::try_from(sent.duration_since(measure_from).as_secs()).unwrap_or(usize::MAX);
                        stats.record_at(second, micros(sent.elapsed()));
                        stats.completed_at(measure_from.elapsed());
                    } else {
                        stats.errors += 1;
                    }
                }
            }
            anyhow::Ok(stats)
        });
    }
    let mut total = Stats::new();
    while let Some(joined) = workers.join_next().await {
        total.merge(&joined??);
    }
    total.elapsed = load.duration;
    Ok(total)
}
