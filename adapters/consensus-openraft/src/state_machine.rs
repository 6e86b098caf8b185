//! The raft state machine: applies committed records to the domain state and persists the
//! result through the KV port, in the same batch as `last_applied`.

use std::sync::Arc;

use domain::config::ConfigChange;
use domain::naming::NamingChange;
use domain::{Change, Outcome, State};
use openraft::storage::RaftStateMachine;
use openraft::{EntryPayload, OptionalSend, RaftSnapshotBuilder, StorageIOError};
use ports::applied::AppliedState;
use ports::kv::{Durability, KeyRange, KvStore, WriteBatch};
use tokio::sync::oneshot;

use crate::auth_record::AuthRow;
use crate::history_rows::{self, StoredScan};
use crate::keys;
use crate::log_store::{encode, read_json};
use crate::naming_record::ServiceRow;
use crate::record::{ApplyResult, LogRecord};
use crate::row_record::{ConfigRow, Counters, GrayRow, NamespaceRow, SwitchRow};
use crate::snapshot_data::SnapshotData;
use crate::snapshot_format::Format;
use crate::snapshot_store::{SnapshotStore, Stored};
use crate::state_rows::{
    read_snapshot_file, read_snapshot_rows, visit_rows, write_snapshot_rows, StateLoader, DERIVED_PREFIXES,
    LOADED_PREFIXES, ROW_PREFIXES,
};
use crate::types::{Entry, LogId, Snapshot, SnapshotMeta, StorageError, StoredMembership, TypeConfig};

/// The state machine. Its in-memory face is the shared [`AppliedState`] the services read;
/// its durable face is the `sm/` rows of the KV store.
///
/// ### Durability
/// Applied rows are written [`Durability::Buffered`]: every entry they come from is in the
/// synced raft log, which openraft replays from `last_applied` after a crash. Snapshots are
/// written synced before any log is purged, and a synced write also makes every earlier
/// buffered write durable (the KV port's contract).
pub struct StateMachine {
    kv: Arc<dyn KvStore>,
    state: AppliedState,
    last_applied: Option<LogId>,
    membership: StoredMembership,
    /// Distinguishes snapshots built at the same log id.
    snapshot_seq: u64,
    snapshots: Arc<SnapshotStore>,
}

impl StateMachine {
    /// Loads the persisted state into `state` and resumes from it.
    pub fn open(kv: Arc<dyn KvStore>, state: AppliedState) -> Result<Self, StorageError> {
        let last_applied = read_json(&*kv, keys::APPLIED).map_err(read_sm)?;
        let membership = read_json(&*kv, keys::MEMBERSHIP).map_err(read_sm)?.unwrap_or_default();
        history_rows::ensure_indexed(&*kv).map_err(write_sm)?;
        state.replace(load_state(&*kv)?);
        Ok(Self { kv, state, last_applied, membership, snapshot_seq: 0, snapshots: Arc::new(SnapshotStore::InStore) })
    }

    /// Keeps snapshots as files in `dir` rather than in the KV store (see
    /// `snapshot_store.rs`); one already in the store is still served until the next.
    ///
    /// The current snapshot's format version is checked here, at start-up: a snapshot this
    /// version cannot read stops the node with its name and version, instead of failing
    /// later when a peer needs it.
    pub fn keep_snapshots_in(mut self, dir: &std::path::Path) -> Result<Self, StorageError> {
        self.snapshots = Arc::new(SnapshotStore::files(dir).map_err(write_sm)?);
        if let Some((meta, stored)) = self.snapshots.load(&*self.kv)? {
            let format = match stored {
                Stored::Bytes(bytes) => Format::detect(&bytes),
                Stored::File(file) => Format::detect_in(std::io::BufReader::new(file)),
            };
            format.map_err(|err| read_snapshot(&meta, err))?;
        }
        Ok(self)
    }

