//! Registry reads: views, subscriptions, instances, services and counts.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use domain::config::{Namespace, Page};
use domain::naming::{ClusterName, Instance, ServiceKey, Subscriber, SubscriberId, ViewQuery};

use super::{summary, NamingApp, NamingMetrics, ServiceSummary, SharedView};

impl NamingApp {
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
}
