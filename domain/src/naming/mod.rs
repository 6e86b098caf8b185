//! The service registry's model: services, instances, who owns them, how they expire and
//! what a client is shown.
//!
//! Two kinds of data live here. Ephemeral instances ([`EphemeralRegistry`]) belong to a
//! client (a gRPC connection, or an `ip:port` kept alive by HTTP beats) and are never
//! replicated through raft. Service metadata and persistent instances ([`NamingTable`]) are
//! part of the raft [`crate::State`]. A client's view ([`ServiceView`]) is computed from both.

mod clients;
pub mod distro;
mod ephemeral;
pub mod fuzzy_watch;
pub mod health_check;
mod instance;
mod metadata;
mod persistent;
mod roster;
mod service;
mod subscribers;
pub mod switches;
mod view;

pub use clients::ClientRef;
pub use ephemeral::{BeatOutcome, EphemeralRegistry, Lifetime, Owner, Published, Registrant};
pub use health_check::{ClusterMeta, HealthChecker};
pub use instance::{
    ClusterName, HeartbeatTimes, Instance, InstanceAddress, InstanceDraft, InstancePatch, Weight, DEFAULT_CLUSTER,
    DEFAULT_HEARTBEAT_INTERVAL,
};
pub use metadata::{check_metadata_size, Metadata, MetadataEdit, MAX_METADATA_CHARS};
pub use persistent::{NamingChange, NamingCommand, NamingTable, PersistentService};
pub use service::{
    parse_label_expression, ProtectThreshold, Selector, ServiceKey, ServiceMeta, ServiceName, DEFAULT_GROUP,
    GROUP_SEPARATOR,
};
pub use subscribers::{Subscriber, SubscriberId, SubscriberTable};
pub use switches::Switches;
pub use view::{compute_view, consumer_labels, protect_threshold_reached, select_by_labels, ServiceView, ViewQuery};

/// A request that breaks a registry rule. Messages follow Nacos's where clients or people
/// rely on them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NamingError {
    #[error("Required parameter '{0}' is missing")]
    Missing(&'static str),
    #[error("invalid {param}: {reason}")]
    Invalid { param: &'static str, reason: String },
    #[error("instance format invalid: The weights range from 0.0 to 10000.0")]
    WeightOutOfRange,
    #[error("Instance 'heart beat interval' must less than 'heart beat timeout' and 'ip delete timeout'.")]
    HeartbeatTimes,
    /// Java Nacos's parameter check message, word for word.
    #[error("Param '{param}' is illegal, the param length should not exceed {limit}.")]
    TooLong { param: &'static str, limit: usize },
    #[error("Param 'Metadata' is illegal, the param length should not exceed {limit}.")]
    MetadataTooLong { limit: usize },
    #[error("group in the service name ('{in_name}') disagrees with groupName ('{param}')")]
    GroupMismatch { in_name: String, param: String },
}

impl From<crate::config::ConfigError> for NamingError {
    fn from(err: crate::config::ConfigError) -> Self {
        use crate::config::ConfigError as E;
        match err {
            E::Missing(param) => Self::Missing(if param == "group" { "groupName" } else { param }),
            E::Invalid { param, reason } => Self::Invalid { param: naming_param(param), reason: reason.to_owned() },
            E::TooLong { param, limit } => Self::TooLong { param: naming_param(param), limit },
            E::ContentTooLarge { .. } => Self::Invalid { param: "request", reason: err.to_string() },
        }
    }
}

/// The naming API's name for a config-side parameter.
fn naming_param(param: &'static str) -> &'static str {
    match param {
        "tenant" => "namespaceId",
        "group" => "groupName",
        other => other,
    }
}

#[cfg(test)]
mod tests;