    /// Adds the rows an outcome changed to `batch`.
    ///
    /// `stored` reads the store as it is before `batch`: a history purge finds there the
    /// records it drops.
    pub(crate) fn persist(
        batch: &mut WriteBatch,
        outcome: &Outcome,
        stored: StoredScan<'_>,
    ) -> Result<(), StorageError> {
        let Outcome::Applied(changes) = outcome else { return Ok(()) };
        for change in changes {
            match change {
                Change::Config(ConfigChange::Upserted { key, config, .. }) => {
                    let row = ConfigRow::new(key, config);
                    batch.put(config_row_key(key), encode(&row).map_err(write_sm)?);
                }
                Change::Config(ConfigChange::Removed { key, .. }) => {
                    batch.delete(config_row_key(key));
                }
                Change::Config(ConfigChange::GrayUpserted { key, gray }) => {
                    let row = GrayRow::new(key, gray);
                    batch.put(row.row_key(), encode(&row).map_err(write_sm)?);
                }
                Change::Config(ConfigChange::GrayRemoved { key, name, .. }) => {
                    batch.delete(gray_row_key(key, name));
                }
                Change::HistoryAdded(record) => history_rows::add(batch, record).map_err(write_sm)?,
                Change::HistoryPurged(purge) => history_rows::purge(batch, *purge, stored).map_err(read_sm)?,
                Change::NamespaceUpserted(info) => {
                    batch.put(keys::namespace_key(&info.id), encode(&NamespaceRow::new(info)).map_err(write_sm)?);
                }
                Change::NamespaceRemoved(id) => {
                    batch.delete(keys::namespace_key(id));
                }
                Change::Naming(NamingChange::Upserted { service, entry }) => {
                    batch.put(service_row_key(service), encode(&ServiceRow::new(service, entry)).map_err(write_sm)?);
                }
                Change::Naming(NamingChange::Removed { service }) => {
                    batch.delete(service_row_key(service));
                }
                Change::SwitchSet { name, value } => {
                    let row = SwitchRow::V1 { name: name.clone(), value: value.clone() };
                    batch.put(keys::switch_key(name), encode(&row).map_err(write_sm)?);
                }
                Change::Auth(change) => match AuthRow::of(change) {
                    (row, true) => {
                        batch.put(row.key(), encode(&row).map_err(write_sm)?);
                    }
                    (row, false) => {
                        batch.delete(row.key());
                    }
                },
            }
        }
        Ok(())
    }

