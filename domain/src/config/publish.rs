//! Turning a publish request's raw parameters into a validated [`PublishConfig`].

use super::{ConfigError, ConfigKey, ConfigType};

pub use crate::limits::DEFAULT_MAX_CONTENT_BYTES;
use crate::limits::{
    MAX_CAS_MD5_LEN, MAX_CONFIG_APP_NAME_LEN, MAX_CONFIG_DESC_LEN, MAX_CONFIG_EFFECT_LEN, MAX_CONFIG_SCHEMA_LEN,
    MAX_CONFIG_TAGS, MAX_CONFIG_TAG_LEN, MAX_CONFIG_USE_LEN, MAX_ENCRYPTED_DATA_KEY_LEN,
};

/// Operator-configurable bounds on what a publish may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfigLimits {
    pub max_content_bytes: usize,
}

impl Default for ConfigLimits {
    fn default() -> Self {
        Self { max_content_bytes: DEFAULT_MAX_CONTENT_BYTES }
    }
}

/// A publish request as it arrives from any protocol: raw, optional strings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublishParams<'a> {
    pub namespace: Option<&'a str>,
    pub group: Option<&'a str>,
    pub data_id: Option<&'a str>,
    pub content: Option<&'a str>,
    pub config_type: Option<&'a str>,
    pub desc: Option<&'a str>,
    pub app_name: Option<&'a str>,
    pub tags: Option<&'a str>,
    pub cas_md5: Option<&'a str>,
    /// `encryptedDataKey`: set by the SDKs' config-encryption plugin for `cipher-*` data ids.
    pub encrypted_data_key: Option<&'a str>,
    /// `use`, `effect`, `schema`: free text the console edits and shows in a config's detail.
    pub usage: Option<&'a str>,
    pub effect: Option<&'a str>,
    pub schema: Option<&'a str>,
}

/// Descriptive fields stored beside the content.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigMeta {
    pub config_type: ConfigType,
    pub desc: String,
    pub app_name: String,
    pub tags: String,
    /// The data key the content was encrypted with (itself encrypted by the client's key
    /// management); stored and returned as given, `""` for plain configs. Without it a
    /// client cannot decrypt what it published.
    pub encrypted_data_key: String,
    pub details: ConfigDetails,
}

/// What Nacos keeps beside a config and shows only in its detail (`show=all`): set from the
/// console, rarely by clients, so a stored config holds them behind one pointer, `None`
/// when all are empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigDetails {
    /// Nacos's `use` (a keyword in Rust).
    pub usage: String,
    pub effect: String,
    pub schema: String,
}

impl ConfigDetails {
    pub fn is_empty(&self) -> bool {
        self.usage.is_empty() && self.effect.is_empty() && self.schema.is_empty()
    }

    /// What a stored `Option<Box<ConfigDetails>>` holds, read without copying: the empty
    /// details when there are none.
    pub fn or_empty(details: Option<&ConfigDetails>) -> &ConfigDetails {
        static EMPTY: ConfigDetails =
            ConfigDetails { usage: String::new(), effect: String::new(), schema: String::new() };
        details.unwrap_or(&EMPTY)
    }

    /// The boxed form a stored config keeps: `None` when there is nothing to keep.
    pub fn boxed(&self) -> Option<Box<ConfigDetails>> {
        (!self.is_empty()).then(|| Box::new(self.clone()))
    }
}

/// A publish that passed every rule that does not depend on the stored state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishConfig {
    pub key: ConfigKey,
    pub content: String,
    pub meta: ConfigMeta,
    /// Compare-and-swap: publish only if the stored md5 equals this (`""` = absent).
    pub cas_md5: Option<String>,
}

impl PublishConfig {
    pub fn parse(params: &PublishParams<'_>, limits: ConfigLimits) -> Result<Self, ConfigError> {
        let key = ConfigKey::parse(params.namespace, params.group, params.data_id)?;
        let content = params.content.ok_or(ConfigError::Missing("content"))?;
        if content.trim().is_empty() {
            return Err(ConfigError::Missing("content"));
        }
        if content.len() > limits.max_content_bytes {
            return Err(ConfigError::ContentTooLarge { size: content.len(), limit: limits.max_content_bytes });
        }
        let meta = ConfigMeta {
            config_type: params.config_type.map(ConfigType::parse).unwrap_or_default(),
            desc: bounded("desc", params.desc, MAX_CONFIG_DESC_LEN)?,
            app_name: bounded("appName", params.app_name, MAX_CONFIG_APP_NAME_LEN)?,
            tags: parse_tags(params.tags)?,
            encrypted_data_key: bounded("encryptedDataKey", params.encrypted_data_key, MAX_ENCRYPTED_DATA_KEY_LEN)?,
            details: ConfigDetails {
                usage: bounded("use", params.usage, MAX_CONFIG_USE_LEN)?,
                effect: bounded("effect", params.effect, MAX_CONFIG_EFFECT_LEN)?,
                schema: bounded("schema", params.schema, MAX_CONFIG_SCHEMA_LEN)?,
            },
        };
        let cas_md5 = match params.cas_md5.map(str::trim) {
            None | Some("") => None,
            Some(md5) if md5.len() <= MAX_CAS_MD5_LEN => Some(md5.to_owned()),
            Some(_) => return Err(ConfigError::Invalid { param: "casMd5", reason: "not an md5" }),
        };
        Ok(Self { key, content: content.to_owned(), meta, cas_md5 })
    }
}

fn bounded(param: &'static str, raw: Option<&str>, max_len: usize) -> Result<String, ConfigError> {
    let value = raw.unwrap_or("").trim();
    if value.chars().count() > max_len {
        return Err(ConfigError::TooLong { param, limit: max_len });
    }
    Ok(value.to_owned())
}

/// `config_tags`: at most five comma-separated tags of at most 64 characters each.
fn parse_tags(raw: Option<&str>) -> Result<String, ConfigError> {
    let tags: Vec<&str> = raw.unwrap_or("").split(',').map(str::trim).filter(|tag| !tag.is_empty()).collect();
    if tags.len() > MAX_CONFIG_TAGS {
        return Err(ConfigError::Invalid { param: "config_tags", reason: "more than 5 tags" });
    }
    if tags.iter().any(|tag| tag.chars().count() > MAX_CONFIG_TAG_LEN) {
        return Err(ConfigError::Invalid { param: "config_tags", reason: "a tag is longer than 64 characters" });
    }
    Ok(tags.join(","))
}
