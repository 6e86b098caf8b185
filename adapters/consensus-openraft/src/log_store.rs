//! The raft log and vote, persisted through the KV port.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};
use std::sync::Arc;

use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{OptionalSend, RaftLogReader, StorageIOError, Vote};
use ports::kv::{Durability, KeyRange, KvError, KvStore, WriteBatch};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::keys;
use crate::log_writer::LogWriter;
use crate::types::{Entry, LogId, NodeId, StorageError, TypeConfig};

/// The raft log store. Cheap to clone: the reader openraft asks for is another handle.
///
/// ### Durability
/// `append`, `save_vote`, `truncate` and `purge` write with [`Durability::Sync`] and report
/// success only after the KV store says the batch is on disk.
///
/// Writes go through one [`LogWriter`] thread, which merges appends that arrive while an
/// fsync is running into the next one (group commit).
#[derive(Clone)]
pub struct LogStore {
    kv: Arc<dyn KvStore>,
    writer: LogWriter,
}

impl LogStore {
    pub fn new(kv: Arc<dyn KvStore>) -> Self {
        let writer = LogWriter::start(Arc::clone(&kv));
        Self { kv, writer }
    }

    /// Writes `batch` after every queued append, on the writer thread.
    async fn write(&self, batch: WriteBatch, durability: Durability) -> Result<(), KvError> {
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
        let rows = self.kv.scan(&keys::log_range(start, end)).map_err(read_logs)?;
        let mut entries: BTreeMap<u64, Entry> = BTreeMap::new();
        for (_, value) in &rows {
            let entry: Entry = decode(value).map_err(read_logs)?;
            entries.insert(entry.log_id.index, entry);
        }
        // Entries appended but not yet written are the newest truth.
        for entry in self.writer.pending_range(start, end.unwrap_or(u64::MAX)) {
            entries.insert(entry.log_id.index, entry);
        }
        Ok(entries.into_values().collect())
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError> {
        let last_purged_log_id: Option<LogId> = read_json(&*self.kv, keys::PURGED).map_err(read_logs)?;
        let last = self.kv.last(&KeyRange::prefix(keys::LOG_PREFIX)).map_err(read_logs)?;
        let stored = match last {
            Some((_, value)) => Some(decode::<Entry>(&value).map_err(read_logs)?.log_id),
            None => None,
        };
        let pending = self.writer.last_pending().map(|entry| entry.log_id);
        let last_log_id = pending.max(stored).or(last_purged_log_id);
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

    /// Buffered: a lost committed index only means re-applying from the last applied one.
    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), StorageError> {
        let mut batch = WriteBatch::new();
        match committed {
            Some(log_id) => batch.put(keys::COMMITTED, encode(&log_id).map_err(write_logs)?),
            None => batch.delete(keys::COMMITTED),
        };
        self.write(batch, Durability::Buffered).await.map_err(write_logs)
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, StorageError> {
        read_json(&*self.kv, keys::COMMITTED).map_err(read_logs)
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<TypeConfig>) -> Result<(), StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let entries: Vec<Entry> = entries.into_iter().collect();
        let mut batch = WriteBatch::new();
        for entry in &entries {
            batch.put(keys::log_key(entry.log_id.index), encode(entry).map_err(write_logs)?);
        }
        // Queued for the writer thread: appends that pile up during an fsync share the next
        // one, and `callback` reports each durable only after its fsync.
        self.writer.append(entries, batch, callback);
        Ok(())
    }

    async fn truncate(&mut self, log_id: LogId) -> Result<(), StorageError> {
        self.writer.forget(log_id.index, u64::MAX);
        let mut batch = WriteBatch::new();
        batch.delete_range(keys::log_range(log_id.index, None));
        self.write(batch, Durability::Sync).await.map_err(write_logs)
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), StorageError> {
        self.writer.forget(0, log_id.index.saturating_add(1));
        let mut batch = WriteBatch::new();
        batch.put(keys::PURGED, encode(&log_id).map_err(write_logs)?);
        batch.delete_range(keys::log_range(0, log_id.index.checked_add(1)));
        self.write(batch, Durability::Sync).await.map_err(write_logs)
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
