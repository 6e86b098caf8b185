//! The registry use cases: register, deregister, beat, query, subscribe and push.
//!
//! Ephemeral instances and subscriptions live in this node's memory (behind one lock);
//! service metadata and persistent instances go through raft and are read from the
//! applied state. Every change marks its service dirty; [`NamingApp::flush_pushes`]
//! (called on a short timer) turns the dirty set into one push per subscriber with the
//! latest view, so a burst of registrations costs a bounded number of pushes.

mod views;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use domain::config::{ConnectionId, Namespace, Page};
use domain::naming::{
    compute_view, BeatOutcome, ClusterName, EphemeralRegistry, Instance, InstanceDraft, InstancePatch, NamingCommand,
    NamingError, Owner, PersistentService, ServiceKey, ServiceMeta, Subscriber, SubscriberId, SubscriberTable,
    ViewQuery,
};
use domain::{Command, Millis, Rejection, Verdict};

use crate::applied::{AppliedState, StateObserver};
use crate::clock::Clock;
use crate::consensus::{ConsensusError, ConsensusLog};

pub use views::SharedView;
use views::ViewCache;

/// Delivers a service's new view to one subscriber (driven port). Implementations only
/// queue: acknowledgement and retries are theirs, and they must not block.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait ServicePush: Send + Sync {
    /// Pushes `view` to `subscriber` if this channel serves that kind of subscriber.
    fn push(&self, subscriber: &SubscriberId, view: Arc<SharedView>);
}

/// Why a registry use case failed.
#[derive(Debug, thiserror::Error)]
pub enum NamingServiceError {
    #[error(transparent)]
    Invalid(#[from] NamingError),
    #[error(transparent)]
    Rejected(Rejection),
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Unavailable(#[from] ConsensusError),
}

/// What a beat answers (Nacos: `code` 10200 or 20404, and the beat period).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BeatReply {
    pub known: bool,
    pub interval: u64,
}

/// A service as the console and the service API show it.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceSummary {
    pub service: ServiceKey,
    pub meta: Option<ServiceMeta>,
    pub clusters: Vec<String>,
    pub instance_count: usize,
    pub healthy_count: usize,
}

/// Counts for `/operator/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NamingMetrics {
    pub service_count: usize,
    pub instance_count: usize,
    pub subscriber_count: usize,
    pub client_count: usize,
    pub persistent_instance_count: usize,
}

/// The registry service. One per node.
pub struct NamingApp {
    consensus: Arc<dyn ConsensusLog>,
    state: AppliedState,
    clock: Arc<dyn Clock>,
    /// A std lock: never held across an `.await`; every section is in-memory map work.
    inner: Mutex<Inner>,
    pushers: RwLock<Vec<Arc<dyn ServicePush>>>,
}

#[derive(Default)]
struct Inner {
    ephemeral: EphemeralRegistry,
    subscribers: SubscriberTable,
    /// Services changed since the last push round.
    dirty: BTreeSet<ServiceKey>,
    /// Subscribers owed their first push (Nacos pushes shortly after a subscribe).
    welcome: Vec<(SubscriberId, ServiceKey)>,
    views: ViewCache,
}

impl NamingApp {
    pub fn new(consensus: Arc<dyn ConsensusLog>, state: AppliedState, clock: Arc<dyn Clock>) -> Self {
        Self { consensus, state, clock, inner: Mutex::default(), pushers: RwLock::default() }
    }

    /// Adds a push channel (gRPC connections, UDP).
    pub fn add_pusher(&self, pusher: Arc<dyn ServicePush>) {
        self.pushers.write().unwrap_or_else(|poisoned| poisoned.into_inner()).push(pusher);
    }

    // ---- writes -------------------------------------------------------------------------

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

    // ---- services -------------------------------------------------------------------------

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

    // ---- reads ------------------------------------------------------------------------------

    /// The view of `service` for `query`, cached until the service next changes.
    pub fn view(&self, service: &ServiceKey, query: &ViewQuery) -> Arc<SharedView> {
        let persistent = self.persistent(service);
        let mut inner = self.inner();
        inner.view(service, persistent.as_deref(), query, self.clock.now())
    }

    /// Subscribes and answers the current view. A new subscription also gets a push soon
    /// after (as Java Nacos does, covering a change racing the answer); repeating an
    /// existing one does not, since its subscriber has been pushed every change since.
    pub fn subscribe(&self, id: SubscriberId, service: &ServiceKey, subscriber: Subscriber) -> Arc<SharedView> {
        let query = ViewQuery { clusters: subscriber.clusters.clone(), healthy_only: false };
        let persistent = self.persistent(service);
        let now = self.clock.now();
        let mut inner = self.inner();
        let refreshed = Subscriber { refreshed: now, ..subscriber };
        if inner.subscribers.subscribe(id.clone(), service, refreshed) {
            inner.welcome.push((id, service.clone()));
        }
        inner.view(service, persistent.as_deref(), &query, now)
    }

