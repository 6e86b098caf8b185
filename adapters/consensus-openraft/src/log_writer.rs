//! Group commit for the raft log: one thread owns every log write, merges the appends that
//! queue up while an fsync is in progress into the next single synced append, and reports
//! each append durable only after that append is on disk.
//!
//! Entries handed to [`LogWriter::append`] are readable at once (from `pending`) and stay
//! there until written, so openraft can replicate them before they are flushed.

use std::collections::BTreeMap;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard};

use openraft::storage::LogFlushed;
use ports::kv::{Durability, KvStore, WriteBatch};
use tokio::sync::oneshot;

use crate::log_entries::{LogEntries, LogError};
use crate::types::{Entry, TypeConfig};

/// Work for the writer thread, done strictly in the order it was queued.
enum Job {
    /// Entries to persist; `callback` fires once they are durable.
    Append { entries: Vec<Entry>, callback: LogFlushed<TypeConfig> },
    /// A write to the KV store (vote, committed, purged id); `done` answers when applied.
    Write { batch: WriteBatch, durability: Durability, done: Done },
    /// Remove the entries at this index and after.
    Truncate { from: u64, done: Done },
    /// Remove the entries up to and including this index.
    Purge { upto: u64, done: Done },
}

type Done = oneshot::Sender<Result<(), LogError>>;

/// A handle to the log's writer thread. Cheap to clone; the thread ends with the last one.
#[derive(Clone)]
pub(crate) struct LogWriter {
    jobs: mpsc::Sender<Job>,
    /// Appended entries not yet written, by index. A std lock: never held across an
    /// `.await`; each section is a map operation.
    pending: Arc<Mutex<BTreeMap<u64, Entry>>>,
}

impl LogWriter {
    pub(crate) fn start(kv: Arc<dyn KvStore>, log: Arc<dyn LogEntries>) -> Self {
        let (jobs, queue) = mpsc::channel();
        let pending = Arc::new(Mutex::new(BTreeMap::new()));
        let written = Arc::clone(&pending);
        std::thread::Builder::new()
            .name("raft-log-writer".to_owned())
            .spawn(move || run(&*kv, &*log, &queue, &written))
            .map(|_| ())
            .unwrap_or_else(|err| tracing::error!(cause = %err, "cannot start the raft log writer"));
        Self { jobs, pending }
    }

    /// Queues `entries`; `callback` fires when they are on disk. Returns at once.
    pub(crate) fn append(&self, entries: Vec<Entry>, callback: LogFlushed<TypeConfig>) {
        {
            let mut pending = self.pending();
            for entry in &entries {
                pending.insert(entry.log_id.index, entry.clone());
            }
        }
        if let Err(mpsc::SendError(Job::Append { callback, .. })) = self.jobs.send(Job::Append { entries, callback }) {
            callback.log_io_completed(Err(std::io::Error::other("the raft log writer has stopped")));
        }
    }

    /// Writes `batch` to the KV store after every queued append, and waits until it is
    /// applied.
    pub(crate) async fn write(&self, batch: WriteBatch, durability: Durability) -> Result<(), LogError> {
        self.run(|done| Job::Write { batch, durability, done }).await
    }

    /// Removes the entries at `from` and after (pending ones at once), durably.
    pub(crate) async fn truncate(&self, from: u64) -> Result<(), LogError> {
        self.forget(from, u64::MAX);
        self.run(|done| Job::Truncate { from, done }).await
    }

    /// Removes the entries up to and including `upto` (pending ones at once).
    pub(crate) async fn purge(&self, upto: u64) -> Result<(), LogError> {
        self.forget(0, upto.saturating_add(1));
        self.run(|done| Job::Purge { upto, done }).await
    }

