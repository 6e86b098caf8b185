//! Config listeners: registrations by client connections, and who to tell of a change.

use std::sync::{Arc, Mutex, MutexGuard};

use domain::config::{ConfigKey, ConnectionId, ListenContext, ListenError, ListenerTable, PushTarget, Registration};

use crate::applied::{AppliedState, StateObserver};

/// Delivers server-initiated messages to connected clients (driven port).
///
/// ### To ensure correctness
/// `notify_config_changed` only queues: it must not block the caller, which is the raft
/// apply path. Delivery, acknowledgement and retries are the channel's job.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait ClientChannel: Send + Sync {
    fn notify_config_changed(&self, target: &PushTarget, key: &ConfigKey);
}

/// The listen registrations of every connection, and the rule that turns a change into
/// pushes.
pub struct ConfigListeners {
    /// A std lock: never held across an `.await`; every critical section is a map update.
    table: Mutex<ListenerTable>,
    state: AppliedState,
    channel: Arc<dyn ClientChannel>,
    max_per_connection: usize,
}

impl ConfigListeners {
    pub fn new(state: AppliedState, channel: Arc<dyn ClientChannel>, max_per_connection: usize) -> Self {
        Self { table: Mutex::new(ListenerTable::default()), state, channel, max_per_connection }
    }

    /// Registers listens for a connection; answers the contexts whose md5 is stale.
    pub fn listen(
        &self,
        connection: &ConnectionId,
        client_ip: &str,
        contexts: &[ListenContext],
    ) -> Result<Vec<ListenContext>, ListenError> {
        let state = &self.state;
        self.table().listen(connection, client_ip, contexts, self.max_per_connection, |key| {
            state.config_md5_for(key, client_ip)
        })
    }

    /// What connections from `client_ip` listen to, with the md5 each holds.
    pub fn registrations_of_ip(&self, client_ip: &str) -> Vec<(ConfigKey, Registration)> {
        self.table().registrations_of_ip(client_ip)
    }

    /// Who listens to `key`: connection, client ip and the md5 it holds.
    pub fn registrations(&self, key: &ConfigKey) -> Vec<(ConnectionId, Registration)> {
        self.table().registrations(key)
    }

    pub fn unlisten(&self, connection: &ConnectionId, keys: &[ConfigKey]) {
        self.table().unlisten(connection, keys);
    }

    /// A connection closed: forget all it listened to.
    pub fn connection_closed(&self, connection: &ConnectionId) {
        self.table().drop_connection(connection);
    }

    pub fn listeners_of(&self, key: &ConfigKey) -> Vec<PushTarget> {
        self.table().targets(key)
    }

    pub fn keys_of(&self, connection: &ConnectionId) -> Vec<ConfigKey> {
        self.table().keys_of(connection)
    }

    fn table(&self) -> MutexGuard<'_, ListenerTable> {
        // Every table operation completes or leaves the table unchanged; a poisoned lock
        // still guards a consistent table.
        self.table.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl StateObserver for ConfigListeners {
    fn config_changed(&self, key: &ConfigKey) {
        for target in self.listeners_of(key) {
            self.channel.notify_config_changed(&target, key);
        }
    }
}

#[cfg(test)]
mod tests {
    use domain::config::{ConfigLimits, PublishConfig, PublishParams};
    use domain::{config::ConfigCommand, Command, Millis};

    use super::*;

    #[test]
    fn a_change_is_pushed_to_each_listener_with_its_own_tenant() {
        let state = AppliedState::new();
        let mut channel = MockClientChannel::new();
        channel
            .expect_notify_config_changed()
            .withf(|target, key| {
                target.connection.as_str() == "c1" && target.tenant_as_sent == "public" && key.data_id.as_str() == "d"
            })
            .times(1)
            .return_const(());
        let listeners = Arc::new(ConfigListeners::new(state.clone(), Arc::new(channel), 100));
        state.observe(listeners.clone());
        let key = ConfigKey::parse(Some("public"), Some("DEFAULT_GROUP"), Some("d")).unwrap();
        let context = ListenContext { key, tenant_as_sent: "public".to_owned(), md5: String::new() };
        assert!(listeners.listen(&ConnectionId::new("c1"), "10.0.0.1", &[context]).unwrap().is_empty());

        let params = PublishParams {
            data_id: Some("d"),
            group: Some("DEFAULT_GROUP"),
            content: Some("v"),
            ..Default::default()
        };
        let publish = PublishConfig::parse(&params, ConfigLimits::default()).unwrap();
        state.apply(&Command::Config(ConfigCommand::Publish { publish, now: Millis(1) }));
    }
}
