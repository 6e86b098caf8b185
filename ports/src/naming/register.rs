//! Registry writes: ephemeral and persistent registration, updates, beats, clients going
//! away, expiry, and the service API.

use domain::config::ConnectionId;
use domain::naming::{
    BeatOutcome, ClusterName, Instance, InstanceDraft, InstancePatch, NamingCommand, Owner, ServiceKey, ServiceMeta,
    SubscriberId,
};
use domain::Rejection;

use super::{not_found_instance, BeatReply, NamingApp, NamingServiceError};

impl NamingApp {
    /// Registers (or replaces) an ephemeral instance owned by `owner`.
    pub fn register_ephemeral(
        &self,
        owner: Owner,
        service: &ServiceKey,
        draft: &InstanceDraft,
    ) -> Result<(), NamingServiceError> {
        let instance = Instance { ephemeral: true, ..draft.validate()? };
        self.refuse_if_persistent(service)?;
        let now = self.clock.now();
        let mut inner = self.inner();
        if inner.ephemeral.register(owner, service, instance, now) {
            inner.changed(service);
        }
        Ok(())
    }

    /// Replaces everything `owner` has in `service` with `drafts` (all validated first:
    /// one bad instance refuses the whole batch).
    pub fn register_batch(
        &self,
        owner: Owner,
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
        if inner.ephemeral.replace_batch(owner, service, instances, now) {
            inner.changed(service);
        }
        Ok(())
    }

    pub fn deregister_ephemeral(&self, service: &ServiceKey, ip: &str, port: u16, cluster: &ClusterName) {
        let mut inner = self.inner();
        if inner.ephemeral.deregister(service, ip, port, cluster) {
            inner.changed(service);
        }
    }

    /// Registers a persistent instance through raft.
    pub async fn register_persistent(
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

    pub async fn deregister_persistent(
        &self,
        service: &ServiceKey,
        ip: &str,
        port: u16,
        cluster: &ClusterName,
    ) -> Result<(), NamingServiceError> {
        let command = NamingCommand::DeregisterInstance {
            service: service.clone(),
            ip: ip.to_owned(),
            port,
            cluster: cluster.clone(),
        };
        self.propose(command).await
    }

    /// Changes an existing instance (ephemeral in place, persistent through raft).
    pub async fn update_instance(
        &self,
        service: &ServiceKey,
        address: (&str, u16, &ClusterName),
        ephemeral: bool,
        patch: &InstancePatch,
    ) -> Result<(), NamingServiceError> {
        let (ip, port, cluster) = address;
        if ephemeral {
            let mut inner = self.inner();
            return match inner.ephemeral.update(service, ip, port, cluster, |instance| patch.apply_to(instance))? {
                Some(changed) => {
                    if changed {
                        inner.changed(service);
                    }
                    Ok(())
                }
                None => Err(not_found_instance(service, ip, port)),
            };
        }
        let current = self
            .persistent(service)
            .and_then(|entry| entry.instances.iter().find(|i| i.is_at(ip, port, cluster)).cloned())
            .ok_or_else(|| not_found_instance(service, ip, port))?;
        let instance = patch.apply_to(&current)?;
        let now = self.clock.now();
        self.propose(NamingCommand::RegisterInstance { service: service.clone(), instance, now }).await
    }

    /// The HTTP update: patches the instance if it exists; otherwise, as Java Nacos does,
    /// registers it from the request when its service exists (Java's update is an upsert,
    /// and 1.x clients rely on it after a server switch). Refused if the service is unknown.
    pub async fn update_or_register(
        &self,
        service: &ServiceKey,
        address: (&str, u16, &ClusterName),
        ephemeral: bool,
        patch: &InstancePatch,
        draft: &InstanceDraft,
    ) -> Result<(), NamingServiceError> {
        match self.update_instance(service, address, ephemeral, patch).await {
            Err(NamingServiceError::NotFound(_)) if self.service(service).is_some() => {
                let (ip, port, _) = address;
                if ephemeral {
                    self.register_ephemeral(Owner::Beats { ip: ip.to_owned(), port }, service, draft)
                } else {
                    self.register_persistent(service, draft).await
                }
            }
            Err(NamingServiceError::NotFound(_)) => {
                Err(NamingServiceError::NotFound(format!("service not found: {}", service.grouped_name())))
            }
            other => other,
        }
    }

    /// Sets the health of an instance, whichever kind it is (`/ns/health/instance`).
    pub async fn set_health(
        &self,
        service: &ServiceKey,
        address: (&str, u16, &ClusterName),
        healthy: bool,
    ) -> Result<(), NamingServiceError> {
        let patch = InstancePatch { healthy: Some(healthy), ..InstancePatch::default() };
        let (ip, port, cluster) = address;
        let persistent =
            self.persistent(service).is_some_and(|entry| entry.instances.iter().any(|i| i.is_at(ip, port, cluster)));
        self.update_instance(service, address, !persistent, &patch).await
    }

    /// An HTTP beat. A beat for an unknown instance that carries the instance (`beat`
    /// JSON) registers it again, as Java Nacos does, so 1.x clients survive a server
    /// switch; a light beat for an unknown instance answers "unknown" (20404).
    pub fn beat(
        &self,
        service: &ServiceKey,
        address: (&str, u16, &ClusterName),
        full: Option<&InstanceDraft>,
    ) -> Result<BeatReply, NamingServiceError> {
        let (ip, port, cluster) = address;
        let now = self.clock.now();
        let outcome = {
            let mut inner = self.inner();
            let outcome = inner.ephemeral.beat(service, ip, port, cluster, now);
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
                self.register_ephemeral(Owner::Beats { ip: instance.ip.clone(), port: instance.port }, service, draft)?;
                Ok(BeatReply { known: true, interval })
            }
            (BeatOutcome::Unknown, None) => {
                Ok(BeatReply { known: false, interval: domain::naming::DEFAULT_HEARTBEAT_INTERVAL })
            }
        }
    }