    async fn run(&self, job: impl FnOnce(Done) -> Job) -> Result<(), LogError> {
        let (done, answer) = oneshot::channel();
        self.jobs.send(job(done)).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Forgets pending entries in `[from, to)` that a truncate or purge removes.
    fn forget(&self, from: u64, to: u64) {
        let mut pending = self.pending();
        let doomed: Vec<u64> = pending.range(from..to).map(|(index, _)| *index).collect();
        for index in doomed {
            pending.remove(&index);
        }
    }

    /// Pending entries in `[from, to)`.
    pub(crate) fn pending_range(&self, from: u64, to: u64) -> Vec<Entry> {
        self.pending().range(from..to).map(|(_, entry)| entry.clone()).collect()
    }

    /// The pending entry with the greatest index.
    pub(crate) fn last_pending(&self) -> Option<Entry> {
        self.pending().values().next_back().cloned()
    }

    fn pending(&self) -> MutexGuard<'_, BTreeMap<u64, Entry>> {
        lock(&self.pending)
    }
}

/// A log write slower than this is reported: every publish in flight waits behind it.
const SLOW: std::time::Duration = std::time::Duration::from_millis(100);

/// Runs one log write, warning when it takes longer than [`SLOW`].
fn timed<T>(what: &'static str, write: impl FnOnce() -> T) -> T {
    let started = std::time::Instant::now();
    let result = write();
    let took = started.elapsed();
    if took > SLOW {
        tracing::warn!(took_ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX), "slow raft log {what}");
    }
    result
}

/// Whether `more` starts right after `entries`.
fn follows(entries: &[Entry], more: &[Entry]) -> bool {
    match (entries.last(), more.first()) {
        (Some(last), Some(first)) => last.log_id.index.checked_add(1) == Some(first.log_id.index),
        _ => true,
    }
}

fn stopped() -> LogError {
    LogError::Io(std::io::Error::other("the raft log writer has stopped"))
}

fn lock(pending: &Mutex<BTreeMap<u64, Entry>>) -> MutexGuard<'_, BTreeMap<u64, Entry>> {
    // Inserts and removes cannot leave the map half-changed: poisoning is harmless.
    pending.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The writer loop: take a job, merge the appends queued behind it, write once, report.
fn run(kv: &dyn KvStore, log: &dyn LogEntries, queue: &mpsc::Receiver<Job>, pending: &Mutex<BTreeMap<u64, Entry>>) {
    let mut next: Option<Job> = None;
    loop {
        let job = match next.take() {
            Some(job) => job,
            None => match queue.recv() {
                Ok(job) => job,
                Err(_) => return,
            },
        };
        match job {
            Job::Write { batch, durability, done } => {
                let _ = done.send(timed("store write", || kv.write(batch, durability).map_err(LogError::from)));
            }
            Job::Truncate { from, done } => {
                let _ = done.send(timed("truncate", || log.truncate(from)));
            }
            Job::Purge { upto, done } => {
                let _ = done.send(timed("purge", || log.purge(upto)));
            }
            Job::Append { mut entries, callback } => {
                let mut callbacks = vec![callback];
                // The appends that queued up meanwhile and carry on where these end go into
                // the same fsync (one that rewrites an index is written on its own).
                while let Ok(job) = queue.try_recv() {
                    match job {
                        Job::Append { entries: more, callback } if follows(&entries, &more) => {
                            entries.extend(more);
                            callbacks.push(callback);
                        }
                        other => {
                            next = Some(other);
                            break;
                        }
                    }
                }
                let result = timed("append", || log.append(&entries));
                if result.is_ok() {
                    let mut pending = lock(pending);
                    for entry in &entries {
                        let written = &entry.log_id;
                        if pending.get(&written.index).is_some_and(|held| held.log_id.leader_id == written.leader_id) {
                            pending.remove(&written.index);
                        }
                    }
                }
                for callback in callbacks {
                    let reported = result.as_ref().map(|_| ()).map_err(|err| std::io::Error::other(err.to_string()));
                    callback.log_io_completed(reported);
                }
            }
        }
    }
}
