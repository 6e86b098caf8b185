//! The raft log and vote: entries in segment files (or the KV store, for the in-memory
//! engine), the vote and the committed and purged ids in the KV store.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};
use std::path::Path;
use std::sync::Arc;

use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{OptionalSend, RaftLogReader, StorageIOError, Vote};
use ports::kv::{Durability, KvError, KvStore, WriteBatch};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::keys;
use crate::log_entries::{KvEntries, LogEntries, LogError};
use crate::log_segments::SegmentLog;
use crate::log_writer::LogWriter;
use crate::types::{Entry, LogId, NodeId, StorageError, TypeConfig};

/// The raft log store. Cheap to clone: the reader openraft asks for is another handle.
///
/// ### Durability
/// `append`, `save_vote`, `truncate` and `purge` report success only after what they wrote
/// is on disk. A purge first records the purged id with a synced store write, which also
/// makes every state row written before it durable (the state machine writes unsynced, the
/// log being its redo record), and only then removes entries.
///
/// Writes go through one [`LogWriter`] thread, which merges appends that arrive while an
/// fsync is running into the next one (group commit).
#[derive(Clone)]
pub struct LogStore {
    kv: Arc<dyn KvStore>,
    log: Arc<dyn LogEntries>,
    writer: LogWriter,
}

impl LogStore {
    /// A log kept in the KV store, as the in-memory engine keeps it.
    pub fn new(kv: Arc<dyn KvStore>) -> Self {
        let log: Arc<dyn LogEntries> = Arc::new(KvEntries::new(Arc::clone(&kv)));
        Self::with(kv, log)
    }

    /// A log kept in segment files in `dir`, beside `kv`. Entries a store written before the
    /// log moved to files still holds are moved into them first.
    pub fn in_files(kv: Arc<dyn KvStore>, dir: &Path) -> Result<Self, StorageError> {
        let segments = SegmentLog::open(dir).map_err(read_logs)?;
        let rows = KvEntries::rows(&*kv).map_err(read_logs)?;
        if !rows.is_empty() {
            // Files left by a hand-over that a crash cut short are replaced: until the rows
            // are gone, they are the log.
            segments.truncate(0).map_err(write_logs)?;
            segments.append(&rows).map_err(write_logs)?;
            KvEntries::clear_rows(&*kv).map_err(write_logs)?;
            tracing::info!(entries = rows.len(), dir = %dir.display(), "moved the raft log from the store into files");
        }
        let purged: Option<LogId> = read_json(&*kv, keys::PURGED).map_err(read_logs)?;
        if let Some(purged) = purged {
            segments.purge(purged.index).map_err(write_logs)?;
        }
        Ok(Self::with(kv, Arc::new(segments)))
    }

    fn with(kv: Arc<dyn KvStore>, log: Arc<dyn LogEntries>) -> Self {
        let writer = LogWriter::start(Arc::clone(&kv), Arc::clone(&log));
        Self { kv, log, writer }
    }

    /// Writes `batch` to the KV store after every queued append, on the writer thread.
    async fn write(&self, batch: WriteBatch, durability: Durability) -> Result<(), LogError> {
        self.writer.write(batch, durability).await
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError> {
        let start = match range.start_bound() {
            Bound::Included(index) => *index,
            Bound::Excluded(index) => index.saturating_add(1),
            Bound::Unbounded => 0,
        };
        let end = match range.end_bound() {
            Bound::Included(index) => index.checked_add(1),
            Bound::Excluded(index) => Some(*index),
            Bound::Unbounded => None,
        };
        let unwritten = match self.writer.held_range(start, end.unwrap_or(u64::MAX)) {
            Ok(held) => return Ok(held),
            Err(unwritten) => unwritten,
        };
        let mut entries: BTreeMap<u64, Entry> = BTreeMap::new();
        for entry in self.log.read(start, end).map_err(read_logs)? {
            entries.insert(entry.log_id.index, entry);
        }
        // Entries appended but not yet written are the newest truth.
        for entry in unwritten {
            entries.insert(entry.log_id.index, entry);
        }
        Ok(entries.into_values().collect())
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError> {
        let last_purged_log_id: Option<LogId> = read_json(&*self.kv, keys::PURGED).map_err(read_logs)?;
        let stored = self.log.last().map_err(read_logs)?;
        let held = self.writer.last_held();
        // Never behind the purged id: a log purged whole still ends there.
        let last_log_id = held.max(stored).max(last_purged_log_id);
        Ok(LogState { last_purged_log_id, last_log_id })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> Result<(), StorageError> {
        let mut batch = WriteBatch::new();
        batch.put(keys::VOTE, encode(vote).map_err(write_vote)?);
        self.write(batch, Durability::Sync).await.map_err(write_vote)
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<NodeId>>, StorageError> {
        read_json(&*self.kv, keys::VOTE).map_err(read_vote)
    }

    /// Buffered, and not waited for: a lost committed index only means re-applying from
    /// the last applied one. It is written after the appends queued before it, so the
    /// entries it names are in the log before it is (see `LogWriter::write_behind`).
    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), StorageError> {
        let mut batch = WriteBatch::new();
        match committed {
            Some(log_id) => batch.put(keys::COMMITTED, encode(&log_id).map_err(write_logs)?),
            None => batch.delete(keys::COMMITTED),
        };
        self.writer.write_behind(batch).map_err(write_logs)
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, StorageError> {
        read_json(&*self.kv, keys::COMMITTED).map_err(read_logs)
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<TypeConfig>) -> Result<(), StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        // Queued for the writer thread: appends that pile up during an fsync share the next
        // one, and `callback` reports each durable only after its fsync.
        self.writer.append(entries.into_iter().collect(), callback);
        Ok(())
    }

    async fn truncate(&mut self, log_id: LogId) -> Result<(), StorageError> {
        self.writer.truncate(log_id.index).await.map_err(write_logs)
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), StorageError> {
        let mut batch = WriteBatch::new();
        batch.put(keys::PURGED, encode(&log_id).map_err(write_logs)?);
        self.write(batch, Durability::Sync).await.map_err(write_logs)?;
        self.writer.purge(log_id.index).await.map_err(write_logs)
    }
}

/// A value the store cannot decode.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CodecError {
    #[error(transparent)]
    Kv(#[from] KvError),
    #[error("undecodable value: {0}")]
    Json(#[from] serde_json::Error),
}

pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    serde_json::to_vec(value)
}

pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    Ok(serde_json::from_slice(bytes)?)
}

pub(crate) fn read_json<T: DeserializeOwned>(kv: &dyn KvStore, key: &[u8]) -> Result<Option<T>, CodecError> {
    match kv.get(key)? {
        Some(bytes) => Ok(Some(decode(&bytes)?)),
        None => Ok(None),
    }
}

fn read_logs(err: impl std::error::Error + 'static) -> StorageError {
    StorageError::IO { source: StorageIOError::read_logs(&err) }
}

fn write_logs(err: impl std::error::Error + 'static) -> StorageError {
    StorageError::IO { source: StorageIOError::write_logs(&err) }
}

fn read_vote(err: impl std::error::Error + 'static) -> StorageError {
    StorageError::IO { source: StorageIOError::read_vote(&err) }
}

fn write_vote(err: impl std::error::Error + 'static) -> StorageError {
    StorageError::IO { source: StorageIOError::write_vote(&err) }
}
