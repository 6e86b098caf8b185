//! Instances: what a client registers, how it is validated, and the ids and heartbeat
//! settings derived from it.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::IpAddr;

use super::{Metadata, NamingError, ServiceKey};
use crate::limits::{MAX_CLUSTER_LEN, MAX_IP_LEN, MAX_WEIGHT};

pub const DEFAULT_CLUSTER: &str = "DEFAULT";
/// Beat period when the metadata does not set one (ms).
pub const DEFAULT_HEARTBEAT_INTERVAL: u64 = 5_000;
const DEFAULT_HEARTBEAT_TIMEOUT: u64 = 15_000;
const DEFAULT_IP_DELETE_TIMEOUT: u64 = 30_000;

const HEARTBEAT_INTERVAL_KEY: &str = "preserved.heart.beat.interval";
const HEARTBEAT_TIMEOUT_KEY: &str = "preserved.heart.beat.timeout";
const IP_DELETE_TIMEOUT_KEY: &str = "preserved.ip.delete.timeout";
const ID_GENERATOR_KEY: &str = "preserved.instance.id.generator";

/// A cluster name: `^[0-9a-zA-Z-]+$`, as Nacos checks on registration.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClusterName(Cow<'static, str>);

impl ClusterName {
    pub fn new(raw: &str) -> Result<Self, NamingError> {
        Self::within(raw, MAX_CLUSTER_LEN)
    }

    /// A cluster name read back from storage: the same rules without the request length
    /// limit, which may have been higher when it was written.
    pub fn restore(raw: &str) -> Result<Self, NamingError> {
        Self::within(raw, usize::MAX)
    }

    fn within(raw: &str, max_len: usize) -> Result<Self, NamingError> {
        let raw = raw.trim();
        if raw.is_empty() || raw == DEFAULT_CLUSTER {
            return Ok(Self::default());
        }
        if raw.len() > max_len {
            return Err(NamingError::TooLong { param: "clusterName", limit: max_len });
        }
        if !raw.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(NamingError::Invalid {
                param: "clusterName",
                reason: format!("cluster name can only have these characters: 0-9a-zA-Z-, current: {raw}"),
            });
        }
        Ok(Self(Cow::Owned(raw.to_owned())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for ClusterName {
    /// Borrowed: most instances are in the default cluster and share its name.
    fn default() -> Self {
        Self(Cow::Borrowed(DEFAULT_CLUSTER))
    }
}

/// An instance's share of traffic, 0 to 10000.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Weight(f64);

// A weight is always finite (checked on construction), so equality is total.
impl Eq for Weight {}

impl Weight {
    pub fn new(value: f64) -> Result<Self, NamingError> {
        if !(0.0..=MAX_WEIGHT).contains(&value) {
            return Err(NamingError::WeightOutOfRange);
        }
        Ok(Self(value))
    }

    pub fn value(self) -> f64 {
        self.0
    }
}

impl Default for Weight {
    fn default() -> Self {
        Self(1.0)
    }
}

/// One registered instance of a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// The id the client gave; `None` means the generated one (see [`Instance::id`]), which
    /// is derived rather than stored.
    pub given_id: Option<Box<str>>,
    pub ip: String,
    pub port: u16,
    pub weight: Weight,
    pub healthy: bool,
    pub enabled: bool,
    pub ephemeral: bool,
    pub cluster: ClusterName,
    pub metadata: Metadata,
}

impl Instance {
    /// The instance id: the one given, or Nacos's generated `ip#port#cluster#group@@service`.
    pub fn id(&self, service: &ServiceKey) -> Cow<'_, str> {
        match &self.given_id {
            Some(id) => Cow::Borrowed(id),
            None => {
                Cow::Owned(format!("{}#{}#{}#{}", self.ip, self.port, self.cluster.as_str(), service.grouped_name()))
            }
        }
    }

    /// Whether this is the instance at `ip:port` in `cluster`: an instance's identity
    /// within its service.
    pub fn is_at(&self, ip: &str, port: u16, cluster: &ClusterName) -> bool {
        self.port == port && self.ip == ip && self.cluster == *cluster
    }

    /// Its address (ip, port, cluster): what orders hosts in a view.
    pub fn address(&self) -> (&str, u16, &str) {
        (&self.ip, self.port, self.cluster.as_str())
    }

    /// Its beat settings (valid: checked at registration).
    pub fn heartbeat(&self) -> HeartbeatTimes {
        HeartbeatTimes::from_metadata(&self.metadata).unwrap_or_default()
    }
}

/// An instance as a client describes it, before validation. Adapters fill it from form
/// parameters or JSON; `None` means "not given".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InstanceDraft {
    pub instance_id: Option<String>,
    pub ip: Option<String>,
    pub port: Option<i64>,
    pub weight: Option<f64>,
    pub healthy: Option<bool>,
    pub enabled: Option<bool>,
    pub ephemeral: Option<bool>,
    pub cluster: Option<String>,
    pub metadata: BTreeMap<String, String>,
}

impl InstanceDraft {
    /// Validates the draft into an instance, filling Nacos's defaults.
    pub fn validate(&self) -> Result<Instance, NamingError> {
        let ip = validate_ip(self.ip.as_deref())?;
        let port = validate_port(self.port)?;
        let weight = self.weight.map_or(Ok(Weight::default()), Weight::new)?;
        let cluster = ClusterName::new(self.cluster.as_deref().unwrap_or(""))?;
        super::check_metadata_size(&self.metadata)?;
        let metadata = Metadata::from(&self.metadata);
        HeartbeatTimes::from_metadata(&metadata)?;
        let given_id = self.instance_id.as_deref().map(str::trim).filter(|id| !id.is_empty()).map(Box::from);
        Ok(Instance {
            given_id,
            ip,
            port,
            weight,
            healthy: self.healthy.unwrap_or(true),
            enabled: self.enabled.unwrap_or(true),
            ephemeral: self.ephemeral.unwrap_or(true),
            cluster,
            metadata,
        })
    }
}

