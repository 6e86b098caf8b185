//! openraft's storage conformance suite, run against the KV-backed store.
//!
//! The store crates are not dependencies of this adapter (adapters never depend on each
//! other), so the RocksDB and sled runs live in `tests/`, which may name every adapter.

use std::sync::Arc;

use openraft::testing::{StoreBuilder, Suite};
use ports::applied::AppliedState;
use ports::kv::KvStore;

use crate::types::{StorageError, TypeConfig};
use crate::{LogStore, StateMachine};

struct MemBuilder;

impl StoreBuilder<TypeConfig, LogStore, StateMachine, ()> for MemBuilder {
    async fn build(&self) -> Result<((), LogStore, StateMachine), StorageError> {
        let kv: Arc<dyn KvStore> = Arc::new(store_mem::MemStore::new());
        let state_machine = StateMachine::open(Arc::clone(&kv), AppliedState::new())?;
        Ok(((), LogStore::new(kv), state_machine))
    }
}

#[test]
fn openraft_suite_on_the_memory_store() {
    Suite::test_all(MemBuilder).unwrap();
}

/// The log in segment files, as the disk engines keep it.
struct FilesBuilder;

impl StoreBuilder<TypeConfig, LogStore, StateMachine, tempfile::TempDir> for FilesBuilder {
    async fn build(&self) -> Result<(tempfile::TempDir, LogStore, StateMachine), StorageError> {
        let dir = tempfile::tempdir()
            .map_err(|err| StorageError::IO { source: openraft::StorageIOError::write_logs(&err) })?;
        let kv: Arc<dyn KvStore> = Arc::new(store_mem::MemStore::new());
        let state_machine = StateMachine::open(Arc::clone(&kv), AppliedState::new())?;
        let log_store = LogStore::in_files(kv, &dir.path().join("log"))?;
        Ok((dir, log_store, state_machine))
    }
}

#[test]
fn openraft_suite_on_segment_files() {
    Suite::test_all(FilesBuilder).unwrap();
}

mod log_in_files {
    use std::sync::Arc;

    use openraft::storage::RaftLogStorage;
    use openraft::{CommittedLeaderId, EntryPayload, LogId, RaftLogReader};
    use ports::kv::{Durability, KeyRange, KvStore, WriteBatch};

    use crate::keys;
    use crate::log_store::encode;
    use crate::types::Entry;
    use crate::LogStore;

    fn entry(index: u64) -> Entry {
        Entry { log_id: LogId::new(CommittedLeaderId::new(1, 0), index), payload: EntryPayload::Blank }
    }

    /// A store written before the log moved to files: its entries move into them, once.
    #[tokio::test]
    async fn entries_kept_in_the_store_move_into_files() {
        let dir = tempfile::tempdir().unwrap();
        let kv: Arc<dyn KvStore> = Arc::new(store_mem::MemStore::new());
        let mut batch = WriteBatch::new();
        for index in 5..9 {
            batch.put(keys::log_key(index), encode(&entry(index)).unwrap());
        }
        kv.write(batch, Durability::Sync).unwrap();

        let mut log = LogStore::in_files(Arc::clone(&kv), dir.path()).unwrap();
        let read: Vec<u64> = log.try_get_log_entries(0..).await.unwrap().iter().map(|e| e.log_id.index).collect();
        assert_eq!(read, vec![5, 6, 7, 8]);
        assert!(kv.scan(&KeyRange::prefix(keys::LOG_PREFIX)).unwrap().is_empty(), "the rows are gone");
        assert_eq!(log.get_log_state().await.unwrap().last_log_id.map(|id| id.index), Some(8));
        drop(log);

        // A crash after the files were written and before the rows went: the rows win.
        let mut batch = WriteBatch::new();
        batch.put(keys::log_key(5), encode(&entry(5)).unwrap());
        kv.write(batch, Durability::Sync).unwrap();
        let mut log = LogStore::in_files(Arc::clone(&kv), dir.path()).unwrap();
        let read: Vec<u64> = log.try_get_log_entries(0..).await.unwrap().iter().map(|e| e.log_id.index).collect();
        assert_eq!(read, vec![5]);
    }
}

