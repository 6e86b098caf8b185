//! Config history in storage: the records, two indexes that find them, and the
//! [`HistoryStore`] port read over them. Memory holds nothing per record.
//!
//! | row                                         | value                     | finds            |
//! |---------------------------------------------|---------------------------|------------------|
//! | `sm/hist/<id>`                              | the record                | a record by id   |
//! | `sm/hkey/<ns>\0<group>\0<dataId>\0<id>`     | empty                     | a config's records, oldest first |
//! | `sm/htime/<recorded><id>`                   | the record's `sm/hkey/` key | what a purge drops, oldest first |
//!
//! Ids and times are big-endian, so key order is id (or time) order. The indexes are derived
//! from the records: written in the batch that writes a record, deleted in the batch that
//! deletes it, rebuilt from the records when a snapshot is installed (snapshots carry the
//! records only, so their format did not change) and, once, when a store written before the
//! indexes existed is opened ([`ensure_indexed`]).

use std::sync::Arc;

use domain::config::{ConfigKey, HistoryPurge, HistoryRecord};
use domain::Millis;
use ports::config::{HistoryStore, HistoryStoreError};
use ports::kv::{Durability, KeyRange, KvError, KvPair, KvStore, WriteBatch, WriteOp};

use crate::keys;
use crate::log_store::{decode, encode};
use crate::row_record::HistoryRow;

/// Reads what is stored under a key range: the store itself while applying, nothing for a
/// fuzzer's batch that has no store behind it.
pub(crate) type StoredScan<'a> = &'a dyn Fn(&KeyRange) -> Result<Vec<KvPair>, KvError>;

