//! The applied state: what the raft state machine has applied, readable without raft.
//!
//! The consensus adapter writes it (apply, restore); the services read it. Reads never touch
//! the store and never wait for a writer longer than one in-memory apply.

use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use domain::config::{Config, ConfigKey};
use domain::{Command, Outcome, State};

/// A cheap, cloneable handle to this node's applied state.
#[derive(Debug, Clone, Default)]
pub struct AppliedState {
    /// A std lock: it is never held across an `.await`, and the critical sections are
    /// in-memory map operations.
    state: Arc<RwLock<State>>,
}

impl AppliedState {
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies one committed command; only the raft state machine calls this.
    pub fn apply(&self, command: &Command) -> Outcome {
        self.write().apply(command)
    }

    /// Replaces the whole state (restart, snapshot install).
    pub fn replace(&self, state: State) {
        *self.write() = state;
    }

    pub fn config(&self, key: &ConfigKey) -> Option<Arc<Config>> {
        self.read().config.get(key).cloned()
    }

    pub fn config_count(&self) -> usize {
        self.read().config.len()
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        // A panic while holding the lock cannot leave the state half-changed: `apply` builds
        // each change before inserting it. So a poisoned lock is still safe to use.
        self.state.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
