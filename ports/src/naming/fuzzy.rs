//! Service fuzzy watch (Nacos 3.x): a connection's patterns, the sync when it watches, and
//! the notices when a matching service comes into being or goes. What a watcher was told
//! lives in the domain's table; the push round compares it with what exists.

use std::collections::BTreeSet;

use domain::config::ConnectionId;
use domain::fuzzy_watch::{FuzzyChange, FuzzyPattern, FuzzyWatchError, MAX_KEYS_PER_PATTERN};
use domain::naming::fuzzy_watch::{service_key, watched};
use domain::naming::ServiceKey;

use super::NamingApp;

/// One notice owed to a watcher: the service key and how it changed.
pub(super) type FuzzyNotice = (ConnectionId, String, FuzzyChange);

impl NamingApp {
    pub(super) fn start_fuzzy_watch(
        &self,
        connection: &ConnectionId,
        pattern: &str,
        received: &BTreeSet<String>,
        initializing: bool,
    ) -> Result<(), FuzzyWatchError> {
        let pattern = FuzzyPattern::parse(pattern, "groupKeyPattern")?;
        let services = self.listed_services(|key| pattern.namespace_is(key.namespace.as_str()));
        let plan = {
            let mut inner = self.inner();
            let keys: Vec<(&ServiceKey, String)> = services.iter().map(|key| (key, service_key(key))).collect();
            let existing = keys.iter().map(|(key, wire)| watched(key, wire));
            inner.fuzzy.watch(connection, pattern.clone(), existing, received)?
        };
        for pusher in self.pushers() {
            pusher.fuzzy_watch_sync(connection, pattern.as_str(), plan.changes.clone(), initializing);
        }
        if plan.over_limit {
            return Err(FuzzyWatchError::MatchCountOverLimit { limit: MAX_KEYS_PER_PATTERN });
        }
        Ok(())
    }

    pub(super) fn cancel_fuzzy_watch(&self, connection: &ConnectionId, pattern: &str) -> Result<(), FuzzyWatchError> {
        let pattern = FuzzyPattern::parse(pattern, "groupKeyPattern")?;
        self.inner().fuzzy.cancel(connection, &pattern);
        Ok(())
    }

    /// The notices `services` (changed since the last round) owe fuzzy watchers: each one's
    /// existence now against what its watchers were told.
    pub(super) fn fuzzy_notices(&self, services: &BTreeSet<ServiceKey>) -> Vec<FuzzyNotice> {
        if self.inner().fuzzy.is_empty() {
            return Vec::new();
        }
        let stored: Vec<bool> =
            self.state.read_with(|state| services.iter().map(|service| state.naming.get(service).is_some()).collect());
        let mut inner = self.inner();
        let mut notices = Vec::new();
        for (service, stored) in services.iter().zip(stored) {
            let exists = stored || inner.ephemeral.has_instances(service);
            let wire = service_key(service);
            for (connection, change) in inner.fuzzy.observe(&watched(service, &wire), exists) {
                notices.push((connection, wire.clone(), change));
            }
        }
        notices
    }
}