    /// Keeps a UDP subscription alive (a 1.x client listed again) without a welcome push.
    pub fn refresh_udp(&self, id: SubscriberId, service: &ServiceKey, subscriber: Subscriber) {
        let now = self.clock.now();
        self.inner().subscribers.subscribe(id, service, Subscriber { refreshed: now, ..subscriber });
    }

    pub fn unsubscribe(&self, id: &SubscriberId, service: &ServiceKey) {
        self.inner().subscribers.unsubscribe(id, service);
    }

    /// Who subscribes to `service`.
    pub fn subscribers(&self, service: &ServiceKey) -> Vec<(SubscriberId, Subscriber)> {
        self.inner().subscribers.subscribers(service).map(|(id, s)| (id.clone(), s.clone())).collect()
    }

    /// One instance by address, from either kind. Without a cluster, the default
    /// cluster's instance at that address, else one in any cluster: clients that registered
    /// with an odd cluster (the Python 2.x client sends the text `None`) can still find it.
    pub fn instance(
        &self,
        service: &ServiceKey,
        ip: &str,
        port: u16,
        cluster: Option<&ClusterName>,
    ) -> Option<Instance> {
        let all = self.all_instances(service);
        let at = |i: &&Instance| i.ip == ip && i.port == port;
        match cluster {
            Some(cluster) => all.iter().filter(at).find(|i| i.cluster == *cluster),
            None => all.iter().filter(at).find(|i| i.cluster == ClusterName::default()).or_else(|| all.iter().find(at)),
        }
        .cloned()
    }

    /// Every instance of a service, both kinds, unfiltered (console views).
    pub fn all_instances(&self, service: &ServiceKey) -> Vec<Instance> {
        let mut all: Vec<Instance> = self.inner().ephemeral.instances(service).cloned().collect();
        if let Some(entry) = self.persistent(service) {
            all.extend(entry.instances.iter().cloned());
        }
        all
    }

    /// One service, if it exists (stored metadata or instances).
    pub fn service(&self, service: &ServiceKey) -> Option<ServiceSummary> {
        let persistent = self.persistent(service);
        let ephemeral: Vec<Instance> = self.inner().ephemeral.instances(service).cloned().collect();
        if persistent.is_none() && ephemeral.is_empty() {
            return None;
        }
        Some(summary(service, persistent.as_deref(), &ephemeral))
    }

    /// Services of a namespace (and group, if given) whose name matches `name_filter`
    /// (substring; empty = all), ordered by group and name, one page.
    pub fn services(
        &self,
        namespace: &Namespace,
        group: Option<&str>,
        name_filter: &str,
        page_no: usize,
        page_size: usize,
    ) -> Page<ServiceSummary> {
        let keep = |service: &ServiceKey| {
            service.namespace == *namespace
                && group.is_none_or(|group| service.group.as_str() == group)
                && service.name.as_str().contains(name_filter)
        };
        let mut keys: BTreeSet<ServiceKey> = self
            .state
            .read_with(|state| state.naming.iter().map(|(key, _)| key).filter(|k| keep(k)).cloned().collect());
        keys.extend(self.inner().ephemeral.services().filter(|k| keep(k)).cloned());
        let total = keys.len();
        let start = page_no.saturating_sub(1).saturating_mul(page_size);
        let items = keys.iter().skip(start).take(page_size).filter_map(|key| self.service(key)).collect();
        Page { total, page_no, pages: total.div_ceil(page_size.max(1)), items }
    }

    pub fn metrics(&self) -> NamingMetrics {
        let (stored, persistent_instances) = self.state.read_with(|state| {
            let persistent = state.naming.iter().map(|(_, entry)| entry.instances.len()).sum::<usize>();
            let keys: HashSet<ServiceKey> = state.naming.iter().map(|(key, _)| key.clone()).collect();
            (keys, persistent)
        });
        let inner = self.inner();
        let mut services = stored;
        services.extend(inner.ephemeral.services().cloned());
        NamingMetrics {
            service_count: services.len(),
            instance_count: inner.ephemeral.instance_count() + persistent_instances,
            subscriber_count: inner.subscribers.count(),
            client_count: inner.ephemeral.owner_count(),
            persistent_instance_count: persistent_instances,
        }
    }

    // ---- pushes -----------------------------------------------------------------------------

