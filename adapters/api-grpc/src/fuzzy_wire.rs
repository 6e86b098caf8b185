//! The wire form of fuzzy watch notices (Nacos 3.x), for configs and services alike: the
//! syncs (`...FuzzyWatchSyncRequest`, in batches, the initial one closed by a
//! `FINISH_FUZZY_WATCH_INIT_NOTIFY`) and the change notices. The two modules differ only in
//! names, which [`Module`] holds.

use domain::fuzzy_watch::FuzzyChange;
use serde_json::{json, Value};

/// Most keys in one sync request (Java sends its syncs in batches too).
const SYNC_BATCH: usize = 100;

/// The names one module's fuzzy watch uses on the wire.
pub(crate) struct Module {
    module: &'static str,
    pub(crate) sync_request: &'static str,
    pub(crate) change_request: &'static str,
    /// The field that names a key (`groupKey`, `serviceKey`).
    key_field: &'static str,
    added: &'static str,
    removed: &'static str,
    /// What a change notice calls a key that came into being.
    added_notice: &'static str,
    /// The field of a change notice that says how the key changed.
    change_field: &'static str,
}

pub(crate) const CONFIG: Module = Module {
    module: "config",
    sync_request: "ConfigFuzzyWatchSyncRequest",
    change_request: "ConfigFuzzyWatchChangeNotifyRequest",
    key_field: "groupKey",
    added: "ADD_CONFIG",
    removed: "DELETE_CONFIG",
    // Java's config notice names a config that came into being `CONFIG_CHANGED`.
    added_notice: "CONFIG_CHANGED",
    change_field: "changeType",
};

pub(crate) const NAMING: Module = Module {
    module: "naming",
    sync_request: "NamingFuzzyWatchSyncRequest",
    change_request: "NamingFuzzyWatchChangeNotifyRequest",
    key_field: "serviceKey",
    added: "ADD_SERVICE",
    removed: "DELETE_SERVICE",
    added_notice: "ADD_SERVICE",
    change_field: "changedType",
};

impl Module {
    /// The bodies of one sync, to be sent in order.
    pub(crate) fn sync_bodies(
        &self,
        pattern: &str,
        changes: &[(String, FuzzyChange)],
        initializing: bool,
    ) -> Vec<Value> {
        let sync_type = if initializing { "FUZZY_WATCH_INIT_NOTIFY" } else { "FUZZY_WATCH_DIFF_SYNC_NOTIFY" };
        let total = changes.len().div_ceil(SYNC_BATCH);
        let mut bodies: Vec<Value> = changes
            .chunks(SYNC_BATCH)
            .enumerate()
            .map(|(n, batch)| {
                let contexts: Vec<Value> = batch
                    .iter()
                    .map(|(key, change)| {
                        let changed = match change {
                            FuzzyChange::Added => self.added,
                            FuzzyChange::Removed => self.removed,
                        };
                        json!({ self.key_field: key, "changedType": changed })
                    })
                    .collect();
                json!({
                    "module": self.module, "groupKeyPattern": pattern, "syncType": sync_type,
                    "contexts": contexts, "totalBatch": total, "currentBatch": n + 1,
                })
            })
            .collect();
        if initializing {
            bodies.push(json!({
                "module": self.module, "groupKeyPattern": pattern,
                "syncType": "FINISH_FUZZY_WATCH_INIT_NOTIFY", "contexts": [],
            }));
        }
        bodies
    }

    /// The body of a change notice.
    pub(crate) fn change_body(&self, key: &str, change: FuzzyChange) -> Value {
        let changed = match change {
            FuzzyChange::Added => self.added_notice,
            FuzzyChange::Removed => self.removed,
        };
        json!({
            "module": self.module, self.key_field: key, self.change_field: changed,
            "syncType": "FUZZY_WATCH_RESOURCE_CHANGED",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sync_goes_in_numbered_batches_and_an_initial_one_is_closed() {
        let changes: Vec<(String, FuzzyChange)> =
            (0..150).map(|n| (format!("public@@G@@s{n}"), FuzzyChange::Added)).collect();
        let bodies = NAMING.sync_bodies("public>>G>>*", &changes, true);
        assert_eq!(bodies.len(), 3);
        assert_eq!(bodies[0]["contexts"].as_array().map(Vec::len), Some(100));
        assert_eq!(bodies[1]["currentBatch"], 2);
        assert_eq!(bodies[1]["totalBatch"], 2);
        assert_eq!(bodies[0]["contexts"][0]["serviceKey"], "public@@G@@s0");
        assert_eq!(bodies[0]["contexts"][0]["changedType"], "ADD_SERVICE");
        assert_eq!(bodies[2]["syncType"], "FINISH_FUZZY_WATCH_INIT_NOTIFY");
        let diff = CONFIG.sync_bodies("public>>G>>*", &[("a+G+public".into(), FuzzyChange::Removed)], false);
        assert_eq!(diff.len(), 1);
        assert_eq!(diff[0]["syncType"], "FUZZY_WATCH_DIFF_SYNC_NOTIFY");
        assert_eq!(diff[0]["contexts"][0]["groupKey"], "a+G+public");
        assert_eq!(diff[0]["contexts"][0]["changedType"], "DELETE_CONFIG");
    }

    #[test]
    fn change_notices_use_each_module_s_words() {
        let config = CONFIG.change_body("a+G+public", FuzzyChange::Added);
        assert_eq!(
            (config["groupKey"].as_str(), config["changeType"].as_str()),
            (Some("a+G+public"), Some("CONFIG_CHANGED"))
        );
        let naming = NAMING.change_body("public@@G@@s", FuzzyChange::Removed);
        assert_eq!(naming["serviceKey"], "public@@G@@s");
        assert_eq!(naming["changedType"], "DELETE_SERVICE");
        assert_eq!(naming["module"], "naming");
    }
}
