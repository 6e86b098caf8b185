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
use crate::state_machine::{StateFile, StateMachine};

/// A raft log record: decoded, its commands read, and applied to an empty state and to the
/// state they leave, so every rule of the domain sees arbitrary (but well-typed) commands.
pub fn log_record(bytes: &[u8]) {
    let Ok(record) = decode::<LogRecord>(bytes) else { return };
    let Ok(commands) = record.commands() else { return };
    let mut state = State::default();
    let mut batch = WriteBatch::default();
    for command in commands.iter().chain(&commands) {
        let outcome = state.apply(command);
        let _ = StateMachine::persist(&mut batch, &outcome);
    }
}

/// A snapshot's state file: decoded, turned into rows for the store and into a state.
pub fn snapshot(bytes: &[u8]) {
    let Ok(file) = StateFile::decode(bytes) else { return };
    let mut batch = WriteBatch::default();
    let _ = file.replace_rows(&mut batch);
    let _ = file.into_state();
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

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

        /// Any bytes as a snapshot's state file are read or refused.
        #[test]
        fn snapshots(json in record_json()) {
            super::snapshot(format!("{{\"version\":1,{}", json.trim_start_matches('{')).as_bytes());
            super::snapshot(json.as_bytes());
        }
    }
}