mod state_machine {
    use std::sync::Arc;

    use domain::config::{ConfigCommand, ConfigKey, ConfigLimits, PublishConfig, PublishParams};
    use domain::namespace::{NamespaceCommand, NamespaceInfo};
    use domain::naming::{InstanceDraft, NamingCommand, ProtectThreshold, ServiceKey, ServiceMeta};
    use domain::{Command, Millis, State};
    use openraft::storage::RaftStateMachine;
    use openraft::{CommittedLeaderId, EntryPayload, LogId, RaftSnapshotBuilder};
    use ports::applied::AppliedState;
    use ports::config::HistoryStore;
    use ports::kv::{KeyRange, KvStore};

    use crate::keys;
    use crate::record::LogRecord;
    use crate::types::Entry;
    use crate::HistoryRows;
    use crate::SnapshotData;
    use crate::StateMachine;

    fn publish(data_id: &str, content: &str, now: u64) -> Command {
        let params =
            PublishParams { data_id: Some(data_id), group: Some("G"), content: Some(content), ..Default::default() };
        let publish = PublishConfig::parse(&params, ConfigLimits::default()).unwrap();
        Command::Config(ConfigCommand::Publish { publish, now: Millis(now) })
    }

    fn entries(commands: &[Command], first_index: u64) -> Vec<Entry> {
        commands
            .iter()
            .enumerate()
            .map(|(i, command)| Entry {
                log_id: LogId::new(CommittedLeaderId::new(1, 0), first_index + i as u64),
                payload: EntryPayload::Normal(LogRecord::from(command)),
            })
            .collect()
    }

    /// Everything observable about a state and its stored history, in a comparable form.
    pub(crate) fn summary(state: &AppliedState, kv: &Arc<dyn KvStore>) -> String {
        let history = stored_history(kv);
        state.read_with(|state: &State| {
            let configs: Vec<String> =
                state.config.iter().map(|(key, config)| format!("{key}={}#{}", config.content, config.id)).collect();
            let namespaces: Vec<&str> = state.namespaces.iter().map(|info| info.id.as_str()).collect();
            let services: Vec<String> = state
                .naming
                .iter()
                .map(|(key, entry)| {
                    let instances: Vec<String> =
                        entry.instances.iter().map(|i| format!("{}:{}:{}", i.ip, i.port, i.weight.value())).collect();
                    format!("{key}={:?}/{}/{instances:?}", entry.meta.metadata, entry.meta.protect_threshold.value())
                })
                .collect();
            format!(
                "{configs:?} {history:?} {namespaces:?} {services:?} next={}/{}",
                state.config.next_id(),
                state.history.next_id()
            )
        })
    }

