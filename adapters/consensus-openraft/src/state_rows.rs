//! The state machine's rows as a whole: which they are, how a state is rebuilt from them one
//! at a time, and the version 1 snapshot that held them all as one JSON document.

use std::io::{self, Read, Seek, SeekFrom, Write};

use domain::naming::Switches;
use domain::State;
use ports::kv::{KeyRange, KvError, KvPair, KvSnapshot, Visitor};
use serde::{Deserialize, Serialize};

use crate::auth_record::AuthRow;
use crate::history_rows;
use crate::keys;
use crate::log_store::{decode, encode};
use crate::naming_record::ServiceRow;
use crate::row_record::{ConfigRow, Counters, GrayRow, HistoryRow, NamespaceRow, SwitchRow};
use crate::snapshot_format::{Format, FormatError, RowReader, RowWriter};

/// The prefixes of the rows a snapshot carries, besides [`keys::COUNTERS`]. The applied log
/// id and membership are not rows of the state: a snapshot's meta carries them.
pub(crate) const ROW_PREFIXES: [&[u8]; 7] = [
    keys::CONFIG_PREFIX,
    keys::BETA_PREFIX,
    keys::HISTORY_PREFIX,
    keys::NAMESPACE_PREFIX,
    keys::SERVICE_PREFIX,
    keys::SWITCH_PREFIX,
    keys::AUTH_PREFIX,
];

/// The rows a node loads into memory at start-up: all but the history records, which are
/// read from storage when asked for.
pub(crate) const LOADED_PREFIXES: &[&[u8]] = &[
    keys::CONFIG_PREFIX,
    keys::BETA_PREFIX,
    keys::NAMESPACE_PREFIX,
    keys::SERVICE_PREFIX,
    keys::SWITCH_PREFIX,
    keys::AUTH_PREFIX,
];

/// Rows derived from the others (the history indexes and their marker): never in a
/// snapshot, rebuilt when one is installed.
pub(crate) const DERIVED_PREFIXES: [&[u8]; 3] =
    [keys::HISTORY_BY_KEY_PREFIX, keys::HISTORY_BY_TIME_PREFIX, keys::HISTORY_INDEXED];

/// Hands the counters and then every row under `prefixes` of a view to `visit`.
pub(crate) fn visit_rows(view: &dyn KvSnapshot, prefixes: &[&[u8]], visit: Visitor<'_>) -> Result<(), KvError> {
    if let Some(counters) = view.get(keys::COUNTERS)? {
        visit(keys::COUNTERS, &counters)?;
    }
    for prefix in prefixes {
        view.visit(&KeyRange::prefix(prefix), visit)?;
    }
    Ok(())
}

/// A row that cannot be taken into the state.
#[derive(Debug, thiserror::Error)]
#[error("state row {key}: {cause}")]
pub(crate) struct RowError {
    key: String,
    cause: String,
}

impl RowError {
    fn new(key: &[u8], cause: impl std::fmt::Display) -> Self {
        Self { key: String::from_utf8_lossy(key).into_owned(), cause: cause.to_string() }
    }
}

/// Rebuilds a state from its rows, one at a time and in any order.
#[derive(Default)]
pub(crate) struct StateLoader {
    state: State,
    counters: Counters,
    /// The index rows of the history records seen (see `history_rows.rs`).
    history_index: Vec<KvPair>,
    /// One past the newest history record seen.
    history_end: u64,
}

impl StateLoader {
    /// Takes one row into the state. A key of no known kind is refused rather than skipped:
    /// it is a row of a newer version, and dropping it would lose data silently.
    pub(crate) fn row(&mut self, key: &[u8], value: &[u8]) -> Result<(), RowError> {
        let fail = |cause: &dyn std::fmt::Display| RowError::new(key, cause);
        if key == keys::COUNTERS {
            self.counters = decode(value).map_err(|err| fail(&err))?;
        } else if key.starts_with(keys::CONFIG_PREFIX) {
            let row: ConfigRow = decode(value).map_err(|err| fail(&err))?;
            let (config_key, config) = row.into_domain().map_err(|err| fail(&err))?;
            self.state.config.restore(config_key, config);
        } else if key.starts_with(keys::BETA_PREFIX) {
            let row: GrayRow = decode(value).map_err(|err| fail(&err))?;
            let (config_key, gray) = row.into_domain().map_err(|err| fail(&err))?;
            self.state.config.restore_gray(config_key, gray);
        } else if key.starts_with(keys::HISTORY_PREFIX) {
            let record = history_rows::decode_record(key, value).map_err(|err| fail(&err))?;
            self.history_end = self.history_end.max(record.id.saturating_add(1));
            self.history_index.extend(history_rows::index_rows(&record));
        } else if key.starts_with(keys::NAMESPACE_PREFIX) {
            let row: NamespaceRow = decode(value).map_err(|err| fail(&err))?;
            self.state.namespaces.restore(row.into_domain());
        } else if key.starts_with(keys::SERVICE_PREFIX) {
            let row: ServiceRow = decode(value).map_err(|err| fail(&err))?;
            let (service, entry) = row.into_domain().map_err(|err| fail(&err))?;
            self.state.naming.insert(service, entry);
        } else if key.starts_with(keys::SWITCH_PREFIX) {
            let SwitchRow::V1 { name, value } = decode(value).map_err(|err| fail(&err))?;
            let (switch, value) = Switches::check(&name, &value).map_err(|err| fail(&err))?;
            self.state.switches.set(switch.name, &value);
        } else if key.starts_with(keys::AUTH_PREFIX) {
            let row: AuthRow = decode(value).map_err(|err| fail(&err))?;
            row.restore(&mut self.state.auth);
        } else {
            return Err(fail(&"not a row this version of nacosd knows"));
        }
        Ok(())
    }

