//! The state machine's row format: one row per stored config, gray version, history record,
//! namespace and switch, and the id counters (a service's row is in `naming_record.rs`).
//!
//! Like the log's records, these are the bytes that live on disk for years: each is an enum
//! of versions, and a field added later is optional.

use std::sync::Arc;

use domain::config::{
    Config, ConfigDetails, ConfigKey, ConfigType, DataId, GrayConfig, GrayRule, Group, HistoryOp, HistoryRecord,
    Namespace, BETA_GRAY_NAME,
};
use domain::namespace::NamespaceInfo;
use domain::Millis;
use serde::{Deserialize, Serialize};

use crate::record::{DetailColumns, RecordError};

/// One stored config, as a state machine row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum ConfigRow {
    V1 {
        id: u64,
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
        /// Added after V1 shipped: absent in older rows and entries, and left out when empty.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        encrypted_data_key: String,
        #[serde(flatten)]
        details: DetailColumns,
    },
}

impl ConfigRow {
    pub(crate) fn new(key: &ConfigKey, config: &Arc<Config>) -> Self {
        let [namespace, group, data_id] = key_columns(key);
        Self::V1 {
            id: config.id,
            namespace,
            group,
            data_id,
            content: config.content.clone(),
            md5: config.md5.clone(),
            config_type: config.config_type.as_str().to_owned(),
            desc: config.desc.clone(),
            app_name: config.app_name.clone(),
            tags: config.tags.clone(),
            created: config.created.as_u64(),
            last_modified: config.last_modified.as_u64(),
            encrypted_data_key: config.encrypted_data_key.clone(),
            details: config.details.as_deref().map(DetailColumns::from).unwrap_or_default(),
        }
    }

    pub(crate) fn into_domain(self) -> Result<(ConfigKey, Config), RecordError> {
        let Self::V1 {
            id,
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
            encrypted_data_key,
            details,
        } = self;
        let key = config_key(&namespace, &group, &data_id)?;
        let config = Config {
            id,
            content,
            md5,
            config_type: ConfigType::parse(&config_type),
            desc,
            app_name,
            tags,
            encrypted_data_key,
            details: ConfigDetails::from(details).boxed(),
            created: Millis(created),
            last_modified: Millis(last_modified),
        };
        Ok((key, config))
    }
}

/// A config key as the rows store it: namespace, group and data id columns.
pub(crate) fn key_columns(key: &ConfigKey) -> [String; 3] {
    [key.namespace.as_str().to_owned(), key.group.as_str().to_owned(), key.data_id.as_str().to_owned()]
}

/// The inverse of [`key_columns`], with the key's rules (not the request limits) checked again.
pub(crate) fn config_key(namespace: &str, group: &str, data_id: &str) -> Result<ConfigKey, RecordError> {
    Ok(ConfigKey {
        namespace: Namespace::restore(namespace)?,
        group: Group::restore(group)?,
        data_id: DataId::restore(data_id)?,
    })
}

/// One history record, as a state machine row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum HistoryRow {
    V1 {
        id: u64,
        config_id: u64,
        namespace: String,
        group: String,
        data_id: String,
        op: String,
        content: String,
        md5: String,
        config_type: String,
        app_name: String,
        recorded: u64,
        /// Whether the record is of a gray version (its name in `gray_name`, `beta` when
        /// absent: rows from before tag releases).
        beta: bool,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        gray_name: String,
        /// Added after V1 shipped: absent in older rows and entries, and left out when empty.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        encrypted_data_key: String,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        desc: String,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        tags: String,
        #[serde(flatten)]
        details: DetailColumns,
    },
}

impl HistoryRow {
    pub(crate) fn new(record: &HistoryRecord) -> Self {
        let [namespace, group, data_id] = key_columns(&record.key);
        Self::V1 {
            id: record.id,
            config_id: record.config_id,
            namespace,
            group,
            data_id,
            op: record.op.as_str().to_owned(),
            content: record.content.clone(),
            md5: record.md5.clone(),
            config_type: record.config_type.as_str().to_owned(),
            app_name: record.app_name.clone(),
            recorded: record.recorded.as_u64(),
            beta: record.gray_name.is_some(),
            gray_name: record.gray_name.clone().filter(|name| name != BETA_GRAY_NAME).unwrap_or_default(),
            encrypted_data_key: record.encrypted_data_key.clone(),
            desc: record.desc.clone(),
            tags: record.tags.clone(),
            details: record.details.as_deref().map(DetailColumns::from).unwrap_or_default(),
        }
    }

