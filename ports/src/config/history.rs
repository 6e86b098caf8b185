//! Where config history is read from: storage, which holds the records and the indexes that
//! find them; memory holds nothing per record.

use domain::config::{ConfigKey, HistoryRecord};

/// Reads stored history (driven port). The consensus adapter implements it over the state
/// machine's rows, which are written in the batch that applies the change they record: a
/// record is readable as soon as its change is applied.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait HistoryStore: Send + Sync {
    /// The ids of one config's retained records, newest first.
    fn ids_of(&self, key: &ConfigKey) -> Result<Vec<u64>, HistoryStoreError>;

    /// The id of the same config's record just before record `id`.
    fn previous_id(&self, key: &ConfigKey, id: u64) -> Result<Option<u64>, HistoryStoreError>;

    /// The records with these ids that are still stored, in the order asked; an id purged
    /// meanwhile (or never given) is skipped.
    fn load(&self, ids: &[u64]) -> Result<Vec<HistoryRecord>, HistoryStoreError>;
}

/// Stored history that could not be read: the storage failed or a row is unreadable.
#[derive(Debug, thiserror::Error)]
#[error("config history ({what}) could not be read")]
pub struct HistoryStoreError {
    /// What was being read: a record's id, or the index of a config.
    pub what: String,
    #[source]
    pub cause: Box<dyn std::error::Error + Send + Sync>,
}
