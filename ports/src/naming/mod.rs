//! The registry use cases: register, deregister, beat, query, subscribe and push.
//!
//! Ephemeral instances and subscriptions live in this node's memory (behind one lock);
//! service metadata and persistent instances go through raft and are read from the
//! applied state. Adapters call it through three driving traits: [`RegistryService`]
//! (writes), [`RegistryQueries`] (reads) and [`SubscriptionService`].
//! Every change marks its service dirty; [`NamingApp::flush_pushes`]
//! (called on a short timer) turns the dirty set into one push per subscriber with the
//! latest view, so a burst of registrations costs a bounded number of pushes.

mod distro;
mod fuzzy;
mod health;
mod push;
mod query;
mod register;
mod views;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use async_trait::async_trait;
use domain::config::{ConnectionId, Namespace};
use domain::fuzzy_watch::{FuzzyChange, FuzzyWatchError, FuzzyWatchTable};
use domain::naming::{
    compute_view, protect_threshold_reached, ClientRef, ClusterMeta, ClusterName, EphemeralRegistry, Instance,
    InstanceAddress, InstanceDraft, InstancePatch, MetadataEdit, NamingCommand, NamingError, PersistentService,
    Registrant, ServiceKey, ServiceMeta, Subscriber, SubscriberId, SubscriberTable, Switches, ViewQuery,
};
use domain::paging::{Page, PageRequest};
use domain::{Command, Millis, Rejection, Verdict};

use crate::applied::{AppliedState, StateObserver};
use crate::clock::Clock;
use crate::consensus::{ConsensusError, ConsensusLog};

pub use distro::{DistroHandler, DistroPeers};
#[cfg(any(test, feature = "mock"))]
pub use distro::{MockDistroHandler, MockDistroPeers};
pub use health::HealthProbe;
#[cfg(any(test, feature = "mock"))]
pub use health::MockHealthProbe;
pub use views::SharedView;
use views::ViewCache;

/// Delivers a service's new view to one subscriber (driven port). Implementations only
/// queue: acknowledgement and retries are theirs, and they must not block.
pub trait ServicePush: Send + Sync {
    /// Pushes `view` to `subscriber` if this channel serves that kind of subscriber.
    fn push(&self, subscriber: &SubscriberId, view: Arc<SharedView>);

    /// A service fuzzy watch's sync of `pattern` (Nacos 3.x): `changes` (service keys) in
    /// order, in batches, then, when the client is `initializing`, the end of its initial
    /// sync. Channels that do not serve connections ignore it.
    fn fuzzy_watch_sync(
        &self,
        _connection: &ConnectionId,
        _pattern: &str,
        _changes: Vec<(String, FuzzyChange)>,
        _initializing: bool,
    ) {
    }

    /// A service matching one of the connection's fuzzy patterns came into being or went.
    fn fuzzy_watch_changed(&self, _connection: &ConnectionId, _service_key: &str, _change: FuzzyChange) {}
}

