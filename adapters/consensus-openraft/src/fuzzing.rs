//! Entry points for fuzzers: the readers of what storage and peers hand back, from raw
//! bytes. A raft log entry and a snapshot arrive from disk or from the leader; either may be
//! damaged, and reading one must answer an error, never panic.
//!
//! The same functions run under `cargo fuzz` (the `fuzz/` crate) and under proptest in
//! this crate's tests.

use domain::State;
use ports::kv::WriteBatch;

use crate::log_store::decode;
use crate::record::LogRecord;
use crate::state_machine::StateMachine;
use crate::state_rows::{read_snapshot_rows, StateLoader};

/// A raft log record: decoded, its commands read, and applied to an empty state and to the
/// state they leave, so every rule of the domain sees arbitrary (but well-typed) commands.
pub fn log_record(bytes: &[u8]) {
    let Ok(record) = decode::<LogRecord>(bytes) else { return };
    let Ok(commands) = record.commands() else { return };
    let mut state = State::default();
    let mut batch = WriteBatch::default();
    for command in commands.iter().chain(&commands) {
        let outcome = state.apply(command);
        let _ = StateMachine::persist(&mut batch, &outcome, &|_| Ok(Vec::new()));
    }
}

/// A snapshot, of either format version: its rows read and taken into a state, as an
/// install does.
pub fn snapshot(bytes: &[u8]) {
    let mut loader = StateLoader::default();
    let _ = read_snapshot_rows(bytes, &mut |key, value| loader.row(&key, &value));
    let _ = loader.finish();
}

#[cfg(test)]
mod tests {
    use domain::auth::{AuthCommand, Permission};
    use domain::config::{ConfigCommand, ConfigKey, ConfigLimits, GrayRule, PublishConfig, PublishParams};
    use domain::namespace::{NamespaceCommand, NamespaceInfo};
    use domain::naming::{InstanceDraft, NamingCommand, ServiceKey};
    use domain::{Command, Millis, State};
    use ports::kv::{Durability, KvStore, WriteBatch};
    use proptest::prelude::*;

    use crate::log_store::{decode, encode};
    use crate::record::LogRecord;
    use crate::state_machine::{load_state, StateMachine};
    use crate::state_rows::{read_snapshot_rows, write_snapshot_rows, StateLoader};

    /// One command of each kind a client's write becomes.
    fn commands() -> Vec<Command> {
        let publish = PublishConfig::parse(
            &PublishParams {
                data_id: Some("app.yaml"),
                group: Some("DEFAULT_GROUP"),
                content: Some("port: 8080"),
                tags: Some("a,b"),
                ..PublishParams::default()
            },
            ConfigLimits::default(),
        )
        .unwrap();
        let key = ConfigKey::parse(None, Some("G"), Some("gone")).unwrap();
        let service = ServiceKey::parse(Some("dev"), Some("G"), Some("svc")).unwrap();
        let draft = InstanceDraft {
            ip: Some("127.0.0.1".into()),
            port: Some(8080),
            ephemeral: Some(false),
            metadata: [("zone".to_owned(), "a".to_owned())].into(),
            ..InstanceDraft::default()
        };
        let info = NamespaceInfo { id: "dev".into(), name: "Dev".into(), desc: String::new(), created: Millis(1) };
        vec![
            Command::Config(ConfigCommand::Publish { publish: publish.clone(), now: Millis(1) }),
            Command::Config(ConfigCommand::PublishGray {
                publish: publish.clone(),
                rule: GrayRule::Beta { ips: vec!["127.0.0.2".into()] },
                now: Millis(2),
            }),
            Command::Config(ConfigCommand::PublishGray {
                publish,
                rule: GrayRule::Tag { tag: "blue".into() },
                now: Millis(2),
            }),
            Command::Config(ConfigCommand::StopGray { key: key.clone(), name: "beta".into(), now: Millis(2) }),
            Command::Config(ConfigCommand::StopGray { key: key.clone(), name: "tag_blue".into(), now: Millis(2) }),
            Command::Config(ConfigCommand::Remove { key, now: Millis(3) }),
            Command::Namespace(NamespaceCommand::Create(info)),
            Command::SetSwitch { name: "checkTimes".into(), value: "5".into() },
            Command::Auth(AuthCommand::InitAdmin { password_hash: "$2b$10$admin".into() }),
            Command::Auth(AuthCommand::CreateUser { username: "dev".into(), password_hash: "$2b$10$dev".into() }),
            Command::Auth(AuthCommand::CreateUser { username: "gone".into(), password_hash: "$2b$10$x".into() }),
            Command::Auth(AuthCommand::BindRole { role: "DEV".into(), username: "dev".into() }),
            Command::Auth(AuthCommand::BindRole { role: "DEV".into(), username: "gone".into() }),
            Command::Auth(AuthCommand::AddPermission(Permission {
                role: "DEV".into(),
                resource: "dev:*:*".into(),
                action: "rw".into(),
            })),
            Command::Auth(AuthCommand::DeleteUser { username: "gone".into() }),
            Command::Naming(NamingCommand::RegisterInstance {
                service,
                instance: draft.validate().unwrap(),
                now: Millis(4),
            }),
        ]
    }

