//! Registry reads: views, subscriptions, instances, services and counts.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use domain::config::{ConnectionId, Namespace};
use domain::fuzzy_watch::FuzzyWatchError;
use domain::naming::{ClientRef, ClusterName, Instance, ServiceKey, Subscriber, SubscriberId, Switches, ViewQuery};
use domain::paging::{Page, PageRequest};

use super::{summary, NamingApp, NamingMetrics, RegistryQueries, ServiceSummary, SharedView, SubscriptionService};

impl RegistryQueries for NamingApp {
    fn view(&self, service: &ServiceKey, query: &ViewQuery) -> Arc<SharedView> {
        let persistent = self.persistent(service);
        let labels = self.consumer_labels(service, persistent.as_deref(), query.consumer_ip.as_deref());
        let mut inner = self.inner();
        inner.view(service, persistent.as_deref(), query, labels.as_ref(), self.clock.now())
    }

    /// Clients that registered with an odd cluster (the Python 2.x client sends the text
    /// `None`) can still find their instance without naming it.
    fn instance(&self, service: &ServiceKey, ip: &str, port: u16, cluster: Option<ClusterName>) -> Option<Instance> {
        let all = self.all_instances(service);
        let at = |i: &&Instance| i.ip == ip && i.port == port;
        match cluster {
            Some(cluster) => all.iter().filter(at).find(|i| i.cluster == cluster),
            None => all.iter().filter(at).find(|i| i.cluster == ClusterName::default()).or_else(|| all.iter().find(at)),
        }
        .cloned()
    }

    fn instances(&self, service: &ServiceKey, cluster: Option<String>, page: PageRequest) -> Page<Instance> {
        let all = self.all_instances(service);
        Page::of(all.into_iter().filter(|i| cluster.as_deref().is_none_or(|c| i.cluster.as_str() == c)), page)
    }

    fn service(&self, service: &ServiceKey) -> Option<ServiceSummary> {
        let persistent = self.persistent(service);
        let ephemeral: Vec<Instance> = self.inner().ephemeral.instances(service).cloned().collect();
        if persistent.is_none() && ephemeral.is_empty() {
            return None;
        }
        Some(summary(service, persistent.as_deref(), &ephemeral))
    }

    fn services(
        &self,
        namespace: &Namespace,
        group: Option<String>,
        name_filter: &str,
        page: PageRequest,
    ) -> Page<ServiceSummary> {
        let keep = |service: &ServiceKey| {
            service.namespace == *namespace
                && group.as_deref().is_none_or(|group| service.group.as_str() == group)
                && service.name.as_str().contains(name_filter)
        };
        let keys = Page::of(self.listed_services(keep), page);
        let total = keys.total;
        let items = keys.items.iter().filter_map(|key| self.service(key)).collect();
        Page::from_parts(total, page, items)
    }

