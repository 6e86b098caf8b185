//! Connections that ended, cleaned up off the async workers.
//!
//! The end of a connection is a synchronous use case that takes the registry's lock and
//! removes what the client owned. When thousands of clients leave together (a network
//! blip, a fleet redeploy), running it on the session tasks would occupy every runtime
//! worker, queued on that lock, and the node would answer nothing, health probes
//! included. Sessions only queue the id; one task drains the queue in batches and runs
//! each batch on the blocking pool, one connection at a time, so the lock is held briefly
//! and released between clients.

use std::sync::{Arc, Mutex};

use domain::config::ConnectionId;
use ports::connection::ConnectionService;
use tokio::sync::mpsc;

/// The queue of ended connections: sessions send, [`Departures::run`] cleans up.
#[derive(Clone)]
pub(crate) struct Departures {
    queue: mpsc::UnboundedSender<ConnectionId>,
    /// Taken once by [`Departures::run`].
    pending: Arc<Mutex<Option<mpsc::UnboundedReceiver<ConnectionId>>>>,
}

impl Departures {
    pub(crate) fn new() -> Self {
        let (queue, pending) = mpsc::unbounded_channel();
        Self { queue, pending: Arc::new(Mutex::new(Some(pending))) }
    }

    /// A connection ended; never blocks.
    pub(crate) fn departed(&self, connection: ConnectionId) {
        // An error means the cleaner has stopped (shutdown): nothing is left to clean.
        let _ = self.queue.send(connection);
    }

    /// Cleans up departed connections until every sender is gone or `stop` resolves,
    /// then cleans up what is still queued.
    pub(crate) async fn run(&self, ends: Arc<dyn ConnectionService>, stop: impl std::future::Future<Output = ()>) {
        let taken = self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
        let Some(mut pending) = taken else { return };
        tokio::pin!(stop);
        loop {
            let first = tokio::select! {
                first = pending.recv() => first,
                () = &mut stop => None,
            };
            let Some(first) = first else { break };
            let mut batch = vec![first];
            while let Ok(next) = pending.try_recv() {
                batch.push(next);
            }
            clean_up(Arc::clone(&ends), batch).await;
        }
        let mut rest = Vec::new();
        while let Ok(next) = pending.try_recv() {
            rest.push(next);
        }
        if !rest.is_empty() {
            clean_up(ends, rest).await;
        }
    }
}

async fn clean_up(ends: Arc<dyn ConnectionService>, batch: Vec<ConnectionId>) {
    let count = batch.len();
    let done = tokio::task::spawn_blocking(move || {
        for connection in &batch {
            ends.connection_closed(connection);
        }
    });
    if let Err(err) = done.await {
        tracing::error!(cause = %err, count, "cleaning up ended connections failed");
    } else if count > 1 {
        tracing::debug!(count, "ended connections cleaned up together");
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use std::sync::Mutex;
    use std::time::Duration;

    use super::*;

    /// Records which connections were cleaned up; each clean-up is slow, as a crowded
    /// registry's can be.
    #[derive(Default)]
    struct SlowEnds(Mutex<Vec<String>>);

    impl ConnectionService for SlowEnds {
        fn connection_closed(&self, connection: &ConnectionId) {
            std::thread::sleep(Duration::from_millis(2));
            self.0.lock().unwrap().push(connection.as_str().to_owned());
        }
    }

    /// One async worker: were the clean-up run on it, the ticker would stall for the whole
    /// second it takes.
    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn every_departure_is_cleaned_up_once_without_stalling_the_workers() {
        let departures = Departures::new();
        let ends = Arc::new(SlowEnds::default());
        for n in 0..500 {
            departures.departed(ConnectionId::new(format!("c{n}")));
        }
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let runner = {
            let (departures, ends) = (departures.clone(), Arc::clone(&ends) as Arc<dyn ConnectionService>);
            tokio::spawn(async move {
                departures
                    .run(ends, async move {
                        let _ = stopped.await;
                    })
                    .await
            })
        };
        let mut slowest_tick = Duration::ZERO;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while ends.0.lock().unwrap().len() < 500 {
            assert!(tokio::time::Instant::now() < deadline, "not all cleaned up");
            let asked = tokio::time::Instant::now();
            tokio::time::sleep(Duration::from_millis(5)).await;
            slowest_tick = slowest_tick.max(asked.elapsed());
        }
        assert!(slowest_tick < Duration::from_millis(250), "the async worker stalled for {slowest_tick:?}");
        departures.departed(ConnectionId::new("late"));
        stop.send(()).unwrap();
        runner.await.unwrap();
        let mut cleaned = ends.0.lock().unwrap().clone();
        assert_eq!(cleaned.len(), 501, "each once, the one queued at the stop too");
        cleaned.sort_unstable();
        cleaned.dedup();
        assert_eq!(cleaned.len(), 501);
    }
}
