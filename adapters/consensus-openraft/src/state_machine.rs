//! The raft state machine: applies committed records to the domain state and persists the
//! result through the KV port, in the same batch as `last_applied`.

use std::io::Cursor;
use std::sync::Arc;

use domain::config::ConfigChange;
use domain::naming::NamingChange;
use domain::{Change, Outcome, State};
use openraft::storage::RaftStateMachine;
use openraft::{EntryPayload, OptionalSend, RaftSnapshotBuilder, StorageIOError};
use ports::applied::AppliedState;
use ports::kv::{Durability, KeyRange, KvPair, KvSnapshot, KvStore, WriteBatch};
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use crate::keys;
use crate::log_store::{decode, encode, read_json};
use crate::naming_record::ServiceRow;
use crate::record::{ApplyResult, BetaRow, ConfigRow, Counters, HistoryRow, LogRecord, NamespaceRow};
use crate::snapshot_store::SnapshotStore;
use crate::types::{Entry, LogId, Snapshot, SnapshotData, SnapshotMeta, StorageError, StoredMembership, TypeConfig};

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
        state.replace(StateFile::read(&*kv)?.into_state()?);
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
        if let Some((meta, data)) = self.snapshots.load(&*self.kv)? {
            StateFile::check_version(&data).map_err(|err| read_snapshot(&meta, err))?;
        }
        Ok(self)
    }

    /// Adds the rows an outcome changed to `batch`.
    pub(crate) fn persist(batch: &mut WriteBatch, outcome: &Outcome) -> Result<(), StorageError> {
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
                Change::Config(ConfigChange::BetaUpserted { key, beta }) => {
                    batch.put(beta_row_key(key), encode(&BetaRow::new(key, beta)).map_err(write_sm)?);
                }
                Change::Config(ConfigChange::BetaRemoved { key, .. }) => {
                    batch.delete(beta_row_key(key));
                }
                Change::HistoryAdded(record) => {
                    batch.put(keys::history_key(record.id), encode(&HistoryRow::new(record)).map_err(write_sm)?);
                }
                Change::HistoryRemoved(ids) => {
                    for id in ids {
                        batch.delete(keys::history_key(*id));
                    }
                }
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
                        Self::persist(&mut batch, &outcome)?;
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
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(&mut self, meta: &SnapshotMeta, snapshot: Box<SnapshotData>) -> Result<(), StorageError> {
        let data = snapshot.into_inner();
        let file = StateFile::decode(&data).map_err(|err| read_snapshot(meta, err))?;

        let mut batch = WriteBatch::new();
        file.replace_rows(&mut batch)?;
        self.last_applied = meta.last_log_id;
        self.membership = meta.last_membership.clone();
        // The state first, so the counters written with the meta are the snapshot's.
        self.state.replace(file.into_state()?);
        self.write_meta(&mut batch)?;
        // The rows and the snapshot become current in one synced write.
        self.snapshots.save(&*self.kv, batch, meta, &data)
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot>, StorageError> {
        let current = self.snapshots.load(&*self.kv)?;
        Ok(current.map(|(meta, data)| Snapshot { meta, snapshot: Box::new(Cursor::new(data)) }))
    }
}

/// A snapshot being built on its own thread (see `get_snapshot_builder`).
pub struct SnapshotBuilder {
    built: oneshot::Receiver<Result<(SnapshotMeta, Vec<u8>), StorageError>>,
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    async fn build_snapshot(&mut self) -> Result<Snapshot, StorageError> {
        let (meta, data) = (&mut self.built).await.map_err(write_sm)??;
        Ok(Snapshot { meta, snapshot: Box::new(Cursor::new(data)) })
    }
}

/// Takes the store's point-in-time view, says so on `taken`, then reads every row through
/// it and stores the snapshot. Answers the snapshot's meta and data.
fn write_snapshot(
    kv: &dyn KvStore,
    snapshots: &SnapshotStore,
    meta: SnapshotMeta,
    taken: oneshot::Sender<()>,
) -> Result<(SnapshotMeta, Vec<u8>), StorageError> {
    let view = kv.snapshot().map_err(read_sm)?;
    let _ = taken.send(());
    let file = StateFile::read_view(&*view)?;
    drop(view);
    let data = encode(&file).map_err(write_sm)?;
    drop(file);
    // Synced: the log is purged once the snapshot is returned, and this write also makes
    // every buffered state machine write before it durable.
    snapshots.save(kv, WriteBatch::new(), &meta, &data)?;
    Ok((meta, data))
}

/// Every state machine row: the snapshot format (versioned like the log records) and
/// what a node loads at start-up.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct StateFile {
    version: u32,
    configs: Vec<ConfigRow>,
    betas: Vec<BetaRow>,
    history: Vec<HistoryRow>,
    namespaces: Vec<NamespaceRow>,
    /// Added after version 1 shipped; absent in older snapshots.
    #[serde(default)]
    services: Vec<ServiceRow>,
    counters: Counters,
}

