//! openraft's storage conformance suite, run against the KV-backed store.
//!
//! The store crates are not dependencies of this adapter (adapters never depend on each
//! other), so the RocksDB and sled runs live in `tests/`, which may name every adapter.

use std::sync::Arc;

use openraft::testing::{StoreBuilder, Suite};
use ports::applied::AppliedState;
use ports::kv::KvStore;

use crate::types::{StorageError, TypeConfig};
use crate::{LogStore, StateMachine};

struct MemBuilder;

impl StoreBuilder<TypeConfig, LogStore, StateMachine, ()> for MemBuilder {
    async fn build(&self) -> Result<((), LogStore, StateMachine), StorageError> {
        let kv: Arc<dyn KvStore> = Arc::new(store_mem::MemStore::new());
        let state_machine = StateMachine::open(Arc::clone(&kv), AppliedState::new())?;
        Ok(((), LogStore::new(kv), state_machine))
    }
}

#[test]
fn openraft_suite_on_the_memory_store() {
    Suite::test_all(MemBuilder).unwrap();
}