/// Why a registry use case failed. Neutral words: the adapters give clients Nacos's.
#[derive(Debug, thiserror::Error)]
pub enum NamingServiceError {
    #[error(transparent)]
    Invalid(#[from] NamingError),
    #[error(transparent)]
    Rejected(Rejection),
    #[error("no instance at {ip}:{port} in {service}")]
    InstanceNotFound { service: String, ip: String, port: u16 },
    #[error("service {0} does not exist")]
    ServiceNotFound(String),
    #[error(transparent)]
    Unavailable(#[from] ConsensusError),
}

/// Registry writes: what the HTTP and gRPC adapters call to change instances and
/// services (driving port).
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait RegistryService: Send + Sync {
    /// Registers (or replaces) an instance; the draft's lifetime rule
    /// ([`InstanceDraft::lifetime`]) decides whether it is ephemeral and who owns it.
    async fn register(
        &self,
        registrant: Registrant,
        service: &ServiceKey,
        draft: &InstanceDraft,
    ) -> Result<(), NamingServiceError>;

    /// Records here, as a copy of node `node`'s client, an HTTP registration that was
    /// passed to that node and succeeded there: the client reads its write on the node it
    /// wrote to at once, and the responsible node's next sync replaces the copy.
    fn record_relayed(&self, node: u64, service: &ServiceKey, draft: &InstanceDraft) -> Result<(), NamingServiceError>;

    /// Replaces everything `connection` has in `service` with `drafts`, all validated
    /// first: one bad instance refuses the whole batch.
    fn register_batch(
        &self,
        connection: &ConnectionId,
        service: &ServiceKey,
        drafts: &[InstanceDraft],
    ) -> Result<(), NamingServiceError>;

    /// Removes an instance; removing an absent ephemeral one succeeds, as in Nacos.
    async fn deregister(
        &self,
        service: &ServiceKey,
        address: &InstanceAddress,
        ephemeral: bool,
    ) -> Result<(), NamingServiceError>;

    /// Patches an existing instance; if there is none but its service exists, registers
    /// it from `draft` (Java's update is an upsert, and 1.x clients rely on it).
    async fn update_or_register(
        &self,
        service: &ServiceKey,
        address: &InstanceAddress,
        ephemeral: bool,
        patch: &InstancePatch,
        draft: &InstanceDraft,
    ) -> Result<(), NamingServiceError>;

    /// Sets the health of an instance, whichever kind it is.
    async fn set_health(
        &self,
        service: &ServiceKey,
        address: &InstanceAddress,
        healthy: bool,
    ) -> Result<(), NamingServiceError>;

    /// An HTTP beat; `full` is the instance the beat carries, which registers it again if
    /// it is unknown.
    fn beat(
        &self,
        service: &ServiceKey,
        address: &InstanceAddress,
        full: Option<InstanceDraft>,
    ) -> Result<BeatReply, NamingServiceError>;

    async fn create_service(&self, service: &ServiceKey, meta: ServiceMeta) -> Result<(), NamingServiceError>;

    async fn update_service(&self, service: &ServiceKey, meta: ServiceMeta) -> Result<(), NamingServiceError>;

    /// Removes a service with stored metadata; refused while it has instances.
    async fn remove_service(&self, service: &ServiceKey) -> Result<(), NamingServiceError>;

    /// Edits the metadata of the named instances of one kind (every instance of that kind
    /// when none is named). Refused, changing nothing, when a named instance is absent or
    /// an edit would break the size limit. Answers the instances edited.
    async fn batch_metadata(
        &self,
        service: &ServiceKey,
        ephemeral: bool,
        addresses: Vec<InstanceAddress>,
        edit: MetadataEdit,
        pairs: BTreeMap<String, String>,
    ) -> Result<Vec<Instance>, NamingServiceError>;

    /// Sets one of the registry's switches, cluster-wide; an unknown switch or a value of
    /// the wrong type is refused.
    async fn set_switch(&self, entry: &str, value: &str) -> Result<(), NamingServiceError>;

    /// Sets how one cluster of a service is health-checked, and its metadata; refused if
    /// the service is absent.
    async fn update_cluster(
        &self,
        service: &ServiceKey,
        cluster: &ClusterName,
        meta: ClusterMeta,
    ) -> Result<(), NamingServiceError>;
}

/// Registry reads, all served from this node's memory (driving port).
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait RegistryQueries: Send + Sync {
    /// The view of `service` for `query`, cached until the service next changes.
    fn view(&self, service: &ServiceKey, query: &ViewQuery) -> Arc<SharedView>;

    /// One instance by address, from either kind. Without a cluster, the default
    /// cluster's instance at that address, else one in any cluster.
    fn instance(&self, service: &ServiceKey, ip: &str, port: u16, cluster: Option<ClusterName>) -> Option<Instance>;

    /// Every instance of a service, both kinds, unfiltered but for `cluster`, one page.
    fn instances(&self, service: &ServiceKey, cluster: Option<String>, page: PageRequest) -> Page<Instance>;

    /// One service, if it exists (stored metadata or instances).
    fn service(&self, service: &ServiceKey) -> Option<ServiceSummary>;

    /// Services of a namespace (and group, if given) whose name contains `name_filter`
    /// (empty: all), ordered by group and name, one page.
    fn services(
        &self,
        namespace: &Namespace,
        group: Option<String>,
        name_filter: &str,
        page: PageRequest,
    ) -> Page<ServiceSummary>;

    /// Counts for `/operator/metrics`.
    fn metrics(&self) -> NamingMetrics;

    /// The registry's switches as this node has applied them.
    fn switches(&self) -> Switches;

    /// Every client this node knows (its own and its peers' copies, subscribers, and the
    /// persistent instances' `ip:port#false` clients), ordered by id.
    fn clients(&self) -> Vec<ClientRef>;

    /// What `client` registered, by service; `None` when no such client is known.
    fn client_publications(&self, client: &ClientRef) -> Option<Vec<(ServiceKey, Instance)>>;

    /// What `client` subscribes to.
    fn client_subscriptions(&self, client: &ClientRef) -> Vec<(ServiceKey, Subscriber)>;

    /// The clients that registered an instance of `service` (ephemeral or persistent ones).
    fn service_publishers(&self, service: &ServiceKey, ephemeral: bool) -> Vec<(ClientRef, Instance)>;

    /// The clients that subscribe to `service`.
    fn service_subscribers(&self, service: &ServiceKey) -> Vec<(ClientRef, Subscriber)>;
}

/// Who watches which service (driving port).
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait SubscriptionService: Send + Sync {
    /// Subscribes and answers the current view. A new subscription also gets a push soon
    /// after (as Java Nacos does, covering a change racing the answer).
    fn subscribe(&self, id: SubscriberId, service: &ServiceKey, subscriber: Subscriber) -> Arc<SharedView>;

    /// Keeps a UDP subscription alive (a 1.x client listed again) without a welcome push.
    fn refresh_udp(&self, id: SubscriberId, service: &ServiceKey, subscriber: Subscriber);

    fn unsubscribe(&self, id: &SubscriberId, service: &ServiceKey);

    /// Who subscribes to `service`, one page.
    fn subscribers(&self, service: &ServiceKey, page: PageRequest) -> Page<(SubscriberId, Subscriber)>;

    /// Starts (or repeats) `connection`'s fuzzy watch of a service pattern and queues its
    /// sync against the service keys the client says it has (`received`).
    /// `MatchCountOverLimit` means the watch holds and its sync went out, for the first
    /// services up to the limit.
    fn fuzzy_watch(
        &self,
        connection: &ConnectionId,
        pattern: &str,
        received: &BTreeSet<String>,
        initializing: bool,
    ) -> Result<(), FuzzyWatchError>;

    /// Ends a fuzzy watch.
    fn fuzzy_cancel(&self, connection: &ConnectionId, pattern: &str) -> Result<(), FuzzyWatchError>;
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
    /// Whether the protect threshold holds now (the domain's rule, as views apply it).
    pub protect_triggered: bool,
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
    /// Counts changes raft applied to services (persistent instances, metadata, clusters),
    /// so a task that derives something from them can tell when to derive it again.
    persistent_changes: AtomicU64,
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
    distro: distro::DistroState,
    /// Service fuzzy watches; judged in the push round against the dirty services.
    fuzzy: FuzzyWatchTable<ConnectionId>,
}

impl NamingApp {
    pub fn new(consensus: Arc<dyn ConsensusLog>, state: AppliedState, clock: Arc<dyn Clock>) -> Self {
        Self {
            consensus,
            state,
            clock,
            inner: Mutex::default(),
            pushers: RwLock::default(),
            persistent_changes: AtomicU64::new(0),
        }
    }

    /// Adds a push channel (gRPC connections, UDP).
    pub fn add_pusher(&self, pusher: Arc<dyn ServicePush>) {
        self.pushers.write().unwrap_or_else(|poisoned| poisoned.into_inner()).push(pusher);
    }

    /// The services the service list shows (stored ones, and those with ephemeral
    /// instances) that `keep` admits.
    fn listed_services(&self, keep: impl Fn(&ServiceKey) -> bool) -> BTreeSet<ServiceKey> {
        let mut keys: BTreeSet<ServiceKey> = self
            .state
            .read_with(|state| state.naming.iter().map(|(key, _)| key).filter(|k| keep(k)).cloned().collect());
        keys.extend(self.inner().ephemeral.services().filter(|k| keep(k)).cloned());
        keys
    }

    fn pushers(&self) -> Vec<Arc<dyn ServicePush>> {
        self.pushers.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

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
    /// This node's clients changed `service`: its views are stale, its subscribers are owed
    /// a push, and the peers the new instances.
    fn changed(&mut self, service: &ServiceKey) {
        self.changed_remotely(service);
        self.distro.mark_unsent(service);
    }

    /// `service` changed by another node's doing (a peer's sync, raft): views and pushes
    /// only; the change is not this node's to send.
    fn changed_remotely(&mut self, service: &ServiceKey) {
        self.views.invalidate(service);
        if !self.dirty.contains(service) {
            self.dirty.insert(service.clone());
        }
    }

    /// The view of `service` for `query`. Views are cached per (clusters, healthy only),
    /// except under a label selector with a known consumer (`consumer_labels`): those are
    /// the consumer's own.
    fn view(
        &mut self,
        service: &ServiceKey,
        persistent: Option<&PersistentService>,
        query: &ViewQuery,
        consumer_labels: Option<&BTreeMap<String, String>>,
        now: Millis,
    ) -> Arc<SharedView> {
        let shared = ViewQuery { consumer_ip: None, ..query.clone() };
        if consumer_labels.is_none() {
            if let Some(view) = self.views.get(service, &shared) {
                return view;
            }
        }
        let instances =
            self.ephemeral.instances(service).chain(persistent.into_iter().flat_map(|p| p.instances.iter()));
        let last_ref_time = self.views.next_ref_time(now);
        let view = Arc::new(SharedView::new(compute_view(
            service,
            persistent.map(|p| &p.meta),
            instances,
            &shared,
            consumer_labels,
            last_ref_time,
        )));
        if consumer_labels.is_none() {
            self.views.put(service, &shared, Arc::clone(&view));
        }
        view
    }
}

impl NamingApp {
    /// What a label selector on `service` matches the consumer at `consumer_ip` by (the
    /// domain's `consumer_labels` over the consumer's instances in the service's namespace).
    /// `None` when the service has no label selector or no consumer is known.
    /// Call without the registry lock held.
    fn consumer_labels(
        &self,
        service: &ServiceKey,
        persistent: Option<&PersistentService>,
        consumer_ip: Option<&str>,
    ) -> Option<BTreeMap<String, String>> {
        let ip = consumer_ip?;
        if persistent?.meta.selector.labels().is_empty() {
            return None;
        }
        // The instances at the consumer's ip in the service's namespace (only those are
        // copied), persistent then ephemeral.
        let mut own: Vec<Instance> = self.state.read_with(|state| {
            let in_namespace = state.naming.iter().filter(|(key, _)| key.namespace == service.namespace);
            in_namespace.flat_map(|(_, entry)| entry.instances.iter()).filter(|i| i.ip == ip).cloned().collect()
        });
        let inner = self.inner();
        for other in inner.ephemeral.services().filter(|key| key.namespace == service.namespace) {
            own.extend(inner.ephemeral.instances(other).filter(|i| i.ip == ip).cloned());
        }
        Some(domain::naming::consumer_labels(ip, &own))
    }
}

/// Raft applied a change to a service's stored half: its views are stale and its
/// subscribers are owed a push.
impl StateObserver for NamingApp {
    fn service_changed(&self, service: &ServiceKey) {
        self.persistent_changes.fetch_add(1, Ordering::Relaxed);
        self.inner().changed_remotely(service);
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
        protect_triggered: persistent.is_some_and(|p| protect_threshold_reached(&p.meta, all.iter().copied())),
    }
}

fn not_found_instance(service: &ServiceKey, address: &InstanceAddress) -> NamingServiceError {
    NamingServiceError::InstanceNotFound { service: service.grouped_name(), ip: address.ip.clone(), port: address.port }
}

#[cfg(test)]
mod tests;
