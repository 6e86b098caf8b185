//! The config center's model: identity, validation, the stored item and the table of items.

pub mod fuzzy_watch;
mod gray;
mod history;
mod item;
mod key;
mod listeners;
mod md5;
mod publish;
mod search;
mod table;
mod transfer;

pub use gray::{
    gray_for, parse_beta_ips, parse_gray_rule, parse_gray_tag, reader_tag, GrayConfig, GrayRule, Reader,
    BETA_GRAY_NAME, TAG_LABEL,
};
pub use history::{HistoryLog, HistoryOp, HistoryPurge, HistoryRecord};
pub use item::{Config, ConfigType};
pub use key::{ConfigKey, DataId, Group, KeyRef, Namespace};
pub use listeners::{ConnectionId, ListenContext, ListenError, ListenerId, ListenerTable, PushTarget, Registration};
pub use md5::md5_hex;
pub use publish::{ConfigDetails, ConfigLimits, ConfigMeta, PublishConfig, PublishParams, DEFAULT_MAX_CONTENT_BYTES};
pub use search::{search, ConfigQuery, MatchMode};
pub use table::{view_for, ConfigChange, ConfigCommand, ConfigTable, Grays};
pub use transfer::{
    check_entry_name, clone_publish, export_archive, read_archive, ArchiveFile, ArchiveLayout, ArchiveMetadata,
    CloneItem, ImportPlan, ImportReport, ImportSet, MetadataItem, SameConfigPolicy, TransferError, MAX_ARCHIVE_ENTRIES,
    MAX_ARCHIVE_EXPANDED_BYTES, META_V1, META_V2,
};

/// A request that breaks a config rule. The message names the offending parameter the way
/// Nacos spells it on the wire, so adapters can pass it to clients unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("Required parameter '{0}' is missing")]
    Missing(&'static str),
    #[error("invalid {param}: {reason}")]
    Invalid { param: &'static str, reason: &'static str },
    /// Java Nacos's parameter check message, word for word.
    #[error("Param '{param}' is illegal, the param length should not exceed {limit}.")]
    TooLong { param: &'static str, limit: usize },
    #[error("content is too large: {size} bytes, the limit is {limit} bytes")]
    ContentTooLarge { size: usize, limit: usize },
}

#[cfg(test)]
mod tests;
