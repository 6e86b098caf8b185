//! The KV port on RocksDB, the default engine.
//!
//! One column family (the default); keys are compared bytewise, which is RocksDB's default
//! comparator. `Durability::Sync` maps to a synced WAL write.

use std::path::Path;

use ports::kv::{Durability, KeyRange, KvError, KvPair, KvSnapshot, KvStore, WriteBatch, WriteOp};
use rocksdb::{Direction, IteratorMode, Options, ReadOptions, SnapshotWithThreadMode, WriteOptions, DB};

/// A RocksDB database opened in a directory it owns.
pub struct RocksStore {
    db: DB,
}

impl RocksStore {
    /// Opens (or creates) the database in `dir`.
    pub fn open(dir: &Path) -> Result<Self, KvError> {
        let mut options = Options::default();
        options.create_if_missing(true);
        // Raft log entries and configs are small and written once; keep compaction light.
        options.set_max_background_jobs(2);
        options.set_keep_log_file_num(4);
        let db = DB::open(&options, dir).map_err(KvError::backend)?;
        Ok(Self { db })
    }
}

impl KvStore for RocksStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, KvError> {
        self.db.get(key).map_err(KvError::backend)
    }

    fn write(&self, batch: WriteBatch, durability: Durability) -> Result<(), KvError> {
        let mut rocks_batch = rocksdb::WriteBatch::default();
        for op in batch.into_ops() {
            match op {
                WriteOp::Put { key, value } => rocks_batch.put(key, value),
                WriteOp::Delete { key } => rocks_batch.delete(key),
                WriteOp::DeleteRange(range) => match &range.end {
                    Some(end) => rocks_batch.delete_range(&range.start, end),
                    // RocksDB range deletes need an end; delete an open range key by key.
                    None => {
                        for (key, _) in scan_iter(&self.db, &range, None)? {
                            rocks_batch.delete(key);
                        }
                    }
                },
            }
        }
        let mut options = WriteOptions::default();
        options.set_sync(durability == Durability::Sync);
        self.db.write_opt(rocks_batch, &options).map_err(KvError::backend)
    }

    fn scan(&self, range: &KeyRange) -> Result<Vec<KvPair>, KvError> {
        // An iterator reads from an implicit snapshot taken when it is created.
        scan_iter(&self.db, range, None)
    }

    fn last(&self, range: &KeyRange) -> Result<Option<KvPair>, KvError> {
        let mut options = ReadOptions::default();
        options.set_iterate_lower_bound(range.start.clone());
        let mode = match &range.end {
            Some(end) => {
                options.set_iterate_upper_bound(end.clone());
                IteratorMode::End
            }
            None => IteratorMode::End,
        };
        let mut iter = self.db.iterator_opt(mode, options);
        match iter.next() {
            Some(item) => {
                let (key, value) = item.map_err(KvError::backend)?;
                Ok(Some((key.into_vec(), value.into_vec())))
            }
            None => Ok(None),
        }
    }

    fn snapshot(&self) -> Result<Box<dyn KvSnapshot + '_>, KvError> {
        Ok(Box::new(RocksSnapshot { db: &self.db, snapshot: self.db.snapshot() }))
    }

    fn flush(&self) -> Result<(), KvError> {
        self.db.flush_wal(true).map_err(KvError::backend)?;
        self.db.flush().map_err(KvError::backend)
    }

    fn engine(&self) -> &'static str {
        "rocksdb"
    }
}

/// A RocksDB snapshot: reads through it see the database as of its creation.
struct RocksSnapshot<'a> {
    db: &'a DB,
    snapshot: SnapshotWithThreadMode<'a, DB>,
}

impl KvSnapshot for RocksSnapshot<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, KvError> {
        self.snapshot.get(key).map_err(KvError::backend)
    }

    fn scan(&self, range: &KeyRange) -> Result<Vec<KvPair>, KvError> {
        scan_iter(self.db, range, Some(&self.snapshot))
    }
}

fn scan_iter(
    db: &DB,
    range: &KeyRange,
    snapshot: Option<&SnapshotWithThreadMode<'_, DB>>,
) -> Result<Vec<KvPair>, KvError> {
    let mut options = ReadOptions::default();
    if let Some(end) = &range.end {
        options.set_iterate_upper_bound(end.clone());
    }
    if let Some(snapshot) = snapshot {
        options.set_snapshot(snapshot);
    }
    let iter = db.iterator_opt(IteratorMode::From(&range.start, Direction::Forward), options);
    let mut out = Vec::new();
    for item in iter {
        let (key, value) = item.map_err(KvError::backend)?;
        out.push((key.into_vec(), value.into_vec()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(dir: &Path) -> Box<dyn KvStore> {
        Box::new(RocksStore::open(dir).unwrap())
    }

    ports::kv_conformance_suite!(open, crash_safe);
}
