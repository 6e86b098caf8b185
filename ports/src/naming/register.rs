//! Registry writes: ephemeral and persistent registration, updates, beats, clients going
//! away, expiry, and the service API.

use std::collections::BTreeMap;

use async_trait::async_trait;
use domain::config::ConnectionId;
use domain::naming::{
    BeatOutcome, ClusterMeta, ClusterName, Instance, InstanceAddress, InstanceDraft, InstancePatch, Lifetime,
    MetadataEdit, NamingCommand, Owner, Registrant, ServiceKey, ServiceMeta, SubscriberId,
};
use domain::Rejection;

use super::{not_found_instance, BeatReply, NamingApp, NamingServiceError, RegistryQueries, RegistryService};

#[async_trait]
impl RegistryService for NamingApp {
    async fn register(
        &self,
        registrant: Registrant,
        service: &ServiceKey,
        draft: &InstanceDraft,
    ) -> Result<(), NamingServiceError> {
        match draft.lifetime(&registrant)? {
            Lifetime::Ephemeral(owner) => self.register_ephemeral(owner, service, draft),
            Lifetime::Persistent => self.register_persistent(service, draft).await,
        }
    }

    fn record_relayed(&self, node: u64, service: &ServiceKey, draft: &InstanceDraft) -> Result<(), NamingServiceError> {
        let Lifetime::Ephemeral(owner) = draft.lifetime(&Registrant::Http)? else { return Ok(()) };
        let instance = Instance { ephemeral: true, ..draft.validate()? };
        let now = self.clock.now();
        let mut inner = self.inner();
        inner.record_copy(node, owner, service, instance, now);
        Ok(())
    }

    fn register_batch(
        &self,
        connection: &ConnectionId,
        service: &ServiceKey,
        drafts: &[InstanceDraft],
    ) -> Result<(), NamingServiceError> {
        let instances = drafts
            .iter()
            .map(|draft| draft.validate().map(|instance| Instance { ephemeral: true, ..instance }))
            .collect::<Result<Vec<_>, _>>()?;
        self.refuse_if_persistent(service)?;
        let now = self.clock.now();
        let mut inner = self.inner();
        if inner.ephemeral.replace_batch(Owner::Connection(connection.clone()), service, instances, now) {
            inner.changed(service);
        }
        Ok(())
    }

    async fn deregister(
        &self,
        service: &ServiceKey,
        address: &InstanceAddress,
        ephemeral: bool,
    ) -> Result<(), NamingServiceError> {
        if ephemeral {
            let mut inner = self.inner();
            if inner.ephemeral.deregister(service, &address.ip, address.port, &address.cluster) {
                inner.changed(service);
            }
            return Ok(());
        }
        let command = NamingCommand::DeregisterInstance {
            service: service.clone(),
            ip: address.ip.clone(),
            port: address.port,
            cluster: address.cluster.clone(),
        };
        self.propose(command).await
    }

    async fn update_or_register(
        &self,
        service: &ServiceKey,
        address: &InstanceAddress,
        ephemeral: bool,
        patch: &InstancePatch,
        draft: &InstanceDraft,
    ) -> Result<(), NamingServiceError> {
        match self.update_instance(service, address, ephemeral, patch).await {
            Err(NamingServiceError::InstanceNotFound { .. }) if self.service(service).is_some() => {
                if ephemeral {
                    let owner = Owner::Beats { ip: address.ip.clone(), port: address.port };
                    self.register_ephemeral(owner, service, draft)
                } else {
                    self.register_persistent(service, draft).await
                }
            }
            Err(NamingServiceError::InstanceNotFound { .. }) => {
                Err(NamingServiceError::ServiceNotFound(service.grouped_name()))
            }
            other => other,
        }
    }

    async fn set_health(
        &self,
        service: &ServiceKey,
        address: &InstanceAddress,
        healthy: bool,
    ) -> Result<(), NamingServiceError> {
        let patch = InstancePatch { healthy: Some(healthy), ..InstancePatch::default() };
        let persistent = self
            .persistent(service)
            .is_some_and(|entry| entry.instances.iter().any(|i| i.is_at(&address.ip, address.port, &address.cluster)));
        self.update_instance(service, address, !persistent, &patch).await
    }

