//! The push round: dirty services and new subscribers to one delivery each.

use std::collections::HashMap;
use std::sync::Arc;

use domain::naming::{PersistentService, ServiceKey, Subscriber, SubscriberId, ViewQuery};
use domain::Millis;

use super::{NamingApp, SharedView};

impl NamingApp {
    /// Sends the latest view to every subscriber of every service changed since the last
    /// round, and the first view to new subscribers. Views are computed once per service
    /// and cluster filter, not once per subscriber. Fuzzy watchers hear of the changed
    /// services that came into being or went. Answers how many deliveries went out.
    pub fn flush_pushes(&self) -> usize {
        let (dirty, welcome) = {
            let mut inner = self.inner();
            if inner.dirty.is_empty() && inner.welcome.is_empty() {
                return 0;
            }
            (std::mem::take(&mut inner.dirty), std::mem::take(&mut inner.welcome))
        };
        let notices = self.fuzzy_notices(&dirty);
        let mut deliveries: Vec<(SubscriberId, Arc<SharedView>)> = Vec::new();
        let now = self.clock.now();
        for service in &dirty {
            let persistent = self.persistent(service);
            let subscribers: Vec<(SubscriberId, Subscriber)> =
                self.inner().subscribers.subscribers(service).map(|(id, s)| (id.clone(), s.clone())).collect();
            // Under a label selector each subscriber has its own view (by its ip's labels);
            // otherwise one view per cluster filter serves every subscriber with it.
            let selects = persistent.as_ref().is_some_and(|entry| !entry.meta.selector.labels().is_empty());
            if selects {
                for (id, subscriber) in subscribers {
                    deliveries.push((id, self.view_for_subscriber(service, persistent.as_deref(), &subscriber, now)));
                }
                continue;
            }
            let mut inner = self.inner();
            let mut by_clusters: HashMap<String, Arc<SharedView>> = HashMap::new();
            for (id, subscriber) in subscribers {
                let view = by_clusters
                    .entry(subscriber.clusters.clone())
                    .or_insert_with(|| {
                        let query = ViewQuery::new(subscriber.clusters, false, None);
                        inner.view(service, persistent.as_deref(), &query, None, now)
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
            let subscriber =
                self.inner().subscribers.subscribers(&service).find(|(sid, _)| **sid == id).map(|(_, s)| s.clone());
            let Some(subscriber) = subscriber else { continue };
            deliveries.push((id, self.view_for_subscriber(&service, persistent.as_deref(), &subscriber, now)));
        }
        let pushers = self.pushers();
        for (id, view) in &deliveries {
            for pusher in &pushers {
                pusher.push(id, Arc::clone(view));
            }
        }
        for (connection, service_key, change) in &notices {
            for pusher in &pushers {
                pusher.fuzzy_watch_changed(connection, service_key, *change);
            }
        }
        deliveries.len() + notices.len()
    }

    fn view_for_subscriber(
        &self,
        service: &ServiceKey,
        persistent: Option<&PersistentService>,
        subscriber: &Subscriber,
        now: Millis,
    ) -> Arc<SharedView> {
        let query = ViewQuery::new(subscriber.clusters.clone(), false, Some(&subscriber.client_ip));
        let labels = self.consumer_labels(service, persistent, query.consumer_ip.as_deref());
        self.inner().view(service, persistent, &query, labels.as_ref(), now)
    }
}