    pub(crate) fn into_domain(self) -> Result<HistoryRecord, RecordError> {
        let Self::V1 {
            id,
            config_id,
            namespace,
            group,
            data_id,
            op,
            content,
            md5,
            config_type,
            app_name,
            recorded,
            beta,
            gray_name,
            encrypted_data_key,
            desc,
            tags,
            details,
        } = self;
        let gray_name = match (beta, gray_name.is_empty()) {
            (false, _) => None,
            (true, true) => Some(BETA_GRAY_NAME.to_owned()),
            (true, false) => Some(gray_name),
        };
        Ok(HistoryRecord {
            id,
            config_id,
            key: config_key(&namespace, &group, &data_id)?,
            op: HistoryOp::parse(&op).ok_or_else(|| RecordError::UnknownHistoryOp(op.clone()))?,
            content,
            md5,
            config_type: ConfigType::parse(&config_type),
            app_name,
            encrypted_data_key,
            desc,
            tags,
            details: ConfigDetails::from(details).boxed(),
            recorded: Millis(recorded),
            gray_name,
        })
    }
}

/// One custom namespace, as a state machine row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum NamespaceRow {
    V1 { id: String, name: String, desc: String, created: u64 },
}

impl NamespaceRow {
    pub(crate) fn new(info: &NamespaceInfo) -> Self {
        Self::V1 {
            id: info.id.clone(),
            name: info.name.clone(),
            desc: info.desc.clone(),
            created: info.created.as_u64(),
        }
    }

    pub(crate) fn into_domain(self) -> NamespaceInfo {
        let Self::V1 { id, name, desc, created } = self;
        NamespaceInfo { id, name, desc, created: Millis(created) }
    }
}

/// The id counters, persisted so ids are never reused after deletes and purges.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Counters {
    pub(crate) next_config_id: u64,
    pub(crate) next_history_id: u64,
}

/// One live gray version, as a state machine row. Beta rows are as they were before tag
/// releases; a tag row has its tag (and no ips).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum GrayRow {
    V1 {
        namespace: String,
        group: String,
        data_id: String,
        content: String,
        md5: String,
        config_type: String,
        ips: Vec<String>,
        last_modified: u64,
        /// Added after V1 shipped: absent in older rows and entries, and left out when empty.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        encrypted_data_key: String,
        /// Added with tag-gray releases: absent in beta rows.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        tag: String,
    },
}

impl GrayRow {
    pub(crate) fn new(key: &ConfigKey, gray: &GrayConfig) -> Self {
        let [namespace, group, data_id] = key_columns(key);
        let (ips, tag) = match &gray.rule {
            GrayRule::Beta { ips } => (ips.clone(), String::new()),
            GrayRule::Tag { tag } => (Vec::new(), tag.clone()),
        };
        Self::V1 {
            namespace,
            group,
            data_id,
            content: gray.content.clone(),
            md5: gray.md5.clone(),
            config_type: gray.config_type.as_str().to_owned(),
            ips,
            last_modified: gray.last_modified.as_u64(),
            encrypted_data_key: gray.encrypted_data_key.clone(),
            tag,
        }
    }

    /// Where the row is stored.
    pub(crate) fn row_key(&self) -> Vec<u8> {
        let Self::V1 { namespace, group, data_id, tag, .. } = self;
        let rule = if tag.is_empty() { BETA_GRAY_NAME.to_owned() } else { GrayRule::Tag { tag: tag.clone() }.name() };
        crate::keys::gray_key(namespace, group, data_id, &rule)
    }

    pub(crate) fn into_domain(self) -> Result<(ConfigKey, GrayConfig), RecordError> {
        let Self::V1 {
            namespace,
            group,
            data_id,
            content,
            md5,
            config_type,
            ips,
            last_modified,
            encrypted_data_key,
            tag,
        } = self;
        let key = config_key(&namespace, &group, &data_id)?;
        let rule = if tag.is_empty() { GrayRule::Beta { ips } } else { GrayRule::Tag { tag } };
        let gray = GrayConfig {
            content,
            md5,
            config_type: ConfigType::parse(&config_type),
            encrypted_data_key,
            rule,
            last_modified: Millis(last_modified),
        };
        Ok((key, gray))
    }
}

/// One switch set away from its default, as a state machine row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum SwitchRow {
    V1 { name: String, value: String },
}
