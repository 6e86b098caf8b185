//! Config identity: namespace (the wire's `tenant`), group and data id, each validated.

use std::fmt;
use std::sync::Arc;

use super::ConfigError;

use crate::limits::{MAX_DATA_ID_LEN, MAX_GROUP_LEN, MAX_NAMESPACE_ID_LEN};

/// The canonical spelling of the default namespace.
const PUBLIC: &str = "public";

/// A namespace id. `""`, `"public"` and `"null"` (any case) all mean the default namespace
/// and are stored as `"public"`, so the two spellings clients use never split one config
/// into two.
///
/// The three parts of a key are shared strings: the table, the read index and the history
/// index each hold the key of every config, and a clone is a reference count, not three
/// more allocations (~250 bytes a config).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Namespace(Arc<str>);

impl Namespace {
    pub fn new(raw: &str) -> Result<Self, ConfigError> {
        canonical_namespace(raw, MAX_NAMESPACE_ID_LEN).map(|id| Self(id.into()))
    }

    /// A namespace id read back from storage: the same rules without the request length
    /// limit, which may have been higher when it was written.
    pub fn restore(raw: &str) -> Result<Self, ConfigError> {
        canonical_namespace(raw, usize::MAX).map(|id| Self(id.into()))
    }

    pub fn public() -> Self {
        Self(PUBLIC.into())
    }

    pub fn is_public(&self) -> bool {
        &*self.0 == PUBLIC
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A config group, e.g. `DEFAULT_GROUP`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Group(Arc<str>);

impl Group {
    pub fn new(raw: &str) -> Result<Self, ConfigError> {
        valid_name("group", raw, MAX_GROUP_LEN).map(|group| Self(group.into()))
    }

    /// A group read back from storage (see [`Namespace::restore`]).
    pub fn restore(raw: &str) -> Result<Self, ConfigError> {
        valid_name("group", raw, usize::MAX).map(|group| Self(group.into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A config's data id, e.g. `application.yaml`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DataId(Arc<str>);

impl DataId {
    pub fn new(raw: &str) -> Result<Self, ConfigError> {
        valid_name("dataId", raw, MAX_DATA_ID_LEN).map(|data_id| Self(data_id.into()))
    }

    /// A data id read back from storage (see [`Namespace::restore`]).
    pub fn restore(raw: &str) -> Result<Self, ConfigError> {
        valid_name("dataId", raw, usize::MAX).map(|data_id| Self(data_id.into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The identity of one config.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConfigKey {
    pub namespace: Namespace,
    pub group: Group,
    pub data_id: DataId,
}

impl ConfigKey {
    /// Validates the three wire parameters; a missing namespace is the default one.
    pub fn parse(namespace: Option<&str>, group: Option<&str>, data_id: Option<&str>) -> Result<Self, ConfigError> {
        let data_id = DataId::new(data_id.ok_or(ConfigError::Missing("dataId"))?)?;
        let group = Group::new(group.ok_or(ConfigError::Missing("group"))?)?;
        let namespace = Namespace::new(namespace.unwrap_or(""))?;
        Ok(Self { namespace, group, data_id })
    }
}

impl ConfigKey {
    /// This key, borrowed.
    pub fn as_key_ref(&self) -> KeyRef<'_> {
        KeyRef { namespace: &self.namespace.0, group: &self.group.0, data_id: &self.data_id.0 }
    }
}

/// A config's identity borrowed from a request: validated and canonicalised exactly as
/// [`ConfigKey`], without copying, so a read finds its config without allocating.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyRef<'a> {
    pub namespace: &'a str,
    pub group: &'a str,
    pub data_id: &'a str,
}

impl<'a> KeyRef<'a> {
    /// The same rules as [`ConfigKey::parse`].
    pub fn parse(
        namespace: Option<&'a str>,
        group: Option<&'a str>,
        data_id: Option<&'a str>,
    ) -> Result<Self, ConfigError> {
        let data_id = valid_name("dataId", data_id.ok_or(ConfigError::Missing("dataId"))?, MAX_DATA_ID_LEN)?;
        let group = valid_name("group", group.ok_or(ConfigError::Missing("group"))?, MAX_GROUP_LEN)?;
        let namespace = canonical_namespace(namespace.unwrap_or(""), MAX_NAMESPACE_ID_LEN)?;
        Ok(Self { namespace, group, data_id })
    }

    pub fn to_owned_key(self) -> ConfigKey {
        ConfigKey {
            namespace: Namespace(self.namespace.into()),
            group: Group(self.group.into()),
            data_id: DataId(self.data_id.into()),
        }
    }
}

/// `""`, `"public"` and `"null"` (any case) are the default namespace, spelled `"public"`.
fn canonical_namespace(raw: &str, max_len: usize) -> Result<&str, ConfigError> {
    let raw = raw.trim();
    if raw.is_empty() || raw.eq_ignore_ascii_case(PUBLIC) || raw.eq_ignore_ascii_case("null") {
        return Ok(PUBLIC);
    }
    check_chars("tenant", raw, max_len)?;
    Ok(raw)
}

/// A group or data id: present, not blank, valid characters; trimmed.
pub(super) fn valid_name<'a>(param: &'static str, raw: &'a str, max_len: usize) -> Result<&'a str, ConfigError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(ConfigError::Missing(param));
    }
    check_chars(param, raw, max_len)?;
    Ok(raw)
}

impl fmt::Display for ConfigKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}+{}+{}", self.data_id.0, self.group.0, self.namespace.0)
    }
}

/// Nacos's `ParamUtils.isValid`: letters, digits and `_ - . :` only.
fn check_chars(param: &'static str, raw: &str, max_len: usize) -> Result<(), ConfigError> {
    if raw.len() > max_len {
        return Err(ConfigError::TooLong { param, limit: max_len });
    }
    let valid = raw.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'));
    if !valid {
        return Err(ConfigError::Invalid { param, reason: "only letters, digits and _ - . : are allowed" });
    }
    Ok(())
}
