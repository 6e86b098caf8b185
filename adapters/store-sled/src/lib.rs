//! The KV port on sled, the optional pure-Rust engine (Cargo feature `sled` on `app`).
//!
//! sled applies a batch atomically but its iterators are not point-in-time views, so this
//! adapter serializes batches against scans with a lock: a scan never sees half a batch.
//! `Durability::Sync` maps to `flush()`, which makes every earlier write durable too.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use ports::kv::{Durability, KeyRange, KvError, KvPair, KvSnapshot, KvStore, Visitor, WriteBatch, WriteOp};

/// A sled database opened in a directory it owns.
pub struct SledStore {
    db: sled::Db,
    /// Held for reading by scans and snapshots, for writing while a batch is applied, so
    /// that readers see batches whole. Never held across an fsync.
    batches: RwLock<()>,
}

/// How long `open` waits for a store that was just closed in this process to let go of
/// its lock file: sled's background flusher drops its handle a moment after the last
/// `Db` is dropped.
const LOCK_RELEASE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);
/// The page cache when the caller names no budget.
pub const DEFAULT_CACHE_BYTES: usize = 32 << 20;

impl SledStore {
    /// Opens the store in `dir`. A lock still held by a store of this process that was just
    /// closed is waited for, briefly; a lock that stays held (another nacosd on the same
    /// directory) is reported after that wait, with sled's message.
    pub fn open(dir: &Path) -> Result<Self, KvError> {
        Self::open_with_budget(dir, DEFAULT_CACHE_BYTES)
    }

    /// Opens the store in `dir` with a page cache of `cache_bytes` (sled's default is
    /// 1 GiB). sled counts its cache loosely: recently written pages stay resident beyond it.
    pub fn open_with_budget(dir: &Path, cache_bytes: usize) -> Result<Self, KvError> {
        let deadline = std::time::Instant::now() + LOCK_RELEASE_WAIT;
        let cache_bytes = u64::try_from(cache_bytes).unwrap_or(u64::MAX);
        loop {
            match sled::Config::new().path(dir).cache_capacity(cache_bytes).open() {
                Ok(db) => return Ok(Self { db, batches: RwLock::new(()) }),
                Err(err) if is_lock_busy(&err) && std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                Err(err) => return Err(KvError::backend(err)),
            }
        }
    }

    fn readers(&self) -> RwLockReadGuard<'_, ()> {
        // The guarded value is `()`: poisoning carries no broken invariant.
        self.batches.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn writer(&self) -> RwLockWriteGuard<'_, ()> {
        self.batches.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl KvStore for SledStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, KvError> {
        Ok(self.db.get(key).map_err(KvError::backend)?.map(|value| value.to_vec()))
    }

    fn write(&self, batch: WriteBatch, durability: Durability) -> Result<(), KvError> {
        {
            let _whole = self.writer();
            let mut sled_batch = sled::Batch::default();
            // sled batches have no range delete; expand it against the current keys (stable
            // here, since we hold the writer lock) and keep the ops in order.
            let mut pending_deletes: BTreeMap<Vec<u8>, bool> = BTreeMap::new();
            for op in batch.into_ops() {
                match op {
                    WriteOp::Put { key, value } => {
                        pending_deletes.insert(key.clone(), false);
                        sled_batch.insert(key, value);
                    }
                    WriteOp::Delete { key } => {
                        pending_deletes.insert(key.clone(), true);
                        sled_batch.remove(key);
                    }
                    WriteOp::DeleteRange(range) => {
                        for item in self.db.range::<&[u8], _>(range.bounds()) {
                            let (key, _) = item.map_err(KvError::backend)?;
                            sled_batch.remove(key.to_vec());
                        }
                        let written: Vec<Vec<u8>> = pending_deletes
                            .iter()
                            .filter(|(key, deleted)| !**deleted && range.contains(key))
                            .map(|(key, _)| key.clone())
                            .collect();
                        for key in written {
                            pending_deletes.insert(key.clone(), true);
                            sled_batch.remove(key);
                        }
                    }
                }
            }
            self.db.apply_batch(sled_batch).map_err(KvError::backend)?;
        }
        if durability == Durability::Sync {
            self.db.flush().map_err(KvError::backend)?;
        }
        Ok(())
    }

    fn scan(&self, range: &KeyRange) -> Result<Vec<KvPair>, KvError> {
        let _whole = self.readers();
        collect(self.db.range::<&[u8], _>(range.bounds()))
    }

    fn last(&self, range: &KeyRange) -> Result<Option<KvPair>, KvError> {
        let _whole = self.readers();
        match self.db.range::<&[u8], _>(range.bounds()).next_back() {
            Some(item) => {
                let (key, value) = item.map_err(KvError::backend)?;
                Ok(Some((key.to_vec(), value.to_vec())))
            }
            None => Ok(None),
        }
    }

    /// sled has no snapshots: this copies every pair under the reader lock. Fine for the
    /// sizes a config center holds; the RocksDB engine is the one to use for large data.
    fn snapshot(&self) -> Result<Box<dyn KvSnapshot + '_>, KvError> {
        let pairs = self.scan(&KeyRange::all())?;
        Ok(Box::new(SledSnapshot { map: pairs.into_iter().collect() }))
    }

    fn flush(&self) -> Result<(), KvError> {
        self.db.flush().map(|_| ()).map_err(KvError::backend)
    }

    fn engine(&self) -> &'static str {
        "sled"
    }
}

struct SledSnapshot {
    map: BTreeMap<Vec<u8>, Vec<u8>>,
}

impl KvSnapshot for SledSnapshot {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, KvError> {
        Ok(self.map.get(key).cloned())
    }

    fn scan(&self, range: &KeyRange) -> Result<Vec<KvPair>, KvError> {
        Ok(self.map.range::<[u8], _>(range.bounds()).map(|(k, v)| (k.clone(), v.clone())).collect())
    }

    fn visit(&self, range: &KeyRange, visit: Visitor<'_>) -> Result<(), KvError> {
        self.map.range::<[u8], _>(range.bounds()).try_for_each(|(key, value)| visit(key, value))
    }
}

/// sled reports a held lock file as an I/O error whose message names the lock.
fn is_lock_busy(err: &sled::Error) -> bool {
    matches!(err, sled::Error::Io(io) if io.to_string().contains("could not acquire lock"))
}

fn collect(iter: sled::Iter) -> Result<Vec<KvPair>, KvError> {
    iter.map(|item| item.map(|(k, v)| (k.to_vec(), v.to_vec())).map_err(KvError::backend)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(dir: &Path) -> Box<dyn KvStore> {
        Box::new(SledStore::open(dir).unwrap())
    }

    ports::kv_conformance_suite!(open, crash_safe);
}
