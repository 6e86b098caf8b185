//! The KV port on RocksDB, the default engine.
//!
//! One column family (the default); keys are compared bytewise, which is RocksDB's default
//! comparator. `Durability::Sync` maps to a synced WAL write.

use std::path::Path;

use ports::kv::{Durability, KeyRange, KvError, KvPair, KvSnapshot, KvStore, Visitor, WriteBatch, WriteOp};
use rocksdb::{
    BlockBasedOptions, Cache, DBCompressionType, IteratorMode, Options, ReadOptions, SnapshotWithThreadMode,
    WriteBufferManager, WriteOptions, DB,
};

/// Memory the engine may use when the caller names no budget (nacosd's default too).
pub const DEFAULT_MEMORY_BUDGET_BYTES: usize = 8 << 20;
/// The smallest budget that leaves RocksDB room to work (two write buffers and a cache).
pub const MIN_MEMORY_BUDGET_BYTES: usize = 8 << 20;

/// A RocksDB database opened in a directory it owns.
pub struct RocksStore {
    db: DB,
    /// Holds data blocks and, charged to it, the memtables: one number bounds both.
    cache: Cache,
    budget: usize,
}

/// What the engine's memory is used for, from RocksDB's own accounting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryUsage {
    /// Memtables, mutable and waiting for flush.
    pub memtables: u64,
    /// The block cache, memtable reservations included.
    pub block_cache: u64,
    /// Index and filter blocks of open table files, outside the cache.
    pub table_readers: u64,
}

/// Memtable blocks: at least the allocator's mmap threshold, so that flushed ones are unmapped.
const MEMTABLE_BLOCK_BYTES: usize = 1024 * 1024;
/// Level-0 files that start a compaction (RocksDB's default is 4); see `open_with_budget`.
const L0_COMPACTION_TRIGGER: i32 = 32;

impl RocksStore {
    /// Opens (or creates) the database in `dir` with the default memory budget.
    pub fn open(dir: &Path) -> Result<Self, KvError> {
        Self::open_with_budget(dir, DEFAULT_MEMORY_BUDGET_BYTES)
    }

    /// Opens (or creates) the database in `dir`, its memtables and block cache bounded by
    /// `budget` bytes together (at least [`MIN_MEMORY_BUDGET_BYTES`]).
    ///
    /// RocksDB's defaults (two 64 MiB memtables and a 32 MiB block cache) let a small node
    /// grow by 160 MiB under writes. Here one LRU cache of `budget` bytes holds the data
    /// blocks, and a write-buffer manager charges the memtables to that same cache and
    /// flushes once they reach three quarters of it.
    ///
    /// Memtables get the most of it because nacosd reads from memory (the block cache serves
    /// history reads and start-up only) and writes all the time. They hold state rows only
    /// (the raft log has files of its own), so even the smallest budget's 3 MiB memtables
    /// flush rarely enough that publishes hardly notice (HTTP publish p99 within a
    /// millisecond or two of 12 MiB memtables, BENCHMARKS.md).
    pub fn open_with_budget(dir: &Path, budget: usize) -> Result<Self, KvError> {
        let budget = budget.max(MIN_MEMORY_BUDGET_BYTES);
        let cache = Cache::new_lru_cache(budget);
        let write_buffers =
            WriteBufferManager::new_write_buffer_manager_with_cache(budget / 4 * 3, false, cache.clone());
        let mut table = BlockBasedOptions::default();
        table.set_block_cache(&cache);
        let mut options = Options::default();
        options.create_if_missing(true);
        // Config and history rows are small and written once; keep compaction light.
        options.set_max_background_jobs(2);
        options.set_keep_log_file_num(4);
        options.set_write_buffer_manager(&write_buffers);
        // Two of them (one filling, one flushing) within the manager's limit.
        options.set_write_buffer_size(budget / 8 * 3);
        // Memtables grow a block at a time. At a megabyte (the allocator's mmap threshold,
        // `app/src/allocator.rs`) each block is mapped and given back to the system when its
        // memtable is flushed; RocksDB's default (an eighth of a memtable, 384 KiB here)
        // came from the heap, which kept a flushed memtable's worth resident.
        options.set_arena_block_size(MEMTABLE_BLOCK_BYTES);
        // Write flushed and compacted files out a megabyte at a time rather than all at their
        // final fsync: on ext4 (ordered data) a raft append's fsync waits for every dirty
        // page the journal commit covers, so a memtable's worth at once is a publish stall.
        options.set_bytes_per_sync(1 << 20);
        // The same for the write-ahead log. Buffered writes (the state machine's rows; the
        // raft log, which makes them recoverable, is synced in files of its own) leave it
        // dirty in the page cache until the next synced write, which then has all of it to
        // write out at once: a raft log purge's synced write stalled publishes for 0.7 s
        // behind ~10 MB of WAL before this.
        options.set_wal_bytes_per_sync(1 << 20);
        options.set_block_based_table_factory(&table);
        // Table files compressed (configs are text): less to write at each flush and
        // compaction. The build has LZ4 only; RocksDB's default would be none.
        options.set_compression_type(DBCompressionType::Lz4);
        // Compact level 0 rarely. Every flushed file spans the whole key range (it holds
        // config rows, history rows and raft metadata), and while the data is small level 0
        // compacts straight into the bottom level, so each compaction rewrites all of it,
        // history included, which only grows. At RocksDB's default of four files that was a
        // quarter of the node's CPU under sustained publishing, taken from the publishes;
        // at 32 it is a twentieth (BENCHMARKS.md, the write path). Reads hardly pay for the
        // extra files: configs are served from memory, the files serve history and start-up.
        // The write slowdown and stop stay well behind, so that compaction catching up is
        // never a stall.
        options.set_level_zero_file_num_compaction_trigger(L0_COMPACTION_TRIGGER);
        options.set_level_zero_slowdown_writes_trigger(L0_COMPACTION_TRIGGER * 3);
        options.set_level_zero_stop_writes_trigger(L0_COMPACTION_TRIGGER * 4);
        let db = DB::open(&options, dir).map_err(KvError::backend)?;
        Ok(Self { db, cache, budget })
    }