    #[tokio::test]
    async fn reopening_and_snapshots_reproduce_the_state() {
        let kv: Arc<dyn KvStore> = Arc::new(store_mem::MemStore::new());
        let state = AppliedState::new();
        let mut machine = StateMachine::open(Arc::clone(&kv), state.clone()).unwrap();
        let b = ConfigKey::parse(None, Some("G"), Some("b")).unwrap();
        let service = ServiceKey::parse(Some("dev"), Some("G"), Some("svc")).unwrap();
        let commands = [
            publish("a", "a1", 10),
            publish("b", "b1", 20),
            publish("a", "a2", 30),
            Command::Config(ConfigCommand::Remove { key: b, now: Millis(40) }),
            Command::Namespace(NamespaceCommand::Create(NamespaceInfo {
                id: "dev".into(),
                name: "Dev".into(),
                desc: String::new(),
                created: Millis(50),
            })),
            Command::PurgeHistory { before: Millis(15) },
            Command::Naming(NamingCommand::CreateService {
                service: service.clone(),
                meta: ServiceMeta {
                    protect_threshold: ProtectThreshold::new(0.5).unwrap(),
                    metadata: [("k".to_owned(), "v".to_owned())].into(),
                    ..ServiceMeta::default()
                },
            }),
            Command::Naming(NamingCommand::RegisterInstance {
                service: service.clone(),
                instance: InstanceDraft {
                    ip: Some("10.0.0.1".into()),
                    port: Some(80),
                    weight: Some(2.5),
                    ..Default::default()
                }
                .validate()
                .unwrap(),
                now: Millis(60),
            }),
        ];
        machine.apply(entries(&commands, 1)).await.unwrap();
        let expected = summary(&state, &kv);
        assert!(expected.contains("next=2/4"), "{expected}");
        assert!(expected.contains("10.0.0.1:80:2.5"), "{expected}");

        let reopened = AppliedState::new();
        let mut again = StateMachine::open(Arc::clone(&kv), reopened.clone()).unwrap();
        assert_eq!(summary(&reopened, &kv), expected, "a restart loads the same state");
        assert_eq!(again.applied_state().await.unwrap().0.map(|id| id.index), Some(8));

        let snapshot = machine.get_snapshot_builder().await.build_snapshot().await.unwrap();
        let installed = AppliedState::new();
        let fresh_kv: Arc<dyn KvStore> = Arc::new(store_mem::MemStore::new());
        let mut fresh = StateMachine::open(Arc::clone(&fresh_kv), installed.clone()).unwrap();
        fresh.install_snapshot(&snapshot.meta, snapshot.snapshot).await.unwrap();
        assert_eq!(summary(&installed, &fresh_kv), expected, "a snapshot carries the whole state");

        // Both continue identically: the id counters came along.
        machine.apply(entries(&[publish("c", "c1", 60)], 9)).await.unwrap();
        fresh.apply(entries(&[publish("c", "c1", 60)], 9)).await.unwrap();
        assert_eq!(summary(&installed, &fresh_kv), summary(&state, &kv));
    }

    /// A machine on a fresh memory store that has applied three publishes: a, a again, b.
    async fn machine_with_history() -> (Arc<dyn KvStore>, AppliedState, StateMachine) {
        let kv: Arc<dyn KvStore> = Arc::new(store_mem::MemStore::new());
        let state = AppliedState::new();
        let mut machine = StateMachine::open(Arc::clone(&kv), state.clone()).unwrap();
        machine
            .apply(entries(&[publish("a", "a1", 10), publish("a", "a2", 20), publish("b", "b1", 30)], 1))
            .await
            .unwrap();
        (kv, state, machine)
    }

    /// A version 1 snapshot (one JSON document, as nacosd wrote before version 2) still
    /// installs, whole: a peer or a data directory from before the change is not stranded.
    #[tokio::test]
    async fn a_version_1_snapshot_still_installs() {
        let (kv, state, mut machine) = machine_with_history().await;
        let expected = summary(&state, &kv);
        let meta = machine.get_snapshot_builder().await.build_snapshot().await.unwrap().meta;

        // The same rows, as version 1 laid them out.
        let rows = |prefix: &[u8]| -> String {
            let pairs = kv.scan(&ports::kv::KeyRange::prefix(prefix)).unwrap();
            let rows: Vec<String> = pairs.iter().map(|(_, value)| String::from_utf8(value.clone()).unwrap()).collect();
            format!("[{}]", rows.join(","))
        };
        let counters = String::from_utf8(kv.get(crate::keys::COUNTERS).unwrap().unwrap()).unwrap();
        let version_1 = format!(
            "{{\"version\":1,\"configs\":{},\"betas\":[],\"history\":{},\"namespaces\":[],\"counters\":{counters}}}",
            rows(crate::keys::CONFIG_PREFIX),
            rows(crate::keys::HISTORY_PREFIX),
        );

        let installed = AppliedState::new();
        let fresh_kv: Arc<dyn KvStore> = Arc::new(store_mem::MemStore::new());
        let mut fresh = StateMachine::open(Arc::clone(&fresh_kv), installed.clone()).unwrap();
        fresh.install_snapshot(&meta, Box::new(SnapshotData::buffer(version_1.into_bytes()))).await.unwrap();
        assert_eq!(summary(&installed, &fresh_kv), expected);
        let reopened = AppliedState::new();
        StateMachine::open(Arc::clone(&fresh_kv), reopened.clone()).unwrap();
        assert_eq!(summary(&reopened, &fresh_kv), expected, "its rows were stored as version 2 reads them");
    }

