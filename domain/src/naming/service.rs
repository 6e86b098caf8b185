//! Service identity and the metadata a service can be given through the service API.

use std::collections::BTreeMap;
use std::fmt;

use super::{ClusterMeta, NamingError};
use crate::config::{Group, Namespace};
use crate::limits::MAX_SERVICE_NAME_LEN;
use crate::Millis;

pub const DEFAULT_GROUP: &str = "DEFAULT_GROUP";
/// Separates the group from the name in a grouped service name (`group@@name`).
pub const GROUP_SEPARATOR: &str = "@@";

/// A service name without its group, e.g. `order-service` or Dubbo's
/// `providers:com.example.Api:1.0.0:`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServiceName(String);

impl ServiceName {
    /// Nacos 1.x's rule: letters, digits and `. : _ -` (`@` too, but never the `@@`
    /// separator).
    pub fn new(raw: &str) -> Result<Self, NamingError> {
        Self::within(raw, MAX_SERVICE_NAME_LEN)
    }

    /// A service name read back from storage: the same rules without the request length
    /// limit, which may have been higher when it was written.
    pub fn restore(raw: &str) -> Result<Self, NamingError> {
        Self::within(raw, usize::MAX)
    }

    fn within(raw: &str, max_len: usize) -> Result<Self, NamingError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(NamingError::Missing("serviceName"));
        }
        if raw.len() > max_len {
            return Err(NamingError::TooLong { param: "serviceName", limit: max_len });
        }
        let invalid = |reason: &str| NamingError::Invalid { param: "serviceName", reason: reason.to_owned() };
        if raw.contains(GROUP_SEPARATOR) {
            return Err(invalid("'@@' separates the group and may appear once"));
        }
        if !raw.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '_' | '-' | '@')) {
            return Err(invalid("only letters, digits and . : _ - @ are allowed"));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The identity of a service: namespace, group and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServiceKey {
    pub namespace: Namespace,
    pub group: Group,
    pub name: ServiceName,
}

impl ServiceKey {
    /// Reads the wire parameters. `service` may be plain or grouped (`group@@name`, as v1
    /// clients send it); a grouped name whose group disagrees with an explicit `group` is
    /// refused rather than guessed at.
    pub fn parse(namespace: Option<&str>, group: Option<&str>, service: Option<&str>) -> Result<Self, NamingError> {
        let service =
            service.map(str::trim).filter(|raw| !raw.is_empty()).ok_or(NamingError::Missing("serviceName"))?;
        let group = group.map(str::trim).filter(|raw| !raw.is_empty());
        let (group, name) = match service.split_once(GROUP_SEPARATOR) {
            Some((in_name, name)) => {
                if in_name.trim().is_empty() {
                    return Err(NamingError::Invalid {
                        param: "serviceName",
                        reason: "the group before '@@' is empty".to_owned(),
                    });
                }
                if let Some(param) = group.filter(|param| *param != in_name) {
                    return Err(NamingError::GroupMismatch { in_name: in_name.to_owned(), param: param.to_owned() });
                }
                (in_name, name)
            }
            None => (group.unwrap_or(DEFAULT_GROUP), service),
        };
        Ok(Self {
            namespace: Namespace::new(namespace.unwrap_or(""))?,
            group: Group::new(group)?,
            name: ServiceName::new(name)?,
        })
    }

    /// `group@@name`, as instances and v1 responses spell the service.
    pub fn grouped_name(&self) -> String {
        format!("{}{GROUP_SEPARATOR}{}", self.group.as_str(), self.name.as_str())
    }
}

impl fmt::Display for ServiceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}##{}", self.namespace.as_str(), self.grouped_name())
    }
}

/// The share of healthy instances below which a service shows all its instances as healthy
/// (0 to 1; 0 fires only when none is healthy).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default)]
pub struct ProtectThreshold(f64);

// A threshold is always finite (checked on construction), so equality is total.
impl Eq for ProtectThreshold {}