    /// The budget this store was opened with.
    pub fn memory_budget(&self) -> usize {
        self.budget
    }

    /// What the engine's memory holds now.
    pub fn memory_usage(&self) -> Result<MemoryUsage, KvError> {
        let property =
            |name: &str| self.db.property_int_value(name).map(Option::unwrap_or_default).map_err(KvError::backend);
        Ok(MemoryUsage {
            memtables: property("rocksdb.cur-size-all-mem-tables")?,
            block_cache: self.cache.get_usage() as u64,
            table_readers: property("rocksdb.estimate-table-readers-mem")?,
        })
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

    fn visit(&self, range: &KeyRange, visit: Visitor<'_>) -> Result<(), KvError> {
        let mut iter = raw_iter(self.db, range, Some(&self.snapshot), Fill::No);
        while iter.valid() {
            if let (Some(key), Some(value)) = (iter.key(), iter.value()) {
                visit(key, value)?;
            }
            iter.next();
        }
        iter.status().map_err(KvError::backend)
    }
}

fn scan_iter(
    db: &DB,
    range: &KeyRange,
    snapshot: Option<&SnapshotWithThreadMode<'_, DB>>,
) -> Result<Vec<KvPair>, KvError> {
    let mut iter = raw_iter(db, range, snapshot, Fill::Yes);
    let mut out = Vec::new();
    while iter.valid() {
        if let (Some(key), Some(value)) = (iter.key(), iter.value()) {
            out.push((key.to_vec(), value.to_vec()));
        }
        iter.next();
    }
    iter.status().map_err(KvError::backend)?;
    Ok(out)
}

/// Whether the blocks an iterator reads are kept in the block cache.
#[derive(PartialEq)]
enum Fill {
    Yes,
    /// A pass over everything (a snapshot, start-up) would push out what is cached for the
    /// sake of blocks it reads once.
    No,
}

/// A forward iterator over `range`, positioned at its first key; pairs are read in place,
/// without a copy per pair.
fn raw_iter<'a>(
    db: &'a DB,
    range: &KeyRange,
    snapshot: Option<&SnapshotWithThreadMode<'_, DB>>,
    fill: Fill,
) -> rocksdb::DBRawIteratorWithThreadMode<'a, DB> {
    let mut options = ReadOptions::default();
    options.fill_cache(fill == Fill::Yes);
    if let Some(end) = &range.end {
        options.set_iterate_upper_bound(end.clone());
    }
    if let Some(snapshot) = snapshot {
        options.set_snapshot(snapshot);
    }
    let mut iter = db.raw_iterator_opt(options);
    iter.seek(&range.start);
    iter
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(dir: &Path) -> Box<dyn KvStore> {
        Box::new(RocksStore::open(dir).unwrap())
    }

    ports::kv_conformance_suite!(open, crash_safe);

    /// Under sustained writes the engine's memory, by its own accounting, stays within the
    /// budget once its flushes have run.
    #[test]
    fn memory_stays_within_the_budget() {
        let dir = tempfile::tempdir().unwrap();
        let budget = MIN_MEMORY_BUDGET_BYTES;
        let store = RocksStore::open_with_budget(dir.path(), budget).unwrap();
        let value = vec![7_u8; 16 * 1024];
        for round in 0..8_u32 {
            let mut batch = WriteBatch::new();
            for i in 0..256_u32 {
                batch.put(format!("key-{round}-{i}").into_bytes(), value.clone());
            }
            store.write(batch, Durability::Buffered).unwrap();
            // Read some back, so the block cache fills too.
            for i in 0..64_u32 {
                assert!(store.get(format!("key-{}-{i}", round / 2).as_bytes()).unwrap().is_some());
            }
        }
        // 32 MiB written through an 8 MiB budget: flushes had to happen.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let usage = store.memory_usage().unwrap();
            let running = store.db.property_int_value("rocksdb.num-running-flushes").unwrap().unwrap_or(0);
            if running == 0 && usage.memtables <= (budget / 2 + budget / 4) as u64 {
                assert!(usage.block_cache <= budget as u64 + (1 << 20), "{usage:?}");
                break;
            }
            assert!(std::time::Instant::now() < deadline, "memtables never came within the budget: {usage:?}");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(
            store.db.property_int_value("rocksdb.num-files-at-level0").unwrap().unwrap_or(0) > 0
                || store.db.property_int_value("rocksdb.num-files-at-level1").unwrap().unwrap_or(0) > 0,
            "the writes were flushed to table files"
        );
    }
}
