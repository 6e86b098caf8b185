//! Commands: the replicated changes to the state, and what applying one yields.

use std::sync::Arc;

use crate::auth::{AuthChange, AuthCommand};
use crate::config::{ConfigChange, ConfigCommand, HistoryPurge, HistoryRecord};
use crate::namespace::{NamespaceCommand, NamespaceInfo};
use crate::naming::{NamingChange, NamingCommand};
use crate::Millis;

/// A change to the replicated state. Every variant is deterministic given the state it is
/// applied to: it carries its own timestamp and never consults the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Config(ConfigCommand),
    Namespace(NamespaceCommand),
    Naming(NamingCommand),
    /// Drops config history recorded before `before` (the leader proposes it periodically,
    /// so every replica drops the same records).
    PurgeHistory {
        before: Millis,
    },
    /// Sets one of the registry's switches (checked by [`Switches::check`]).
    ///
    /// [`Switches::check`]: crate::naming::Switches::check
    SetSwitch {
        name: String,
        value: String,
    },
    /// Changes users, roles or permissions.
    Auth(AuthCommand),
}

/// What applying a command did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The command changed the state; these are the changes, for persistence and listeners.
    Applied(Vec<Change>),
    /// The command was valid but refused by the state it met; nothing changed.
    Rejected(Rejection),
}

/// One change to the state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Config(ConfigChange),
    HistoryAdded(Arc<HistoryRecord>),
    /// History records the purge drops are to be deleted. Storage finds them (it holds the
    /// records and their age index), so the change names the rule, not the ids.
    HistoryPurged(HistoryPurge),
    NamespaceUpserted(Arc<NamespaceInfo>),
    NamespaceRemoved(String),
    Naming(NamingChange),
    /// A switch changed; the change carries its name and value.
    SwitchSet {
        name: String,
        value: String,
    },
    Auth(AuthChange),
}

/// Why a well-formed command was refused at apply time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("cas publish fail, server md5 may have changed")]
    CasMismatch,
    #[error("namespace '{0}' already exists")]
    NamespaceExists(String),
    #[error("namespace '{0}' does not exist")]
    NamespaceNotFound(String),
    #[error("the public namespace cannot be changed")]
    NamespaceProtected,
    #[error("specified service {0} already exists!")]
    ServiceExists(String),
    #[error("service {0} not found")]
    ServiceNotFound(String),
    #[error("Service {0} is not empty, can't be delete. Please unregister instance first")]
    ServiceNotEmpty(String),
    #[error("Current service {0} is ephemeral service, can't register persistent instance.")]
    ServiceIsEphemeral(String),
    #[error("Current service {0} is persistent service, can't register ephemeral instance.")]
    ServiceIsPersistent(String),
    // Users, roles and permissions: Java Nacos's texts.
    #[error("user '{0}' already exist!")]
    UserExists(String),
    #[error("user '{0}' not found!")]
    UserNotFound(String),
    #[error("cannot delete admin: {0}")]
    CannotDeleteAdmin(String),
    #[error("have admin user cannot use it")]
    AdminExists,
    #[error("role '{0}' is not permitted to create!")]
    RoleNotPermitted(String),
    #[error("user '{username}' already bound to the role '{role}'!")]
    AlreadyBound { username: String, role: String },
    #[error("role {0} not found!")]
    RoleNotFound(String),
}

/// What a proposer learns of its command: whether it took effect. Unlike [`Outcome`] this
/// is small enough to travel back through the consensus layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Applied,
    Rejected(Rejection),
}

impl Outcome {
    pub fn verdict(&self) -> Verdict {
        match self {
            Self::Applied(_) => Verdict::Applied,
            Self::Rejected(rejection) => Verdict::Rejected(rejection.clone()),
        }
    }
}
