//! The raft log's record format and the state machine's row format.
//!
//! These are the bytes that live on disk for years, so they are explicit types owned here,
//! not the domain's: each is an enum of versions, and a new version adds a variant and a
//! conversion from the old one.

use std::sync::Arc;

use domain::config::{
    Config, ConfigCommand, ConfigKey, ConfigMeta, ConfigType, DataId, Group, Namespace, PublishConfig,
};
use domain::{Command, Millis, Rejection, Verdict};
use serde::{Deserialize, Serialize};

/// One replicated command, as written to the raft log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LogRecord {
    V1(CommandV1),
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
    },
    ConfigRemove {
        namespace: String,
        group: String,
        data_id: String,
        now: u64,
    },
}

/// What applying a record answered, returned to the proposer by openraft.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ApplyResult {
    /// A blank or membership entry: nothing for a client.
    #[default]
    Empty,
    Applied,
    CasMismatch,
}

/// A record that cannot be turned back into a command: a corrupt or foreign log.
#[derive(Debug, thiserror::Error)]
#[error("undecodable raft record: {0}")]
pub struct RecordError(pub String);

impl From<&Command> for LogRecord {
    fn from(command: &Command) -> Self {
        match command {
            Command::Config(ConfigCommand::Publish { publish, now }) => LogRecord::V1(CommandV1::ConfigPublish {
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
            }),
            Command::Config(ConfigCommand::Remove { key, now }) => LogRecord::V1(CommandV1::ConfigRemove {
                namespace: key.namespace.as_str().to_owned(),
                group: key.group.as_str().to_owned(),
                data_id: key.data_id.as_str().to_owned(),
                now: now.as_u64(),
            }),
        }
    }
}

impl TryFrom<&LogRecord> for Command {
    type Error = RecordError;

    fn try_from(record: &LogRecord) -> Result<Self, RecordError> {
        let LogRecord::V1(command) = record;
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
            } => Command::Config(ConfigCommand::Publish {
                publish: PublishConfig {
                    key: config_key(namespace, group, data_id)?,
                    content: content.clone(),
                    meta: ConfigMeta {
                        config_type: ConfigType::parse(config_type),
                        desc: desc.clone(),
                        app_name: app_name.clone(),
                        tags: tags.clone(),
                    },
                    cas_md5: cas_md5.clone(),
                },
                now: Millis(*now),
            }),
            CommandV1::ConfigRemove { namespace, group, data_id, now } => Command::Config(ConfigCommand::Remove {
                key: config_key(namespace, group, data_id)?,
                now: Millis(*now),
            }),
        })
    }
}

impl From<Verdict> for ApplyResult {
    fn from(verdict: Verdict) -> Self {
        match verdict {
            Verdict::Applied => Self::Applied,
            Verdict::Rejected(Rejection::CasMismatch) => Self::CasMismatch,
        }
    }
}

impl ApplyResult {
    pub(crate) fn verdict(&self) -> Verdict {
        match self {
            Self::Empty | Self::Applied => Verdict::Applied,
            Self::CasMismatch => Verdict::Rejected(Rejection::CasMismatch),
        }
    }
}

/// One stored config, as a state machine row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum ConfigRow {
    V1 {
        namespace: String,
        group: String,
        data_id: String,
        content: String,
        md5: String,
        config_type: String,
        desc: String,
        app_name: String,
        tags: String,
        created: u64,
        last_modified: u64,
    },
}

impl ConfigRow {
    pub(crate) fn new(key: &ConfigKey, config: &Arc<Config>) -> Self {
        Self::V1 {
            namespace: key.namespace.as_str().to_owned(),
            group: key.group.as_str().to_owned(),
            data_id: key.data_id.as_str().to_owned(),
            content: config.content.clone(),
            md5: config.md5.clone(),
            config_type: config.config_type.as_str().to_owned(),
            desc: config.desc.clone(),
            app_name: config.app_name.clone(),
            tags: config.tags.clone(),
            created: config.created.as_u64(),
            last_modified: config.last_modified.as_u64(),
        }
    }

    pub(crate) fn into_domain(self) -> Result<(ConfigKey, Config), RecordError> {
        let Self::V1 {
            namespace,
            group,
            data_id,
            content,
            md5,
            config_type,
            desc,
            app_name,
            tags,
            created,
            last_modified,
        } = self;
        let key = config_key(&namespace, &group, &data_id)?;
        let config = Config {
            content,
            md5,
            config_type: ConfigType::parse(&config_type),
            desc,
            app_name,
            tags,
            created: Millis(created),
            last_modified: Millis(last_modified),
        };
        Ok((key, config))
    }
}

fn config_key(namespace: &str, group: &str, data_id: &str) -> Result<ConfigKey, RecordError> {
    let invalid = |err: domain::config::ConfigError| RecordError(err.to_string());
    Ok(ConfigKey {
        namespace: Namespace::new(namespace).map_err(invalid)?,
        group: Group::new(group).map_err(invalid)?,
        data_id: DataId::new(data_id).map_err(invalid)?,
    })
}
