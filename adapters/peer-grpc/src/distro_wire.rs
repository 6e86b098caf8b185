//! Distro messages as JSON: the registry's instances and owners in wire structs of their
//! own. Nothing here is stored, so nothing is versioned; both ends run the same release
//! (a mixed cluster refuses a message it cannot read, and verify repairs it later).

use std::collections::BTreeMap;

use domain::config::{ConnectionId, Group, Namespace};
use domain::naming::distro::{ClientCopy, ServiceSync};
use domain::naming::{ClusterName, Instance, Metadata, Owner, ServiceKey, ServiceName, Weight};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
pub(crate) struct ServiceKeyWire {
    namespace: String,
    group: String,
    name: String,
}

#[derive(Serialize, Deserialize)]
pub(crate) enum OwnerWire {
    Connection(String),
    Beats { ip: String, port: u16 },
}

#[derive(Serialize, Deserialize)]
pub(crate) struct InstanceWire {
    id: Option<String>,
    ip: String,
    port: u16,
    weight: f64,
    healthy: bool,
    enabled: bool,
    ephemeral: bool,
    cluster: String,
    metadata: BTreeMap<String, String>,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct ServiceSyncWire {
    service: ServiceKeyWire,
    clients: Vec<(OwnerWire, Vec<InstanceWire>)>,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct ClientCopyWire {
    node: u64,
    owner: OwnerWire,
    service: ServiceKeyWire,
    instances: Vec<InstanceWire>,
}

/// A message that names something the domain refuses.
#[derive(Debug, thiserror::Error)]
#[error("malformed distro message: {0}")]
pub(crate) struct Malformed(pub(crate) String);

fn bad(err: impl std::fmt::Display) -> Malformed {
    Malformed(err.to_string())
}

impl From<&ServiceKey> for ServiceKeyWire {
    fn from(key: &ServiceKey) -> Self {
        Self {
            namespace: key.namespace.as_str().to_owned(),
            group: key.group.as_str().to_owned(),
            name: key.name.as_str().to_owned(),
        }
    }
}

impl ServiceKeyWire {
    pub(crate) fn decode(&self) -> Result<ServiceKey, Malformed> {
        Ok(ServiceKey {
            namespace: Namespace::restore(&self.namespace).map_err(bad)?,
            group: Group::restore(&self.group).map_err(bad)?,
            name: ServiceName::restore(&self.name).map_err(bad)?,
        })
    }
}

impl From<&Owner> for OwnerWire {
    fn from(owner: &Owner) -> Self {
        match owner {
            Owner::Connection(id) => Self::Connection(id.as_str().to_owned()),
            Owner::Beats { ip, port } => Self::Beats { ip: ip.clone(), port: *port },
        }
    }
}

impl OwnerWire {
    fn decode(self) -> Owner {
        match self {
            Self::Connection(id) => Owner::Connection(ConnectionId::new(id)),
            Self::Beats { ip, port } => Owner::Beats { ip, port },
        }
    }
}

impl From<&Instance> for InstanceWire {
    fn from(instance: &Instance) -> Self {
        Self {
            id: instance.given_id.as_deref().map(str::to_owned),
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

impl InstanceWire {
    fn decode(self) -> Result<Instance, Malformed> {
        Ok(Instance {
            given_id: self.id.map(Box::from),
            ip: self.ip,
            port: self.port,
            weight: Weight::new(self.weight).map_err(bad)?,
            healthy: self.healthy,
            enabled: self.enabled,
            ephemeral: self.ephemeral,
            cluster: ClusterName::restore(&self.cluster).map_err(bad)?,
            metadata: Metadata::from(&self.metadata),
        })
    }
}

fn decode_instances(instances: Vec<InstanceWire>) -> Result<Vec<Instance>, Malformed> {
    instances.into_iter().map(InstanceWire::decode).collect()
}

impl From<&ServiceSync> for ServiceSyncWire {
    fn from(sync: &ServiceSync) -> Self {
        Self {
            service: (&sync.service).into(),
            clients: sync
                .clients
                .iter()
                .map(|(owner, instances)| (owner.into(), instances.iter().map(Into::into).collect()))
                .collect(),
        }
    }
}

impl ServiceSyncWire {
    pub(crate) fn decode(self) -> Result<ServiceSync, Malformed> {
        let clients = self
            .clients
            .into_iter()
            .map(|(owner, instances)| Ok((owner.decode(), decode_instances(instances)?)))
            .collect::<Result<_, Malformed>>()?;
        Ok(ServiceSync { service: self.service.decode()?, clients })
    }
}

impl From<&ClientCopy> for ClientCopyWire {
    fn from(copy: &ClientCopy) -> Self {
        Self {
            node: copy.node,
            owner: (&copy.owner).into(),
            service: (&copy.service).into(),
            instances: copy.instances.iter().map(Into::into).collect(),
        }
    }
}

impl ClientCopyWire {
    pub(crate) fn decode(self) -> Result<ClientCopy, Malformed> {
        Ok(ClientCopy {
            node: self.node,
            owner: self.owner.decode(),
            service: self.service.decode()?,
            instances: decode_instances(self.instances)?,
        })
    }
}
