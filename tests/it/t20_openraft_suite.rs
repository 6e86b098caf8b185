//! openraft's storage conformance suite against our raft store on each real engine, the log
//! in segment files beside it as nacosd keeps it (the memory engine runs it inside
//! `consensus-openraft`).

use std::sync::Arc;

use consensus_openraft::{LogStore, StateMachine, TypeConfig};
use openraft::testing::{StoreBuilder, Suite};
use openraft::StorageError;
use ports::applied::AppliedState;
use ports::kv::KvStore;
use tempfile::TempDir;

/// Builds a raft store on a fresh engine in a temporary directory (the guard keeps it),
/// with snapshots and the log kept as files beside it, as nacosd keeps them.
struct EngineBuilder {
    open: fn(&std::path::Path) -> Arc<dyn KvStore>,
}

impl StoreBuilder<TypeConfig, LogStore, StateMachine, TempDir> for EngineBuilder {
    async fn build(&self) -> Result<(TempDir, LogStore, StateMachine), StorageError<u64>> {
        let dir = tempfile::tempdir().unwrap();
        let kv = (self.open)(dir.path());
        let state_machine = StateMachine::open(Arc::clone(&kv), AppliedState::new())?
            .keep_snapshots_in(&dir.path().join("snapshots"))?;
        let log_store = LogStore::in_files(kv, &dir.path().join("raft-log"))?;
        Ok((dir, log_store, state_machine))
    }
}

#[cfg(feature = "rocksdb")]
#[test]
fn openraft_suite_on_rocksdb() {
    let open = |dir: &std::path::Path| -> Arc<dyn KvStore> { Arc::new(store_rocksdb::RocksStore::open(dir).unwrap()) };
    Suite::test_all(EngineBuilder { open }).unwrap();
}

#[cfg(feature = "sled")]
#[test]
fn openraft_suite_on_sled() {
    let open = |dir: &std::path::Path| -> Arc<dyn KvStore> { Arc::new(store_sled::SledStore::open(dir).unwrap()) };
    Suite::test_all(EngineBuilder { open }).unwrap();
}
