//! The applied state: what the raft state machine has applied, readable without raft.
//!
//! The consensus adapter writes it (apply, restore); the services read it. Reads never touch
//! the store and never wait for a writer longer than one in-memory apply.

use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use domain::config::{view_for, Config, ConfigChange, ConfigKey, GrayConfig, KeyRef, Reader};
use domain::naming::ServiceKey;

use crate::read_index::ReadIndex;
use domain::{Change, Command, Outcome, State};

/// Told about every applied change, after the state holds it. Each method has a no-op
/// default so an observer implements only what it watches.
///
/// ### To ensure correctness
/// Implementations must not block: they run on the raft apply path. Queue and return.
pub trait StateObserver: Send + Sync {
    fn config_changed(&self, _key: &ConfigKey) {}

    /// A formal config came into being (`exists`) or went (after `config_changed`).
    fn config_existence_changed(&self, _key: &ConfigKey, _exists: bool) {}

    /// A service's stored metadata or persistent instances changed.
    fn service_changed(&self, _service: &ServiceKey) {}
}

/// A cheap, cloneable handle to this node's applied state.
#[derive(Clone, Default)]
pub struct AppliedState {
    /// A std lock: it is never held across an `.await`, and the critical sections are
    /// in-memory map operations.
    state: Arc<RwLock<State>>,
    /// The configs again, sharded for lock-free-in-practice, allocation-free reads; kept in
    /// step under the state's write lock.
    index: Arc<ReadIndex>,
    /// Who hears about changes; registered once while the node is wired.
    observers: Arc<RwLock<Vec<Arc<dyn StateObserver>>>>,
}

impl std::fmt::Debug for AppliedState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppliedState").field("configs", &self.config_count()).finish_non_exhaustive()
    }
}

impl AppliedState {
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies one committed command; only the raft state machine calls this. Observers
    /// hear of the change after the lock is released, so they can read the new state.
    pub fn apply(&self, command: &Command) -> Outcome {
        let outcome = {
            let mut state = self.write();
            let outcome = state.apply(command);
            if let Outcome::Applied(changes) = &outcome {
                for change in changes {
                    if let Change::Config(change) = change {
                        self.index.refresh(change.key(), &state.config);
                    }
                }
            }
            outcome
        };
        if let Outcome::Applied(changes) = &outcome {
            for change in changes {
                match change {
                    Change::Config(change) => self.notify(change),
                    Change::Naming(change) => {
                        for observer in self.observers() {
                            observer.service_changed(change.service());
                        }
                    }
                    _ => {}
                }
            }
        }
        outcome
    }

    /// Adds an observer of config changes.
    pub fn observe(&self, observer: Arc<dyn StateObserver>) {
        self.observers.write().unwrap_or_else(|poisoned| poisoned.into_inner()).push(observer);
    }

    fn observers(&self) -> Vec<Arc<dyn StateObserver>> {
        self.observers.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    fn notify(&self, change: &ConfigChange) {
        let existence = match change {
            ConfigChange::Upserted { previous: None, .. } => Some(true),
            ConfigChange::Removed { previous: Some(_), .. } => Some(false),
            _ => None,
        };
        for observer in self.observers() {
            observer.config_changed(change.key());
            if let Some(exists) = existence {
                observer.config_existence_changed(change.key(), exists);
            }
        }
    }

    /// Replaces the whole state (restart, snapshot install); observers hear of every key
    /// that differs.
    pub fn replace(&self, state: State) {
        let (changed, services, existence): (Vec<ConfigKey>, Vec<ServiceKey>, Vec<(ConfigKey, bool)>) = {
            let mut current = self.write();
            let old = std::mem::replace(&mut *current, state);
            self.index.rebuild(&current.config);
            let mut keys: Vec<ConfigKey> = old
                .config
                .iter()
                .filter(|(key, config)| current.config.get(key).is_none_or(|new| new.md5 != config.md5))
                .map(|(key, _)| key.clone())
                .collect();
            keys.extend(
                current.config.iter().filter(|(key, _)| old.config.get(key).is_none()).map(|(key, _)| key.clone()),
            );
            let mut existence: Vec<(ConfigKey, bool)> = current
                .config
                .iter()
                .filter(|(key, _)| old.config.get(key).is_none())
                .map(|(key, _)| (key.clone(), true))
                .collect();
            existence.extend(
                old.config
                    .iter()
                    .filter(|(key, _)| current.config.get(key).is_none())
                    .map(|(key, _)| (key.clone(), false)),
            );
            let mut services: Vec<ServiceKey> = old.naming.iter().map(|(service, _)| service.clone()).collect();
            services.extend(current.naming.iter().map(|(service, _)| service.clone()));
            services.sort();
            services.dedup();
            (keys, services, existence)
        };
        let observers = self.observers();
        for observer in &observers {
            for key in &changed {
                observer.config_changed(key);
            }
            for (key, exists) in &existence {
                observer.config_existence_changed(key, *exists);
            }
            for service in &services {
                observer.service_changed(service);
            }
        }
    }

    /// What `reader` reads of `key` (gray-aware), and the gray version that served it, if
    /// one did: the hot read path. Takes one shard's lock, not the state's, and allocates
    /// nothing unless a gray version applies.
    pub fn config_for(&self, key: KeyRef<'_>, reader: &Reader<'_>) -> Option<(Arc<Config>, Option<Arc<GrayConfig>>)> {
        let (formal, grays) = self.index.get(key);
        view_for(formal.as_ref(), grays.as_deref(), reader)
    }

    /// The md5 `reader` should hold (gray-aware); `""` when absent.
    pub fn config_md5_for(&self, key: &ConfigKey, reader: &Reader<'_>) -> String {
        self.read().config.md5_for(key, reader)
    }

    /// The md5 of a config as this node holds it; `""` when absent.
    pub fn config_md5(&self, key: &ConfigKey) -> String {
        self.read().config.get(key).map_or_else(String::new, |config| config.md5.clone())
    }

    pub fn config(&self, key: &ConfigKey) -> Option<Arc<Config>> {
        self.read().config.get(key).cloned()
    }

    pub fn config_count(&self) -> usize {
        self.read().config.len()
    }

    /// Runs a read-only query against the state, under the read lock; keep it short.
    pub fn read_with<R>(&self, query: impl FnOnce(&State) -> R) -> R {
        query(&self.read())
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