    /// The index rows of the history records taken so far, for the store to write with them.
    pub(crate) fn take_history_index(&mut self) -> Vec<KvPair> {
        std::mem::take(&mut self.history_index)
    }

    /// The state, its id counters restored.
    pub(crate) fn finish(mut self) -> State {
        self.state.config.restore_next_id(self.counters.next_config_id);
        self.state.history.restore_next_id(self.counters.next_history_id.max(self.history_end));
        self.state
    }
}

/// A version 1 snapshot: every row, decoded, in one JSON document. Read only.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct StateFile {
    version: u32,
    configs: Vec<ConfigRow>,
    betas: Vec<GrayRow>,
    history: Vec<HistoryRow>,
    namespaces: Vec<NamespaceRow>,
    /// Added after version 1 shipped; absent in older snapshots.
    #[serde(default)]
    services: Vec<ServiceRow>,
    counters: Counters,
}

impl StateFile {
    /// Reads a version 1 document (its version already checked by `Format::detect`).
    pub(crate) fn decode(data: &[u8]) -> Result<Self, FormatError> {
        Ok(serde_json::from_slice(data)?)
    }

    /// The document as the rows the store keeps, under their keys.
    pub(crate) fn into_rows(self) -> Result<Vec<KvPair>, serde_json::Error> {
        let mut rows = vec![(keys::COUNTERS.to_vec(), encode(&self.counters)?)];
        for row in &self.configs {
            let ConfigRow::V1 { namespace, group, data_id, .. } = row;
            rows.push((keys::config_key(namespace, group, data_id), encode(row)?));
        }
        for row in &self.betas {
            rows.push((row.row_key(), encode(row)?));
        }
        for row in &self.history {
            let HistoryRow::V1 { id, .. } = row;
            rows.push((keys::history_key(*id), encode(row)?));
        }
        for row in &self.namespaces {
            let NamespaceRow::V1 { id, .. } = row;
            rows.push((keys::namespace_key(id), encode(row)?));
        }
        for row in &self.services {
            let (namespace, group, name) = row.key_parts();
            rows.push((keys::service_key(namespace, group, name), encode(row)?));
        }
        Ok(rows)
    }
}

/// A snapshot that cannot be taken in: unreadable bytes, or a row the state refuses.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SnapshotReadError {
    #[error(transparent)]
    Format(#[from] FormatError),
    #[error(transparent)]
    Row(#[from] RowError),
}

/// Writes every state row of `view` to `out` as a version 2 snapshot, one row at a time.
pub(crate) fn write_snapshot_rows(view: &dyn KvSnapshot, out: &mut dyn Write) -> io::Result<()> {
    let mut writer = RowWriter::new(out)?;
    visit_rows(view, &ROW_PREFIXES, &mut |key, value| writer.row(key, value).map_err(KvError::backend))
        .map_err(io::Error::other)?;
    writer.finish()?;
    Ok(())
}

/// Hands every row of a snapshot, of either version, to `each`, stopping at the first error.
pub(crate) fn read_snapshot_rows(
    data: &[u8],
    each: &mut dyn FnMut(Vec<u8>, Vec<u8>) -> Result<(), RowError>,
) -> Result<(), SnapshotReadError> {
    match Format::detect(data)? {
        Format::Json => {
            let rows = StateFile::decode(data)?.into_rows().map_err(FormatError::Unreadable)?;
            for (key, value) in rows {
                each(key, value)?;
            }
        }
        Format::Rows => {
            let mut reader = RowReader::new(data)?;
            while let Some((key, value)) = reader.next_row()? {
                each(key, value)?;
            }
        }
    }
    Ok(())
}

/// As [`read_snapshot_rows`], from a snapshot file, read from its start a buffer at a time
/// (a version 1 snapshot, one JSON document, is read whole).
pub(crate) fn read_snapshot_file(
    file: &mut std::fs::File,
    each: &mut dyn FnMut(Vec<u8>, Vec<u8>) -> Result<(), RowError>,
) -> Result<(), SnapshotReadError> {
    file.seek(SeekFrom::Start(0)).map_err(FormatError::Io)?;
    let format = Format::detect_in(&mut *file)?;
    file.seek(SeekFrom::Start(0)).map_err(FormatError::Io)?;
    match format {
        Format::Json => {
            let mut data = Vec::new();
            file.read_to_end(&mut data).map_err(FormatError::Io)?;
            read_snapshot_rows(&data, each)
        }
        Format::Rows => {
            let mut reader = RowReader::new(io::BufReader::with_capacity(256 * 1024, &mut *file))?;
            while let Some((key, value)) = reader.next_row()? {
                each(key, value)?;
            }
            Ok(())
        }
    }
}
