//! The replicated half of the registry: service metadata and persistent instances, changed
//! only by committed raft commands.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{ClusterMeta, ClusterName, Instance, ServiceKey, ServiceMeta};
use crate::{Millis, Rejection};

/// A service as raft holds it: its metadata and its persistent instances.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PersistentService {
    pub meta: ServiceMeta,
    pub instances: Vec<Instance>,
}

/// A replicated registry change. Each carries everything it needs; the proposer has
/// validated the values, the table checks them against the state they meet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamingCommand {
    /// The service API's create; refused if the service exists.
    CreateService { service: ServiceKey, meta: ServiceMeta },
    /// The service API's update of threshold, metadata and selector; refused if absent.
    UpdateService { service: ServiceKey, meta: ServiceMeta },
    /// Refused while persistent instances remain (the proposer checks ephemeral ones).
    RemoveService { service: ServiceKey },
    /// Adds or replaces (same ip, port, cluster) a persistent instance, creating the
    /// service implicitly; refused if the service is ephemeral.
    RegisterInstance { service: ServiceKey, instance: Instance, now: Millis },
    /// Removes a persistent instance; absent is fine.
    DeregisterInstance { service: ServiceKey, ip: String, port: u16, cluster: ClusterName },
    /// Sets how one cluster of a service is health-checked (and its metadata); refused if
    /// the service is absent.
    UpdateCluster { service: ServiceKey, cluster: ClusterName, meta: ClusterMeta },
    /// Records a persistent instance's health as a probe found it; an absent instance (gone
    /// while the probe ran) or one already so is left alone.
    SetHealth { service: ServiceKey, ip: String, port: u16, cluster: ClusterName, healthy: bool },
}

/// What a naming command changed, for persistence and subscribers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamingChange {
    Upserted { service: ServiceKey, entry: Arc<PersistentService> },
    Removed { service: ServiceKey },
}

impl NamingChange {
    pub fn service(&self) -> &ServiceKey {
        match self {
            Self::Upserted { service, .. } | Self::Removed { service } => service,
        }
    }
}

/// Every service with stored metadata, and the persistent instances.
#[derive(Debug, Clone, Default)]
pub struct NamingTable {
    services: BTreeMap<ServiceKey, Arc<PersistentService>>,
}

impl NamingTable {
    pub fn apply(&mut self, command: &NamingCommand) -> Result<Option<NamingChange>, Rejection> {
        match command {
            NamingCommand::CreateService { service, meta } => {
                if self.services.contains_key(service) {
                    return Err(Rejection::ServiceExists(service.grouped_name()));
                }
                Ok(Some(self.put(service, PersistentService { meta: meta.clone(), instances: Vec::new() })))
            }
            NamingCommand::UpdateService { service, meta } => {
                let current =
                    self.services.get(service).ok_or_else(|| Rejection::ServiceNotFound(service.grouped_name()))?;
                let mut updated = PersistentService::clone(current);
                // The service API does not carry clusters: their settings stay.
                updated.meta = ServiceMeta {
                    ephemeral: current.meta.ephemeral,
                    created: current.meta.created,
                    clusters: current.meta.clusters.clone(),
                    ..meta.clone()
                };
                updated.meta.implicit = false;
                Ok(Some(self.put(service, updated)))
            }
            NamingCommand::RemoveService { service } => {
                let Some(current) = self.services.get(service) else {
                    return Err(Rejection::ServiceNotFound(service.grouped_name()));
                };
                if !current.instances.is_empty() {
                    return Err(Rejection::ServiceNotEmpty(service.grouped_name()));
                }
                self.services.remove(service);
                Ok(Some(NamingChange::Removed { service: service.clone() }))
            }
            NamingCommand::RegisterInstance { service, instance, now } => {
                let mut entry = match self.services.get(service) {
                    Some(current) if current.meta.ephemeral => {
                        return Err(Rejection::ServiceIsEphemeral(service.grouped_name()));
                    }
                    Some(current) => PersistentService::clone(current),
                    None => PersistentService {
                        meta: ServiceMeta { ephemeral: false, implicit: true, created: *now, ..ServiceMeta::default() },
                        instances: Vec::new(),
                    },
                };
                let instance = Instance { ephemeral: false, ..instance.clone() };
                match entry.instances.iter_mut().find(|i| i.is_at(&instance.ip, instance.port, &instance.cluster)) {
                    Some(existing) if *existing == instance => return Ok(None),
                    Some(existing) => *existing = instance,
                    None => entry.instances.push(instance),
                }
                Ok(Some(self.put(service, entry)))
            }
            NamingCommand::DeregisterInstance { service, ip, port, cluster } => {
                let Some(current) = self.services.get(service) else { return Ok(None) };
                if !current.instances.iter().any(|i| i.is_at(ip, *port, cluster)) {
                    return Ok(None);
                }
                let mut entry = PersistentService::clone(current);
                entry.instances.retain(|i| !i.is_at(ip, *port, cluster));
                if entry.instances.is_empty() && entry.meta.implicit {
                    self.services.remove(service);
                    return Ok(Some(NamingChange::Removed { service: service.clone() }));
                }
                Ok(Some(self.put(service, entry)))
            }
            NamingCommand::UpdateCluster { service, cluster, meta } => {
                let current =
                    self.services.get(service).ok_or_else(|| Rejection::ServiceNotFound(service.grouped_name()))?;
                if current.meta.clusters.get(cluster.as_str()) == Some(meta) {
                    return Ok(None);
                }
                let mut updated = PersistentService::clone(current);
                updated.meta.clusters.insert(cluster.as_str().to_owned(), meta.clone());
                Ok(Some(self.put(service, updated)))
            }
            NamingCommand::SetHealth { service, ip, port, cluster, healthy } => {
                let Some(current) = self.services.get(service) else { return Ok(None) };
                let Some(at) = current.instances.iter().position(|i| i.is_at(ip, *port, cluster)) else {
                    return Ok(None);
                };
                if current.instances[at].healthy == *healthy {
                    return Ok(None);
                }
                let mut updated = PersistentService::clone(current);
                updated.instances[at].healthy = *healthy;
                Ok(Some(self.put(service, updated)))
            }
        }
    }

    fn put(&mut self, service: &ServiceKey, entry: PersistentService) -> NamingChange {
        let entry = Arc::new(entry);
        self.services.insert(service.clone(), Arc::clone(&entry));
        NamingChange::Upserted { service: service.clone(), entry }
    }

    /// Restores one service (state machine load).
    pub fn insert(&mut self, service: ServiceKey, entry: PersistentService) {
        self.services.insert(service, Arc::new(entry));
    }

    pub fn get(&self, service: &ServiceKey) -> Option<&Arc<PersistentService>> {
        self.services.get(service)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&ServiceKey, &Arc<PersistentService>)> + '_ {
        self.services.iter()
    }

    pub fn len(&self) -> usize {
        self.services.len()
    }

    pub fn is_empty(&self) -> bool {
        self.services.is_empty()
    }
}
