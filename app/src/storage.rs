//! The only module that names concrete storage engines, and the only one with a
//! `#[cfg(feature = ...)]` for them.

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use ports::kv::KvStore;

/// Every engine nacosd knows, whether or not this build has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Rocksdb,
    Sled,
    /// Nothing on disk: for tests and throw-away nodes.
    Memory,
}

impl Engine {
    /// The engine a plain `cargo build` gives: RocksDB, or sled in a sled-only build.
    pub fn default_for_build() -> Self {
        if cfg!(feature = "rocksdb") {
            Self::Rocksdb
        } else if cfg!(feature = "sled") {
            Self::Sled
        } else {
            Self::Memory
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rocksdb => "rocksdb",
            Self::Sled => "sled",
            Self::Memory => "memory",
        }
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Engine {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        match raw.to_ascii_lowercase().as_str() {
            "rocksdb" => Ok(Self::Rocksdb),
            "sled" => Ok(Self::Sled),
            "memory" => Ok(Self::Memory),
            other => Err(format!("unknown storage engine '{other}' (rocksdb, sled or memory)")),
        }
    }
}

/// Why a store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("this nacosd was built without the {0} engine (rebuild with `--features {0}`)")]
    NotCompiledIn(Engine),
    #[error("could not create the data directory {path}: {source}")]
    DataDir { path: String, source: std::io::Error },
    #[error(transparent)]
    Kv(#[from] ports::kv::KvError),
}

/// Where raft snapshots of `engine`'s store are kept as files: `data_dir/<engine>-snapshots`
/// (beside the store, not through it). `None` for the memory engine, whose snapshots stay
/// in the store with everything else.
pub fn snapshot_dir(engine: Engine, data_dir: &Path) -> Option<std::path::PathBuf> {
    (engine != Engine::Memory).then(|| data_dir.join(format!("{}-snapshots", engine.as_str())))
}

/// Where the raft log's entries of `engine`'s store are kept as segment files:
/// `data_dir/<engine>-raft-log`. `None` for the memory engine, whose log stays in the store.
pub fn log_dir(engine: Engine, data_dir: &Path) -> Option<std::path::PathBuf> {
    (engine != Engine::Memory).then(|| data_dir.join(format!("{}-raft-log", engine.as_str())))
}

/// Opens `engine` under `data_dir/<engine>`, so two engines never read each other's files,
/// its write buffers and caches within `memory_bytes` (the memory engine holds everything
/// and has no budget).
pub fn open(engine: Engine, data_dir: &Path, memory_bytes: usize) -> Result<Arc<dyn KvStore>, OpenError> {
    let dir = data_dir.join(engine.as_str());
    if engine != Engine::Memory {
        std::fs::create_dir_all(&dir)
            .map_err(|source| OpenError::DataDir { path: dir.display().to_string(), source })?;
    }
    match engine {
        #[cfg(feature = "rocksdb")]
        Engine::Rocksdb => Ok(Arc::new(store_rocksdb::RocksStore::open_with_budget(&dir, memory_bytes)?)),
        #[cfg(feature = "sled")]
        Engine::Sled => Ok(Arc::new(store_sled::SledStore::open_with_budget(&dir, memory_bytes)?)),
        Engine::Memory => Ok(Arc::new(store_mem::MemStore::new())),
        #[allow(unreachable_patterns, reason = "arms for engines this build lacks")]
        other => Err(OpenError::NotCompiledIn(other)),
    }
}
