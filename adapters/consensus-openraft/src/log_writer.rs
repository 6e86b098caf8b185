//! Group commit for the raft log: one thread owns every log write, merges the appends that
//! queue up while an fsync is in progress into the next single synced append, and reports
//! each append durable only after that append is on disk.
//!
//! Entries handed to [`LogWriter::append`] are readable at once (from `held`) and stay
//! there until written and a while after ([`HeldEntries`]), so openraft can replicate them
//! before they are flushed and read them back without going to the files.

use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard};

use openraft::storage::LogFlushed;
use ports::kv::{Durability, KvStore, WriteBatch};
use tokio::sync::oneshot;

use crate::held_entries::HeldEntries;
use crate::log_entries::{LogEntries, LogError};
use crate::types::{Entry, LogId, TypeConfig};

/// Work for the writer thread, done strictly in the order it was queued.
enum Job {
    /// Entries to persist; `callback` fires once they are durable.
    Append { entries: Vec<Entry>, callback: LogFlushed<TypeConfig> },
    /// A write to the KV store (vote, purged id); `done` answers when applied.
    Write { batch: WriteBatch, durability: Durability, done: Done },
    /// A buffered write to the KV store that nobody waits for (the committed log id); it is
    /// made after every append queued before it.
    WriteBehind { batch: WriteBatch },
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
    /// Appended entries not yet written, and the latest written ones. A std lock: never
    /// held across an `.await`; each section is a map operation.
    held: Arc<Mutex<HeldEntries>>,
}

impl LogWriter {
    pub(crate) fn start(kv: Arc<dyn KvStore>, log: Arc<dyn LogEntries>) -> Self {
        let (jobs, queue) = mpsc::channel();
        let held = Arc::new(Mutex::new(HeldEntries::default()));
        let written = Arc::clone(&held);
        std::thread::Builder::new()
            .name("raft-log-writer".to_owned())
            .spawn(move || run(&*kv, &*log, &queue, &written))
            .map(|_| ())
            .unwrap_or_else(|err| tracing::error!(cause = %err, "cannot start the raft log writer"));
        Self { jobs, held }
    }

    /// Queues `entries`; `callback` fires when they are on disk. Returns at once.
    pub(crate) fn append(&self, entries: Vec<Entry>, callback: LogFlushed<TypeConfig>) {
        {
            let mut held = self.held();
            for entry in &entries {
                held.appended(entry.clone());
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

    /// Queues a buffered write of `batch` to the KV store, made after every append queued
    /// before it, and returns at once.
    ///
    /// For the committed log id: openraft awaits saving it before it applies the entries,
    /// and a write that waits its turn behind the fsync of the next batch's append made
    /// every publish wait for two fsyncs instead of one. A write that cannot be made is
    /// logged (the committed id is only a hint: losing it means re-applying from the last
    /// applied entry); one queued while an append failed is dropped.
    pub(crate) fn write_behind(&self, batch: WriteBatch) -> Result<(), LogError> {
        self.jobs.send(Job::WriteBehind { batch }).map_err(|_| stopped())
    }

    /// Removes the entries at `from` and after (held ones at once), durably.
    pub(crate) async fn truncate(&self, from: u64) -> Result<(), LogError> {
        self.forget(from, u64::MAX);
        self.run(|done| Job::Truncate { from, done }).await
    }

    /// Removes the entries up to and including `upto` (held ones at once).
    pub(crate) async fn purge(&self, upto: u64) -> Result<(), LogError> {
        self.forget(0, upto.saturating_add(1));
        self.run(|done| Job::Purge { upto, done }).await
    }

    async fn run(&self, job: impl FnOnce(Done) -> Job) -> Result<(), LogError> {
        let (done, answer) = oneshot::channel();
        self.jobs.send(job(done)).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Forgets held entries in `[from, to)` that a truncate or purge removes.
    fn forget(&self, from: u64, to: u64) {
        self.held().forget(from, to);
    }

    /// The entries in `[from, to)` when all of them are held, or else the held ones not yet
    /// written (which the files do not have).
    pub(crate) fn held_range(&self, from: u64, to: u64) -> Result<Vec<Entry>, Vec<Entry>> {
        let held = self.held();
        held.all_of(from, to).ok_or_else(|| held.unwritten(from, to))
    }

    /// The id of the held entry with the greatest index.
    pub(crate) fn last_held(&self) -> Option<LogId> {
        self.held().last()
    }

    fn held(&self) -> MutexGuard<'_, HeldEntries> {
        lock(&self.held)
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

fn lock(held: &Mutex<HeldEntries>) -> MutexGuard<'_, HeldEntries> {
    // Inserts and removes cannot leave the map half-changed: poisoning is harmless.
    held.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write_behind(kv: &dyn KvStore, batch: WriteBatch) {
    if let Err(err) = timed("store write", || kv.write(batch, Durability::Buffered)) {
        tracing::error!(cause = %err, "cannot write the raft committed log id");
    }
}

/// The writer loop: take a job, merge the appends queued behind it, write once, report.
fn run(kv: &dyn KvStore, log: &dyn LogEntries, queue: &mpsc::Receiver<Job>, held: &Mutex<HeldEntries>) {
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
            Job::WriteBehind { batch } => write_behind(kv, batch),
            Job::Truncate { from, done } => {
                let _ = done.send(timed("truncate", || log.truncate(from)));
            }
            Job::Purge { upto, done } => {
                let _ = done.send(timed("purge", || log.purge(upto)));
            }
            Job::Append { mut entries, callback } => {
                let mut callbacks = vec![callback];
                let mut behind = Vec::new();
                // The appends that queued up meanwhile and carry on where these end go into
                // the same fsync (one that rewrites an index is written on its own). Writes
                // behind them are made after it: later than queued, never before an append
                // queued ahead of them.
                while let Ok(job) = queue.try_recv() {
                    match job {
                        Job::Append { entries: more, callback } if follows(&entries, &more) => {
                            entries.extend(more);
                            callbacks.push(callback);
                        }
                        Job::WriteBehind { batch } => behind.push(batch),
                        other => {
                            next = Some(other);
                            break;
                        }
                    }
                }
                let result = timed("append", || log.append(&entries));
                let written = result.is_ok();
                if written {
                    let mut held = lock(held);
                    for entry in &entries {
                        held.written(&entry.log_id);
                    }
                }
                for callback in callbacks {
                    let reported = result.as_ref().map(|_| ()).map_err(|err| std::io::Error::other(err.to_string()));
                    callback.log_io_completed(reported);
                }
                // A committed id may cover entries of the failed append: not written.
                if written {
                    for batch in behind {
                        write_behind(kv, batch);
                    }
                }
            }
        }
    }
}
