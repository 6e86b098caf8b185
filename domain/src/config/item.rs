//! A stored config and its content type.

use crate::Millis;

/// The content types Nacos knows; anything else is stored as [`ConfigType::Text`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ConfigType {
    #[default]
    Text,
    Properties,
    Xml,
    Json,
    Html,
    Yaml,
    Toml,
    Unset,
}

impl ConfigType {
    /// Parses leniently, as Nacos does: unknown or blank names become `Text`.
    pub fn parse(raw: &str) -> Self {
        match raw.trim().to_ascii_lowercase().as_str() {
            "properties" => Self::Properties,
            "xml" => Self::Xml,
            "json" => Self::Json,
            "html" => Self::Html,
            "yaml" => Self::Yaml,
            "toml" => Self::Toml,
            "unset" => Self::Unset,
            _ => Self::Text,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Properties => "properties",
            Self::Xml => "xml",
            Self::Json => "json",
            Self::Html => "html",
            Self::Yaml => "yaml",
            Self::Toml => "toml",
            Self::Unset => "unset",
        }
    }
}

/// One config as the state machine holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Assigned when the config is first created; stable across updates.
    pub id: u64,
    pub content: String,
    /// Always `md5_hex(content)`; kept so reads and listeners never rehash.
    pub md5: String,
    pub config_type: ConfigType,
    pub desc: String,
    pub app_name: String,
    /// Comma-separated tags as the client sent them (at most five).
    pub tags: String,
    /// See [`ConfigMeta::encrypted_data_key`](super::ConfigMeta::encrypted_data_key).
    pub encrypted_data_key: String,
    /// `use`, `effect` and `schema`, when any is set.
    pub details: Option<Box<super::ConfigDetails>>,
    pub created: Millis,
    pub last_modified: Millis,
}