    /// A gRPC connection closed or was found dead: its instances and subscriptions go.
    pub fn connection_closed(&self, connection: &ConnectionId) {
        let mut inner = self.inner();
        let gone = inner.ephemeral.client_gone(&Owner::Connection(connection.clone()));
        for service in &gone {
            inner.changed(service);
        }
        inner.subscribers.drop_subscriber(&SubscriberId::Connection(connection.clone()));
    }

    /// Applies beat expiry and forgets silent UDP subscribers; the node calls it every
    /// second.
    pub fn expire(&self) {
        let now = self.clock.now();
        let mut inner = self.inner();
        for service in inner.ephemeral.expire(now) {
            inner.changed(&service);
        }
        inner.subscribers.expire_udp(now);
    }

    pub async fn create_service(&self, service: &ServiceKey, meta: ServiceMeta) -> Result<(), NamingServiceError> {
        let exists = self.inner().ephemeral.has_instances(service);
        if exists {
            return Err(NamingServiceError::Rejected(Rejection::ServiceExists(service.grouped_name())));
        }
        let meta = ServiceMeta { created: self.clock.now(), implicit: false, ..meta };
        self.propose(NamingCommand::CreateService { service: service.clone(), meta }).await
    }

    pub async fn update_service(&self, service: &ServiceKey, meta: ServiceMeta) -> Result<(), NamingServiceError> {
        self.propose(NamingCommand::UpdateService { service: service.clone(), meta }).await
    }

    /// Removes a service with stored metadata; refused while it has instances.
    pub async fn remove_service(&self, service: &ServiceKey) -> Result<(), NamingServiceError> {
        if self.inner().ephemeral.has_instances(service) {
            return Err(NamingServiceError::Rejected(Rejection::ServiceNotEmpty(service.grouped_name())));
        }
        self.propose(NamingCommand::RemoveService { service: service.clone() }).await
    }
}
