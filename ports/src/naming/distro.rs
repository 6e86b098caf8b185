//! Distro on the registry: this node's share of the ephemeral instances goes to the other
//! nodes, their shares come in, and copies from a node that went silent are dropped.
//!
//! A node's own clients are the *native* ones: registered through this node's APIs. Every
//! other owner came from a peer and is recorded with the node responsible for it. Local
//! changes mark their service for the next sync round; a round sends each marked service's
//! native instances ([`ServiceSync`]) to every peer. Every few seconds a digest of the
//! native instances per service renews the peers' copies and names the services whose
//! copies differ, which are sent again. The rules (who is responsible, the digest, the
//! lease) are the domain's ([`domain::naming::distro`]).

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use domain::cluster::NodeId;
use domain::naming::distro::{checksum, lease_expired, ClientCopy, ServiceSync};
use domain::naming::{Instance, Owner, ServiceKey};
use domain::Millis;

use super::{Inner, NamingApp};
use crate::peer::PeerError;

/// Peers' distro endpoints (driven port): where this node's share goes.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait DistroPeers: Send + Sync {
    /// The other members this node can reach now.
    fn live_peers(&self) -> Vec<NodeId>;

    /// Replaces `to`'s copies of this node's instances in each listed service.
    async fn sync(&self, to: NodeId, syncs: Vec<ServiceSync>) -> Result<(), PeerError>;

    /// Renews `to`'s copies with a digest of this node's instances per service; answers
    /// the services whose copies differ there.
    async fn verify(&self, to: NodeId, digest: Vec<(ServiceKey, u64)>) -> Result<Vec<ServiceKey>, PeerError>;

    /// Every ephemeral instance `from` holds, with the node responsible for each client.
    async fn snapshot(&self, from: NodeId) -> Result<Vec<ClientCopy>, PeerError>;
}

/// What peers' distro messages do here (driving port, implemented by [`NamingApp`]).
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait DistroHandler: Send + Sync {
    fn on_sync(&self, from: NodeId, syncs: Vec<ServiceSync>);

    /// Renews `from`'s copies; answers the services whose copies differ from `digest`.
    fn on_verify(&self, from: NodeId, digest: Vec<(ServiceKey, u64)>) -> Vec<ServiceKey>;

    /// Every ephemeral instance here, native or copied, for a starting peer.
    fn snapshot(&self) -> Vec<ClientCopy>;
}

/// Distro's bookkeeping, inside the registry's lock.
#[derive(Default)]
pub(super) struct DistroState {
    /// Owners another node is responsible for, and which node.
    remote: BTreeMap<Owner, NodeId>,
    /// When each node last synced or verified.
    heard: BTreeMap<NodeId, Millis>,
    /// Services whose native instances changed since the last sync round.
    unsent: BTreeSet<ServiceKey>,
}

impl DistroState {
    pub(super) fn mark_unsent(&mut self, service: &ServiceKey) {
        if !self.unsent.contains(service) {
            self.unsent.insert(service.clone());
        }
    }

    pub(super) fn is_remote(&self, owner: &Owner) -> bool {
        self.remote.contains_key(owner)
    }
}

impl NamingApp {
    /// The services changed since the last round, with their native instances now.
    pub fn take_unsent(&self) -> Vec<ServiceSync> {
        let mut inner = self.inner();
        let services = std::mem::take(&mut inner.distro.unsent);
        services.into_iter().map(|service| inner.native_sync(service)).collect()
    }

    /// Forgets which services changed: for a round with no peer to send them to (a member
    /// that comes later loads a whole snapshot first).
    pub fn forget_unsent(&self) {
        self.inner().distro.unsent.clear();
    }

    /// The native instances of `services` now, to send again.
    pub fn native_syncs(&self, services: Vec<ServiceKey>) -> Vec<ServiceSync> {
        let inner = self.inner();
        services.into_iter().map(|service| inner.native_sync(service)).collect()
    }

    /// A digest of the native instances, per service that has any.
    pub fn digest(&self) -> Vec<(ServiceKey, u64)> {
        let inner = self.inner();
        let mut services: BTreeSet<&ServiceKey> = BTreeSet::new();
        for owner in inner.ephemeral.owners().filter(|owner| !inner.distro.is_remote(owner)) {
            services.extend(inner.ephemeral.services_of(owner));
        }
        services.into_iter().map(|service| (service.clone(), inner.checksum_from(service, None))).collect()
    }

    /// Drops the copies of every node whose lease ran out; answers those nodes.
    pub fn expire_copies(&self) -> Vec<NodeId> {
        let now = self.clock.now();
        let mut inner = self.inner();
        let silent: Vec<NodeId> =
            inner.distro.heard.iter().filter(|(_, heard)| lease_expired(**heard, now)).map(|(node, _)| *node).collect();
        for node in &silent {
            inner.distro.heard.remove(node);
            let owners: Vec<Owner> =
                inner.distro.remote.iter().filter(|(_, from)| *from == node).map(|(owner, _)| owner.clone()).collect();
            for owner in owners {
                inner.distro.remote.remove(&owner);
                for service in inner.ephemeral.client_gone(&owner) {
                    inner.changed_remotely(&service);
                }
            }
        }
        silent
    }

    /// Takes in a peer's snapshot (a starting node's first registry data).
    pub fn load_copies(&self, copies: Vec<ClientCopy>) {
        let now = self.clock.now();
        let own = self.consensus.node_id();
        let mut inner = self.inner();
        for copy in copies.into_iter().filter(|copy| copy.node != own) {
            inner.distro.heard.entry(copy.node).or_insert(now);
            inner.distro.remote.insert(copy.owner.clone(), copy.node);
            if inner.ephemeral.replace_batch(copy.owner, &copy.service, copy.instances, now) {
                inner.changed_remotely(&copy.service);
            }
        }
    }
}