    fn write_meta(&self, batch: &mut WriteBatch) -> Result<(), StorageError> {
        batch.put(keys::APPLIED, encode(&self.last_applied).map_err(write_sm)?);
        batch.put(keys::MEMBERSHIP, encode(&self.membership).map_err(write_sm)?);
        let counters = self.state.read_with(|state| Counters {
            next_config_id: state.config.next_id(),
            next_history_id: state.history.next_id(),
        });
        batch.put(keys::COUNTERS, encode(&counters).map_err(write_sm)?);
        Ok(())
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), StorageError> {
        Ok((self.last_applied, self.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<ApplyResult>, StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut batch = WriteBatch::new();
        let mut results = Vec::new();
        for entry in entries {
            self.last_applied = Some(entry.log_id);
            let result = match entry.payload {
                EntryPayload::Blank => ApplyResult::Empty,
                EntryPayload::Normal(record) => {
                    let commands = record
                        .commands()
                        .map_err(|err| StorageError::IO { source: StorageIOError::apply(entry.log_id, &err) })?;
                    let mut results = Vec::with_capacity(commands.len());
                    for command in &commands {
                        let outcome = self.state.apply(command);
                        Self::persist(&mut batch, &outcome, &|range| self.kv.scan(range))?;
                        results.push(ApplyResult::from(outcome.verdict()));
                    }
                    match record {
                        LogRecord::V1(_) => results.pop().unwrap_or_default(),
                        LogRecord::V1Batch(_) => ApplyResult::Batch(results),
                    }
                }
                EntryPayload::Membership(membership) => {
                    self.membership = StoredMembership::new(Some(entry.log_id), membership);
                    ApplyResult::Empty
                }
            };
            results.push(result);
        }
        self.write_meta(&mut batch)?;
        self.kv.write(batch, Durability::Buffered).map_err(write_sm)?;
        Ok(results)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.snapshot_seq += 1;
        let snapshot_id = match self.last_applied {
            Some(log_id) => format!("{}-{}-{}", log_id.leader_id.term, log_id.index, self.snapshot_seq),
            None => format!("0-0-{}", self.snapshot_seq),
        };
        let meta =
            SnapshotMeta { last_log_id: self.last_applied, last_membership: self.membership.clone(), snapshot_id };
        // The store's point-in-time view is taken before this returns, under `&mut self`,
        // so it holds exactly the rows up to `last_applied`. Reading, encoding and storing
        // them (the whole state, history included) happen on a thread of their own: applies
        // and the runtime's workers go on meanwhile.
        let (taken, view_taken) = oneshot::channel();
        let (done, built) = oneshot::channel();
        let kv = Arc::clone(&self.kv);
        let snapshots = Arc::clone(&self.snapshots);
        let spawned = std::thread::Builder::new().name("raft-snapshot".into()).spawn(move || {
            let _ = done.send(write_snapshot(&*kv, &snapshots, meta, taken));
        });
        if let Err(err) = spawned {
            let (done, failed) = oneshot::channel();
            let _ = done.send(Err(write_sm(err)));
            return SnapshotBuilder { built: failed };
        }
        // An error here means the thread failed before taking the view; `built` says why.
        let _ = view_taken.await;
        SnapshotBuilder { built }
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<SnapshotData>, StorageError> {
        self.snapshots.receiving().map(Box::new).map_err(write_sm)
    }

    async fn install_snapshot(&mut self, meta: &SnapshotMeta, snapshot: Box<SnapshotData>) -> Result<(), StorageError> {
        let mut received = match *snapshot {
            SnapshotData::Buffer(cursor) => Received::Bytes(cursor.into_inner()),
            SnapshotData::File(file) => Received::File(file.into_std().await),
        };

        // Every row is checked by taking it into the new state before any is written.
        let mut batch = WriteBatch::new();
        batch.delete(keys::COUNTERS);
        for prefix in ROW_PREFIXES.iter().chain(&DERIVED_PREFIXES) {
            batch.delete_range(KeyRange::prefix(prefix));
        }
        let mut loader = StateLoader::default();
        let mut take = |key: Vec<u8>, value: Vec<u8>| {
            loader.row(&key, &value)?;
            batch.put(key, value);
            Ok(())
        };
        match &mut received {
            Received::Bytes(data) => read_snapshot_rows(data, &mut take),
            Received::File(file) => read_snapshot_file(file, &mut take),
        }
        .map_err(|err| read_snapshot(meta, err))?;
        for (key, value) in loader.take_history_index() {
            batch.put(key, value);
        }
        history_rows::mark_indexed(&mut batch);
        self.last_applied = meta.last_log_id;
        self.membership = meta.last_membership.clone();
        tracing::info!(
            snapshot = %meta.snapshot_id,
            last_log = ?meta.last_log_id.map(|log_id| log_id.index),
            bytes = received.len(),
            "installed a raft snapshot from the leader"
        );
        // The state first, so the counters written with the meta are the snapshot's.
        self.state.replace(loader.finish());
        self.write_meta(&mut batch)?;
        // The rows and the snapshot become current in one synced write.
        self.snapshots.save(&*self.kv, batch, meta, &mut |out| received.copy_to(out))?;
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot>, StorageError> {
        let current = self.snapshots.load(&*self.kv)?;
        Ok(current.map(|(meta, stored)| Snapshot { meta, snapshot: Box::new(stored.into_data()) }))
    }
}

/// A snapshot received from the leader: the buffer, or the file it was written to as it
/// arrived (see `SnapshotStore::receiving`).
enum Received {
    Bytes(Vec<u8>),
    File(std::fs::File),
}

impl Received {
    fn len(&self) -> u64 {
        match self {
            Self::Bytes(data) => data.len() as u64,
            Self::File(file) => file.metadata().map_or(0, |meta| meta.len()),
        }
    }

    /// Copies the whole snapshot to `out`, a buffer at a time.
    fn copy_to(&mut self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        match self {
            Self::Bytes(data) => out.write_all(data),
            Self::File(file) => {
                std::io::Seek::seek(file, std::io::SeekFrom::Start(0))?;
                std::io::copy(file, out).map(|_| ())
            }
        }
    }
}

/// A snapshot being built on its own thread (see `get_snapshot_builder`).
pub struct SnapshotBuilder {
    built: oneshot::Receiver<Result<(SnapshotMeta, Stored), StorageError>>,
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    async fn build_snapshot(&mut self) -> Result<Snapshot, StorageError> {
        let (meta, stored) = (&mut self.built).await.map_err(write_sm)??;
        Ok(Snapshot { meta, snapshot: Box::new(stored.into_data()) })
    }
}

/// Takes the store's point-in-time view, says so on `taken`, then streams every row through
/// it into the snapshot. Answers the snapshot's meta and the snapshot as stored.
fn write_snapshot(
    kv: &dyn KvStore,
    snapshots: &SnapshotStore,
    meta: SnapshotMeta,
    taken: oneshot::Sender<()>,
) -> Result<(SnapshotMeta, Stored), StorageError> {
    let view = kv.snapshot().map_err(read_sm)?;
    let _ = taken.send(());
    // Synced: the log is purged once the snapshot is returned, and this write also makes
    // every buffered state machine write before it durable.
    let stored = snapshots.save(kv, WriteBatch::new(), &meta, &mut |out| write_snapshot_rows(&*view, out))?;
    Ok((meta, stored))
}

/// Rebuilds the state from the store's rows, one at a time. History records stay where they
/// are (memory holds nothing of them); only the newest id is read, for the id counter.
pub(crate) fn load_state(kv: &dyn KvStore) -> Result<State, StorageError> {
    let view = kv.snapshot().map_err(read_sm)?;
    let mut loader = StateLoader::default();
    visit_rows(&*view, LOADED_PREFIXES, &mut |key, value| loader.row(key, value).map_err(ports::kv::KvError::backend))
        .map_err(read_sm)?;
    let mut state = loader.finish();
    state.history.restore_next_id(history_rows::ids_end(kv).map_err(read_sm)?);
    Ok(state)
}

fn read_sm(err: impl std::error::Error + 'static) -> StorageError {
    StorageError::IO { source: StorageIOError::read_state_machine(&err) }
}

fn write_sm(err: impl std::error::Error + 'static) -> StorageError {
    StorageError::IO { source: StorageIOError::write_state_machine(&err) }
}

fn read_snapshot(meta: &SnapshotMeta, err: impl std::error::Error + 'static) -> StorageError {
    StorageError::IO { source: StorageIOError::read_snapshot(Some(meta.signature()), &err) }
}

fn config_row_key(key: &domain::config::ConfigKey) -> Vec<u8> {
    keys::config_key(key.namespace.as_str(), key.group.as_str(), key.data_id.as_str())
}

fn service_row_key(service: &domain::naming::ServiceKey) -> Vec<u8> {
    keys::service_key(service.namespace.as_str(), service.group.as_str(), service.name.as_str())
}

fn gray_row_key(key: &domain::config::ConfigKey, name: &str) -> Vec<u8> {
    keys::gray_key(key.namespace.as_str(), key.group.as_str(), key.data_id.as_str(), name)
}
