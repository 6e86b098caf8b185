//! Config history: one record per change, kept for a retention period.
//!
//! As in Nacos, an insert records the new content, an update or delete records the content
//! it replaced, so "previous" and rollback can find the old value.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{ConfigChange, ConfigKey, ConfigType};
use crate::Millis;

/// What a history record is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryOp {
    Insert,
    Update,
    Delete,
}

impl HistoryOp {
    /// Nacos's one-letter `opType`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Insert => "I",
            Self::Update => "U",
            Self::Delete => "D",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "I" => Some(Self::Insert),
            "U" => Some(Self::Update),
            "D" => Some(Self::Delete),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRecord {
    /// Unique and increasing in the order changes were applied.
    pub id: u64,
    /// The id of the config the record is about.
    pub config_id: u64,
    pub key: ConfigKey,
    pub op: HistoryOp,
    pub content: String,
    pub md5: String,
    pub config_type: ConfigType,
    pub app_name: String,
    /// When the change was applied.
    pub recorded: Millis,
    /// Whether the change was to the gray (beta) version rather than the formal one.
    pub beta: bool,
}

/// The index of every retained record: when it was recorded and of which config. The
/// records themselves, content included, live in storage only (the state machine writes
/// each one in the same batch as the change it records), so memory does not grow with what
/// the history holds, only with how many records it keeps.
#[derive(Debug, Clone, Default)]
pub struct HistoryLog {
    entries: BTreeMap<u64, (Millis, ConfigKey)>,
    by_key: BTreeMap<ConfigKey, Vec<u64>>,
    next_id: u64,
}

impl HistoryLog {
    pub fn contains(&self, id: u64) -> bool {
        self.entries.contains_key(&id)
    }

    /// Ids of one config's records, newest first.
    pub fn ids_of(&self, key: &ConfigKey) -> Vec<u64> {
        self.by_key.get(key).map_or_else(Vec::new, |ids| ids.iter().rev().copied().collect())
    }

    /// The id of the same config's record just before `id`.
    pub fn previous_id(&self, key: &ConfigKey, id: u64) -> Option<u64> {
        self.by_key.get(key)?.iter().rev().find(|other| **other < id).copied()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every retained id, oldest first.
    pub fn ids(&self) -> impl Iterator<Item = u64> + '_ {
        self.entries.keys().copied()
    }

    pub fn next_id(&self) -> u64 {
        self.next_id
    }

    /// Puts back the index entry of a stored record; `next_id` is restored separately,
    /// since the newest records may have been purged.
    pub fn restore(&mut self, id: u64, recorded: Millis, key: ConfigKey) {
        self.by_key.entry(key.clone()).or_default().push(id);
        self.entries.insert(id, (recorded, key));
    }

    /// Restores the id counter and re-sorts the per-config index after a bulk restore.
    pub fn finish_restore(&mut self, next_id: u64) {
        self.next_id = next_id.max(self.entries.keys().next_back().map_or(0, |id| id + 1));
        for ids in self.by_key.values_mut() {
            ids.sort_unstable();
        }
    }

    /// The record a config change leaves, if any (removing an absent config leaves none).
    pub fn record(&mut self, change: &ConfigChange, now: Millis) -> Option<Arc<HistoryRecord>> {
        let (key, op, config_id, content, md5, config_type, app_name, beta) = match change {
            ConfigChange::Upserted { key, config, previous } => {
                let (op, shown) = match previous {
                    None => (HistoryOp::Insert, config),
                    Some(previous) => (HistoryOp::Update, previous),
                };
                (key, op, config.id, &shown.content, &shown.md5, shown.config_type, shown.app_name.clone(), false)
            }
            ConfigChange::Removed { key, previous: Some(previous) } => (
                key,
                HistoryOp::Delete,
                previous.id,
                &previous.content,
                &previous.md5,
                previous.config_type,
                previous.app_name.clone(),
                false,
            ),
            ConfigChange::BetaUpserted { key, beta } => {
                (key, HistoryOp::Insert, 0, &beta.content, &beta.md5, beta.config_type, String::new(), true)
            }
            ConfigChange::BetaRemoved { key, previous: Some(beta) } => {
                (key, HistoryOp::Delete, 0, &beta.content, &beta.md5, beta.config_type, String::new(), true)
            }
            ConfigChange::Removed { previous: None, .. } | ConfigChange::BetaRemoved { previous: None, .. } => {
                return None
            }
        };
        let record = Arc::new(HistoryRecord {
            id: self.next_id,
            config_id,
            key: key.clone(),
            op,
            content: content.clone(),
            md5: md5.clone(),
            config_type,
            app_name,
            recorded: now,
            beta,
        });
        self.next_id += 1;
        self.by_key.entry(key.clone()).or_default().push(record.id);
        self.entries.insert(record.id, (now, key.clone()));
        Some(record)
    }

    /// Drops records older than `before`; answers their ids.
    pub fn purge(&mut self, before: Millis) -> Vec<u64> {
        let doomed: Vec<u64> =
            self.entries.iter().filter(|(_, (recorded, _))| *recorded < before).map(|(id, _)| *id).collect();
        for id in &doomed {
            if let Some((_, key)) = self.entries.remove(id) {
                if let Some(ids) = self.by_key.get_mut(&key) {
                    ids.retain(|other| other != id);
                    if ids.is_empty() {
                        self.by_key.remove(&key);
                    }
                }
            }
        }
        doomed
    }
}