impl DistroHandler for NamingApp {
    fn on_sync(&self, from: NodeId, syncs: Vec<ServiceSync>) {
        let now = self.clock.now();
        let mut inner = self.inner();
        inner.distro.heard.insert(from, now);
        for ServiceSync { service, clients } in syncs {
            // The sender's owners in this service that it no longer lists have left it.
            let listed: BTreeSet<Owner> = clients.iter().map(|(owner, _)| owner.clone()).collect();
            let mut changed = inner.drop_copies_from(from, &service, &listed, now);
            for (owner, instances) in clients {
                inner.distro.remote.insert(owner.clone(), from);
                changed |= inner.ephemeral.replace_batch(owner.clone(), &service, instances, now);
                if !inner.ephemeral.has_owner(&owner) {
                    inner.distro.remote.remove(&owner);
                }
            }
            if changed {
                inner.changed_remotely(&service);
            }
        }
    }

    fn on_verify(&self, from: NodeId, digest: Vec<(ServiceKey, u64)>) -> Vec<ServiceKey> {
        let now = self.clock.now();
        let mut inner = self.inner();
        inner.distro.heard.insert(from, now);
        let listed: BTreeSet<&ServiceKey> = digest.iter().map(|(service, _)| service).collect();
        // Copies in services the sender no longer has instances in: stale, dropped.
        let mut stale: BTreeSet<ServiceKey> = BTreeSet::new();
        for (owner, node) in &inner.distro.remote {
            if *node == from {
                stale.extend(inner.ephemeral.services_of(owner).filter(|service| !listed.contains(service)).cloned());
            }
        }
        for service in stale {
            if inner.drop_copies_from(from, &service, &BTreeSet::new(), now) {
                inner.changed_remotely(&service);
            }
        }
        digest
            .into_iter()
            .filter(|(service, sum)| inner.checksum_from(service, Some(from)) != *sum)
            .map(|(service, _)| service)
            .collect()
    }

    fn snapshot(&self) -> Vec<ClientCopy> {
        let own = self.consensus.node_id();
        let inner = self.inner();
        let mut copies = Vec::new();
        for owner in inner.ephemeral.owners() {
            let node = inner.distro.remote.get(owner).copied().unwrap_or(own);
            for service in inner.ephemeral.services_of(owner) {
                let instances = inner
                    .ephemeral
                    .published(service)
                    .filter(|published| published.owner == *owner)
                    .map(|published| published.instance.clone())
                    .collect();
                copies.push(ClientCopy { node, owner: owner.clone(), service: service.clone(), instances });
            }
        }
        copies
    }
}

impl Inner {
    /// This node handles `owner` now (its writes were routed here: the node that was
    /// responsible for it left): its instances become native, and go out to the peers as
    /// this node's, without expiring in between.
    pub(super) fn adopt(&mut self, owner: &Owner) {
        if self.distro.remote.remove(owner).is_some() {
            let services: Vec<ServiceKey> = self.ephemeral.services_of(owner).cloned().collect();
            for service in services {
                self.distro.mark_unsent(&service);
            }
        }
    }

    /// Takes in `instance` as a copy of node `node`'s client `owner` (unless this node is
    /// responsible for that client: then the copy is not needed).
    pub(super) fn record_copy(
        &mut self,
        node: NodeId,
        owner: Owner,
        service: &ServiceKey,
        instance: Instance,
        now: Millis,
    ) {
        if self.ephemeral.has_owner(&owner) && !self.distro.is_remote(&owner) {
            return;
        }
        self.distro.remote.insert(owner.clone(), node);
        self.distro.heard.entry(node).or_insert(now);
        if self.ephemeral.register(owner, service, instance, now) {
            self.changed_remotely(service);
        }
    }

    /// `service`'s native instances, by owner.
    fn native_sync(&self, service: ServiceKey) -> ServiceSync {
        let mut clients: BTreeMap<&Owner, Vec<_>> = BTreeMap::new();
        for published in self.ephemeral.published(&service).filter(|p| !self.distro.is_remote(&p.owner)) {
            clients.entry(&published.owner).or_default().push(published.instance.clone());
        }
        let clients = clients.into_iter().map(|(owner, instances)| (owner.clone(), instances)).collect();
        ServiceSync { service, clients }
    }

    /// The digest of `service`'s instances whose owners `node` is responsible for (`None`:
    /// this node, the native ones).
    fn checksum_from(&self, service: &ServiceKey, node: Option<NodeId>) -> u64 {
        checksum(
            self.ephemeral
                .published(service)
                .filter(|p| self.distro.remote.get(&p.owner).copied() == node)
                .map(|p| (&p.owner, &p.instance)),
        )
    }

    /// Drops `node`'s copies in `service` but those of the owners in `keep`; answers
    /// whether anything was dropped.
    fn drop_copies_from(&mut self, node: NodeId, service: &ServiceKey, keep: &BTreeSet<Owner>, now: Millis) -> bool {
        let owners: BTreeSet<Owner> = self
            .ephemeral
            .published(service)
            .filter(|p| self.distro.remote.get(&p.owner) == Some(&node) && !keep.contains(&p.owner))
            .map(|p| p.owner.clone())
            .collect();
        let mut changed = false;
        for owner in owners {
            changed |= self.ephemeral.replace_batch(owner.clone(), service, Vec::new(), now);
            if !self.ephemeral.has_owner(&owner) {
                self.distro.remote.remove(&owner);
            }
        }
        changed
    }
}
