//! Config history read back from the state machine's rows: the [`HistoryStore`] port.

use std::sync::Arc;

use domain::config::HistoryRecord;
use ports::config::{HistoryStore, HistoryStoreError};
use ports::kv::KvStore;

use crate::keys;
use crate::log_store::decode;
use crate::record::HistoryRow;

/// Reads `sm/hist/<id>` rows. They are written in the batch that applies the change they
/// record, so a record is readable as soon as its id is in the applied state's index.
#[derive(Clone)]
pub struct HistoryRows {
    kv: Arc<dyn KvStore>,
}

impl HistoryRows {
    pub fn new(kv: Arc<dyn KvStore>) -> Self {
        Self { kv }
    }
}

impl HistoryStore for HistoryRows {
    fn load(&self, ids: &[u64]) -> Result<Vec<HistoryRecord>, HistoryStoreError> {
        let mut records = Vec::with_capacity(ids.len());
        for id in ids {
            let Some(bytes) =
                self.kv.get(&keys::history_key(*id)).map_err(|err| HistoryStoreError { id: *id, cause: err.into() })?
            else {
                continue;
            };
            let row: HistoryRow = decode(&bytes).map_err(|err| HistoryStoreError { id: *id, cause: err.into() })?;
            records.push(row.into_domain().map_err(|err| HistoryStoreError { id: *id, cause: err.into() })?);
        }
        Ok(records)
    }
}