    /// A purge drops the records older than its bound and nothing else, and the same ones
    /// whether the entries came in one batch or one at a time: records added earlier in
    /// the purge's own batch are not yet in storage, yet they are dropped too.
    #[tokio::test]
    async fn a_purge_drops_the_same_records_however_entries_were_batched() {
        let commands = [
            publish("a", "a1", 10),
            publish("b", "b1", 12),
            publish("a", "a2", 20),
            Command::PurgeHistory { before: Millis(15) },
            publish("c", "c1", 5),
            Command::PurgeHistory { before: Millis(11) },
            publish("c", "c2", 6),
        ];
        let whole = AppliedState::new();
        let whole_kv: Arc<dyn KvStore> = Arc::new(store_mem::MemStore::new());
        let mut machine = StateMachine::open(Arc::clone(&whole_kv), whole.clone()).unwrap();
        machine.apply(entries(&commands, 1)).await.unwrap();

        let single = AppliedState::new();
        let single_kv: Arc<dyn KvStore> = Arc::new(store_mem::MemStore::new());
        let mut machine = StateMachine::open(Arc::clone(&single_kv), single.clone()).unwrap();
        for (i, command) in commands.iter().enumerate() {
            machine.apply(entries(std::slice::from_ref(command), i as u64 + 1)).await.unwrap();
        }

        assert_eq!(stored_history(&whole_kv), vec!["2:U:a1", "4:U:c1"], "ids 0, 1 and 3 were older than a bound");
        assert_eq!(summary(&whole, &whole_kv), summary(&single, &single_kv));
    }

    /// A config's records are found by its own index only (not by a config whose data id
    /// starts the same), newest first, and "previous" steps back through them.
    #[tokio::test]
    async fn a_configs_history_is_found_by_its_index() {
        let kv: Arc<dyn KvStore> = Arc::new(store_mem::MemStore::new());
        let mut machine = StateMachine::open(Arc::clone(&kv), AppliedState::new()).unwrap();
        let commands = [publish("a", "1", 10), publish("ab", "1", 11), publish("a", "2", 20), publish("a", "3", 30)];
        machine.apply(entries(&commands, 1)).await.unwrap();
        let rows = HistoryRows::new(Arc::clone(&kv));
        let key = |data_id: &str| ConfigKey::parse(None, Some("G"), Some(data_id)).unwrap();
        assert_eq!(rows.ids_of(&key("a")).unwrap(), vec![3, 2, 0]);
        assert_eq!(rows.ids_of(&key("ab")).unwrap(), vec![1]);
        assert_eq!(rows.ids_of(&key("zz")).unwrap(), Vec::<u64>::new());
        assert_eq!(rows.previous_id(&key("a"), 3).unwrap(), Some(2));
        assert_eq!(rows.previous_id(&key("a"), 2).unwrap(), Some(0));
        assert_eq!(rows.previous_id(&key("a"), 0).unwrap(), None);
        assert_eq!(rows.load(&[2, 99]).unwrap().len(), 1, "an id not stored is skipped");
    }

