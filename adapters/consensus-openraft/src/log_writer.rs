//! Group commit for the raft log: one thread owns every log write, merges the appends that
//! queue up while an fsync is in progress into the next single synced batch, and reports
//! each append durable only after that batch is on disk.
//!
//! Entries handed to [`LogWriter::append`] are readable at once (from `pending`) and stay
//! there until written, so openraft can replicate them before they are flushed.

use std::collections::BTreeMap;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard};

use openraft::storage::LogFlushed;
use ports::kv::{Durability, KvError, KvStore, WriteBatch};
use tokio::sync::oneshot;

use crate::types::{Entry, TypeConfig};

/// Work for the writer thread, done strictly in the order it was queued.
enum Job {
    /// Entries to persist; `callback` fires once they are durable.
    Append { batch: WriteBatch, indexes: Vec<(u64, u64)>, callback: LogFlushed<TypeConfig> },
    /// Any other write (vote, truncate, purge, committed); `done` answers when it is applied.
    Write { batch: WriteBatch, durability: Durability, done: oneshot::Sender<Result<(), KvError>> },
}

/// A handle to the log's writer thread. Cheap to clone; the thread ends with the last one.
#[derive(Clone)]
pub(crate) struct LogWriter {
    jobs: mpsc::Sender<Job>,
    /// Appended entries not yet written, by index. A std lock: never held across an
    /// `.await`; each section is a map operation.
    pending: Arc<Mutex<BTreeMap<u64, Entry>>>,
}

impl LogWriter {
    pub(crate) fn start(kv: Arc<dyn KvStore>) -> Self {
        let (jobs, queue) = mpsc::channel();
        let pending = Arc::new(Mutex::new(BTreeMap::new()));
        let written = Arc::clone(&pending);
        std::thread::Builder::new()
            .name("raft-log-writer".to_owned())
            .spawn(move || run(&*kv, &queue, &written))
            .map(|_| ())
            .unwrap_or_else(|err| tracing::error!(cause = %err, "cannot start the raft log writer"));
        Self { jobs, pending }
    }

    /// Queues `entries` (already encoded into `batch`); `callback` fires when they are on
    /// disk. Returns at once.
    pub(crate) fn append(&self, entries: Vec<Entry>, batch: WriteBatch, callback: LogFlushed<TypeConfig>) {
        let indexes = entries.iter().map(|entry| (entry.log_id.index, entry.log_id.leader_id.term)).collect();
        {
            let mut pending = self.pending();
            for entry in entries {
                pending.insert(entry.log_id.index, entry);
            }
        }
        if let Err(mpsc::SendError(Job::Append { callback, .. })) =
            self.jobs.send(Job::Append { batch, indexes, callback })
        {
            callback.log_io_completed(Err(std::io::Error::other("the raft log writer has stopped")));
        }
    }

    /// Writes `batch` after every queued append, and waits until it is applied.
    pub(crate) async fn write(&self, batch: WriteBatch, durability: Durability) -> Result<(), KvError> {
        let (done, answer) = oneshot::channel();
        self.jobs.send(Job::Write { batch, durability, done }).map_err(|_| KvError::Closed)?;
        answer.await.map_err(|_| KvError::Closed)?
    }

    /// Forgets pending entries in `[from, to)` that a truncate or purge removes.
    pub(crate) fn forget(&self, from: u64, to: u64) {
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

fn lock(pending: &Mutex<BTreeMap<u64, Entry>>) -> MutexGuard<'_, BTreeMap<u64, Entry>> {
    // Inserts and removes cannot leave the map half-changed: poisoning is harmless.
    pending.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The writer loop: take a job, merge the appends queued behind it, write once, report.
fn run(kv: &dyn KvStore, queue: &mpsc::Receiver<Job>, pending: &Mutex<BTreeMap<u64, Entry>>) {
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
                let _ = done.send(kv.write(batch, durability));
            }
            Job::Append { batch, indexes, callback } => {
                let mut ops = batch.into_ops();
                let mut written = indexes;
                let mut callbacks = vec![callback];
                // Everything that queued up meanwhile goes into the same fsync.
                while let Ok(job) = queue.try_recv() {
                    match job {
                        Job::Append { batch, indexes, callback } => {
                            ops.extend(batch.into_ops());
                            written.extend(indexes);
                            callbacks.push(callback);
                        }
                        other => {
                            next = Some(other);
                            break;
                        }
                    }
                }
                let mut merged = WriteBatch::new();
                for op in ops {
                    merged.push(op);
                }
                let result = kv.write(merged, Durability::Sync);
                if result.is_ok() {
                    let mut pending = lock(pending);
                    for (index, term) in written {
                        if pending.get(&index).is_some_and(|entry| entry.log_id.leader_id.term == term) {
                            pending.remove(&index);
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