/// A stored format this version of nacosd cannot read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FormatError {
    #[error("the snapshot's state file has format version {found}; this nacosd reads version {known} only")]
    UnknownVersion { found: u32, known: u32 },
    #[error("the snapshot's state file is not readable: {0}")]
    Unreadable(#[from] serde_json::Error),
}

impl StateFile {
    const VERSION: u32 = 1;

    /// Checks the version before anything else is read, so a newer format is reported as
    /// such rather than as whatever field it changed.
    fn check_version(data: &[u8]) -> Result<(), FormatError> {
        #[derive(Deserialize)]
        struct Header {
            version: u32,
        }
        let header: Header = serde_json::from_slice(data)?;
        if header.version != Self::VERSION {
            return Err(FormatError::UnknownVersion { found: header.version, known: Self::VERSION });
        }
        Ok(())
    }

    /// Reads a snapshot's state file, its version checked.
    pub(crate) fn decode(data: &[u8]) -> Result<Self, FormatError> {
        Self::check_version(data)?;
        Ok(serde_json::from_slice(data)?)
    }

    /// Reads every state machine row from the store.
    pub(crate) fn read(kv: &dyn KvStore) -> Result<Self, StorageError> {
        Self::read_view(&*kv.snapshot().map_err(read_sm)?)
    }

    /// Reads every state machine row from a point-in-time view of the store.
    fn read_view(view: &dyn KvSnapshot) -> Result<Self, StorageError> {
        fn rows<T: serde::de::DeserializeOwned>(view: &dyn KvSnapshot, prefix: &[u8]) -> Result<Vec<T>, StorageError> {
            let pairs: Vec<KvPair> = view.scan(&KeyRange::prefix(prefix)).map_err(read_sm)?;
            pairs.iter().map(|(_, value)| decode(value).map_err(read_sm)).collect()
        }
        let counters = match view.get(keys::COUNTERS).map_err(read_sm)? {
            Some(bytes) => decode(&bytes).map_err(read_sm)?,
            None => Counters::default(),
        };
        Ok(Self {
            version: Self::VERSION,
            configs: rows(view, keys::CONFIG_PREFIX)?,
            betas: rows(view, keys::BETA_PREFIX)?,
            history: rows(view, keys::HISTORY_PREFIX)?,
            namespaces: rows(view, keys::NAMESPACE_PREFIX)?,
            services: rows(view, keys::SERVICE_PREFIX)?,
            counters,
        })
    }

    /// Adds to `batch` the deletion of every state machine row and the writing of these.
    pub(crate) fn replace_rows(&self, batch: &mut WriteBatch) -> Result<(), StorageError> {
        for prefix in
            [keys::CONFIG_PREFIX, keys::BETA_PREFIX, keys::HISTORY_PREFIX, keys::NAMESPACE_PREFIX, keys::SERVICE_PREFIX]
        {
            batch.delete_range(KeyRange::prefix(prefix));
        }
        for row in &self.configs {
            let ConfigRow::V1 { namespace, group, data_id, .. } = row;
            batch.put(keys::config_key(namespace, group, data_id), encode(row).map_err(write_sm)?);
        }
        for row in &self.betas {
            let BetaRow::V1 { namespace, group, data_id, .. } = row;
            batch.put(keys::beta_key(namespace, group, data_id), encode(row).map_err(write_sm)?);
        }
        for row in &self.history {
            let HistoryRow::V1 { id, .. } = row;
            batch.put(keys::history_key(*id), encode(row).map_err(write_sm)?);
        }
        for row in &self.namespaces {
            let NamespaceRow::V1 { id, .. } = row;
            batch.put(keys::namespace_key(id), encode(row).map_err(write_sm)?);
        }
        for row in &self.services {
            let (namespace, group, name) = row.key_parts();
            batch.put(keys::service_key(namespace, group, name), encode(row).map_err(write_sm)?);
        }
        Ok(())
    }

    pub(crate) fn into_state(self) -> Result<State, StorageError> {
        let mut state = State::default();
        for row in self.configs {
            let (key, config) = row.into_domain().map_err(read_sm)?;
            state.config.restore(key, config);
        }
        state.config.restore_next_id(self.counters.next_config_id);
        for row in self.betas {
            let (key, beta) = row.into_domain().map_err(read_sm)?;
            state.config.restore_beta(key, beta);
        }
        for row in self.history {
            let record = row.into_domain().map_err(read_sm)?;
            state.history.restore(record.id, record.recorded, record.key);
        }
        state.history.finish_restore(self.counters.next_history_id);
        for row in self.namespaces {
            state.namespaces.restore(row.into_domain());
        }
        for row in self.services {
            let (service, entry) = row.into_domain().map_err(read_sm)?;
            state.naming.insert(service, entry);
        }
        Ok(state)
    }
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

fn beta_row_key(key: &domain::config::ConfigKey) -> Vec<u8> {
    keys::beta_key(key.namespace.as_str(), key.group.as_str(), key.data_id.as_str())
}