    fn metrics(&self) -> NamingMetrics {
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

    fn switches(&self) -> Switches {
        self.state.read_with(|state| state.switches.clone())
    }

    fn clients(&self) -> Vec<ClientRef> {
        let mut clients: BTreeSet<ClientRef> = BTreeSet::new();
        {
            let inner = self.inner();
            clients.extend(inner.ephemeral.owners().map(ClientRef::of_owner));
            for (service, _) in inner.subscribers.services() {
                clients.extend(inner.subscribers.subscribers(service).map(|(id, _)| ClientRef::of_subscriber(id)));
            }
        }
        self.state.read_with(|state| {
            for (_, entry) in state.naming.iter() {
                clients.extend(entry.instances.iter().map(ClientRef::of_persistent));
            }
        });
        clients.into_iter().collect()
    }

    fn client_publications(&self, client: &ClientRef) -> Option<Vec<(ServiceKey, Instance)>> {
        if !self.clients().contains(client) {
            return None;
        }
        let mut published = Vec::new();
        match client {
            ClientRef::IpPort { ip, port, ephemeral: false } => self.state.read_with(|state| {
                for (service, entry) in state.naming.iter() {
                    let own = entry.instances.iter().filter(|i| i.ip == *ip && i.port == *port);
                    published.extend(own.map(|i| (service.clone(), i.clone())));
                }
            }),
            _ => {
                let inner = self.inner();
                for service in inner.ephemeral.services() {
                    let own = inner.ephemeral.published(service).filter(|p| ClientRef::of_owner(&p.owner) == *client);
                    published.extend(own.map(|p| (service.clone(), p.instance.clone())));
                }
            }
        }
        Some(published)
    }

    fn client_subscriptions(&self, client: &ClientRef) -> Vec<(ServiceKey, Subscriber)> {
        let inner = self.inner();
        let mut subscribed = Vec::new();
        for (service, _) in inner.subscribers.services() {
            let own = inner.subscribers.subscribers(service).filter(|(id, _)| ClientRef::of_subscriber(id) == *client);
            subscribed.extend(own.map(|(_, subscriber)| (service.clone(), subscriber.clone())));
        }
        subscribed
    }

    fn service_publishers(&self, service: &ServiceKey, ephemeral: bool) -> Vec<(ClientRef, Instance)> {
        if ephemeral {
            let inner = self.inner();
            inner.ephemeral.published(service).map(|p| (ClientRef::of_owner(&p.owner), p.instance.clone())).collect()
        } else {
            let entry = self.persistent(service);
            let instances = entry.iter().flat_map(|entry| entry.instances.iter());
            instances.map(|i| (ClientRef::of_persistent(i), i.clone())).collect()
        }
    }

    fn service_subscribers(&self, service: &ServiceKey) -> Vec<(ClientRef, Subscriber)> {
        let inner = self.inner();
        inner.subscribers.subscribers(service).map(|(id, s)| (ClientRef::of_subscriber(id), s.clone())).collect()
    }
}

impl SubscriptionService for NamingApp {
    /// Repeating an existing subscription gets no welcome push, since its subscriber has
    /// been pushed every change since.
    fn subscribe(&self, id: SubscriberId, service: &ServiceKey, subscriber: Subscriber) -> Arc<SharedView> {
        let query = ViewQuery::new(subscriber.clusters.clone(), false, Some(&subscriber.client_ip));
        let persistent = self.persistent(service);
        let labels = self.consumer_labels(service, persistent.as_deref(), query.consumer_ip.as_deref());
        let now = self.clock.now();
        let mut inner = self.inner();
        if inner.subscribers.subscribe(id.clone(), service, subscriber, now) {
            inner.welcome.push((id, service.clone()));
        }
        inner.view(service, persistent.as_deref(), &query, labels.as_ref(), now)
    }

    fn refresh_udp(&self, id: SubscriberId, service: &ServiceKey, subscriber: Subscriber) {
        let now = self.clock.now();
        self.inner().subscribers.subscribe(id, service, subscriber, now);
    }

    fn unsubscribe(&self, id: &SubscriberId, service: &ServiceKey) {
        self.inner().subscribers.unsubscribe(id, service);
    }

    fn subscribers(&self, service: &ServiceKey, page: PageRequest) -> Page<(SubscriberId, Subscriber)> {
        let inner = self.inner();
        Page::of(inner.subscribers.subscribers(service).map(|(id, s)| (id.clone(), s.clone())), page)
    }

    fn fuzzy_watch(
        &self,
        connection: &ConnectionId,
        pattern: &str,
        received: &BTreeSet<String>,
        initializing: bool,
    ) -> Result<(), FuzzyWatchError> {
        self.start_fuzzy_watch(connection, pattern, received, initializing)
    }

    fn fuzzy_cancel(&self, connection: &ConnectionId, pattern: &str) -> Result<(), FuzzyWatchError> {
        self.cancel_fuzzy_watch(connection, pattern)
    }
}

impl NamingApp {
    /// Every instance of a service, both kinds, unfiltered.
    fn all_instances(&self, service: &ServiceKey) -> Vec<Instance> {
        let mut all: Vec<Instance> = self.inner().ephemeral.instances(service).cloned().collect();
        if let Some(entry) = self.persistent(service) {
            all.extend(entry.instances.iter().cloned());
        }
        all
    }
}
