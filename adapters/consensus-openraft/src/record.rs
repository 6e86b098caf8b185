//! The raft log's record format (the state machine's rows are in `row_record.rs`).
//!
//! These are the bytes that live on disk for years, so they are explicit types owned here,
//! not the domain's: each is an enum of versions, and a new version adds a variant and a
//! conversion from the old one.

use domain::config::{
    ConfigCommand, ConfigDetails, ConfigKey, ConfigMeta, ConfigType, GrayRule, PublishConfig, BETA_GRAY_NAME,
};
use domain::namespace::{NamespaceCommand, NamespaceInfo};
use domain::{Command, Millis, Rejection, Verdict};
use serde::{Deserialize, Serialize};

use crate::auth_record::{AuthCommandV1, AuthRejectionV1};
use crate::naming_record::NamingCommandV1;
use crate::row_record::{config_key, key_columns};

/// One replicated command, as written to the raft log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[allow(
    clippy::large_enum_variant,
    reason = "a record lives from decoding to applying; boxing the common single command would cost an allocation per entry"
)]
pub enum LogRecord {
    V1(CommandV1),
    /// Several commands proposed together, applied in order as one entry: concurrent writes
    /// share one raft round and one fsync.
    V1Batch(Vec<CommandV1>),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op")]
pub enum CommandV1 {
    ConfigPublish {
        namespace: String,
        group: String,
        data_id: String,
        content: String,
        config_type: String,
        desc: String,
        app_name: String,
        tags: String,
        cas_md5: Option<String>,
        now: u64,
        /// Added after V1 shipped: absent in older rows and entries, and left out when empty.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        encrypted_data_key: String,
        #[serde(flatten)]
        details: DetailColumns,
    },
    ConfigRemove {
        namespace: String,
        group: String,
        data_id: String,
        now: u64,
    },
    ConfigPublishBeta {
        namespace: String,
        group: String,
        data_id: String,
        content: String,
        config_type: String,
        ips: Vec<String>,
        now: u64,
        /// Added after V1 shipped: absent in older rows and entries, and left out when empty.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        encrypted_data_key: String,
    },
    ConfigStopBeta {
        namespace: String,
        group: String,
        data_id: String,
        now: u64,
    },
    /// A tag-gray publish (added after V1 shipped; a beta publish is still
    /// `ConfigPublishBeta`, so its entries read the same on every release).
    ConfigPublishTag {
        namespace: String,
        group: String,
        data_id: String,
        content: String,
        config_type: String,
        tag: String,
        now: u64,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        encrypted_data_key: String,
    },
    /// The end of a gray release other than the beta (which is `ConfigStopBeta`).
    ConfigStopGray {
        namespace: String,
        group: String,
        data_id: String,
        name: String,
        now: u64,
    },
    NamespaceCreate {
        id: String,
        name: String,
        desc: String,
        now: u64,
    },
    NamespaceUpdate {
        id: String,
        name: String,
        desc: String,
    },
    NamespaceDelete {
        id: String,
    },
    HistoryPurge {
        before: u64,
    },
    Naming(NamingCommandV1),
    /// One of the registry's switches (added after V1 shipped).
    SwitchSet {
        name: String,
        value: String,
    },
    /// Users, roles and permissions (added after V1 shipped).
    Auth(AuthCommandV1),
}

/// What applying a record answered, returned to the proposer by openraft.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ApplyResult {
    /// A blank or membership entry: nothing for a client.
    #[default]
    Empty,
    Applied,
    /// One result per command of a [`LogRecord::V1Batch`], in order.
    Batch(Vec<ApplyResult>),
    CasMismatch,
    NamespaceExists(String),
    NamespaceNotFound(String),
    NamespaceProtected,
    /// A naming command refused by the state it met: the rejection, spelled out.
    Naming(NamingRejectionV1),
    Auth(AuthRejectionV1),
}

/// Why a naming command was refused, and the service it named.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[allow(clippy::enum_variant_names)] // They mirror `Rejection`, whose names are its wire.
pub enum NamingRejectionV1 {
    ServiceExists(String),
    ServiceNotFound(String),
    ServiceNotEmpty(String),
    ServiceIsEphemeral(String),
    ServiceIsPersistent(String),
}

