//! Where raft log entries are kept: segment files beside the store ([`crate::log_segments`],
//! the disk engines) or the KV store itself ([`KvEntries`], the in-memory engine, which has
//! no directory). The vote and the committed and purged ids stay in the KV store either way.
//!
//! Every method is called from the log writer thread only, in the order openraft asked, so
//! an implementation needs no ordering of its own; reads come from any thread.

use std::collections::BTreeMap;
use std::sync::Arc;

use ports::kv::{Durability, KeyRange, KvError, KvStore, WriteBatch};

use crate::keys;
use crate::log_store::{decode, encode, CodecError};
use crate::types::{Entry, LogId};

/// Why the log could not be read or written.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LogError {
    #[error(transparent)]
    Kv(#[from] KvError),
    #[error("raft log file: {0}")]
    Io(#[from] std::io::Error),
    #[error("undecodable raft log entry: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the raft log in {path} is damaged: {what}")]
    Damaged { path: String, what: String },
}

impl From<CodecError> for LogError {
    fn from(err: CodecError) -> Self {
        match err {
            CodecError::Kv(err) => Self::Kv(err),
            CodecError::Json(err) => Self::Json(err),
        }
    }
}

/// The log's entries.
pub(crate) trait LogEntries: Send + Sync {
    /// Writes `entries` (ascending and contiguous), replacing any stored at or after the
    /// first one's index, and returns once they are durable.
    fn append(&self, entries: &[Entry]) -> Result<(), LogError>;

    /// The stored entries in `[start, end)` (`None`: to the end), in index order.
    fn read(&self, start: u64, end: Option<u64>) -> Result<Vec<Entry>, LogError>;

    /// The id of the newest stored entry.
    fn last(&self) -> Result<Option<LogId>, LogError>;

    /// Removes the entries at `from` and after, durably.
    fn truncate(&self, from: u64) -> Result<(), LogError>;

    /// Removes the entries up to and including `upto`: they are never read again, though
    /// the segment files keep them on disk until their whole file is purged.
    fn purge(&self, upto: u64) -> Result<(), LogError>;
}

/// Entries as rows of the KV store, under `raft/log/` + big-endian index.
pub(crate) struct KvEntries {
    kv: Arc<dyn KvStore>,
}

impl KvEntries {
    pub(crate) fn new(kv: Arc<dyn KvStore>) -> Self {
        Self { kv }
    }

    /// Every entry stored as rows: what a store written before the log moved to files hands
    /// over to them.
    pub(crate) fn rows(kv: &dyn KvStore) -> Result<Vec<Entry>, LogError> {
        let rows = kv.scan(&KeyRange::prefix(keys::LOG_PREFIX))?;
        rows.iter().map(|(_, value)| Ok(decode::<Entry>(value)?)).collect()
    }

    /// Removes every entry row, durably.
    pub(crate) fn clear_rows(kv: &dyn KvStore) -> Result<(), LogError> {
        let mut batch = WriteBatch::new();
        batch.delete_range(KeyRange::prefix(keys::LOG_PREFIX));
        Ok(kv.write(batch, Durability::Sync)?)
    }
}

impl LogEntries for KvEntries {
    fn append(&self, entries: &[Entry]) -> Result<(), LogError> {
        let mut batch = WriteBatch::new();
        if let Some(first) = entries.first() {
            batch.delete_range(keys::log_range(first.log_id.index, None));
        }
        for entry in entries {
            batch.put(keys::log_key(entry.log_id.index), encode(entry)?);
        }
        Ok(self.kv.write(batch, Durability::Sync)?)
    }

    fn read(&self, start: u64, end: Option<u64>) -> Result<Vec<Entry>, LogError> {
        let rows = self.kv.scan(&keys::log_range(start, end))?;
        let mut entries = BTreeMap::new();
        for (_, value) in &rows {
            let entry: Entry = decode(value)?;
            entries.insert(entry.log_id.index, entry);
        }
        Ok(entries.into_values().collect())
    }

    fn last(&self) -> Result<Option<LogId>, LogError> {
        match self.kv.last(&KeyRange::prefix(keys::LOG_PREFIX))? {
            Some((_, value)) => Ok(Some(decode::<Entry>(&value)?.log_id)),
            None => Ok(None),
        }
    }

    fn truncate(&self, from: u64) -> Result<(), LogError> {
        let mut batch = WriteBatch::new();
        batch.delete_range(keys::log_range(from, None));
        Ok(self.kv.write(batch, Durability::Sync)?)
    }

    fn purge(&self, upto: u64) -> Result<(), LogError> {
        let mut batch = WriteBatch::new();
        batch.delete_range(keys::log_range(0, upto.checked_add(1)));
        Ok(self.kv.write(batch, Durability::Sync)?)
    }
}