impl ProtectThreshold {
    pub fn new(value: f64) -> Result<Self, NamingError> {
        if !(0.0..=1.0).contains(&value) {
            return Err(NamingError::Invalid {
                param: "protectThreshold",
                reason: "must be between 0 and 1".to_owned(),
            });
        }
        Ok(Self(value))
    }

    pub fn value(self) -> f64 {
        self.0
    }
}

/// A service's instance selector: `none`, or `label` with an expression of Nacos's grammar,
/// `CONSUMER.label.K = PROVIDER.label.K [& CONSUMER.label.J = PROVIDER.label.J ...]`: a
/// consumer sees the providers whose label `K` equals its own (when it has one).
///
/// Java reads both sides' labels from a CMDB; here an ip's labels are the metadata its
/// registered instances carry (a provider's own metadata; the consumer's instances in the
/// same namespace), see [`select_by_labels`](super::select_by_labels).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Selector {
    #[default]
    None,
    Label {
        expression: String,
    },
}

const CONSUMER_LABEL: &str = "CONSUMER.label.";
const PROVIDER_LABEL: &str = "PROVIDER.label.";

impl Selector {
    /// Reads the wire's `{"type":"label","expression":"..."}` fields; a label expression
    /// that does not parse is refused, as Java refuses it.
    pub fn from_parts(kind: Option<&str>, expression: Option<&str>) -> Result<Self, NamingError> {
        let selector = Self::restore(kind, expression)?;
        if let Self::Label { expression } = &selector {
            parse_label_expression(expression)?;
        }
        Ok(selector)
    }

    /// As [`Selector::from_parts`] without checking the expression: what storage holds is
    /// read back even if a later release parses more strictly.
    pub fn restore(kind: Option<&str>, expression: Option<&str>) -> Result<Self, NamingError> {
        match kind.map(str::trim) {
            None | Some("") | Some("none") => Ok(Self::None),
            Some("label") => Ok(Self::Label { expression: expression.unwrap_or_default().to_owned() }),
            Some(_) => Err(NamingError::Invalid { param: "selector", reason: "type must be none or label".to_owned() }),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Label { .. } => "label",
        }
    }

    /// The labels a label selector matches on (none for `none`, or an expression that does
    /// not parse).
    pub fn labels(&self) -> Vec<String> {
        match self {
            Self::None => Vec::new(),
            Self::Label { expression } => parse_label_expression(expression).unwrap_or_default(),
        }
    }
}

/// The label keys of an expression (blank: none); whitespace is ignored, as in Java.
pub fn parse_label_expression(expression: &str) -> Result<Vec<String>, NamingError> {
    let compact: String = expression.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.is_empty() {
        return Ok(Vec::new());
    }
    let failed = || NamingError::Invalid {
        param: "selector",
        reason: "parse expression failed! expected CONSUMER.label.K = PROVIDER.label.K [& ...]".to_owned(),
    };
    let mut labels = Vec::new();
    for clause in compact.split('&') {
        let (consumer, provider) = clause.split_once('=').ok_or_else(failed)?;
        let consumer = consumer.strip_prefix(CONSUMER_LABEL).ok_or_else(failed)?;
        let provider = provider.strip_prefix(PROVIDER_LABEL).ok_or_else(failed)?;
        if consumer.is_empty() || consumer != provider || provider.contains('=') {
            return Err(failed());
        }
        if !labels.iter().any(|label| label == consumer) {
            labels.push(consumer.to_owned());
        }
    }
    Ok(labels)
}

/// What the service API stores about a service. A service is either ephemeral (its
/// instances belong to clients) or persistent (its instances go through raft).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServiceMeta {
    pub protect_threshold: ProtectThreshold,
    pub metadata: BTreeMap<String, String>,
    pub selector: Selector,
    /// How each named cluster is health-checked; a cluster not named here has the default
    /// ([`ClusterMeta::default`]).
    pub clusters: BTreeMap<String, ClusterMeta>,
    pub ephemeral: bool,
    /// Created by a persistent registration rather than the service API: it goes away
    /// with its last instance, as Nacos cleans up empty services.
    pub implicit: bool,
    pub created: Millis,
}