/// A record that cannot be turned back into domain values: a corrupt or foreign log or
/// row, or one written under rules this version no longer accepts.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("a stored config value breaks the config rules")]
    Config(#[from] domain::config::ConfigError),
    #[error("a stored registry value breaks the registry rules")]
    Naming(#[from] domain::naming::NamingError),
    #[error("unknown history operation {0:?}")]
    UnknownHistoryOp(String),
}

impl LogRecord {
    /// One record for `commands`: a plain record for one, a batch for several.
    pub(crate) fn of(commands: &[&Command]) -> Self {
        match commands {
            [one] => Self::from(*one),
            many => Self::V1Batch(many.iter().map(|command| CommandV1::from(*command)).collect()),
        }
    }

    /// The commands this record carries, in order.
    pub(crate) fn commands(&self) -> Result<Vec<Command>, RecordError> {
        match self {
            Self::V1(command) => Ok(vec![Command::try_from(command)?]),
            Self::V1Batch(commands) => commands.iter().map(Command::try_from).collect(),
        }
    }
}

/// A config's `use`, `effect` and `schema`, as its row and its publish entry carry them:
/// added after V1 shipped, so absent in older rows and entries, and left out when empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DetailColumns {
    #[serde(default, rename = "use", skip_serializing_if = "String::is_empty")]
    usage: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    effect: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    schema: String,
}

impl From<&ConfigDetails> for DetailColumns {
    fn from(details: &ConfigDetails) -> Self {
        Self { usage: details.usage.clone(), effect: details.effect.clone(), schema: details.schema.clone() }
    }
}

impl From<DetailColumns> for ConfigDetails {
    fn from(columns: DetailColumns) -> Self {
        Self { usage: columns.usage, effect: columns.effect, schema: columns.schema }
    }
}

impl From<&Command> for LogRecord {
    fn from(command: &Command) -> Self {
        LogRecord::V1(CommandV1::from(command))
    }
}

impl From<&Command> for CommandV1 {
    fn from(command: &Command) -> Self {
        match command {
            Command::Config(ConfigCommand::Publish { publish, now }) => CommandV1::ConfigPublish {
                namespace: publish.key.namespace.as_str().to_owned(),
                group: publish.key.group.as_str().to_owned(),
                data_id: publish.key.data_id.as_str().to_owned(),
                content: publish.content.clone(),
                config_type: publish.meta.config_type.as_str().to_owned(),
                desc: publish.meta.desc.clone(),
                app_name: publish.meta.app_name.clone(),
                tags: publish.meta.tags.clone(),
                cas_md5: publish.cas_md5.clone(),
                now: now.as_u64(),
                encrypted_data_key: publish.meta.encrypted_data_key.clone(),
                details: DetailColumns::from(&publish.meta.details),
            },
            Command::Config(ConfigCommand::Remove { key, now }) => CommandV1::ConfigRemove {
                namespace: key.namespace.as_str().to_owned(),
                group: key.group.as_str().to_owned(),
                data_id: key.data_id.as_str().to_owned(),
                now: now.as_u64(),
            },
            Command::Config(ConfigCommand::PublishGray { publish, rule, now }) => {
                let [namespace, group, data_id] = key_columns(&publish.key);
                let (content, config_type) = (publish.content.clone(), publish.meta.config_type.as_str().to_owned());
                let encrypted_data_key = publish.meta.encrypted_data_key.clone();
                let now = now.as_u64();
                match rule {
                    GrayRule::Beta { ips } => {
                        let ips = ips.clone();
                        CommandV1::ConfigPublishBeta {
                            namespace,
                            group,
                            data_id,
                            content,
                            config_type,
                            ips,
                            now,
                            encrypted_data_key,
                        }
                    }
                    GrayRule::Tag { tag } => {
                        let tag = tag.clone();
                        CommandV1::ConfigPublishTag {
                            namespace,
                            group,
                            data_id,
                            content,
                            config_type,
                            tag,
                            now,
                            encrypted_data_key,
                        }
                    }
                }
            }
            Command::Config(ConfigCommand::StopGray { key, name, now }) => {
                let [namespace, group, data_id] = key_columns(key);
                let now = now.as_u64();
                // The beta's end keeps the entry it always had, so older releases read it.
                if name == BETA_GRAY_NAME {
                    CommandV1::ConfigStopBeta { namespace, group, data_id, now }
                } else {
                    CommandV1::ConfigStopGray { namespace, group, data_id, name: name.clone(), now }
                }
            }
            Command::Namespace(NamespaceCommand::Create(info)) => CommandV1::NamespaceCreate {
                id: info.id.clone(),
                name: info.name.clone(),
                desc: info.desc.clone(),
                now: info.created.as_u64(),
            },
            Command::Namespace(NamespaceCommand::Update { id, name, desc }) => {
                CommandV1::NamespaceUpdate { id: id.clone(), name: name.clone(), desc: desc.clone() }
            }
            Command::Namespace(NamespaceCommand::Delete { id }) => CommandV1::NamespaceDelete { id: id.clone() },
            Command::PurgeHistory { before } => CommandV1::HistoryPurge { before: before.as_u64() },
            Command::Naming(command) => CommandV1::Naming(command.into()),
            Command::SetSwitch { name, value } => CommandV1::SwitchSet { name: name.clone(), value: value.clone() },
            Command::Auth(command) => CommandV1::Auth(command.into()),
        }
    }
}

