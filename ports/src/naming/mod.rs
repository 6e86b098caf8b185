//! The registry use cases: register, deregister, beat, query, subscribe and push.
//!
//! Ephemeral instances and subscriptions live in this node's memory (behind one lock);
//! service metadata and persistent instances go through raft and are read from the
//! applied state. Every change marks its service dirty; [`NamingApp::flush_pushes`]
//! (called on a short timer) turns the dirty set into one push per subscriber with the
//! latest view, so a burst of registrations costs a bounded number of pushes.

mod push;
mod query;
mod register;
mod views;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use domain::naming::{
    compute_view, EphemeralRegistry, Instance, NamingCommand, NamingError, PersistentService, ServiceKey, ServiceMeta,
    SubscriberId, SubscriberTable, ViewQuery,
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
        if !self.dirty.contains(service) {
            self.dirty.insert(service.clone());
        }
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
