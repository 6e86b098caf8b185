//! Config listeners: gRPC connections and HTTP long polls registered on configs, and who
//! to tell of a change. Both protocols go through one table, so they share one definition
//! of "changed for this client" and one limit, and the listener queries see both.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard};

use domain::config::fuzzy_watch::{group_key, watched};
use domain::fuzzy_watch::{FuzzyChange, FuzzyPattern, FuzzyWatchError, FuzzyWatchTable};

use domain::config::{
    ConfigKey, ConnectionId, ListenContext, ListenError, ListenerId, ListenerTable, Reader, Registration,
};

use crate::applied::{AppliedState, StateObserver};

/// Delivers server-initiated messages to connected gRPC clients (driven port).
///
/// ### To ensure correctness
/// `notify_config_changed` only queues: it must not block the caller, which is the raft
/// apply path. Delivery, acknowledgement and retries are the channel's job.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait ClientChannel: Send + Sync {
    fn notify_config_changed(&self, connection: &ConnectionId, tenant_as_sent: &str, key: &ConfigKey);

    /// A fuzzy watch's sync of `pattern`: `changes` in order, in batches, then (when the
    /// client is `initializing`) the end of its initial sync. One delivery, in order.
    fn fuzzy_watch_sync(
        &self,
        connection: &ConnectionId,
        pattern: &str,
        changes: Vec<(String, FuzzyChange)>,
        initializing: bool,
    );

    /// A config matching one of the connection's fuzzy patterns came into being or went.
    fn fuzzy_watch_changed(&self, connection: &ConnectionId, group_key: &str, change: FuzzyChange);
}

/// Wakes a waiting HTTP long poll (driven port). Like [`ClientChannel`], it must not block.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait LongPollWaker: Send + Sync {
    fn wake(&self, poll: u64);
}

/// Listening to configs (driving port): what the gRPC listen handler and the HTTP long
/// poll call.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait ListenService: Send + Sync {
    /// Registers `contexts` for `listener`, all or none; answers those whose md5 differs
    /// from what a client at `client_ip` reading with `tag` (`""`: none) should hold.
    fn listen(
        &self,
        listener: &ListenerId,
        client_ip: &str,
        tag: &str,
        contexts: &[ListenContext],
    ) -> Result<Vec<ListenContext>, ListenError>;

    fn unlisten(&self, listener: &ListenerId, keys: &[ConfigKey]);

    /// What `listener` registered that is stale now (a long poll asks after its wake-up).
    fn stale(&self, listener: &ListenerId) -> Vec<ListenContext>;

    /// The listener is gone (connection closed, poll answered): forget all it listened to.
    fn forget(&self, listener: &ListenerId);

    /// Who listens to `key`: listener, client ip and the md5 it holds.
    fn registrations(&self, key: &ConfigKey) -> Vec<(ListenerId, Registration)>;

    /// What listeners from `client_ip` listen to, with the md5 each holds.
    fn registrations_of_ip(&self, client_ip: &str) -> Vec<(ConfigKey, Registration)>;

    /// How many listeners there are, and how many configs they listen to.
    fn counts(&self) -> (usize, usize);

    /// Starts (or repeats) a fuzzy watch of `pattern` for `connection` and queues its sync
    /// against the keys the client says it has (`received`). `MatchCountOverLimit` means
    /// the watch holds and its sync went out, for the first keys up to the limit.
    fn fuzzy_watch(
        &self,
        connection: &ConnectionId,
        pattern: &str,
        received: BTreeSet<String>,
        initializing: bool,
    ) -> Result<(), FuzzyWatchError>;

    /// Ends a fuzzy watch.
    fn fuzzy_cancel(&self, connection: &ConnectionId, pattern: &str) -> Result<(), FuzzyWatchError>;
}

/// The listen registrations of every listener, and the rule that turns a change into
/// pushes and wake-ups.
pub struct ConfigListeners {
    /// A std lock: never held across an `.await`; every critical section is a map update.
    table: Mutex<ListenerTable>,
    /// Fuzzy watches; a lock of its own, never taken with the table's.
    fuzzy: Mutex<FuzzyWatchTable<ConnectionId>>,
    state: AppliedState,
    channel: Arc<dyn ClientChannel>,
    polls: Arc<dyn LongPollWaker>,
    max_per_listener: usize,
}

impl ConfigListeners {
    pub fn new(
        state: AppliedState,
        channel: Arc<dyn ClientChannel>,
        polls: Arc<dyn LongPollWaker>,
        max_per_listener: usize,
    ) -> Self {
        Self {
            table: Mutex::new(ListenerTable::default()),
            fuzzy: Mutex::default(),
            state,
            channel,
            polls,
            max_per_listener,
        }
    }

