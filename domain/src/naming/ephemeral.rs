//! Ephemeral instances: owned by a client, kept in memory, gone with their client.
//!
//! Nacos has two kinds of owner: a gRPC connection (the instance lives exactly as long as
//! the connection) and an `ip:port` kept alive by HTTP beats (unhealthy after the beat
//! timeout, removed after the delete timeout). Both are here; which one is only a matter of
//! which events reach the registry.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use super::roster::Roster;
use super::{ClusterName, Instance, NamingError, ServiceKey};
use crate::config::ConnectionId;
use crate::Millis;

/// Who an ephemeral instance belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Owner {
    /// A gRPC connection: the instance goes when the connection does.
    Connection(ConnectionId),
    /// HTTP beats from `ip:port` keep the instance (Nacos's `ip:port#true` client).
    Beats { ip: String, port: u16 },
}

/// Who asks for a registration; it decides who keeps an ephemeral instance alive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Registrant {
    /// A gRPC client on this connection.
    Connection(ConnectionId),
    /// An HTTP request (v1/v2 Open API, 1.x clients).
    Http,
}

/// How a registered instance lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lifetime {
    /// In this node's memory, as long as its owner.
    Ephemeral(Owner),
    /// Through raft, until deregistered.
    Persistent,
}

impl super::InstanceDraft {
    /// The one rule every API follows: an instance is ephemeral unless its client said
    /// `ephemeral=false`. An ephemeral instance registered on a connection lives as long as
    /// the connection; one registered over HTTP is kept by beats from its own address.
    pub fn lifetime(&self, registrant: &Registrant) -> Result<Lifetime, NamingError> {
        if self.ephemeral == Some(false) {
            return Ok(Lifetime::Persistent);
        }
        Ok(Lifetime::Ephemeral(match registrant {
            Registrant::Connection(connection) => Owner::Connection(connection.clone()),
            Registrant::Http => {
                let address = super::InstanceAddress::parse(self.ip.as_deref(), self.port, None)?;
                Owner::Beats { ip: address.ip, port: address.port }
            }
        }))
    }
}

/// One ephemeral instance with its owner and last sign of life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub owner: Owner,
    pub instance: Instance,
    pub last_beat: Millis,
}

/// What a beat found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BeatOutcome {
    /// The instance is known; its beat period (ms) and whether the beat changed what
    /// subscribers see (it was unhealthy).
    Alive { interval: u64, changed: bool },
    /// No such instance: the client must register again (Nacos code 20404).
    Unknown,
}

/// Every ephemeral instance of this node, by service and by owner.
#[derive(Debug, Clone, Default)]
pub struct EphemeralRegistry {
    /// Keys are shared (`Arc`) with the owner index: one owner's instance in a service
    /// costs a pointer there, not a copy of three strings.
    services: BTreeMap<Arc<ServiceKey>, Roster>,
    by_owner: HashMap<Owner, HashSet<Arc<ServiceKey>>>,
}

impl EphemeralRegistry {
    /// Adds or replaces (same ip, port and cluster) an instance. Answers whether anything
    /// a subscriber sees changed.
    pub fn register(&mut self, owner: Owner, service: &ServiceKey, instance: Instance, now: Millis) -> bool {
        // The common case, a client registering again what it already has: one lookup, and
        // the owner index already holds the pair.
        let existing = self.services.get_mut(service).and_then(|published| {
            let (ip, port, cluster) = (&instance.ip, instance.port, &instance.cluster);
            published.get_mut(ip, port, cluster)
        });
        if let Some(existing) = existing.filter(|existing| existing.owner == owner) {
            let changed = existing.instance != instance;
            existing.instance = instance;
            existing.last_beat = now;
            return changed;
        }
        let key = self.shared_key(service);
        let published = self.services.entry(Arc::clone(&key)).or_default();
        let entry = Published { owner: owner.clone(), instance, last_beat: now };
        let changed = match published.insert(entry) {
            Some(old) => {
                let (ip, port, cluster) = (&old.instance.ip, old.instance.port, &old.instance.cluster);
                let changed = published.get(ip, port, cluster).is_none_or(|new| new.instance != old.instance);
                if old.owner != owner {
                    self.forget_if_unowned(&old.owner, service);
                }
                changed
            }
            None => true,
        };
        self.by_owner.entry(owner).or_default().insert(key);
        changed
    }