    /// A beat for an unknown instance that carries the instance (`beat` JSON) registers it
    /// again, as Java Nacos does, so 1.x clients survive a server switch; a light beat for
    /// an unknown instance answers "unknown" (20404).
    fn beat(
        &self,
        service: &ServiceKey,
        address: &InstanceAddress,
        full: Option<InstanceDraft>,
    ) -> Result<BeatReply, NamingServiceError> {
        let now = self.clock.now();
        let outcome = {
            let mut inner = self.inner();
            inner.adopt(&Owner::Beats { ip: address.ip.clone(), port: address.port });
            let outcome = inner.ephemeral.beat(service, &address.ip, address.port, &address.cluster, now);
            if let BeatOutcome::Alive { changed: true, .. } = outcome {
                inner.changed(service);
            }
            outcome
        };
        match (outcome, full) {
            (BeatOutcome::Alive { interval, .. }, _) => Ok(BeatReply { known: true, interval }),
            (BeatOutcome::Unknown, Some(draft)) => {
                let instance = draft.validate()?;
                let interval = instance.heartbeat().interval;
                self.register_ephemeral(
                    Owner::Beats { ip: instance.ip.clone(), port: instance.port },
                    service,
                    &draft,
                )?;
                Ok(BeatReply { known: true, interval })
            }
            (BeatOutcome::Unknown, None) => {
                Ok(BeatReply { known: false, interval: domain::naming::DEFAULT_HEARTBEAT_INTERVAL })
            }
        }
    }

    async fn create_service(&self, service: &ServiceKey, meta: ServiceMeta) -> Result<(), NamingServiceError> {
        domain::naming::check_metadata_size(&meta.metadata)?;
        let exists = self.inner().ephemeral.has_instances(service);
        if exists {
            return Err(NamingServiceError::Rejected(Rejection::ServiceExists(service.grouped_name())));
        }
        let meta = ServiceMeta { created: self.clock.now(), implicit: false, ..meta };
        self.propose(NamingCommand::CreateService { service: service.clone(), meta }).await
    }

    async fn update_service(&self, service: &ServiceKey, meta: ServiceMeta) -> Result<(), NamingServiceError> {
        domain::naming::check_metadata_size(&meta.metadata)?;
        self.propose(NamingCommand::UpdateService { service: service.clone(), meta }).await
    }

    async fn remove_service(&self, service: &ServiceKey) -> Result<(), NamingServiceError> {
        if self.inner().ephemeral.has_instances(service) {
            return Err(NamingServiceError::Rejected(Rejection::ServiceNotEmpty(service.grouped_name())));
        }
        self.propose(NamingCommand::RemoveService { service: service.clone() }).await
    }

    async fn batch_metadata(
        &self,
        service: &ServiceKey,
        ephemeral: bool,
        addresses: Vec<InstanceAddress>,
        edit: MetadataEdit,
        pairs: BTreeMap<String, String>,
    ) -> Result<Vec<Instance>, NamingServiceError> {
        let of_kind: Vec<Instance> = if ephemeral {
            self.inner().ephemeral.instances(service).cloned().collect()
        } else {
            self.persistent(service).map(|entry| entry.instances.clone()).unwrap_or_default()
        };
        let targets: Vec<Instance> = if addresses.is_empty() {
            of_kind
        } else {
            addresses
                .iter()
                .map(|address| {
                    of_kind
                        .iter()
                        .find(|i| i.is_at(&address.ip, address.port, &address.cluster))
                        .cloned()
                        .ok_or_else(|| not_found_instance(service, address))
                })
                .collect::<Result<_, _>>()?
        };
        // Every edit is checked before any is made.
        let edited: Vec<(InstanceAddress, InstancePatch)> = targets
            .iter()
            .map(|instance| {
                let metadata = edit.apply(&instance.metadata, &pairs)?;
                let address =
                    InstanceAddress { ip: instance.ip.clone(), port: instance.port, cluster: instance.cluster.clone() };
                Ok((address, InstancePatch { metadata: Some(metadata), ..InstancePatch::default() }))
            })
            .collect::<Result<_, NamingServiceError>>()?;
        for (address, patch) in &edited {
            self.update_instance(service, address, ephemeral, patch).await?;
        }
        Ok(targets)
    }