    /// A store written before the history indexes existed has them built at the first
    /// open, from its records; the id counter goes on past the newest record.
    #[tokio::test]
    async fn a_store_from_before_the_indexes_is_indexed_at_open() {
        let (kv, state, _machine) = machine_with_history().await;
        let expected = summary(&state, &kv);
        let mut batch = ports::kv::WriteBatch::new();
        for prefix in crate::state_rows::DERIVED_PREFIXES {
            batch.delete_range(KeyRange::prefix(prefix));
        }
        kv.write(batch, ports::kv::Durability::Sync).unwrap();
        assert!(kv.scan(&KeyRange::prefix(keys::HISTORY_BY_KEY_PREFIX)).unwrap().is_empty());

        let reopened = AppliedState::new();
        let mut again = StateMachine::open(Arc::clone(&kv), reopened.clone()).unwrap();
        assert_eq!(summary(&reopened, &kv), expected);
        assert!(kv.get(keys::HISTORY_INDEXED).unwrap().is_some(), "built once");
        again.apply(entries(&[publish("c", "c1", 40)], 4)).await.unwrap();
        assert_eq!(stored_history(&kv).last().map(String::as_str), Some("3:I:c1"), "no id is reused");
    }

    /// Every stored history record, checked against both indexes: each is found by its
    /// config's index and by the age index, and neither lists anything else.
    pub(crate) fn stored_history(kv: &Arc<dyn KvStore>) -> Vec<String> {
        let prefix_rows = |prefix: &[u8]| kv.scan(&KeyRange::prefix(prefix)).unwrap();
        let ids: Vec<u64> = prefix_rows(keys::HISTORY_PREFIX)
            .iter()
            .map(|(key, _)| u64::from_be_bytes(*key.last_chunk::<8>().unwrap()))
            .collect();
        let rows = HistoryRows::new(Arc::clone(kv));
        let stored = rows.load(&ids).unwrap();
        assert_eq!(stored.len(), ids.len(), "every record reads back");
        let mut by_config: Vec<(String, Vec<u64>)> = Vec::new();
        for record in &stored {
            let listed = rows.ids_of(&record.key).unwrap();
            assert!(listed.contains(&record.id), "record {} is in its config's index", record.id);
            assert!(listed.is_sorted_by(|a, b| a > b), "newest first: {listed:?}");
            if !by_config.iter().any(|(key, _)| *key == record.key.to_string()) {
                by_config.push((record.key.to_string(), listed));
            }
        }
        let indexed: usize = by_config.iter().map(|(_, ids)| ids.len()).sum();
        assert_eq!(indexed, ids.len(), "the config index lists only stored records");
        assert_eq!(prefix_rows(keys::HISTORY_BY_KEY_PREFIX).len(), ids.len());
        assert_eq!(prefix_rows(keys::HISTORY_BY_TIME_PREFIX).len(), ids.len(), "one age row per record");
        stored.iter().map(|record| format!("{}:{}:{}", record.id, record.op.as_str(), record.content)).collect()
    }

    /// A damaged snapshot is refused whole: nothing of it is written, the state is as before.
    #[tokio::test]
    async fn a_damaged_snapshot_leaves_the_state_as_it_was() {
        let kv: Arc<dyn KvStore> = Arc::new(store_mem::MemStore::new());
        let mut machine = StateMachine::open(Arc::clone(&kv), AppliedState::new()).unwrap();
        machine.apply(entries(&[publish("a", "a1", 10), publish("b", "b1", 20)], 1)).await.unwrap();
        let built = machine.get_snapshot_builder().await.build_snapshot().await.unwrap();
        let data = built.snapshot.into_bytes().await.unwrap();

        let state = AppliedState::new();
        let other_kv: Arc<dyn KvStore> = Arc::new(store_mem::MemStore::new());
        let mut other = StateMachine::open(Arc::clone(&other_kv), state.clone()).unwrap();
        other.apply(entries(&[publish("z", "z1", 5)], 1)).await.unwrap();
        let before = summary(&state, &other_kv);
        for damaged in [data[..data.len() - 3].to_vec(), [&data[..], b"x"].concat()] {
            let refused = other.install_snapshot(&built.meta, Box::new(SnapshotData::buffer(damaged))).await;
            assert!(format!("{:?}", refused.unwrap_err()).contains("damaged"));
            assert_eq!(summary(&state, &other_kv), before);
        }
    }