impl TryFrom<&CommandV1> for Command {
    type Error = RecordError;

    fn try_from(command: &CommandV1) -> Result<Self, RecordError> {
        Ok(match command {
            CommandV1::ConfigPublish {
                namespace,
                group,
                data_id,
                content,
                config_type,
                desc,
                app_name,
                tags,
                cas_md5,
                now,
                encrypted_data_key,
                details,
            } => Command::Config(ConfigCommand::Publish {
                publish: PublishConfig {
                    key: config_key(namespace, group, data_id)?,
                    content: content.clone(),
                    meta: ConfigMeta {
                        config_type: ConfigType::parse(config_type),
                        desc: desc.clone(),
                        app_name: app_name.clone(),
                        tags: tags.clone(),
                        encrypted_data_key: encrypted_data_key.clone(),
                        details: details.clone().into(),
                    },
                    cas_md5: cas_md5.clone(),
                },
                now: Millis(*now),
            }),
            CommandV1::ConfigRemove { namespace, group, data_id, now } => Command::Config(ConfigCommand::Remove {
                key: config_key(namespace, group, data_id)?,
                now: Millis(*now),
            }),
            CommandV1::ConfigPublishBeta {
                namespace,
                group,
                data_id,
                content,
                config_type,
                ips,
                now,
                encrypted_data_key,
            } => Command::Config(ConfigCommand::PublishGray {
                publish: gray_publish(config_key(namespace, group, data_id)?, content, config_type, encrypted_data_key),
                rule: GrayRule::Beta { ips: ips.clone() },
                now: Millis(*now),
            }),
            CommandV1::ConfigPublishTag {
                namespace,
                group,
                data_id,
                content,
                config_type,
                tag,
                now,
                encrypted_data_key,
            } => Command::Config(ConfigCommand::PublishGray {
                publish: gray_publish(config_key(namespace, group, data_id)?, content, config_type, encrypted_data_key),
                rule: GrayRule::Tag { tag: tag.clone() },
                now: Millis(*now),
            }),
            CommandV1::ConfigStopBeta { namespace, group, data_id, now } => Command::Config(ConfigCommand::StopGray {
                key: config_key(namespace, group, data_id)?,
                name: BETA_GRAY_NAME.to_owned(),
                now: Millis(*now),
            }),
            CommandV1::ConfigStopGray { namespace, group, data_id, name, now } => {
                Command::Config(ConfigCommand::StopGray {
                    key: config_key(namespace, group, data_id)?,
                    name: name.clone(),
                    now: Millis(*now),
                })
            }
            CommandV1::NamespaceCreate { id, name, desc, now } => {
                Command::Namespace(NamespaceCommand::Create(NamespaceInfo {
                    id: id.clone(),
                    name: name.clone(),
                    desc: desc.clone(),
                    created: Millis(*now),
                }))
            }
            CommandV1::NamespaceUpdate { id, name, desc } => {
                Command::Namespace(NamespaceCommand::Update { id: id.clone(), name: name.clone(), desc: desc.clone() })
            }
            CommandV1::NamespaceDelete { id } => Command::Namespace(NamespaceCommand::Delete { id: id.clone() }),
            CommandV1::HistoryPurge { before } => Command::PurgeHistory { before: Millis(*before) },
            CommandV1::Naming(command) => Command::Naming(command.try_into()?),
            CommandV1::SwitchSet { name, value } => Command::SetSwitch { name: name.clone(), value: value.clone() },
            CommandV1::Auth(command) => Command::Auth(command.into()),
        })
    }
}

