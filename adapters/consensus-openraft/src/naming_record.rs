//! The registry's share of the raft log and state machine formats: naming commands and the
//! stored service row. Versioned like the rest of [`crate::record`].

use std::collections::BTreeMap;

use domain::config::{Group, Namespace};
use domain::naming::{
    ClusterMeta, ClusterName, HealthChecker, Instance, Metadata, NamingCommand, PersistentService, ProtectThreshold,
    Selector, ServiceKey, ServiceMeta, ServiceName, Weight,
};
use domain::Millis;
use serde::{Deserialize, Serialize};

use crate::record::RecordError;

/// A naming command in the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "naming_op")]
pub enum NamingCommandV1 {
    CreateService { service: ServiceKeyV1, meta: ServiceMetaV1 },
    UpdateService { service: ServiceKeyV1, meta: ServiceMetaV1 },
    RemoveService { service: ServiceKeyV1 },
    RegisterInstance { service: ServiceKeyV1, instance: InstanceV1, now: u64 },
    DeregisterInstance { service: ServiceKeyV1, ip: String, port: u16, cluster: String },
    UpdateCluster { service: ServiceKeyV1, cluster: String, meta: ClusterMetaV1 },
    SetHealth { service: ServiceKeyV1, ip: String, port: u16, cluster: String, healthy: bool },
}

// Weights and thresholds in records come from validated domain values: finite.
impl Eq for NamingCommandV1 {}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceKeyV1 {
    namespace: String,
    group: String,
    name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceMetaV1 {
    protect_threshold: f64,
    metadata: BTreeMap<String, String>,
    selector_type: String,
    selector_expression: String,
    ephemeral: bool,
    implicit: bool,
    created: u64,
    /// Absent in rows and entries written before clusters had settings.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    clusters: BTreeMap<String, ClusterMetaV1>,
}

/// A cluster's health checker and settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterMetaV1 {
    checker: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    path: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    headers: String,
    #[serde(default)]
    expected_code: u16,
    check_port: u16,
    use_instance_port: bool,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    metadata: BTreeMap<String, String>,
}

impl From<&ClusterMeta> for ClusterMetaV1 {
    fn from(meta: &ClusterMeta) -> Self {
        let (path, headers, expected_code) = match &meta.checker {
            HealthChecker::Http { path, headers, expected_code } => (path.clone(), headers.clone(), *expected_code),
            HealthChecker::Tcp | HealthChecker::None => (String::new(), String::new(), 0),
        };
        Self {
            checker: meta.checker.kind().to_owned(),
            path,
            headers,
            expected_code,
            check_port: meta.check_port,
            use_instance_port: meta.use_instance_port,
            metadata: meta.metadata.clone(),
        }
    }
}

impl TryFrom<&ClusterMetaV1> for ClusterMeta {
    type Error = RecordError;

