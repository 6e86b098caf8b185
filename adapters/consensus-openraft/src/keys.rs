//! The key layout of the raft store inside the KV port.
//!
//! | prefix            | holds                                                     |
//! |-------------------|-----------------------------------------------------------|
//! | `raft/vote`       | the vote                                                  |
//! | `raft/committed`  | the last committed log id                                 |
//! | `raft/purged`     | the last purged log id                                    |
//! | `raft/log/` + u64 | log entries, big-endian index so key order is log order   |
//! |                   | (memory engine only: the disk engines keep them in files) |
//! | `sm/applied`      | last applied log id (written with the data it covers)     |
//! | `sm/membership`   | the last applied membership                               |
//! | `sm/cfg/` + key   | one config (namespace, group, data id, NUL-separated)     |
//! | `sm/beta/` + key  | one live gray version of a config: the beta at the key, a tag's at key NUL `tag_<tag>` |
//! | `sm/hist/` + u64  | one config history record, big-endian id                  |
//! | `sm/hkey/`, `sm/htime/` | history indexes: by config, by age (`history_rows.rs`) |
//! | `sm/hindexed`     | the history indexes are complete (written once, at upgrade) |
//! | `sm/ns/` + id     | one custom namespace                                      |
//! | `sm/svc/` + key   | one service with stored metadata and its persistent instances |
//! | `sm/switch/` + name | one registry switch set away from its default             |
//! | `sm/auth/` + kind + parts | a user (`u`), role binding (`r`) or permission (`p`), parts NUL-separated |
//! | `sm/counters`     | the id counters (configs, history)                        |
//! | `snap/current`    | the latest built or installed snapshot                    |

use ports::kv::KeyRange;

pub(crate) const VOTE: &[u8] = b"raft/vote";
pub(crate) const COMMITTED: &[u8] = b"raft/committed";
pub(crate) const PURGED: &[u8] = b"raft/purged";
pub(crate) const LOG_PREFIX: &[u8] = b"raft/log/";
pub(crate) const APPLIED: &[u8] = b"sm/applied";
pub(crate) const MEMBERSHIP: &[u8] = b"sm/membership";
pub(crate) const CONFIG_PREFIX: &[u8] = b"sm/cfg/";
pub(crate) const HISTORY_PREFIX: &[u8] = b"sm/hist/";
pub(crate) const HISTORY_BY_KEY_PREFIX: &[u8] = b"sm/hkey/";
pub(crate) const HISTORY_BY_TIME_PREFIX: &[u8] = b"sm/htime/";
pub(crate) const HISTORY_INDEXED: &[u8] = b"sm/hindexed";
pub(crate) const BETA_PREFIX: &[u8] = b"sm/beta/";
pub(crate) const NAMESPACE_PREFIX: &[u8] = b"sm/ns/";
pub(crate) const SERVICE_PREFIX: &[u8] = b"sm/svc/";
pub(crate) const SWITCH_PREFIX: &[u8] = b"sm/switch/";
pub(crate) const AUTH_PREFIX: &[u8] = b"sm/auth/";
pub(crate) const COUNTERS: &[u8] = b"sm/counters";
/// The current snapshot's meta (JSON) and data (its bytes, in either format version).
pub(crate) const SNAPSHOT_META: &[u8] = b"snap/meta";
pub(crate) const SNAPSHOT_DATA: &[u8] = b"snap/data";
/// Or, instead of the data, the name of the file holding it (see `snapshot_store.rs`).
pub(crate) const SNAPSHOT_FILE: &[u8] = b"snap/file";
/// Before the split: meta and data in one JSON document, the data as an escaped string.
/// Read if it is all there is; replaced by the next snapshot.
pub(crate) const LEGACY_SNAPSHOT: &[u8] = b"snap/current";

pub(crate) fn log_key(index: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(LOG_PREFIX.len() + 8);
    key.extend_from_slice(LOG_PREFIX);
    key.extend_from_slice(&index.to_be_bytes());
    key
}

/// Log keys from `start` (inclusive) to `end` (exclusive; `None` = the end of the log).
pub(crate) fn log_range(start: u64, end: Option<u64>) -> KeyRange {
    match end {
        Some(end) => KeyRange::new(log_key(start), log_key(end)),
        None => KeyRange { start: log_key(start), end: KeyRange::prefix(LOG_PREFIX).end },
    }
}

/// The row key of one config: parts separated by NUL, which no valid name contains.
pub(crate) fn config_key(namespace: &str, group: &str, data_id: &str) -> Vec<u8> {
    keyed(CONFIG_PREFIX, namespace, group, data_id)
}

pub(crate) fn service_key(namespace: &str, group: &str, name: &str) -> Vec<u8> {
    keyed(SERVICE_PREFIX, namespace, group, name)
}

pub(crate) fn beta_key(namespace: &str, group: &str, data_id: &str) -> Vec<u8> {
    keyed(BETA_PREFIX, namespace, group, data_id)
}

/// The start of the by-config history index rows of one config (`history_rows.rs` ends it).
pub(crate) fn history_by_key_prefix(namespace: &str, group: &str, data_id: &str) -> Vec<u8> {
    keyed(HISTORY_BY_KEY_PREFIX, namespace, group, data_id)
}

/// The row of the gray version `name` of a config: the beta's where it always was, other
/// versions after a NUL and their name.
pub(crate) fn gray_key(namespace: &str, group: &str, data_id: &str, name: &str) -> Vec<u8> {
    let mut key = beta_key(namespace, group, data_id);
    if name != domain::config::BETA_GRAY_NAME {
        key.push(0);
        key.extend_from_slice(name.as_bytes());
    }
    key
}

fn keyed(prefix: &[u8], namespace: &str, group: &str, data_id: &str) -> Vec<u8> {
    let mut key = prefix.to_vec();
    for (i, part) in [namespace, group, data_id].into_iter().enumerate() {
        if i > 0 {
            key.push(0);
        }
        key.extend_from_slice(part.as_bytes());
    }
    key
}

/// A user's, role binding's or permission's row key: the prefix, its kind, then its parts,
/// NUL-separated (no name, resource or action holds a control character).
pub(crate) fn auth_key(kind: u8, parts: &[&str]) -> Vec<u8> {
    let mut key = AUTH_PREFIX.to_vec();
    key.push(kind);
    for part in parts {
        key.push(0);
        key.extend_from_slice(part.as_bytes());
    }
    key
}

pub(crate) fn switch_key(name: &str) -> Vec<u8> {
    let mut key = SWITCH_PREFIX.to_vec();
    key.extend_from_slice(name.as_bytes());
    key
}

pub(crate) fn history_key(id: u64) -> Vec<u8> {
    let mut key = HISTORY_PREFIX.to_vec();
    key.extend_from_slice(&id.to_be_bytes());
    key
}

pub(crate) fn namespace_key(id: &str) -> Vec<u8> {
    let mut key = NAMESPACE_PREFIX.to_vec();
    key.extend_from_slice(id.as_bytes());
    key
}