    /// A snapshot is of the moment its builder was made: entries applied while it is built
    /// (on its own thread) are not in it, and its meta says where it stands.
    #[tokio::test]
    async fn a_snapshot_holds_the_state_its_builder_was_made_at() {
        let kv: Arc<dyn KvStore> = Arc::new(store_mem::MemStore::new());
        let state = AppliedState::new();
        let mut machine = StateMachine::open(Arc::clone(&kv), state.clone()).unwrap();
        machine.apply(entries(&[publish("a", "a1", 10), publish("b", "b1", 20)], 1)).await.unwrap();
        let at_builder = summary(&state, &kv);

        let mut builder = machine.get_snapshot_builder().await;
        machine.apply(entries(&[publish("a", "a2", 30), publish("c", "c1", 40)], 3)).await.unwrap();
        let snapshot = builder.build_snapshot().await.unwrap();
        assert_eq!(snapshot.meta.last_log_id.map(|id| id.index), Some(2));

        let installed = AppliedState::new();
        let fresh_kv: Arc<dyn KvStore> = Arc::new(store_mem::MemStore::new());
        let mut fresh = StateMachine::open(Arc::clone(&fresh_kv), installed.clone()).unwrap();
        fresh.install_snapshot(&snapshot.meta, snapshot.snapshot).await.unwrap();
        assert_eq!(summary(&installed, &fresh_kv), at_builder);
        assert_ne!(summary(&state, &kv), at_builder, "the machine itself went on applying");

        // The stored snapshot is the one built, for peers that ask for it later.
        let current = machine.get_current_snapshot().await.unwrap().unwrap();
        assert_eq!(current.meta, snapshot.meta);
    }

    /// A store written before snapshots were split into meta and data still serves its
    /// snapshot, and the next snapshot replaces the old form.
    #[tokio::test]
    async fn a_snapshot_stored_in_the_old_form_is_still_served() {
        let kv: Arc<dyn KvStore> = Arc::new(store_mem::MemStore::new());
        let state = AppliedState::new();
        let mut machine = StateMachine::open(Arc::clone(&kv), state.clone()).unwrap();
        machine.apply(entries(&[publish("a", "a1", 10)], 1)).await.unwrap();
        let built = machine.get_snapshot_builder().await.build_snapshot().await.unwrap();
        // Rewrite the store as the old format had it: a version 1 state file in a string.
        let data = serde_json::json!({ "version": 1, "configs": [], "betas": [], "history": [], "namespaces": [],
            "counters": { "next_config_id": 0, "next_history_id": 0 } })
        .to_string()
        .into_bytes();
        let legacy = serde_json::json!({ "meta": built.meta, "data": String::from_utf8(data.clone()).unwrap() });
        let mut batch = ports::kv::WriteBatch::new();
        batch.delete(crate::keys::SNAPSHOT_META).delete(crate::keys::SNAPSHOT_DATA);
        batch.put(crate::keys::LEGACY_SNAPSHOT, serde_json::to_vec(&legacy).unwrap());
        kv.write(batch, ports::kv::Durability::Sync).unwrap();

        let mut reopened = StateMachine::open(Arc::clone(&kv), AppliedState::new()).unwrap();
        let served = reopened.get_current_snapshot().await.unwrap().expect("the old snapshot is served");
        assert_eq!(served.meta, built.meta);
        assert_eq!(served.snapshot.into_bytes().await.unwrap(), data);

        reopened.get_snapshot_builder().await.build_snapshot().await.unwrap();
        assert_eq!(kv.get(crate::keys::LEGACY_SNAPSHOT).unwrap(), None, "replaced by the new form");
    }