    fn try_from(meta: &ClusterMetaV1) -> Result<Self, RecordError> {
        let checker = HealthChecker::from_parts(
            &meta.checker,
            Some(&meta.path),
            Some(&meta.headers),
            Some(i64::from(meta.expected_code)).filter(|code| *code != 0),
        )
        .map_err(invalid)?;
        Ok(Self {
            checker,
            check_port: meta.check_port,
            use_instance_port: meta.use_instance_port,
            metadata: meta.metadata.clone(),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceV1 {
    /// The id the client gave; empty for the generated one.
    id: String,
    ip: String,
    port: u16,
    weight: f64,
    healthy: bool,
    enabled: bool,
    ephemeral: bool,
    cluster: String,
    metadata: BTreeMap<String, String>,
}

/// One service with stored metadata and its persistent instances, as a state machine row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) enum ServiceRow {
    V1 { service: ServiceKeyV1, meta: ServiceMetaV1, instances: Vec<InstanceV1> },
}

impl From<&NamingCommand> for NamingCommandV1 {
    fn from(command: &NamingCommand) -> Self {
        match command {
            NamingCommand::CreateService { service, meta } => {
                Self::CreateService { service: service.into(), meta: meta.into() }
            }
            NamingCommand::UpdateService { service, meta } => {
                Self::UpdateService { service: service.into(), meta: meta.into() }
            }
            NamingCommand::RemoveService { service } => Self::RemoveService { service: service.into() },
            NamingCommand::RegisterInstance { service, instance, now } => {
                Self::RegisterInstance { service: service.into(), instance: instance.into(), now: now.as_u64() }
            }
            NamingCommand::DeregisterInstance { service, ip, port, cluster } => Self::DeregisterInstance {
                service: service.into(),
                ip: ip.clone(),
                port: *port,
                cluster: cluster.as_str().to_owned(),
            },
            NamingCommand::UpdateCluster { service, cluster, meta } => {
                Self::UpdateCluster { service: service.into(), cluster: cluster.as_str().to_owned(), meta: meta.into() }
            }
            NamingCommand::SetHealth { service, ip, port, cluster, healthy } => Self::SetHealth {
                service: service.into(),
                ip: ip.clone(),
                port: *port,
                cluster: cluster.as_str().to_owned(),
                healthy: *healthy,
            },
        }
    }
}

impl TryFrom<&NamingCommandV1> for NamingCommand {
    type Error = RecordError;

    fn try_from(command: &NamingCommandV1) -> Result<Self, RecordError> {
        Ok(match command {
            NamingCommandV1::CreateService { service, meta } => {
                Self::CreateService { service: service.try_into()?, meta: meta.try_into()? }
            }
            NamingCommandV1::UpdateService { service, meta } => {
                Self::UpdateService { service: service.try_into()?, meta: meta.try_into()? }
            }
            NamingCommandV1::RemoveService { service } => Self::RemoveService { service: service.try_into()? },
            NamingCommandV1::RegisterInstance { service, instance, now } => Self::RegisterInstance {
                service: service.try_into()?,
                instance: instance.try_into()?,
                now: Millis(*now),
            },
            NamingCommandV1::DeregisterInstance { service, ip, port, cluster } => Self::DeregisterInstance {
                service: service.try_into()?,
                ip: ip.clone(),
                port: *port,
                cluster: ClusterName::restore(cluster).map_err(invalid)?,
            },
            NamingCommandV1::UpdateCluster { service, cluster, meta } => Self::UpdateCluster {
                service: service.try_into()?,
                cluster: ClusterName::restore(cluster).map_err(invalid)?,
                meta: meta.try_into()?,
            },
            NamingCommandV1::SetHealth { service, ip, port, cluster, healthy } => Self::SetHealth {
                service: service.try_into()?,
                ip: ip.clone(),
                port: *port,
                cluster: ClusterName::restore(cluster).map_err(invalid)?,
                healthy: *healthy,
            },
        })
    }
}

impl ServiceRow {
    pub(crate) fn new(service: &ServiceKey, entry: &PersistentService) -> Self {
        Self::V1 {
            service: service.into(),
            meta: (&entry.meta).into(),
            instances: entry.instances.iter().map(InstanceV1::from).collect(),
        }
    }

    pub(crate) fn into_domain(self) -> Result<(ServiceKey, PersistentService), RecordError> {
        let Self::V1 { service, meta, instances } = self;
        let instances = instances.iter().map(Instance::try_from).collect::<Result<Vec<_>, _>>()?;
        Ok(((&service).try_into()?, PersistentService { meta: (&meta).try_into()?, instances }))
    }

    pub(crate) fn key_parts(&self) -> (&str, &str, &str) {
        let Self::V1 { service, .. } = self;
        (&service.namespace, &service.group, &service.name)
    }
}

fn invalid(err: impl Into<domain::naming::NamingError>) -> RecordError {
    RecordError::Naming(err.into())
}

impl From<&ServiceKey> for ServiceKeyV1 {
    fn from(key: &ServiceKey) -> Self {
        Self {
            namespace: key.namespace.as_str().to_owned(),
            group: key.group.as_str().to_owned(),
            name: key.name.as_str().to_owned(),
        }
    }
}

impl TryFrom<&ServiceKeyV1> for ServiceKey {
    type Error = RecordError;

    fn try_from(key: &ServiceKeyV1) -> Result<Self, RecordError> {
        Ok(Self {
            namespace: Namespace::restore(&key.namespace).map_err(invalid)?,
            group: Group::restore(&key.group).map_err(invalid)?,
            name: ServiceName::restore(&key.name).map_err(invalid)?,
        })
    }
}

impl From<&ServiceMeta> for ServiceMetaV1 {
    fn from(meta: &ServiceMeta) -> Self {
        let expression = match &meta.selector {
            Selector::None => String::new(),
            Selector::Label { expression } => expression.clone(),
        };
        Self {
            protect_threshold: meta.protect_threshold.value(),
            metadata: meta.metadata.clone(),
            selector_type: meta.selector.kind().to_owned(),
            selector_expression: expression,
            ephemeral: meta.ephemeral,
            implicit: meta.implicit,
            created: meta.created.as_u64(),
            clusters: meta.clusters.iter().map(|(name, cluster)| (name.clone(), cluster.into())).collect(),
        }
    }
}

impl TryFrom<&ServiceMetaV1> for ServiceMeta {
    type Error = RecordError;

    fn try_from(meta: &ServiceMetaV1) -> Result<Self, RecordError> {
        Ok(Self {
            protect_threshold: ProtectThreshold::new(meta.protect_threshold).map_err(invalid)?,
            metadata: meta.metadata.clone(),
            selector: Selector::restore(Some(&meta.selector_type), Some(&meta.selector_expression)).map_err(invalid)?,
            clusters: meta
                .clusters
                .iter()
                .map(|(name, cluster)| Ok((name.clone(), cluster.try_into()?)))
                .collect::<Result<_, RecordError>>()?,
            ephemeral: meta.ephemeral,
            implicit: meta.implicit,
            created: Millis(meta.created),
        })
    }
}

impl From<&Instance> for InstanceV1 {
    fn from(instance: &Instance) -> Self {
        Self {
            id: instance.given_id.as_deref().unwrap_or_default().to_owned(),
            ip: instance.ip.clone(),
            port: instance.port,
            weight: instance.weight.value(),
            healthy: instance.healthy,
            enabled: instance.enabled,
            ephemeral: instance.ephemeral,
            cluster: instance.cluster.as_str().to_owned(),
            metadata: instance.metadata.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect(),
        }
    }
}

impl TryFrom<&InstanceV1> for Instance {
    type Error = RecordError;

    fn try_from(instance: &InstanceV1) -> Result<Self, RecordError> {
        Ok(Self {
            given_id: Some(instance.id.as_str()).filter(|id| !id.is_empty()).map(Box::from),
            ip: instance.ip.clone(),
            port: instance.port,
            weight: Weight::new(instance.weight).map_err(invalid)?,
            healthy: instance.healthy,
            enabled: instance.enabled,
            ephemeral: instance.ephemeral,
            cluster: ClusterName::restore(&instance.cluster).map_err(invalid)?,
            metadata: Metadata::from(&instance.metadata),
        })
    }
}