    /// Sends the latest view to every subscriber of every service changed since the last
    /// round, and the first view to new subscribers. Views are computed once per service
    /// and cluster filter, not once per subscriber.
    pub fn flush_pushes(&self) -> usize {
        let (dirty, welcome) = {
            let mut inner = self.inner();
            if inner.dirty.is_empty() && inner.welcome.is_empty() {
                return 0;
            }
            (std::mem::take(&mut inner.dirty), std::mem::take(&mut inner.welcome))
        };
        let mut deliveries: Vec<(SubscriberId, Arc<SharedView>)> = Vec::new();
        let now = self.clock.now();
        for service in &dirty {
            let persistent = self.persistent(service);
            let mut inner = self.inner();
            let subscribers: Vec<(SubscriberId, String)> =
                inner.subscribers.subscribers(service).map(|(id, s)| (id.clone(), s.clusters.clone())).collect();
            let mut by_clusters: HashMap<String, Arc<SharedView>> = HashMap::new();
            for (id, clusters) in subscribers {
                let view = by_clusters
                    .entry(clusters.clone())
                    .or_insert_with(|| {
                        let query = ViewQuery { clusters, healthy_only: false };
                        inner.view(service, persistent.as_deref(), &query, now)
                    })
                    .clone();
                deliveries.push((id, view));
            }
        }
        for (id, service) in welcome {
            if dirty.contains(&service) {
                continue;
            }
            let persistent = self.persistent(&service);
            let mut inner = self.inner();
            let Some(clusters) =
                inner.subscribers.subscribers(&service).find(|(sid, _)| **sid == id).map(|(_, s)| s.clusters.clone())
            else {
                continue;
            };
            let query = ViewQuery { clusters, healthy_only: false };
            let view = inner.view(&service, persistent.as_deref(), &query, now);
            deliveries.push((id, view));
        }
        let pushers = self.pushers.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
        for (id, view) in &deliveries {
            for pusher in &pushers {
                pusher.push(id, Arc::clone(view));
            }
        }
        deliveries.len()
    }

    // ---- helpers ----------------------------------------------------------------------------

    fn persistent(&self, service: &ServiceKey) -> Option<Arc<PersistentService>> {
        self.state.read_with(|state| state.naming.get(service).cloned())
    }

    fn refuse_if_persistent(&self, service: &ServiceKey) -> Result<(), NamingServiceError> {
        match self.persistent(service) {
            Some(entry) if !entry.meta.ephemeral => {
                Err(NamingServiceError::Rejected(Rejection::ServiceIsPersistent(service.grouped_name())))
            }
            _ => Ok(()),
        }
    }

    async fn propose(&self, command: NamingCommand) -> Result<(), NamingServiceError> {
        match self.consensus.propose(Command::Naming(command)).await? {
            Verdict::Applied => Ok(()),
            Verdict::Rejected(rejection) => Err(NamingServiceError::Rejected(rejection)),
        }
    }

    fn inner(&self) -> MutexGuard<'_, Inner> {
        // Every registry operation completes or leaves the tables unchanged; a poisoned
        // lock still guards consistent tables.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Inner {
    fn changed(&mut self, service: &ServiceKey) {
        self.views.invalidate(service);
        self.dirty.insert(service.clone());
    }

    fn view(
        &mut self,
        service: &ServiceKey,
        persistent: Option<&PersistentService>,
        query: &ViewQuery,
        now: Millis,
    ) -> Arc<SharedView> {
        if let Some(view) = self.views.get(service, query) {
            return view;
        }
        let instances =
            self.ephemeral.instances(service).chain(persistent.into_iter().flat_map(|p| p.instances.iter()));
        let last_ref_time = self.views.next_ref_time(now);
        let view = Arc::new(SharedView::new(compute_view(
            service,
            persistent.map(|p| &p.meta),
            instances,
            query,
            last_ref_time,
        )));
        self.views.put(service, query, Arc::clone(&view));
        view
    }
}

/// Raft applied a change to a service's stored half: its views are stale and its
/// subscribers are owed a push.
impl StateObserver for NamingApp {
    fn service_changed(&self, service: &ServiceKey) {
        self.inner().changed(service);
    }
}

fn summary(service: &ServiceKey, persistent: Option<&PersistentService>, ephemeral: &[Instance]) -> ServiceSummary {
    let all: Vec<&Instance> = ephemeral.iter().chain(persistent.into_iter().flat_map(|p| p.instances.iter())).collect();
    let clusters: BTreeSet<String> = all.iter().map(|i| i.cluster.as_str().to_owned()).collect();
    ServiceSummary {
        service: service.clone(),
        meta: persistent.map(|p| p.meta.clone()),
        clusters: clusters.into_iter().collect(),
        instance_count: all.len(),
        healthy_count: all.iter().filter(|i| i.healthy).count(),
    }
}

fn not_found_instance(service: &ServiceKey, ip: &str, port: u16) -> NamingServiceError {
    NamingServiceError::NotFound(format!("no matched ip found! {ip}:{port} in {}", service.grouped_name()))
}

#[cfg(test)]
mod tests;