    /// Replaces everything `owner` published in `service` with `instances` (Nacos's batch
    /// register, which is also how SDKs batch-deregister).
    pub fn replace_batch(&mut self, owner: Owner, service: &ServiceKey, instances: Vec<Instance>, now: Millis) -> bool {
        let before = self.sorted_instances(service);
        if let Some(published) = self.services.get_mut(service) {
            published.remove_owned_by(&owner);
        }
        for instance in instances {
            self.register(owner.clone(), service, instance, now);
        }
        self.forget_if_unowned(&owner, service);
        self.drop_if_empty(service);
        before != self.sorted_instances(service)
    }

    /// Copies of `service`'s instances in address order, to compare sets.
    fn sorted_instances(&self, service: &ServiceKey) -> Vec<Instance> {
        let mut instances: Vec<Instance> = self.instances(service).cloned().collect();
        instances.sort_unstable_by(|a, b| a.address().cmp(&b.address()));
        instances
    }

    /// Removes the instance at `ip:port` in `cluster`, whoever owns it. Answers whether
    /// there was one.
    pub fn deregister(&mut self, service: &ServiceKey, ip: &str, port: u16, cluster: &ClusterName) -> bool {
        let Some(published) = self.services.get_mut(service) else { return false };
        let Some(removed) = published.remove(ip, port, cluster) else { return false };
        self.forget_if_unowned(&removed.owner, service);
        self.drop_if_empty(service);
        true
    }

    /// Changes an existing instance in place (same owner, same beat time).
    pub fn update(
        &mut self,
        service: &ServiceKey,
        ip: &str,
        port: u16,
        cluster: &ClusterName,
        change: impl FnOnce(&Instance) -> Result<Instance, NamingError>,
    ) -> Result<Option<bool>, NamingError> {
        let Some(published) = self.services.get_mut(service) else { return Ok(None) };
        let Some(entry) = published.get_mut(ip, port, cluster) else { return Ok(None) };
        let updated = change(&entry.instance)?;
        let changed = updated != entry.instance;
        entry.instance = updated;
        Ok(Some(changed))
    }

    /// An HTTP beat for the instance at `ip:port` in `cluster`: refreshes it, and makes it
    /// healthy again if it had timed out.
    pub fn beat(
        &mut self,
        service: &ServiceKey,
        ip: &str,
        port: u16,
        cluster: &ClusterName,
        now: Millis,
    ) -> BeatOutcome {
        let entry = self.services.get_mut(service).and_then(|published| published.get_mut(ip, port, cluster));
        let Some(entry) = entry else { return BeatOutcome::Unknown };
        entry.last_beat = now;
        let changed = !entry.instance.healthy;
        entry.instance.healthy = true;
        BeatOutcome::Alive { interval: entry.instance.heartbeat().interval, changed }
    }

    /// A client is gone (connection closed or found dead): its instances go with it.
    /// Answers the services that changed.
    pub fn client_gone(&mut self, owner: &Owner) -> Vec<ServiceKey> {
        let Some(services) = self.by_owner.remove(owner) else { return Vec::new() };
        let mut changed: Vec<ServiceKey> = services.iter().map(|key| ServiceKey::clone(key)).collect();
        changed.sort();
        for service in &changed {
            if let Some(published) = self.services.get_mut(service) {
                published.remove_owned_by(owner);
            }
            self.drop_if_empty(service);
        }
        changed
    }

