//! Who listens to which config: the registrations behind change pushes.
//!
//! A listener is a gRPC client connection or an HTTP long poll: both register keys with the
//! md5 they hold, so both share one definition of "changed for this client" and one
//! limit. The table answers which keys are stale, and, when a key changes, whom to tell.
//! The namespace a client spelled is kept per registration, because pushes must echo it
//! back exactly (`""` stays `""`, `"public"` stays `"public"`): SDKs look keys up by it.

use std::collections::{BTreeMap, BTreeSet};

use super::{ConfigKey, Reader};

/// A client connection's id, as the transport assigned it. Shared (`Arc`): it is copied
/// into every listen registration and every instance the connection owns.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnectionId(std::sync::Arc<str>);

impl ConnectionId {
    pub fn new(id: impl Into<String>) -> Self {
        Self(std::sync::Arc::from(id.into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Who listens: a gRPC connection (until it closes) or one HTTP long poll (until it is
/// answered).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ListenerId {
    Connection(ConnectionId),
    LongPoll(u64),
}

/// One listen registration as a connection asked for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenContext {
    pub key: ConfigKey,
    /// The tenant exactly as the client sent it, for echoing in pushes.
    pub tenant_as_sent: String,
    /// The md5 the client holds; `""` when it holds nothing.
    pub md5: String,
}

/// What the table keeps per (key, connection).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub tenant_as_sent: String,
    /// The md5 the client last said it holds.
    pub md5: String,
    pub client_ip: String,
    /// The tag the client reads with (`""`: none): with its ip, what gray rules match.
    pub tag: String,
}

impl Registration {
    /// The client as gray rules see it.
    pub fn reader(&self) -> Reader<'_> {
        Reader::new(&self.client_ip, &self.tag)
    }
}

/// Where to send a change notification: a listener and the tenant it expects back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushTarget {
    pub listener: ListenerId,
    pub tenant_as_sent: String,
}

/// Why a listen was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListenError {
    #[error("too many listened configs on one listener: the limit is {limit}")]
    TooManyListeners { limit: usize },
}

/// Every registration, indexed both ways.
#[derive(Debug, Clone, Default)]
pub struct ListenerTable {
    by_key: BTreeMap<ConfigKey, BTreeMap<ListenerId, Registration>>,
    by_listener: BTreeMap<ListenerId, BTreeSet<ConfigKey>>,
}

impl ListenerTable {
    /// Registers `contexts` for `connection`, all or none, and returns those whose md5
    /// differs from the current one (`current_md5` gives `""` for an absent config).
    pub fn listen(
        &mut self,
        listener: &ListenerId,
        reader: &Reader<'_>,
        contexts: &[ListenContext],
        limit: usize,
        current_md5: impl Fn(&ConfigKey) -> String,
    ) -> Result<Vec<ListenContext>, ListenError> {
        let held = self.by_listener.get(listener);
        let new_keys: BTreeSet<&ConfigKey> = contexts
            .iter()
            .map(|context| &context.key)
            .filter(|key| !held.is_some_and(|held| held.contains(*key)))
            .collect();
        if held.map_or(0, BTreeSet::len) + new_keys.len() > limit {
            return Err(ListenError::TooManyListeners { limit });
        }
        let mut changed = Vec::new();
        for context in contexts {
            let registration = Registration {
                tenant_as_sent: context.tenant_as_sent.clone(),
                md5: context.md5.clone(),
                client_ip: reader.ip.to_owned(),
                tag: reader.tag.to_owned(),
            };
            self.by_key.entry(context.key.clone()).or_default().insert(listener.clone(), registration);
            self.by_listener.entry(listener.clone()).or_default().insert(context.key.clone());
            if current_md5(&context.key) != context.md5 {
                changed.push(context.clone());
            }
        }
        Ok(changed)
    }

    pub fn unlisten(&mut self, listener: &ListenerId, keys: &[ConfigKey]) {
        for key in keys {
            self.remove(listener, key);
            if let Some(held) = self.by_listener.get_mut(listener) {
                held.remove(key);
                if held.is_empty() {
                    self.by_listener.remove(listener);
                }
            }
        }
    }

    /// Drops every registration of a listener that went away.
    /// How many listeners there are (gRPC connections and long polls that listen to at
    /// least one config), and how many configs are listened to.
    pub fn counts(&self) -> (usize, usize) {
        (self.by_listener.len(), self.by_key.len())
    }

    pub fn drop_listener(&mut self, listener: &ListenerId) {
        for key in self.by_listener.remove(listener).unwrap_or_default() {
            self.remove(listener, &key);
        }
    }

    /// Who must hear that `key` changed.
    pub fn targets(&self, key: &ConfigKey) -> Vec<PushTarget> {
        self.by_key.get(key).map_or_else(Vec::new, |listeners| {
            listeners
                .iter()
                .map(|(listener, registration)| PushTarget {
                    listener: listener.clone(),
                    tenant_as_sent: registration.tenant_as_sent.clone(),
                })
                .collect()
        })
    }

    /// Every registration of connections from `client_ip`, by key.
    pub fn registrations_of_ip(&self, client_ip: &str) -> Vec<(ConfigKey, Registration)> {
        self.by_key
            .iter()
            .flat_map(|(key, listeners)| {
                listeners
                    .values()
                    .filter(|registration| registration.client_ip == client_ip)
                    .map(move |registration| (key.clone(), registration.clone()))
            })
            .collect()
    }

    /// Every registration on `key`, by listener.
    pub fn registrations(&self, key: &ConfigKey) -> Vec<(ListenerId, Registration)> {
        self.by_key.get(key).map_or_else(Vec::new, |listeners| {
            listeners.iter().map(|(listener, registration)| (listener.clone(), registration.clone())).collect()
        })
    }

    /// What `listener` registered whose md5 now differs from what it holds.
    pub fn stale(
        &self,
        listener: &ListenerId,
        current_md5: impl Fn(&ConfigKey, &Reader<'_>) -> String,
    ) -> Vec<ListenContext> {
        let keys = self.by_listener.get(listener).into_iter().flatten();
        keys.filter_map(|key| {
            let registration = self.by_key.get(key)?.get(listener)?;
            (current_md5(key, &registration.reader()) != registration.md5).then(|| ListenContext {
                key: key.clone(),
                tenant_as_sent: registration.tenant_as_sent.clone(),
                md5: registration.md5.clone(),
            })
        })
        .collect()
    }

    /// The keys one listener listens to.
    pub fn keys_of(&self, listener: &ListenerId) -> Vec<ConfigKey> {
        self.by_listener.get(listener).map_or_else(Vec::new, |keys| keys.iter().cloned().collect())
    }

    fn remove(&mut self, listener: &ListenerId, key: &ConfigKey) {
        if let Some(listeners) = self.by_key.get_mut(key) {
            listeners.remove(listener);
            if listeners.is_empty() {
                self.by_key.remove(key);
            }
        }
    }
}