    /// Real records and a real state file read back as they were written; with
    /// `NACOSD_FUZZ_SEEDS=DIR` they are also written there, as the fuzzers' seed corpus
    /// (`scripts/fuzz.sh`), so the seeds follow the format wherever it goes.
    #[test]
    fn real_records_and_snapshots_read_back_and_seed_the_fuzzers() {
        let commands = commands();
        let mut records: Vec<Vec<u8>> =
            commands.iter().map(|command| encode(&LogRecord::of(&[command])).unwrap()).collect();
        records.push(encode(&LogRecord::of(&commands.iter().collect::<Vec<_>>())).unwrap());
        for record in &records {
            assert!(decode::<LogRecord>(record).unwrap().commands().is_ok());
        }

        let (mut state, mut batch, store) = (State::default(), WriteBatch::new(), store_mem::MemStore::new());
        for command in &commands {
            StateMachine::persist(&mut batch, &state.apply(command), &|range| store.scan(range)).unwrap();
        }
        store.write(batch, Durability::Buffered).unwrap();
        let mut snapshot = Vec::new();
        write_snapshot_rows(&*store.snapshot().unwrap(), &mut snapshot).unwrap();
        let mut loader = StateLoader::default();
        read_snapshot_rows(&snapshot, &mut |key, value| loader.row(&key, &value)).unwrap();
        let restored = loader.finish();
        assert_eq!(restored.config.len(), state.config.len());
        assert_eq!(load_state(&store).unwrap().config.len(), state.config.len());
        // Users, bindings and permissions come back from rows and from the snapshot alike,
        // and a deleted user's rows are gone.
        let auth = |state: &State| {
            let users: Vec<(String, String)> =
                state.auth.users().map(|(name, hash)| (name.to_owned(), hash.to_owned())).collect();
            let bindings: Vec<(String, String)> =
                state.auth.bindings().map(|(role, user)| (role.to_owned(), user.to_owned())).collect();
            (users, bindings, state.auth.permissions().cloned().collect::<Vec<_>>())
        };
        assert_eq!(auth(&restored), auth(&state));
        assert_eq!(auth(&load_state(&store).unwrap()), auth(&state));
        assert_eq!(auth(&state).0.len(), 2, "nacos and dev");
        assert_eq!(auth(&state).1.len(), 2, "ROLE_ADMIN and DEV");

        if let Ok(dir) = std::env::var("NACOSD_FUZZ_SEEDS") {
            let write = |target: &str, name: String, bytes: &[u8]| {
                let dir = std::path::Path::new(&dir).join(target);
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(dir.join(name), bytes).unwrap();
            };
            for (i, record) in records.iter().enumerate() {
                write("raft_log_record", format!("record-{i}"), record);
            }
            write("raft_snapshot", "state".to_owned(), &snapshot);
        }
    }

    /// JSON shaped like the records: tags and field names the decoders know, values of
    /// every kind, so generated input gets past the first brace.
    fn record_json() -> impl Strategy<Value = String> {
        const NAMES: &[&str] = &[
            "op",
            "namespace",
            "group",
            "data_id",
            "content",
            "md5",
            "key",
            "service",
            "instance",
            "ip",
            "port",
            "cluster",
            "weight",
            "metadata",
            "id",
            "version",
            "configs",
            "history",
            "services",
            "counters",
            "V1",
            "V1Batch",
            "Publish",
            "Remove",
            "RegisterInstance",
            "DeregisterInstance",
            "CreateService",
        ];
        let names = proptest::sample::select(NAMES);
        let leaf = prop_oneof![
            Just("null".to_owned()),
            "-?[0-9]{1,20}",
            "\"[a-zA-Z0-9_.:@ -]{0,12}\"",
            names.clone().prop_map(|name| format!("\"{name}\"")),
            Just("true".to_owned()),
            Just("[]".to_owned()),
        ];
        leaf.prop_recursive(3, 24, 6, move |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(|items| format!("[{}]", items.join(","))),
                proptest::collection::vec((names.clone(), inner), 0..6).prop_map(|fields| {
                    let body: Vec<String> = fields.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
                    format!("{{{}}}", body.join(","))
                }),
            ]
        })
    }

    /// A state row's key: each kind's prefix, the counters, or another, with a tail.
    fn row_key() -> impl Strategy<Value = Vec<u8>> {
        let prefix = proptest::sample::select(vec![
            &b"sm/cfg/"[..],
            b"sm/beta/",
            b"sm/hist/",
            b"sm/hkey/",
            b"sm/ns/",
            b"sm/svc/",
            b"sm/counters",
            b"sm/other/",
        ]);
        (prefix, proptest::collection::vec(any::<u8>(), 0..8)).prop_map(|(prefix, tail)| [prefix, &tail].concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        /// Any bytes as a raft log record are read or refused.
        #[test]
        fn log_records(bytes in prop_oneof![
            record_json().prop_map(String::into_bytes),
            proptest::collection::vec(any::<u8>(), 0..64),
        ]) {
            super::log_record(&bytes);
        }

        /// Any bytes as a snapshot are read or refused: version 1 JSON, and version 2
        /// rows under real and made-up keys holding record-shaped JSON.
        #[test]
        fn snapshots(json in record_json(), rows in proptest::collection::vec((row_key(), record_json()), 0..4)) {
            super::snapshot(format!("{{\"version\":1,{}", json.trim_start_matches('{')).as_bytes());
            super::snapshot(json.as_bytes());
            let mut writer = crate::snapshot_format::RowWriter::new(Vec::new()).unwrap();
            for (key, value) in &rows {
                writer.row(key, value.as_bytes()).unwrap();
            }
            super::snapshot(&writer.finish().unwrap());
        }
    }
}
