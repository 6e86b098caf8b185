//! The config table and the one function that changes it.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::gray::gray_for;
use super::{md5_hex, Config, ConfigKey, GrayConfig, GrayRule, PublishConfig, Reader};
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
    /// Publishes the gray version for `rule`, replacing the one of the same rule name; the
    /// formal config is untouched.
    PublishGray {
        publish: PublishConfig,
        rule: GrayRule,
        now: Millis,
    },
    /// Ends the gray release named `name` (`beta`, `tag_<tag>`): its clients get the
    /// formal config again (or another gray version that matches them).
    StopGray {
        key: ConfigKey,
        name: String,
        now: Millis,
    },
}

impl ConfigCommand {
    /// When the command was proposed.
    pub fn now(&self) -> Millis {
        match self {
            Self::Publish { now, .. }
            | Self::Remove { now, .. }
            | Self::PublishGray { now, .. }
            | Self::StopGray { now, .. } => *now,
        }
    }
}

/// What a config command did to the table: the data the state machine persists and the
/// listeners are told about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigChange {
    Upserted { key: ConfigKey, config: Arc<Config>, previous: Option<Arc<Config>> },
    Removed { key: ConfigKey, previous: Option<Arc<Config>> },
    GrayUpserted { key: ConfigKey, gray: Arc<GrayConfig> },
    GrayRemoved { key: ConfigKey, name: String, previous: Option<Arc<GrayConfig>> },
}

impl ConfigChange {
    pub fn key(&self) -> &ConfigKey {
        match self {
            Self::Upserted { key, .. }
            | Self::Removed { key, .. }
            | Self::GrayUpserted { key, .. }
            | Self::GrayRemoved { key, .. } => key,
        }
    }
}

/// Every config, ordered by key so scans and snapshots are deterministic.
///
/// Items are `Arc`ed: a read hands out a pointer, never a copy of the content.
#[derive(Debug, Clone, Default)]
pub struct ConfigTable {
    items: BTreeMap<ConfigKey, Arc<Config>>,
    /// Gray versions, by the config they shadow (which need not exist), highest priority
    /// first. Shared: the read index holds the same list.
    grays: BTreeMap<ConfigKey, Grays>,
    /// The id the next new config gets. Persisted: ids of deleted configs are never reused.
    next_id: u64,
}

impl ConfigTable {
    pub fn get(&self, key: &ConfigKey) -> Option<&Arc<Config>> {
        self.items.get(key)
    }

    /// The gray versions of `key`, highest priority first.
    pub fn grays(&self, key: &ConfigKey) -> Option<&Grays> {
        self.grays.get(key)
    }

    /// The gray version of `key` named `name`.
    pub fn gray(&self, key: &ConfigKey, name: &str) -> Option<&Arc<GrayConfig>> {
        self.grays.get(key)?.iter().find(|gray| gray.rule.name() == name)
    }

    /// Every gray version, by config.
    pub fn all_grays(&self) -> impl Iterator<Item = (&ConfigKey, &Arc<GrayConfig>)> {
        self.grays.iter().flat_map(|(key, grays)| grays.iter().map(move |gray| (key, gray)))
    }

    /// What `reader` reads: the gray version its highest-priority matching rule serves,
    /// otherwise the formal config; and the gray version, if one served.
    pub fn view(&self, key: &ConfigKey, reader: &Reader<'_>) -> Option<(Arc<Config>, Option<Arc<GrayConfig>>)> {
        view_for(self.items.get(key), self.grays.get(key).map(|grays| &grays[..]), reader)
    }

    /// The md5 `reader` should hold; `""` when it should hold nothing.
    pub fn md5_for(&self, key: &ConfigKey, reader: &Reader<'_>) -> String {
        match self.grays.get(key).and_then(|grays| gray_for(grays, reader)) {
            Some(gray) => gray.md5.clone(),
            None => self.items.get(key).map_or_else(String::new, |config| config.md5.clone()),
        }
    }

    /// Puts back a gray version read from storage.
    pub fn restore_gray(&mut self, key: ConfigKey, gray: GrayConfig) {
        self.put_gray(key, Arc::new(gray));
    }

    fn put_gray(&mut self, key: ConfigKey, gray: Arc<GrayConfig>) {
        let name = gray.rule.name();
        let mut grays: Vec<Arc<GrayConfig>> = self.grays.get(&key).map(|grays| grays.to_vec()).unwrap_or_default();
        grays.retain(|existing| existing.rule.name() != name);
        grays.push(gray);
        grays.sort_by(|a, b| b.rule.priority().cmp(&a.rule.priority()).then_with(|| a.rule.name().cmp(&b.rule.name())));
        self.grays.insert(key, grays.into());
    }

    fn remove_gray(&mut self, key: &ConfigKey, name: &str) -> Option<Arc<GrayConfig>> {
        let grays = self.grays.get(key)?;
        let at = grays.iter().position(|gray| gray.rule.name() == name)?;
        let removed = Arc::clone(&grays[at]);
        let rest: Vec<Arc<GrayConfig>> =
            grays.iter().enumerate().filter(|(i, _)| *i != at).map(|(_, gray)| Arc::clone(gray)).collect();
        if rest.is_empty() {
            self.grays.remove(key);
        } else {
            self.grays.insert(key.clone(), rest.into());
        }
        Some(removed)
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
            ConfigCommand::PublishGray { publish, rule, now } => {
                let gray = Arc::new(GrayConfig {
                    md5: md5_hex(&publish.content),
                    content: publish.content.clone(),
                    config_type: publish.meta.config_type,
                    encrypted_data_key: publish.meta.encrypted_data_key.clone(),
                    rule: rule.clone(),
                    last_modified: *now,
                });
                self.put_gray(publish.key.clone(), Arc::clone(&gray));
                Ok(ConfigChange::GrayUpserted { key: publish.key.clone(), gray })
            }
            ConfigCommand::StopGray { key, name, .. } => {
                let previous = self.remove_gray(key, name);
                Ok(ConfigChange::GrayRemoved { key: key.clone(), name: name.clone(), previous })
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

/// A config's gray versions, highest priority first.
pub type Grays = Arc<[Arc<GrayConfig>]>;

/// What `reader` reads of a config whose formal version is `formal` and whose gray
/// versions are `grays` (highest priority first): the first gray version whose rule matches
/// (its content, with the formal metadata), otherwise the formal config; and the gray
/// version, if one served.
pub fn view_for(
    formal: Option<&Arc<Config>>,
    grays: Option<&[Arc<GrayConfig>]>,
    reader: &Reader<'_>,
) -> Option<(Arc<Config>, Option<Arc<GrayConfig>>)> {
    if let Some(gray) = grays.and_then(|grays| gray_for(grays, reader)) {
        let config = Config {
            id: formal.map_or(0, |config| config.id),
            content: gray.content.clone(),
            md5: gray.md5.clone(),
            config_type: gray.config_type,
            desc: formal.map_or_else(String::new, |config| config.desc.clone()),
            app_name: formal.map_or_else(String::new, |config| config.app_name.clone()),
            tags: formal.map_or_else(String::new, |config| config.tags.clone()),
            encrypted_data_key: gray.encrypted_data_key.clone(),
            details: formal.and_then(|config| config.details.clone()),
            created: formal.map_or(gray.last_modified, |config| config.created),
            last_modified: gray.last_modified,
        };
        return Some((Arc::new(config), Some(Arc::clone(gray))));
    }
    formal.map(|config| (Arc::clone(config), None))
}
