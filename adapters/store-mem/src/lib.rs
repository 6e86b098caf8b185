//! The KV port in memory: a `BTreeMap` behind a lock.
//!
//! For unit and behaviour tests, and for `--storage memory` nodes that need no persistence.
//! Clones share the same data, which is what "reopening" a memory store means.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use ports::kv::{Durability, KeyRange, KvError, KvPair, KvSnapshot, KvStore, Visitor, WriteBatch, WriteOp};

type Map = BTreeMap<Vec<u8>, Vec<u8>>;

/// An in-memory ordered store.
#[derive(Debug, Clone, Default)]
pub struct MemStore {
    /// A std lock: never held across an `.await`; every critical section is a map operation.
    map: Arc<RwLock<Map>>,
}

impl MemStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> RwLockReadGuard<'_, Map> {
        // Batches are applied to a copy-free map one op at a time under the write lock, and
        // no op panics midway, so a poisoned lock still guards consistent data.
        self.map.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write_lock(&self) -> RwLockWriteGuard<'_, Map> {
        self.map.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl KvStore for MemStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, KvError> {
        Ok(self.read().get(key).cloned())
    }

    fn write(&self, batch: WriteBatch, _durability: Durability) -> Result<(), KvError> {
        let mut map = self.write_lock();
        for op in batch.into_ops() {
            match op {
                WriteOp::Put { key, value } => {
                    map.insert(key, value);
                }
                WriteOp::Delete { key } => {
                    map.remove(&key);
                }
                WriteOp::DeleteRange(range) => {
                    let doomed: Vec<Vec<u8>> =
                        map.range::<[u8], _>(range.bounds()).map(|(key, _)| key.clone()).collect();
                    for key in doomed {
                        map.remove(&key);
                    }
                }
            }
        }
        Ok(())
    }

    fn scan(&self, range: &KeyRange) -> Result<Vec<KvPair>, KvError> {
        Ok(scan_map(&self.read(), range))
    }

    fn last(&self, range: &KeyRange) -> Result<Option<KvPair>, KvError> {
        Ok(self.read().range::<[u8], _>(range.bounds()).next_back().map(|(k, v)| (k.clone(), v.clone())))
    }

    fn snapshot(&self) -> Result<Box<dyn KvSnapshot + '_>, KvError> {
        Ok(Box::new(MemSnapshot { map: self.read().clone() }))
    }

    fn flush(&self) -> Result<(), KvError> {
        Ok(())
    }

    fn engine(&self) -> &'static str {
        "memory"
    }
}

/// A copy of the map taken under the lock.
struct MemSnapshot {
    map: Map,
}

impl KvSnapshot for MemSnapshot {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, KvError> {
        Ok(self.map.get(key).cloned())
    }

    fn scan(&self, range: &KeyRange) -> Result<Vec<KvPair>, KvError> {
        Ok(scan_map(&self.map, range))
    }

    fn visit(&self, range: &KeyRange, visit: Visitor<'_>) -> Result<(), KvError> {
        self.map.range::<[u8], _>(range.bounds()).try_for_each(|(key, value)| visit(key, value))
    }
}

fn scan_map(map: &Map, range: &KeyRange) -> Vec<KvPair> {
    map.range::<[u8], _>(range.bounds()).map(|(k, v)| (k.clone(), v.clone())).collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::path::{Path, PathBuf};
    use std::sync::Mutex;

    use super::*;

    /// One shared store per path, so "reopening" a path finds its data.
    fn open(path: &Path) -> Box<dyn KvStore> {
        static STORES: Mutex<Option<HashMap<PathBuf, MemStore>>> = Mutex::new(None);
        let mut stores = STORES.lock().unwrap();
        let store = stores.get_or_insert_with(HashMap::new).entry(path.to_owned()).or_default().clone();
        Box::new(store)
    }

    ports::kv_conformance_suite!(open);
}
