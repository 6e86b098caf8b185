//! The config table and the one function that changes it.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{md5_hex, BetaConfig, Config, ConfigKey, PublishConfig};
use crate::{Millis, Rejection};

/// A replicated change to the config table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigCommand {
    Publish {
        publish: PublishConfig,
        now: Millis,
    },
    Remove {
        key: ConfigKey,
        now: Millis,
    },
    /// Publishes a gray version served only to `ips`; the formal config is untouched.
    PublishBeta {
        publish: PublishConfig,
        ips: Vec<String>,
        now: Millis,
    },
    /// Ends a gray release: every client gets the formal config again.
    StopBeta {
        key: ConfigKey,
        now: Millis,
    },
}

impl ConfigCommand {
    /// When the command was proposed.
    pub fn now(&self) -> Millis {
        match self {
            Self::Publish { now, .. }
            | Self::Remove { now, .. }
            | Self::PublishBeta { now, .. }
            | Self::StopBeta { now, .. } => *now,
        }
    }
}

/// What a config command did to the table: the data the state machine persists and the
/// listeners are told about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigChange {
    Upserted { key: ConfigKey, config: Arc<Config>, previous: Option<Arc<Config>> },
    Removed { key: ConfigKey, previous: Option<Arc<Config>> },
    BetaUpserted { key: ConfigKey, beta: Arc<BetaConfig> },
    BetaRemoved { key: ConfigKey, previous: Option<Arc<BetaConfig>> },
}

impl ConfigChange {
    pub fn key(&self) -> &ConfigKey {
        match self {
            Self::Upserted { key, .. }
            | Self::Removed { key, .. }
            | Self::BetaUpserted { key, .. }
            | Self::BetaRemoved { key, .. } => key,
        }
    }
}

/// Every config, ordered by key so scans and snapshots are deterministic.
///
/// Items are `Arc`ed: a read hands out a pointer, never a copy of the content.
#[derive(Debug, Clone, Default)]
pub struct ConfigTable {
    items: BTreeMap<ConfigKey, Arc<Config>>,
    /// Gray versions, by the config they shadow (which need not exist).
    betas: BTreeMap<ConfigKey, Arc<BetaConfig>>,
    /// The id the next new config gets. Persisted: ids of deleted configs are never reused.
    next_id: u64,
}

impl ConfigTable {
    pub fn get(&self, key: &ConfigKey) -> Option<&Arc<Config>> {
        self.items.get(key)
    }

    pub fn beta(&self, key: &ConfigKey) -> Option<&Arc<BetaConfig>> {
        self.betas.get(key)
    }

    pub fn betas(&self) -> impl Iterator<Item = (&ConfigKey, &Arc<BetaConfig>)> {
        self.betas.iter()
    }

    /// What a client at `client_ip` reads: the beta content when a beta lists its ip,
    /// otherwise the formal config; and whether it is the beta.
    pub fn view(&self, key: &ConfigKey, client_ip: &str) -> Option<(Arc<Config>, bool)> {
        view_for(self.items.get(key), self.betas.get(key), client_ip)
    }

    /// The md5 a client at `client_ip` should hold; `""` when it should hold nothing.
    pub fn md5_for(&self, key: &ConfigKey, client_ip: &str) -> String {
        match self.betas.get(key).filter(|beta| beta.serves(client_ip)) {
            Some(beta) => beta.md5.clone(),
            None => self.items.get(key).map_or_else(String::new, |config| config.md5.clone()),
        }
    }

    pub fn restore_beta(&mut self, key: ConfigKey, beta: BetaConfig) {
        self.betas.insert(key, Arc::new(beta));
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&ConfigKey, &Arc<Config>)> {
        self.items.iter()
    }

    pub fn next_id(&self) -> u64 {
        self.next_id
    }

    /// Puts back an item read from storage, as it was; used when a node restarts or
    /// installs a snapshot.
    pub fn restore(&mut self, key: ConfigKey, config: Config) {
        self.next_id = self.next_id.max(config.id + 1);
        self.items.insert(key, Arc::new(config));
    }

