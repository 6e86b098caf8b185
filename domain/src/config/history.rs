//! Config history: one record per change, kept for a retention period.
//!
//! As in Nacos, an insert records the new content, an update or delete records the content
//! it replaced, so "previous" and rollback can find the old value.

use std::sync::Arc;

use super::{Config, ConfigChange, ConfigDetails, ConfigKey, ConfigType, GrayConfig};
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
    /// The data key of the content shown, `""` if it is not encrypted.
    pub encrypted_data_key: String,
    /// The rest of what the version shown carried (empty for gray versions, which have
    /// none): the console's rollback publishes it again with the content.
    pub desc: String,
    pub tags: String,
    pub details: Option<Box<ConfigDetails>>,
    /// When the change was applied.
    pub recorded: Millis,
    /// The gray version the change was to (`beta`, `tag_<tag>`), `None` for the formal one.
    pub gray_name: Option<String>,
}

/// Hands out history record ids and makes the record a change leaves.
///
/// Memory holds nothing per record: the records, and the indexes that find them by config
/// and by age, live in storage (the state machine writes a record in the same batch as the
/// change it records, and drops the records a [`Change::HistoryPurged`] names). A node under
/// sustained publishing therefore does not grow with the history it keeps.
///
/// [`Change::HistoryPurged`]: crate::Change::HistoryPurged
#[derive(Debug, Clone, Default)]
pub struct HistoryLog {
    next_id: u64,
}

impl HistoryLog {
    /// The id the next record gets. Persisted: ids of purged records are never reused.
    pub fn next_id(&self) -> u64 {
        self.next_id
    }

    /// Restores the id counter (storage's counter, or past the newest stored record).
    pub fn restore_next_id(&mut self, next_id: u64) {
        self.next_id = self.next_id.max(next_id);
    }

    /// The record a config change leaves, if any (removing an absent config leaves none).
    pub fn record(&mut self, change: &ConfigChange, now: Millis) -> Option<Arc<HistoryRecord>> {
        let (key, op, config_id, gray_name, shown) = match change {
            ConfigChange::Upserted { key, config, previous } => {
                let (op, shown) = match previous {
                    None => (HistoryOp::Insert, config),
                    Some(previous) => (HistoryOp::Update, previous),
                };
                (key, op, config.id, None, Shown::formal(shown))
            }
            ConfigChange::Removed { key, previous: Some(previous) } => {
                (key, HistoryOp::Delete, previous.id, None, Shown::formal(previous))
            }
            ConfigChange::GrayUpserted { key, gray } => {
                (key, HistoryOp::Insert, 0, Some(gray.rule.name()), Shown::gray(gray))
            }
            ConfigChange::GrayRemoved { key, previous: Some(gray), .. } => {
                (key, HistoryOp::Delete, 0, Some(gray.rule.name()), Shown::gray(gray))
            }
            ConfigChange::Removed { previous: None, .. } | ConfigChange::GrayRemoved { previous: None, .. } => {
                return None
            }
        };
        let record = Arc::new(HistoryRecord {
            id: self.next_id,
            config_id,
            key: key.clone(),
            op,
            content: shown.content.to_owned(),
            md5: shown.md5.to_owned(),
            config_type: shown.config_type,
            app_name: shown.app_name.to_owned(),
            encrypted_data_key: shown.encrypted_data_key.to_owned(),
            desc: shown.desc.to_owned(),
            tags: shown.tags.to_owned(),
            details: shown.details.map(|details| Box::new(details.clone())),
            recorded: now,
            gray_name,
        });
        self.next_id += 1;
        Some(record)
    }
}

/// What a record keeps of the version it shows: the new one for an insert, the replaced one
/// for an update or a delete.
struct Shown<'a> {
    content: &'a str,
    md5: &'a str,
    config_type: ConfigType,
    app_name: &'a str,
    encrypted_data_key: &'a str,
    desc: &'a str,
    tags: &'a str,
    details: Option<&'a ConfigDetails>,
}

impl<'a> Shown<'a> {
    fn formal(config: &'a Config) -> Self {
        Self {
            content: &config.content,
            md5: &config.md5,
            config_type: config.config_type,
            app_name: &config.app_name,
            encrypted_data_key: &config.encrypted_data_key,
            desc: &config.desc,
            tags: &config.tags,
            details: config.details.as_deref(),
        }
    }

    fn gray(beta: &'a GrayConfig) -> Self {
        Self {
            content: &beta.content,
            md5: &beta.md5,
            config_type: beta.config_type,
            app_name: "",
            encrypted_data_key: &beta.encrypted_data_key,
            desc: "",
            tags: "",
            details: None,
        }
    }
}

/// A purge of config history: every record recorded before `before` goes, on every replica
/// the same records, since each holds the same stored records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryPurge {
    pub before: Millis,
}

impl HistoryPurge {
    /// Whether the purge drops a record recorded at `recorded`.
    pub fn drops(&self, recorded: Millis) -> bool {
        recorded < self.before
    }
}
