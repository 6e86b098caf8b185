//! Gray releases: versions of a config served, instead of the formal one, to the clients a
//! rule matches. As in Nacos 2.5+, every kind of gray release is one rule kind with a
//! priority, and a config may carry one gray version per rule name:
//!
//! | rule | name         | matches a client whose ... | priority |
//! |------|--------------|----------------------------|----------|
//! | tag  | `tag_<tag>`  | tag (query `tag`, the `Vipserver-Tag` header or connection label) is the tag | above beta |
//! | beta | `beta`       | connection ip is listed    | lowest   |
//!
//! A client matched by several reads the highest priority's version (Nacos 3.x's order: a
//! client that asks for a tag gets the tag's version).

use std::net::IpAddr;

use super::key::valid_name;
use super::{ConfigError, ConfigType};
use crate::limits::{MAX_BETA_IPS, MAX_GRAY_TAG_LEN};
use crate::Millis;

/// Who reads a config, as gray rules see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Reader<'a> {
    /// The client's ip (its connection's, or the HTTP request's).
    pub ip: &'a str,
    /// The tag the client reads with; `""` when none.
    pub tag: &'a str,
}

impl<'a> Reader<'a> {
    pub fn new(ip: &'a str, tag: &'a str) -> Self {
        Self { ip, tag }
    }

    /// A reader with no tag.
    pub fn at(ip: &'a str) -> Self {
        Self { ip, tag: "" }
    }
}

/// The header and gRPC connection label a client names its tag with (Java's client sends it
/// as a connection label; HTTP clients as a header).
pub const TAG_LABEL: &str = "Vipserver-Tag";

/// The tag a client reads with: the first non-blank of what it said, most specific first
/// (the request's `tag`, then the request's header, then its connection's label); `""`
/// when none.
pub fn reader_tag<'a>(said: impl IntoIterator<Item = Option<&'a str>>) -> &'a str {
    said.into_iter().flatten().map(str::trim).find(|tag| !tag.is_empty()).unwrap_or_default()
}

/// Which clients a gray version is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrayRule {
    /// Clients at these ips (canonical spelling), as the publisher listed them.
    Beta { ips: Vec<String> },
    /// Clients reading with this tag.
    Tag { tag: String },
}

/// The name of the beta rule's version.
pub const BETA_GRAY_NAME: &str = "beta";
const TAG_GRAY_PREFIX: &str = "tag_";

impl GrayRule {
    /// The version's name, unique per config: `beta`, or `tag_<tag>` (Nacos's gray names).
    pub fn name(&self) -> String {
        match self {
            Self::Beta { .. } => BETA_GRAY_NAME.to_owned(),
            Self::Tag { tag } => format!("{TAG_GRAY_PREFIX}{tag}"),
        }
    }

    /// Higher wins when several rules match one reader.
    pub fn priority(&self) -> i32 {
        match self {
            Self::Beta { .. } => -1_000,
            Self::Tag { .. } => i32::MAX - 1,
        }
    }

    /// Nacos's rule type: `beta` or `tag`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Beta { .. } => "beta",
            Self::Tag { .. } => "tag",
        }
    }

    /// The rule's expression as Nacos shows it: the ip list, or the tag.
    pub fn expression(&self) -> String {
        match self {
            Self::Beta { ips } => ips.join(","),
            Self::Tag { tag } => tag.clone(),
        }
    }

    pub fn matches(&self, reader: &Reader<'_>) -> bool {
        match self {
            Self::Beta { ips } => ips.iter().any(|ip| ip == reader.ip),
            Self::Tag { tag } => !reader.tag.is_empty() && tag == reader.tag,
        }
    }

    pub fn is_beta(&self) -> bool {
        matches!(self, Self::Beta { .. })
    }

    /// The tag of a tag rule.
    pub fn tag(&self) -> Option<&str> {
        match self {
            Self::Tag { tag } => Some(tag),
            Self::Beta { .. } => None,
        }
    }
}

/// A gray version of a config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrayConfig {
    pub content: String,
    pub md5: String,
    pub config_type: ConfigType,
    /// The data key the gray content was encrypted with, `""` if it is not.
    pub encrypted_data_key: String,
    pub rule: GrayRule,
    pub last_modified: Millis,
}

impl GrayConfig {
    pub fn serves(&self, reader: &Reader<'_>) -> bool {
        self.rule.matches(reader)
    }
}

/// The gray version `reader` reads among `grays` (ordered by priority, highest first).
pub fn gray_for<'g, G: AsRef<GrayConfig>>(grays: &'g [G], reader: &Reader<'_>) -> Option<&'g G> {
    grays.iter().find(|gray| gray.as_ref().serves(reader))
}

/// Parses `betaIps`: comma-separated ip addresses. `None` when blank (a formal publish).
pub fn parse_beta_ips(raw: Option<&str>) -> Result<Option<Vec<String>>, ConfigError> {
    let Some(raw) = raw.map(str::trim).filter(|raw| !raw.is_empty()) else { return Ok(None) };
    let mut ips = Vec::new();
    for ip in raw.split(',').map(str::trim).filter(|ip| !ip.is_empty()) {
        let parsed: IpAddr =
            ip.parse().map_err(|_| ConfigError::Invalid { param: "betaIps", reason: "not an ip address" })?;
        let canonical = parsed.to_string();
        if !ips.contains(&canonical) {
            ips.push(canonical);
        }
    }
    if ips.is_empty() {
        return Ok(None);
    }
    if ips.len() > MAX_BETA_IPS {
        return Err(ConfigError::Invalid { param: "betaIps", reason: "more than 1000 ips" });
    }
    Ok(Some(ips))
}

/// Parses a publish's or a removal's `tag`: `None` when blank; otherwise Nacos's name
/// characters, at most [`MAX_GRAY_TAG_LEN`].
pub fn parse_gray_tag(raw: Option<&str>) -> Result<Option<String>, ConfigError> {
    match raw.map(str::trim).filter(|raw| !raw.is_empty()) {
        None => Ok(None),
        Some(tag) => valid_name("tag", tag, MAX_GRAY_TAG_LEN).map(|tag| Some(tag.to_owned())),
    }
}

/// The gray rule a publish asks for: `betaIps` or `tag` (not both), `None` for a formal
/// publish.
pub fn parse_gray_rule(beta_ips: Option<&str>, tag: Option<&str>) -> Result<Option<GrayRule>, ConfigError> {
    match (parse_beta_ips(beta_ips)?, parse_gray_tag(tag)?) {
        (Some(_), Some(_)) => {
            Err(ConfigError::Invalid { param: "tag", reason: "a publish is for betaIps or a tag, not both" })
        }
        (Some(ips), None) => Ok(Some(GrayRule::Beta { ips })),
        (None, Some(tag)) => Ok(Some(GrayRule::Tag { tag })),
        (None, None) => Ok(None),
    }
}