/// Where an instance is within its service: its identity (ip, port, cluster). Requests
/// that name an instance rather than describe one (deregister, beat, health) carry it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InstanceAddress {
    pub ip: String,
    pub port: u16,
    pub cluster: ClusterName,
}

impl InstanceAddress {
    /// Validates an address as a client sent it; no cluster means the default one.
    pub fn parse(ip: Option<&str>, port: Option<i64>, cluster: Option<&str>) -> Result<Self, NamingError> {
        Ok(Self { ip: validate_ip(ip)?, port: validate_port(port)?, cluster: ClusterName::new(cluster.unwrap_or(""))? })
    }
}

fn validate_ip(ip: Option<&str>) -> Result<String, NamingError> {
    let ip = ip.map(str::trim).filter(|ip| !ip.is_empty()).ok_or(NamingError::Missing("ip"))?;
    if ip.len() > MAX_IP_LEN {
        return Err(NamingError::TooLong { param: "ip", limit: MAX_IP_LEN });
    }
    if ip.parse::<IpAddr>().is_ok() || is_host_name(ip) {
        return Ok(ip.to_owned());
    }
    Err(NamingError::Invalid { param: "ip", reason: format!("'{ip}' is neither an IP address nor a host name") })
}

/// An RFC 1123 host name that does not look like a mistyped IPv4 address.
fn is_host_name(host: &str) -> bool {
    let labels_ok = host.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    });
    let all_numeric = host.split('.').all(|label| label.chars().all(|c| c.is_ascii_digit()));
    labels_ok && !all_numeric
}

fn validate_port(port: Option<i64>) -> Result<u16, NamingError> {
    let port = port.ok_or(NamingError::Missing("port"))?;
    u16::try_from(port)
        .map_err(|_| NamingError::Invalid { param: "port", reason: format!("{port} is not between 0 and 65535") })
}

/// A partial update of an instance (HTTP PUT/PATCH): each `Some` replaces that field.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InstancePatch {
    pub weight: Option<f64>,
    pub healthy: Option<bool>,
    pub enabled: Option<bool>,
    pub metadata: Option<BTreeMap<String, String>>,
}

impl InstancePatch {
    /// The instance with this patch applied, validated.
    pub fn apply_to(&self, instance: &Instance) -> Result<Instance, NamingError> {
        let mut updated = instance.clone();
        if let Some(weight) = self.weight {
            updated.weight = Weight::new(weight)?;
        }
        if let Some(healthy) = self.healthy {
            updated.healthy = healthy;
        }
        if let Some(enabled) = self.enabled {
            updated.enabled = enabled;
        }
        if let Some(metadata) = &self.metadata {
            super::check_metadata_size(metadata)?;
            let metadata = Metadata::from(metadata);
            HeartbeatTimes::from_metadata(&metadata)?;
            updated.metadata = metadata;
        }
        Ok(updated)
    }
}

/// How often an HTTP-kept instance beats and when it turns unhealthy and is removed (ms),
/// from its `preserved.*` metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeartbeatTimes {
    pub interval: u64,
    pub timeout: u64,
    pub delete_after: u64,
}

impl Default for HeartbeatTimes {
    fn default() -> Self {
        Self {
            interval: DEFAULT_HEARTBEAT_INTERVAL,
            timeout: DEFAULT_HEARTBEAT_TIMEOUT,
            delete_after: DEFAULT_IP_DELETE_TIMEOUT,
        }
    }
}

impl HeartbeatTimes {
    /// Reads and checks the preserved keys: numbers of milliseconds, and an interval no
    /// longer than either timeout.
    pub fn from_metadata(metadata: &Metadata) -> Result<Self, NamingError> {
        let defaults = Self::default();
        let read = |key: &'static str, default: u64| -> Result<u64, NamingError> {
            match metadata.get(key) {
                None => Ok(default),
                Some(raw) => raw.trim().parse::<u64>().map_err(|_| NamingError::Invalid {
                    param: "metadata",
                    reason: format!("{key} must be a number of milliseconds, not '{raw}'"),
                }),
            }
        };
        let times = Self {
            interval: read(HEARTBEAT_INTERVAL_KEY, defaults.interval)?,
            timeout: read(HEARTBEAT_TIMEOUT_KEY, defaults.timeout)?,
            delete_after: read(IP_DELETE_TIMEOUT_KEY, defaults.delete_after)?,
        };
        if times.timeout < times.interval || times.delete_after < times.interval {
            return Err(NamingError::HeartbeatTimes);
        }
        if let Some(generator) = metadata.get(ID_GENERATOR_KEY) {
            if !matches!(generator, "simple" | "snowflake") {
                return Err(NamingError::Invalid {
                    param: "metadata",
                    reason: format!("{ID_GENERATOR_KEY} must be simple or snowflake"),
                });
            }
        }
        Ok(times)
    }

    /// The id generator the metadata names (`simple` unless set).
    pub fn id_generator(metadata: &Metadata) -> &str {
        metadata.get(ID_GENERATOR_KEY).unwrap_or("simple")
    }
}