    /// Applies beat expiry at `now` to beat-kept instances: unhealthy once silent for their
    /// beat timeout, removed once silent for their delete timeout. Connection-owned
    /// instances never expire here, nor do those of owners `elsewhere` says another node
    /// is responsible for (their beats go there; that node says what becomes of them).
    /// Answers the services that changed.
    pub fn expire(&mut self, now: Millis, elsewhere: impl Fn(&Owner) -> bool) -> Vec<ServiceKey> {
        // Only services holding beat-kept instances can expire anything; the owner index
        // finds them, so instances of gRPC clients cost nothing here.
        let candidates: BTreeSet<Arc<ServiceKey>> = self
            .by_owner
            .iter()
            .filter(|(owner, _)| matches!(owner, Owner::Beats { .. }) && !elsewhere(owner))
            .flat_map(|(_, services)| services.iter().cloned())
            .collect();
        let mut changed = Vec::new();
        let mut emptied = Vec::new();
        for service in candidates {
            let Some(published) = self.services.get_mut(&service) else { continue };
            let before = published.len();
            let mut flipped = false;
            published.retain(|p| {
                if !matches!(p.owner, Owner::Beats { .. }) || elsewhere(&p.owner) {
                    return true;
                }
                let silent = now.0.saturating_sub(p.last_beat.0);
                let times = p.instance.heartbeat();
                if silent > times.delete_after {
                    return false;
                }
                if silent > times.timeout && p.instance.healthy {
                    p.instance.healthy = false;
                    flipped = true;
                }
                true
            });
            if flipped || published.len() != before {
                changed.push(ServiceKey::clone(&service));
            }
            if published.is_empty() {
                emptied.push(ServiceKey::clone(&service));
            }
        }
        for service in &changed {
            self.reindex_owners(service);
        }
        for service in emptied {
            self.services.remove(&service);
        }
        changed
    }

    /// The ephemeral instances of `service`, in no particular order.
    pub fn instances(&self, service: &ServiceKey) -> impl Iterator<Item = &Instance> + '_ {
        self.published(service).map(|p| &p.instance)
    }

    /// The published entries of `service`, with owners and beat times.
    pub fn published(&self, service: &ServiceKey) -> impl Iterator<Item = &Published> + '_ {
        self.services.get(service).into_iter().flat_map(Roster::iter)
    }

    /// Services that have ephemeral instances.
    pub fn services(&self) -> impl Iterator<Item = &ServiceKey> + '_ {
        self.services.keys().map(|key| &**key)
    }

    pub fn has_instances(&self, service: &ServiceKey) -> bool {
        self.services.get(service).is_some_and(|published| !published.is_empty())
    }

    pub fn instance_count(&self) -> usize {
        self.services.values().map(Roster::len).sum()
    }

    pub fn owner_count(&self) -> usize {
        self.by_owner.len()
    }

    /// The services `owner` has instances in.
    pub fn services_of(&self, owner: &Owner) -> impl Iterator<Item = &ServiceKey> + '_ {
        self.by_owner.get(owner).into_iter().flat_map(|services| services.iter().map(|key| &**key))
    }

    /// Whether `owner` has any instance.
    pub fn has_owner(&self, owner: &Owner) -> bool {
        self.by_owner.contains_key(owner)
    }

    /// Every owner with instances.
    pub fn owners(&self) -> impl Iterator<Item = &Owner> + '_ {
        self.by_owner.keys()
    }

    fn forget_if_unowned(&mut self, owner: &Owner, service: &ServiceKey) {
        let still_owns = self.services.get(service).is_some_and(|published| published.owns(owner));
        if still_owns {
            return;
        }
        if let Some(services) = self.by_owner.get_mut(owner) {
            services.remove(service);
            if services.is_empty() {
                self.by_owner.remove(owner);
            }
        }
    }

    /// After instances left `service` in bulk, drop owner index entries that no longer hold.
    fn reindex_owners(&mut self, service: &ServiceKey) {
        let owners: Vec<Owner> = self
            .by_owner
            .iter()
            .filter(|(_, services)| services.contains(service))
            .map(|(owner, _)| owner.clone())
            .collect();
        for owner in owners {
            self.forget_if_unowned(&owner, service);
        }
    }

    /// The registry's shared copy of `service`'s key, or a new one.
    fn shared_key(&self, service: &ServiceKey) -> Arc<ServiceKey> {
        self.services.get_key_value(service).map_or_else(|| Arc::new(service.clone()), |(key, _)| Arc::clone(key))
    }

    fn drop_if_empty(&mut self, service: &ServiceKey) {
        if self.services.get(service).is_some_and(Roster::is_empty) {
            self.services.remove(service);
        }
    }
}
