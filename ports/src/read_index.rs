//! The hot read path's index: every config (and its gray versions) by key, in shards, so a read
//! takes one uncontended shard lock (never the state's lock) and allocates nothing: it is
//! found by a borrowed [`KeyRef`] and answered with `Arc` clones.

use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, RwLock};

use domain::config::{Config, ConfigKey, ConfigTable, Grays, KeyRef};
use hashbrown::HashTable;

/// Shards: enough that two cores and a writer rarely meet on one.
const SHARDS: usize = 64;

struct Entry {
    key: ConfigKey,
    config: Option<Arc<Config>>,
    grays: Option<Grays>,
}

/// The index. The applied state keeps it in step with every apply and restore.
pub struct ReadIndex {
    shards: Box<[RwLock<HashTable<Entry>>]>,
    hasher: RandomState,
}

impl Default for ReadIndex {
    fn default() -> Self {
        Self { shards: (0..SHARDS).map(|_| RwLock::new(HashTable::new())).collect(), hasher: RandomState::new() }
    }
}

impl ReadIndex {
    /// The formal config and the gray versions of `key`.
    pub fn get(&self, key: KeyRef<'_>) -> (Option<Arc<Config>>, Option<Grays>) {
        let hash = self.hasher.hash_one(key);
        let shard = self.shard(hash).read().unwrap_or_else(|poisoned| poisoned.into_inner());
        match shard.find(hash, |entry| entry.key.as_key_ref() == key) {
            Some(entry) => (entry.config.clone(), entry.grays.clone()),
            None => (None, None),
        }
    }

    /// Sets what `key` holds now, as the table holds it (removing the entry when nothing).
    pub fn refresh(&self, key: &ConfigKey, table: &ConfigTable) {
        let config = table.get(key).cloned();
        let grays = table.grays(key).cloned();
        let hash = self.hasher.hash_one(key.as_key_ref());
        let mut shard = self.shard(hash).write().unwrap_or_else(|poisoned| poisoned.into_inner());
        let found = shard.find_entry(hash, |entry| entry.key == *key);
        match (found, config.is_some() || grays.is_some()) {
            (Ok(mut occupied), true) => {
                let entry = occupied.get_mut();
                entry.config = config;
                entry.grays = grays;
            }
            (Ok(occupied), false) => {
                occupied.remove();
            }
            (Err(_), true) => {
                let hasher = &self.hasher;
                shard.insert_unique(hash, Entry { key: key.clone(), config, grays }, |entry| {
                    hasher.hash_one(entry.key.as_key_ref())
                });
            }
            (Err(_), false) => {}
        }
    }

    /// Rebuilds the whole index from `table` (restart, snapshot install).
    pub fn rebuild(&self, table: &ConfigTable) {
        for shard in &*self.shards {
            shard.write().unwrap_or_else(|poisoned| poisoned.into_inner()).clear();
        }
        let keys = table.iter().map(|(key, _)| key).chain(table.all_grays().map(|(key, _)| key));
        for key in keys {
            self.refresh(key, table);
        }
    }

    fn shard(&self, hash: u64) -> &RwLock<HashTable<Entry>> {
        // The low bits pick the shard; `HashTable` uses the high bits for its control bytes.
        let index = usize::try_from(hash % SHARDS as u64).unwrap_or(0);
        &self.shards[index]
    }
}

#[cfg(test)]
mod tests {
    use domain::config::{ConfigCommand, ConfigLimits, GrayRule, PublishConfig, PublishParams, Reader};
    use domain::{Command, Millis};

    use crate::applied::AppliedState;

    use super::*;

    fn publish(data_id: &str, content: &str) -> Command {
        let params =
            PublishParams { data_id: Some(data_id), group: Some("G"), content: Some(content), ..Default::default() };
        let publish = PublishConfig::parse(&params, ConfigLimits::default()).unwrap();
        Command::Config(ConfigCommand::Publish { publish, now: Millis(1) })
    }

    fn read(state: &AppliedState, data_id: &str, ip: &str) -> Option<(String, bool)> {
        let key = KeyRef::parse(Some(""), Some("G"), Some(data_id)).unwrap();
        state.config_for(key, &Reader::at(ip)).map(|(config, gray)| (config.content.clone(), gray.is_some()))
    }

    #[test]
    fn the_index_follows_publishes_removes_betas_and_restores() {
        let state = AppliedState::new();
        for n in 0..500 {
            state.apply(&publish(&format!("d{n}"), &format!("v{n}")));
        }
        assert_eq!(read(&state, "d123", "10.0.0.1"), Some(("v123".into(), false)));
        state.apply(&publish("d123", "v123b"));
        assert_eq!(read(&state, "d123", "10.0.0.1"), Some(("v123b".into(), false)));

        let key = ConfigKey::parse(None, Some("G"), Some("d7")).unwrap();
        let params =
            PublishParams { data_id: Some("d7"), group: Some("G"), content: Some("gray"), ..Default::default() };
        let gray = PublishConfig::parse(&params, ConfigLimits::default()).unwrap();
        let rule = GrayRule::Beta { ips: vec!["10.0.0.9".to_owned()] };
        state.apply(&Command::Config(ConfigCommand::PublishGray { publish: gray, rule, now: Millis(2) }));
        assert_eq!(read(&state, "d7", "10.0.0.9"), Some(("gray".into(), true)));
        assert_eq!(read(&state, "d7", "10.0.0.1"), Some(("v7".into(), false)));

        state.apply(&Command::Config(ConfigCommand::Remove { key: key.clone(), now: Millis(3) }));
        assert_eq!(read(&state, "d7", "10.0.0.1"), None);
        assert_eq!(read(&state, "d7", "10.0.0.9"), Some(("gray".into(), true)), "the beta outlives the formal");
        state.apply(&Command::Config(ConfigCommand::StopGray { key, name: "beta".into(), now: Millis(4) }));
        assert_eq!(read(&state, "d7", "10.0.0.9"), None);

        // A restore (restart, snapshot install) rebuilds the index from the new state.
        let restored = AppliedState::new();
        restored.replace(state.read_with(Clone::clone));
        assert_eq!(read(&restored, "d499", "10.0.0.1"), Some(("v499".into(), false)));
        assert_eq!(read(&restored, "d7", "10.0.0.1"), None);
    }
}