    /// Snapshots kept as files: the store names the current one, older files go, a restart
    /// and a fresh node read it, and a snapshot kept in the store before still serves.
    #[tokio::test]
    async fn snapshots_kept_as_files_replace_each_other_and_survive_a_restart() {
        let kv: Arc<dyn KvStore> = Arc::new(store_mem::MemStore::new());
        let state = AppliedState::new();
        let mut machine = StateMachine::open(Arc::clone(&kv), state.clone()).unwrap();
        machine.apply(entries(&[publish("a", "a1", 10)], 1)).await.unwrap();
        // One kept in the store, as before files.
        let in_store = machine.get_snapshot_builder().await.build_snapshot().await.unwrap();

        let dir = tempfile::tempdir().unwrap();
        let snapshots = dir.path().join("snapshots");
        let files = |dir: &std::path::Path| -> Vec<String> {
            let mut names: Vec<String> = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names
        };
        let mut machine =
            StateMachine::open(Arc::clone(&kv), state.clone()).unwrap().keep_snapshots_in(&snapshots).unwrap();
        let served = machine.get_current_snapshot().await.unwrap().unwrap();
        assert_eq!(served.meta, in_store.meta, "the store's snapshot still serves");
        assert!(files(&snapshots).is_empty());

        machine.apply(entries(&[publish("b", "b1", 20)], 2)).await.unwrap();
        let first = machine.get_snapshot_builder().await.build_snapshot().await.unwrap();
        assert_eq!(files(&snapshots).len(), 1);
        assert_eq!(kv.get(crate::keys::SNAPSHOT_DATA).unwrap(), None, "the data is no longer in the store");
        machine.apply(entries(&[publish("c", "c1", 30)], 3)).await.unwrap();
        let second = machine.get_snapshot_builder().await.build_snapshot().await.unwrap();
        let data = second.snapshot.into_bytes().await.unwrap();
        assert_eq!(files(&snapshots), vec![format!("{}.snap", second.meta.snapshot_id)], "the older file is gone");
        assert_ne!(first.meta, second.meta);

        let mut reopened =
            StateMachine::open(Arc::clone(&kv), AppliedState::new()).unwrap().keep_snapshots_in(&snapshots).unwrap();
        let current = reopened.get_current_snapshot().await.unwrap().unwrap();
        assert_eq!(current.meta, second.meta);
        assert_eq!(current.snapshot.into_bytes().await.unwrap(), data);

        // A fresh node installing it keeps it as its own file, with the same state.
        let fresh_dir = dir.path().join("fresh");
        let fresh_kv: Arc<dyn KvStore> = Arc::new(store_mem::MemStore::new());
        let installed = AppliedState::new();
        let mut fresh = StateMachine::open(Arc::clone(&fresh_kv), installed.clone())
            .unwrap()
            .keep_snapshots_in(&fresh_dir)
            .unwrap();
        fresh.install_snapshot(&second.meta, Box::new(SnapshotData::buffer(data.clone()))).await.unwrap();
        assert_eq!(summary(&installed, &fresh_kv), summary(&state, &kv));
        assert_eq!(files(&fresh_dir).len(), 1);
        assert_eq!(fresh.get_current_snapshot().await.unwrap().unwrap().snapshot.into_bytes().await.unwrap(), data);
    }