/// Why history rows could not be written or indexed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum HistoryRowError {
    #[error(transparent)]
    Storage(#[from] KvError),
    #[error("history row {key}: {cause}")]
    Unreadable { key: String, cause: String },
    #[error(transparent)]
    Encode(#[from] serde_json::Error),
}

/// Adds a new record and its index rows to `batch`.
pub(crate) fn add(batch: &mut WriteBatch, record: &HistoryRecord) -> Result<(), HistoryRowError> {
    batch.put(keys::history_key(record.id), encode(&HistoryRow::new(record))?);
    for (key, value) in index_rows(record) {
        batch.put(key, value);
    }
    Ok(())
}

/// The index rows of one record.
pub(crate) fn index_rows(record: &HistoryRecord) -> [KvPair; 2] {
    let by_key = by_key_row(&record.key, record.id);
    [(by_key.clone(), Vec::new()), (by_time_row(record.recorded.as_u64(), record.id), by_key)]
}

/// One past the newest stored record's id (0 when none is stored): where the id counter
/// resumes, whatever was purged.
pub(crate) fn ids_end(kv: &dyn KvStore) -> Result<u64, KvError> {
    let newest = kv.last(&KeyRange::prefix(keys::HISTORY_PREFIX))?;
    Ok(newest.and_then(|(key, _)| id_at_end(&key)).map_or(0, |id| id.saturating_add(1)))
}

/// Adds to `batch` the deletion of every record `purge` drops, with its index rows.
///
/// Deterministic across replicas however their entries were batched: the records are those
/// in storage (`stored`) and those this batch has added so far, which a replica that applied
/// the same entries in an earlier batch would find in storage. A row deleted twice (stored,
/// and dropped by an earlier purge of this batch) is deleted twice, to the same effect.
pub(crate) fn purge(batch: &mut WriteBatch, purge: HistoryPurge, stored: StoredScan<'_>) -> Result<(), KvError> {
    let range = KeyRange::new(keys::HISTORY_BY_TIME_PREFIX, by_time_row(purge.before.as_u64(), 0));
    let mut doomed = stored(&range)?;
    doomed.extend(batch.ops().iter().filter_map(|op| match op {
        WriteOp::Put { key, value } if range.contains(key) => Some((key.clone(), value.clone())),
        _ => None,
    }));
    for (by_time, by_key) in doomed {
        let Some((recorded, id)) = parse_by_time_row(&by_time) else { continue };
        if !purge.drops(Millis(recorded)) {
            continue;
        }
        batch.delete(keys::history_key(id));
        batch.delete(by_key);
        batch.delete(by_time);
    }
    Ok(())
}

/// Builds the indexes of a store written before they existed, once: the records are read,
/// their index rows and a marker written in one synced batch (a crash before it redoes all).
pub(crate) fn ensure_indexed(kv: &dyn KvStore) -> Result<(), HistoryRowError> {
    if kv.get(keys::HISTORY_INDEXED)?.is_some() {
        return Ok(());
    }
    let mut batch = WriteBatch::new();
    let view = kv.snapshot()?;
    view.visit(&KeyRange::prefix(keys::HISTORY_PREFIX), &mut |key, value| {
        let record = decode_record(key, value).map_err(KvError::backend)?;
        for (key, value) in index_rows(&record) {
            batch.put(key, value);
        }
        Ok(())
    })?;
    drop(view);
    mark_indexed(&mut batch);
    kv.write(batch, Durability::Sync)?;
    Ok(())
}

/// Says, in `batch`, that every record in the store has its index rows.
pub(crate) fn mark_indexed(batch: &mut WriteBatch) {
    batch.put(keys::HISTORY_INDEXED, b"1".to_vec());
}

/// A stored record, decoded.
pub(crate) fn decode_record(key: &[u8], value: &[u8]) -> Result<HistoryRecord, HistoryRowError> {
    let unreadable = |cause: &dyn std::fmt::Display| HistoryRowError::Unreadable {
        key: String::from_utf8_lossy(key).into_owned(),
        cause: cause.to_string(),
    };
    let row: HistoryRow = decode(value).map_err(|err| unreadable(&err))?;
    row.into_domain().map_err(|err| unreadable(&err))
}

/// `sm/hkey/<ns>\0<group>\0<dataId>\0`: the prefix of one config's rows.
fn by_key_prefix(key: &ConfigKey) -> Vec<u8> {
    let mut row = keys::history_by_key_prefix(key.namespace.as_str(), key.group.as_str(), key.data_id.as_str());
    row.push(0);
    row
}

fn by_key_row(key: &ConfigKey, id: u64) -> Vec<u8> {
    let mut row = by_key_prefix(key);
    row.extend_from_slice(&id.to_be_bytes());
    row
}

fn by_time_row(recorded: u64, id: u64) -> Vec<u8> {
    let mut row = keys::HISTORY_BY_TIME_PREFIX.to_vec();
    row.extend_from_slice(&recorded.to_be_bytes());
    row.extend_from_slice(&id.to_be_bytes());
    row
}

fn parse_by_time_row(row: &[u8]) -> Option<(u64, u64)> {
    let tail = row.strip_prefix(keys::HISTORY_BY_TIME_PREFIX)?;
    let (recorded, id) = tail.split_first_chunk::<8>()?;
    Some((u64::from_be_bytes(*recorded), u64::from_be_bytes(*id.first_chunk::<8>()?)))
}

/// The id at the end of a `sm/hist/` or `sm/hkey/` key.
fn id_at_end(row: &[u8]) -> Option<u64> {
    row.last_chunk::<8>().map(|id| u64::from_be_bytes(*id))
}

/// Reads history from the store's rows.
#[derive(Clone)]
pub struct HistoryRows {
    kv: Arc<dyn KvStore>,
}

impl HistoryRows {
    pub fn new(kv: Arc<dyn KvStore>) -> Self {
        Self { kv }
    }
}

fn index_error(key: &ConfigKey) -> impl Fn(KvError) -> HistoryStoreError + '_ {
    move |err| HistoryStoreError { what: format!("the index of {key}"), cause: err.into() }
}

impl HistoryStore for HistoryRows {
    fn ids_of(&self, key: &ConfigKey) -> Result<Vec<u64>, HistoryStoreError> {
        let rows = self.kv.scan(&KeyRange::prefix(&by_key_prefix(key))).map_err(index_error(key))?;
        Ok(rows.iter().rev().filter_map(|(row, _)| id_at_end(row)).collect())
    }

    fn previous_id(&self, key: &ConfigKey, id: u64) -> Result<Option<u64>, HistoryStoreError> {
        let before = KeyRange::new(by_key_prefix(key), by_key_row(key, id));
        Ok(self.kv.last(&before).map_err(index_error(key))?.and_then(|(row, _)| id_at_end(&row)))
    }

    fn load(&self, ids: &[u64]) -> Result<Vec<HistoryRecord>, HistoryStoreError> {
        let mut records = Vec::with_capacity(ids.len());
        for id in ids {
            let failed = |cause: Box<dyn std::error::Error + Send + Sync>| HistoryStoreError {
                what: format!("record {id}"),
                cause,
            };
            let key = keys::history_key(*id);
            let Some(bytes) = self.kv.get(&key).map_err(|err| failed(err.into()))? else {
                continue;
            };
            records.push(decode_record(&key, &bytes).map_err(|err| failed(err.into()))?);
        }
        Ok(records)
    }
}
