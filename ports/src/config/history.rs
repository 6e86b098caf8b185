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

#[derive(Debug, thiserror::Error)]
#[error("history store: {0}")]
pub struct HistoryStoreError(pub String);
