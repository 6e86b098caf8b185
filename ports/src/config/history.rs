//! Where config history records are read from: storage, since memory keeps only their index.

use domain::config::HistoryRecord;

/// Reads stored history records by id (driven port). The consensus adapter implements it
/// over the state machine's rows.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait HistoryStore: Send + Sync {
    /// The records with these ids that are still stored, in the order asked; an id purged
    /// meanwhile is skipped.
    fn load(&self, ids: &[u64]) -> Result<Vec<HistoryRecord>, HistoryStoreError>;
}

/// A history record that could not be read: the storage failed or the row is unreadable.
#[derive(Debug, thiserror::Error)]
#[error("config history record {id} could not be read")]
pub struct HistoryStoreError {
    pub id: u64,
    #[source]
    pub cause: Box<dyn std::error::Error + Send + Sync>,
}