impl From<Verdict> for ApplyResult {
    fn from(verdict: Verdict) -> Self {
        match verdict {
            Verdict::Applied => Self::Applied,
            Verdict::Rejected(Rejection::CasMismatch) => Self::CasMismatch,
            Verdict::Rejected(Rejection::NamespaceExists(id)) => Self::NamespaceExists(id),
            Verdict::Rejected(Rejection::NamespaceNotFound(id)) => Self::NamespaceNotFound(id),
            Verdict::Rejected(Rejection::NamespaceProtected) => Self::NamespaceProtected,
            Verdict::Rejected(Rejection::ServiceExists(s)) => Self::Naming(NamingRejectionV1::ServiceExists(s)),
            Verdict::Rejected(Rejection::ServiceNotFound(s)) => Self::Naming(NamingRejectionV1::ServiceNotFound(s)),
            Verdict::Rejected(Rejection::ServiceNotEmpty(s)) => Self::Naming(NamingRejectionV1::ServiceNotEmpty(s)),
            Verdict::Rejected(Rejection::ServiceIsEphemeral(s)) => {
                Self::Naming(NamingRejectionV1::ServiceIsEphemeral(s))
            }
            Verdict::Rejected(Rejection::ServiceIsPersistent(s)) => {
                Self::Naming(NamingRejectionV1::ServiceIsPersistent(s))
            }
            Verdict::Rejected(Rejection::UserExists(user)) => Self::Auth(AuthRejectionV1::UserExists(user)),
            Verdict::Rejected(Rejection::UserNotFound(user)) => Self::Auth(AuthRejectionV1::UserNotFound(user)),
            Verdict::Rejected(Rejection::CannotDeleteAdmin(user)) => {
                Self::Auth(AuthRejectionV1::CannotDeleteAdmin(user))
            }
            Verdict::Rejected(Rejection::AdminExists) => Self::Auth(AuthRejectionV1::AdminExists),
            Verdict::Rejected(Rejection::RoleNotPermitted(role)) => Self::Auth(AuthRejectionV1::RoleNotPermitted(role)),
            Verdict::Rejected(Rejection::AlreadyBound { username, role }) => {
                Self::Auth(AuthRejectionV1::AlreadyBound { username, role })
            }
            Verdict::Rejected(Rejection::RoleNotFound(role)) => Self::Auth(AuthRejectionV1::RoleNotFound(role)),
        }
    }
}

impl ApplyResult {
    pub(crate) fn verdict(&self) -> Verdict {
        match self {
            Self::Empty | Self::Applied | Self::Batch(_) => Verdict::Applied,
            Self::CasMismatch => Verdict::Rejected(Rejection::CasMismatch),
            Self::NamespaceExists(id) => Verdict::Rejected(Rejection::NamespaceExists(id.clone())),
            Self::NamespaceNotFound(id) => Verdict::Rejected(Rejection::NamespaceNotFound(id.clone())),
            Self::NamespaceProtected => Verdict::Rejected(Rejection::NamespaceProtected),
            Self::Naming(rejection) => Verdict::Rejected(match rejection.clone() {
                NamingRejectionV1::ServiceExists(s) => Rejection::ServiceExists(s),
                NamingRejectionV1::ServiceNotFound(s) => Rejection::ServiceNotFound(s),
                NamingRejectionV1::ServiceNotEmpty(s) => Rejection::ServiceNotEmpty(s),
                NamingRejectionV1::ServiceIsEphemeral(s) => Rejection::ServiceIsEphemeral(s),
                NamingRejectionV1::ServiceIsPersistent(s) => Rejection::ServiceIsPersistent(s),
            }),
            Self::Auth(rejection) => Verdict::Rejected(rejection.rejection()),
        }
    }
}

/// A gray publish as a log entry carries it: content, type and data key, no other metadata.
fn gray_publish(key: ConfigKey, content: &str, config_type: &str, encrypted_data_key: &str) -> PublishConfig {
    PublishConfig {
        key,
        content: content.to_owned(),
        meta: ConfigMeta {
            config_type: ConfigType::parse(config_type),
            encrypted_data_key: encrypted_data_key.to_owned(),
            ..ConfigMeta::default()
        },
        cas_md5: None,
    }
}