    async fn set_switch(&self, entry: &str, value: &str) -> Result<(), NamingServiceError> {
        let (switch, value) = domain::naming::Switches::check(entry, value)?;
        match self.consensus.propose(domain::Command::SetSwitch { name: switch.name.to_owned(), value }).await? {
            domain::Verdict::Applied => Ok(()),
            domain::Verdict::Rejected(rejection) => Err(NamingServiceError::Rejected(rejection)),
        }
    }

    async fn update_cluster(
        &self,
        service: &ServiceKey,
        cluster: &ClusterName,
        meta: ClusterMeta,
    ) -> Result<(), NamingServiceError> {
        domain::naming::check_metadata_size(&meta.metadata)?;
        let command = NamingCommand::UpdateCluster { service: service.clone(), cluster: cluster.clone(), meta };
        self.propose(command).await
    }
}

impl NamingApp {
    /// Registers (or replaces) an ephemeral instance owned by `owner`.
    pub(super) fn register_ephemeral(
        &self,
        owner: Owner,
        service: &ServiceKey,
        draft: &InstanceDraft,
    ) -> Result<(), NamingServiceError> {
        let instance = Instance { ephemeral: true, ..draft.validate()? };
        self.refuse_if_persistent(service)?;
        let now = self.clock.now();
        let mut inner = self.inner();
        inner.adopt(&owner);
        if inner.ephemeral.register(owner, service, instance, now) {
            inner.changed(service);
        }
        Ok(())
    }

    /// Registers a persistent instance through raft.
    pub(super) async fn register_persistent(
        &self,
        service: &ServiceKey,
        draft: &InstanceDraft,
    ) -> Result<(), NamingServiceError> {
        let instance = Instance { ephemeral: false, ..draft.validate()? };
        if self.inner().ephemeral.has_instances(service) {
            return Err(NamingServiceError::Rejected(Rejection::ServiceIsEphemeral(service.grouped_name())));
        }
        let now = self.clock.now();
        self.propose(NamingCommand::RegisterInstance { service: service.clone(), instance, now }).await
    }

    /// Changes an existing instance (ephemeral in place, persistent through raft).
    async fn update_instance(
        &self,
        service: &ServiceKey,
        address: &InstanceAddress,
        ephemeral: bool,
        patch: &InstancePatch,
    ) -> Result<(), NamingServiceError> {
        let InstanceAddress { ip, port, cluster } = address;
        if ephemeral {
            let mut inner = self.inner();
            return match inner.ephemeral.update(service, ip, *port, cluster, |instance| patch.apply_to(instance))? {
                Some(changed) => {
                    if changed {
                        inner.changed(service);
                    }
                    Ok(())
                }
                None => Err(not_found_instance(service, address)),
            };
        }
        let current = self
            .persistent(service)
            .and_then(|entry| entry.instances.iter().find(|i| i.is_at(ip, *port, cluster)).cloned())
            .ok_or_else(|| not_found_instance(service, address))?;
        let instance = patch.apply_to(&current)?;
        let now = self.clock.now();
        self.propose(NamingCommand::RegisterInstance { service: service.clone(), instance, now }).await
    }

    /// A gRPC connection closed or was found dead: its instances and subscriptions go.
    pub fn connection_closed(&self, connection: &ConnectionId) {
        let mut inner = self.inner();
        let gone = inner.ephemeral.client_gone(&Owner::Connection(connection.clone()));
        for service in &gone {
            inner.changed(service);
        }
        inner.subscribers.drop_subscriber(&SubscriberId::Connection(connection.clone()));
        inner.fuzzy.drop_watcher(connection);
    }

    /// Applies beat expiry and forgets silent UDP subscribers; the node calls it every
    /// second.
    pub fn expire(&self) {
        let now = self.clock.now();
        let mut inner = self.inner();
        let inner = &mut *inner;
        let distro = &inner.distro;
        let changed = inner.ephemeral.expire(now, |owner| distro.is_remote(owner));
        for service in changed {
            inner.changed(&service);
        }
        inner.subscribers.expire_udp(now);
    }
}