    /// Restores the id counter (it may be ahead of every stored id).
    pub fn restore_next_id(&mut self, next_id: u64) {
        self.next_id = self.next_id.max(next_id);
    }

    /// Applies one command. Deterministic: the outcome depends only on the table and the
    /// command, so every replica agrees.
    pub fn apply(&mut self, command: &ConfigCommand) -> Result<ConfigChange, Rejection> {
        match command {
            ConfigCommand::Publish { publish, now } => self.publish(publish, *now),
            ConfigCommand::Remove { key, .. } => {
                let previous = self.items.remove(key);
                Ok(ConfigChange::Removed { key: key.clone(), previous })
            }
            ConfigCommand::PublishBeta { publish, ips, now } => {
                let beta = Arc::new(BetaConfig {
                    md5: md5_hex(&publish.content),
                    content: publish.content.clone(),
                    config_type: publish.meta.config_type,
                    encrypted_data_key: publish.meta.encrypted_data_key.clone(),
                    ips: ips.clone(),
                    last_modified: *now,
                });
                self.betas.insert(publish.key.clone(), Arc::clone(&beta));
                Ok(ConfigChange::BetaUpserted { key: publish.key.clone(), beta })
            }
            ConfigCommand::StopBeta { key, .. } => {
                let previous = self.betas.remove(key);
                Ok(ConfigChange::BetaRemoved { key: key.clone(), previous })
            }
        }
    }

    fn publish(&mut self, publish: &PublishConfig, now: Millis) -> Result<ConfigChange, Rejection> {
        let previous = self.items.get(&publish.key).cloned();
        if let Some(expected) = &publish.cas_md5 {
            let current = previous.as_ref().map_or("", |config| config.md5.as_str());
            if current != expected {
                return Err(Rejection::CasMismatch);
            }
        }
        let id = match &previous {
            Some(previous) => previous.id,
            None => {
                self.next_id += 1;
                self.next_id - 1
            }
        };
        let config = Arc::new(Config {
            id,
            md5: md5_hex(&publish.content),
            content: publish.content.clone(),
            config_type: publish.meta.config_type,
            desc: publish.meta.desc.clone(),
            app_name: publish.meta.app_name.clone(),
            tags: publish.meta.tags.clone(),
            encrypted_data_key: publish.meta.encrypted_data_key.clone(),
            details: publish.meta.details.boxed(),
            created: previous.as_ref().map_or(now, |config| config.created),
            last_modified: now,
        });
        self.items.insert(publish.key.clone(), Arc::clone(&config));
        Ok(ConfigChange::Upserted { key: publish.key.clone(), config, previous })
    }
}

/// What a client at `client_ip` reads of a config whose formal version is `formal` and
/// whose live beta is `beta`: the beta content (with the formal metadata) when the beta
/// lists the ip, otherwise the formal config; and whether it is the beta.
pub fn view_for(
    formal: Option<&Arc<Config>>,
    beta: Option<&Arc<BetaConfig>>,
    client_ip: &str,
) -> Option<(Arc<Config>, bool)> {
    if let Some(beta) = beta.filter(|beta| beta.serves(client_ip)) {
        let config = Config {
            id: formal.map_or(0, |config| config.id),
            content: beta.content.clone(),
            md5: beta.md5.clone(),
            config_type: beta.config_type,
            desc: formal.map_or_else(String::new, |config| config.desc.clone()),
            app_name: formal.map_or_else(String::new, |config| config.app_name.clone()),
            tags: formal.map_or_else(String::new, |config| config.tags.clone()),
            encrypted_data_key: beta.encrypted_data_key.clone(),
            details: formal.and_then(|config| config.details.clone()),
            created: formal.map_or(beta.last_modified, |config| config.created),
            last_modified: beta.last_modified,
        };
        return Some((Arc::new(config), true));
    }
    formal.map(|config| (Arc::clone(config), false))
}
