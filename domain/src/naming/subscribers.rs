//! Who watches which service: gRPC connections that subscribed, and 1.x clients that list
//! with a UDP port.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::ServiceKey;
use crate::config::ConnectionId;
use crate::Millis;

/// A UDP subscriber that stops listing is forgotten after this long (ms).
const UDP_SUBSCRIBER_TTL: u64 = 60_000;

/// A subscriber: a connection, or a UDP address of a 1.x client.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SubscriberId {
    Connection(ConnectionId),
    Udp { ip: String, port: u16 },
}

/// One subscription: the cluster filter it asked with and its client's ip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscriber {
    pub clusters: String,
    pub client_ip: String,
    pub app: String,
}

/// A subscription and the last time its subscriber asked for it (what expires UDP
/// subscribers; connections are removed when they close).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Held {
    subscriber: Subscriber,
    refreshed: Millis,
}

/// Every subscription, indexed both ways.
#[derive(Debug, Clone, Default)]
pub struct SubscriberTable {
    by_service: BTreeMap<ServiceKey, HashMap<SubscriberId, Held>>,
    by_subscriber: HashMap<SubscriberId, HashSet<ServiceKey>>,
}

impl SubscriberTable {
    /// Subscribes (or re-subscribes with a new cluster filter). Answers whether this is
    /// new: a first subscription, or a different cluster filter. `now` refreshes it.
    pub fn subscribe(&mut self, id: SubscriberId, service: &ServiceKey, subscriber: Subscriber, now: Millis) -> bool {
        let clusters = subscriber.clusters.clone();
        let held = Held { subscriber, refreshed: now };
        let previous = self.by_service.entry(service.clone()).or_default().insert(id.clone(), held);
        self.by_subscriber.entry(id).or_default().insert(service.clone());
        previous.is_none_or(|previous| previous.subscriber.clusters != clusters)
    }

    pub fn unsubscribe(&mut self, id: &SubscriberId, service: &ServiceKey) {
        if let Some(subscribers) = self.by_service.get_mut(service) {
            subscribers.remove(id);
            if subscribers.is_empty() {
                self.by_service.remove(service);
            }
        }
        if let Some(services) = self.by_subscriber.get_mut(id) {
            services.remove(service);
            if services.is_empty() {
                self.by_subscriber.remove(id);
            }
        }
    }

    /// A subscriber is gone: drop all its subscriptions.
    pub fn drop_subscriber(&mut self, id: &SubscriberId) {
        for service in self.by_subscriber.remove(id).unwrap_or_default() {
            if let Some(subscribers) = self.by_service.get_mut(&service) {
                subscribers.remove(id);
                if subscribers.is_empty() {
                    self.by_service.remove(&service);
                }
            }
        }
    }

    /// Forgets UDP subscribers that have not listed for a while.
    pub fn expire_udp(&mut self, now: Millis) {
        let stale: Vec<(SubscriberId, ServiceKey)> = self
            .by_service
            .iter()
            .flat_map(|(service, subscribers)| {
                subscribers
                    .iter()
                    .filter(|(id, held)| {
                        matches!(id, SubscriberId::Udp { .. })
                            && now.0.saturating_sub(held.refreshed.0) > UDP_SUBSCRIBER_TTL
                    })
                    .map(move |(id, _)| (id.clone(), service.clone()))
            })
            .collect();
        for (id, service) in stale {
            self.unsubscribe(&id, &service);
        }
    }

    /// Who subscribes to `service`, each with its subscription.
    pub fn subscribers(&self, service: &ServiceKey) -> impl Iterator<Item = (&SubscriberId, &Subscriber)> + '_ {
        self.by_service.get(service).into_iter().flatten().map(|(id, held)| (id, &held.subscriber))
    }

    /// Every service with subscribers, with their count.
    pub fn services(&self) -> impl Iterator<Item = (&ServiceKey, usize)> + '_ {
        self.by_service.iter().map(|(service, subscribers)| (service, subscribers.len()))
    }

    pub fn count(&self) -> usize {
        self.by_service.values().map(HashMap::len).sum()
    }
}