    fn table(&self) -> MutexGuard<'_, ListenerTable> {
        // Every table operation completes or leaves the table unchanged; a poisoned lock
        // still guards a consistent table.
        self.table.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl ListenService for ConfigListeners {
    fn listen(
        &self,
        listener: &ListenerId,
        client_ip: &str,
        tag: &str,
        contexts: &[ListenContext],
    ) -> Result<Vec<ListenContext>, ListenError> {
        let state = &self.state;
        let reader = Reader::new(client_ip, tag);
        self.table()
            .listen(listener, &reader, contexts, self.max_per_listener, |key| state.config_md5_for(key, &reader))
    }

    fn unlisten(&self, listener: &ListenerId, keys: &[ConfigKey]) {
        self.table().unlisten(listener, keys);
    }

    fn stale(&self, listener: &ListenerId) -> Vec<ListenContext> {
        let state = &self.state;
        self.table().stale(listener, |key, reader| state.config_md5_for(key, reader))
    }

    fn forget(&self, listener: &ListenerId) {
        self.table().drop_listener(listener);
        if let ListenerId::Connection(connection) = listener {
            self.fuzzy().drop_watcher(connection);
        }
    }

    fn registrations(&self, key: &ConfigKey) -> Vec<(ListenerId, Registration)> {
        self.table().registrations(key)
    }

    fn counts(&self) -> (usize, usize) {
        self.table().counts()
    }

    fn registrations_of_ip(&self, client_ip: &str) -> Vec<(ConfigKey, Registration)> {
        self.table().registrations_of_ip(client_ip)
    }

    fn fuzzy_watch(
        &self,
        connection: &ConnectionId,
        pattern: &str,
        received: BTreeSet<String>,
        initializing: bool,
    ) -> Result<(), FuzzyWatchError> {
        let pattern = FuzzyPattern::parse(pattern, "groupKeyPattern")?;
        let plan = self.state.read_with(|state| {
            let keys: Vec<(&ConfigKey, String)> = state.config.iter().map(|(key, _)| (key, group_key(key))).collect();
            let existing = keys.iter().map(|(key, wire)| watched(key, wire));
            self.fuzzy().watch(connection, pattern.clone(), existing, &received)
        })?;
        self.channel.fuzzy_watch_sync(connection, pattern.as_str(), plan.changes, initializing);
        if plan.over_limit {
            return Err(FuzzyWatchError::MatchCountOverLimit { limit: domain::fuzzy_watch::MAX_KEYS_PER_PATTERN });
        }
        Ok(())
    }

    fn fuzzy_cancel(&self, connection: &ConnectionId, pattern: &str) -> Result<(), FuzzyWatchError> {
        let pattern = FuzzyPattern::parse(pattern, "groupKeyPattern")?;
        self.fuzzy().cancel(connection, &pattern);
        Ok(())
    }
}

impl ConfigListeners {
    fn fuzzy(&self) -> MutexGuard<'_, FuzzyWatchTable<ConnectionId>> {
        // As the table's: every operation completes or changes nothing.
        self.fuzzy.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl StateObserver for ConfigListeners {
    fn config_existence_changed(&self, key: &ConfigKey, exists: bool) {
        let wire = group_key(key);
        let notices = self.fuzzy().observe(&watched(key, &wire), exists);
        for (connection, change) in notices {
            self.channel.fuzzy_watch_changed(&connection, &wire, change);
        }
    }

    fn config_changed(&self, key: &ConfigKey) {
        let targets = self.table().targets(key);
        for target in targets {
            match &target.listener {
                ListenerId::Connection(connection) => {
                    self.channel.notify_config_changed(connection, &target.tenant_as_sent, key);
                }
                ListenerId::LongPoll(poll) => self.polls.wake(*poll),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use domain::config::{ConfigLimits, PublishConfig, PublishParams};
    use domain::{config::ConfigCommand, Command, Millis};

    use super::*;

    fn publish(state: &AppliedState, content: &str) {
        let params = PublishParams {
            data_id: Some("d"),
            group: Some("DEFAULT_GROUP"),
            content: Some(content),
            ..Default::default()
        };
        let publish = PublishConfig::parse(&params, ConfigLimits::default()).unwrap();
        state.apply(&Command::Config(ConfigCommand::Publish { publish, now: Millis(1) }));
    }

    fn context() -> ListenContext {
        let key = ConfigKey::parse(Some("public"), Some("DEFAULT_GROUP"), Some("d")).unwrap();
        ListenContext { key, tenant_as_sent: "public".to_owned(), md5: String::new() }
    }

    #[test]
    fn a_change_is_pushed_to_each_connection_with_its_own_tenant_and_wakes_each_poll() {
        let state = AppliedState::new();
        let mut channel = MockClientChannel::new();
        channel
            .expect_notify_config_changed()
            .withf(|connection, tenant, key| {
                connection.as_str() == "c1" && tenant == "public" && key.data_id.as_str() == "d"
            })
            .times(1)
            .return_const(());
        let mut polls = MockLongPollWaker::new();
        polls.expect_wake().withf(|poll| *poll == 9).times(1).return_const(());
        let listeners = Arc::new(ConfigListeners::new(state.clone(), Arc::new(channel), Arc::new(polls), 100));
        state.observe(listeners.clone());
        let connection = ListenerId::Connection(ConnectionId::new("c1"));
        assert!(listeners.listen(&connection, "10.0.0.1", "", &[context()]).unwrap().is_empty());
        let poll = ListenerId::LongPoll(9);
        assert!(listeners.listen(&poll, "10.0.0.2", "", &[context()]).unwrap().is_empty());
        assert_eq!(listeners.registrations(&context().key).len(), 2, "both kinds are listed");

        publish(&state, "v");
        assert_eq!(listeners.stale(&poll), vec![context()], "the poll now holds an old md5");
        listeners.forget(&poll);
        assert_eq!(listeners.registrations(&context().key).len(), 1);
    }
}
