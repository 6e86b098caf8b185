//! Config history: one record per change, kept for a retention period.
//!
//! As in Nacos, an insert records the new content, an update or delete records the content
//! it replaced, so "previous" and rollback can find the old value.

use std::collections::{BTreeMap, VecDeque};
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
///
/// That count is what a node under sustained publishing grows by (a record per write, kept
/// for the retention period), so a record costs 24 bytes: its id and time in `entries`, its
/// id in its config's list. The config's key is held once per config, not per record (a
/// copy per record cost about 250 bytes: 50 MB at 200,000 records).
#[derive(Debug, Clone, Default)]
pub struct HistoryLog {
    /// In id order: ids are handed out increasing and storage returns them in order.
    entries: VecDeque<Entry>,
    by_key: BTreeMap<ConfigKey, Vec<u64>>,
    next_id: u64,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    id: u64,
    recorded: Millis,
}

impl HistoryLog {
    pub fn contains(&self, id: u64) -> bool {
        self.position(id).is_ok()
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
        self.entries.iter().map(|entry| entry.id)
    }

    pub fn next_id(&self) -> u64 {
        self.next_id
    }

    /// Puts back the index entry of a stored record; `next_id` is restored separately,
    /// since the newest records may have been purged.
    pub fn restore(&mut self, id: u64, recorded: Millis, key: ConfigKey) {
        self.push(id, recorded, &key);
    }

    /// Restores the id counter and puts the index in order after a bulk restore (which is
    /// in order already when read from storage).
    pub fn finish_restore(&mut self, next_id: u64) {
        let entries = self.entries.make_contiguous();
        if !entries.is_sorted_by_key(|entry| entry.id) {
            entries.sort_unstable_by_key(|entry| entry.id);
            for ids in self.by_key.values_mut() {
                ids.sort_unstable();
            }
        }
        self.next_id = next_id.max(self.entries.back().map_or(0, |entry| entry.id + 1));
    }

    fn position(&self, id: u64) -> Result<usize, usize> {
        self.entries.binary_search_by_key(&id, |entry| entry.id)
    }

    fn push(&mut self, id: u64, recorded: Millis, key: &ConfigKey) {
        match self.by_key.get_mut(key) {
            Some(ids) => ids.push(id),
            None => {
                self.by_key.insert(key.clone(), vec![id]);
            }
        }
        self.entries.push_back(Entry { id, recorded });
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
        self.push(record.id, now, key);
        Some(record)
    }

    /// Drops records older than `before`; answers their ids.
    pub fn purge(&mut self, before: Millis) -> Vec<u64> {
        let mut doomed = Vec::new();
        self.entries.retain(|entry| {
            let keep = entry.recorded >= before;
            if !keep {
                doomed.push(entry.id);
            }
            keep
        });
        // `doomed` is in id order, as `entries` was. Purges are hourly: a pass over every
        // config is cheaper than a key per record.
        self.by_key.retain(|_, ids| {
            ids.retain(|id| doomed.binary_search(id).is_err());
            !ids.is_empty()
        });
        doomed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(data_id: &str) -> ConfigKey {
        ConfigKey::parse(None, Some("G"), Some(data_id)).unwrap()
    }

    /// Restored out of order (as a version 1 snapshot may list them), the index answers as
    /// if recorded in order, and the id counter passes the newest record.
    #[test]
    fn a_restore_in_any_order_indexes_in_id_order() {
        let mut log = HistoryLog::default();
        for (id, data_id) in [(5, "a"), (1, "b"), (3, "a"), (2, "a")] {
            log.restore(id, Millis(id * 10), key(data_id));
        }
        log.finish_restore(0);
        assert_eq!(log.ids().collect::<Vec<_>>(), vec![1, 2, 3, 5]);
        assert_eq!(log.ids_of(&key("a")), vec![5, 3, 2]);
        assert_eq!(log.previous_id(&key("a"), 5), Some(3));
        assert!(log.contains(3) && !log.contains(4));
        assert_eq!(log.next_id(), 6);
    }

    /// A purge drops old records of every config, forgets a config left with none, and
    /// leaves the rest answering as before.
    #[test]
    fn a_purge_forgets_configs_left_without_records() {
        let mut log = HistoryLog::default();
        for (id, data_id, at) in [(0, "a", 10), (1, "b", 11), (2, "a", 30), (3, "c", 5), (4, "b", 40)] {
            log.restore(id, Millis(at), key(data_id));
        }
        log.finish_restore(5);
        assert_eq!(log.purge(Millis(20)), vec![0, 1, 3]);
        assert_eq!(log.ids().collect::<Vec<_>>(), vec![2, 4]);
        assert_eq!(log.ids_of(&key("a")), vec![2]);
        assert_eq!(log.ids_of(&key("c")), Vec::<u64>::new());
        assert!(!log.by_key.contains_key(&key("c")));
        assert!(!log.contains(0) && log.contains(4));
        assert_eq!(log.next_id(), 5, "ids are never reused");
    }
}
