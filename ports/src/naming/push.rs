//! The push round: dirty services and new subscribers to one delivery each.

use std::collections::HashMap;
use std::sync::Arc;

use domain::naming::{SubscriberId, ViewQuery};

use super::{NamingApp, SharedView};

impl NamingApp {
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
}