    /// A snapshot sent by the leader is written to a file as its chunks arrive (never held
    /// whole in memory where snapshots are files), installed from it, and kept as the
    /// node's own snapshot; nothing of the received file is left beside it.
    #[tokio::test]
    async fn a_received_snapshot_goes_to_a_file_as_it_arrives_and_installs_from_it() {
        use tokio::io::AsyncWriteExt;

        let kv: Arc<dyn KvStore> = Arc::new(store_mem::MemStore::new());
        let state = AppliedState::new();
        let dir = tempfile::tempdir().unwrap();
        let mut leader = StateMachine::open(Arc::clone(&kv), state.clone())
            .unwrap()
            .keep_snapshots_in(&dir.path().join("leader"))
            .unwrap();
        let commands: Vec<Command> =
            (0..300).map(|i| publish(&format!("d{i}"), &"x".repeat(i + 1), 10 + i as u64)).collect();
        leader.apply(entries(&commands, 1)).await.unwrap();
        let sent = leader.get_snapshot_builder().await.build_snapshot().await.unwrap();
        let bytes = sent.snapshot.into_bytes().await.unwrap();

        let follower_dir = dir.path().join("follower");
        let follower_kv: Arc<dyn KvStore> = Arc::new(store_mem::MemStore::new());
        let installed = AppliedState::new();
        let mut follower = StateMachine::open(Arc::clone(&follower_kv), installed.clone())
            .unwrap()
            .keep_snapshots_in(&follower_dir)
            .unwrap();
        let mut receiving = follower.begin_receiving_snapshot().await.unwrap();
        assert!(matches!(*receiving, SnapshotData::File(_)), "received into memory where snapshots are files");
        for chunk in bytes.chunks(1_000) {
            receiving.write_all(chunk).await.unwrap();
        }
        receiving.flush().await.unwrap();
        follower.install_snapshot(&sent.meta, receiving).await.unwrap();

        assert_eq!(summary(&installed, &follower_kv), summary(&state, &kv));
        let names: Vec<String> = std::fs::read_dir(&follower_dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, [format!("{}.snap", sent.meta.snapshot_id)]);
        let kept = follower.get_current_snapshot().await.unwrap().unwrap();
        assert_eq!(kept.snapshot.into_bytes().await.unwrap(), bytes);

        // A damaged one (cut short) is refused and changes nothing.
        let mut receiving = follower.begin_receiving_snapshot().await.unwrap();
        receiving.write_all(&bytes[..bytes.len() / 2]).await.unwrap();
        receiving.flush().await.unwrap();
        assert!(follower.install_snapshot(&sent.meta, receiving).await.is_err());
        assert_eq!(summary(&installed, &follower_kv), summary(&state, &kv));
    }

    /// A snapshot in a format version this nacosd does not know stops start-up (and an
    /// install) with its name and version, instead of being misread.
    #[tokio::test]
    async fn a_snapshot_of_an_unknown_format_version_is_refused_by_name() {
        let kv: Arc<dyn KvStore> = Arc::new(store_mem::MemStore::new());
        let dir = tempfile::tempdir().unwrap();
        let mut machine =
            StateMachine::open(Arc::clone(&kv), AppliedState::new()).unwrap().keep_snapshots_in(dir.path()).unwrap();
        machine.apply(entries(&[publish("a", "a1", 10)], 1)).await.unwrap();
        let built = machine.get_snapshot_builder().await.build_snapshot().await.unwrap();
        let name = format!("{}.snap", built.meta.snapshot_id);
        let data = std::fs::read(dir.path().join(&name)).unwrap();
        assert!(data.starts_with(b"nacosd-snapshot\n\0\0\0\x02"), "{:?}", &data[..20]);
        let mut future = data.clone();
        future[19] = 3;
        std::fs::write(dir.path().join(&name), &future).unwrap();

        let refused = StateMachine::open(Arc::clone(&kv), AppliedState::new()).unwrap().keep_snapshots_in(dir.path());
        let message = format!("{:?}", refused.err().expect("start-up stops"));
        assert!(message.contains("format version 3") && message.contains(&built.meta.snapshot_id), "{message}");

        let fresh_kv: Arc<dyn KvStore> = Arc::new(store_mem::MemStore::new());
        let mut fresh = StateMachine::open(fresh_kv, AppliedState::new()).unwrap();
        let install = fresh.install_snapshot(&built.meta, Box::new(SnapshotData::buffer(future))).await;
        assert!(format!("{:?}", install.unwrap_err()).contains("format version 3"));
    }
}
