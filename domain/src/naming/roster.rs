//! The ephemeral instances of one service, stored compactly.
//!
//! A registry holds up to hundreds of thousands of instances, and an instance's identity
//! (ip, port, cluster) is part of the instance itself. A map keyed by that identity stores
//! it twice and, as a `BTreeMap`, keeps nodes about a third empty. Here the entries sit in
//! one `Vec` and a hash table of positions (4 bytes a slot) finds them by address.
//!
//! A second table of positions, hashed by owner, finds what one client holds, so that a
//! client leaving costs what it owned: a service with thousands of clients is not scanned
//! once per client when they all leave together.

use std::hash::{BuildHasher, Hash, RandomState};

use hashbrown::HashTable;

use super::{ClusterName, Owner, Published};

#[derive(Debug, Clone, Default)]
pub(crate) struct Roster {
    entries: Vec<Published>,
    /// Positions in `entries`, hashed by address.
    index: HashTable<u32>,
    /// The same positions, hashed by owner (several per owner).
    owners: HashTable<u32>,
    hasher: RandomState,
}

impl Roster {
    pub(crate) fn get(&self, ip: &str, port: u16, cluster: &ClusterName) -> Option<&Published> {
        let at = self.position(ip, port, cluster)?;
        self.entries.get(at)
    }

    pub(crate) fn get_mut(&mut self, ip: &str, port: u16, cluster: &ClusterName) -> Option<&mut Published> {
        let at = self.position(ip, port, cluster)?;
        self.entries.get_mut(at)
    }

    /// Adds `entry`, or replaces the entry at its address and answers the old one.
    pub(crate) fn insert(&mut self, entry: Published) -> Option<Published> {
        let instance = &entry.instance;
        if let Some(at) = self.position(&instance.ip, instance.port, &instance.cluster) {
            let new_owner = entry.owner.clone();
            let old = self.entries.get_mut(at).map(|old| std::mem::replace(old, entry))?;
            if old.owner != new_owner {
                self.unindex_owner(&old.owner, at);
                self.index_owner(at);
            }
            return Some(old);
        }
        let hash = self.hash(&instance.ip, instance.port, &instance.cluster);
        let at = self.entries.len();
        self.entries.push(entry);
        let (entries, hasher) = (&self.entries, &self.hasher);
        // Positions are u32 to keep the index at 4 bytes a slot. Overflowing one takes
        // 4 billion instances in a service (over 500 GB); were it to happen, the entries
        // beyond would be listed but not be found by address or by owner.
        if let Ok(slot) = u32::try_from(at) {
            self.index.insert_unique(hash, slot, |&at| rehash(hasher, entries, at));
            self.index_owner(at);
        }
        None
    }

    /// Whether `owner` holds any entry here.
    pub(crate) fn owns(&self, owner: &Owner) -> bool {
        let hash = self.owner_hash(owner);
        self.owners.find(hash, |&at| owned_by(&self.entries, at, owner)).is_some()
    }

    /// Removes everything `owner` holds here; answers how many entries went. Costs what
    /// the owner held, not the roster's size.
    pub(crate) fn remove_owned_by(&mut self, owner: &Owner) -> usize {
        let hash = self.owner_hash(owner);
        let mut positions: Vec<usize> = self
            .owners
            .iter_hash(hash)
            .filter(|&&at| owned_by(&self.entries, at, owner))
            .map(|&at| at as usize)
            .collect();
        // Highest first: a swap-remove only moves the last entry, which is then never one
        // still to be removed.
        positions.sort_unstable_by(|a, b| b.cmp(a));
        for &at in &positions {
            self.remove_at(at);
        }
        self.shrink_if_sparse();
        positions.len()
    }

    /// Removes and answers the entry at `ip:port` in `cluster`.
    pub(crate) fn remove(&mut self, ip: &str, port: u16, cluster: &ClusterName) -> Option<Published> {
        let at = self.position(ip, port, cluster)?;
        let removed = self.remove_at(at);
        self.shrink_if_sparse();
        removed
    }

    /// Removes the entry at `at` from both indexes and the entries; the last entry moves
    /// into the hole, and its index slots follow it.
    fn remove_at(&mut self, at: usize) -> Option<Published> {
        let entry = self.entries.get(at)?;
        let hash = self.hash(&entry.instance.ip, entry.instance.port, &entry.instance.cluster);
        if let Ok(found) = self.index.find_entry(hash, |&slot| slot as usize == at) {
            found.remove();
        }
        let owner = entry.owner.clone();
        self.unindex_owner(&owner, at);
        let removed = self.entries.swap_remove(at);
        if let Some(moved) = self.entries.get(at) {
            let old = self.entries.len();
            let hash = self.hash(&moved.instance.ip, moved.instance.port, &moved.instance.cluster);
            let owner_hash = self.owner_hash(&moved.owner);
            if let Ok(new) = u32::try_from(at) {
                if let Some(slot) = self.index.find_mut(hash, |&slot| slot as usize == old) {
                    *slot = new;
                }
                if let Some(slot) = self.owners.find_mut(owner_hash, |&slot| slot as usize == old) {
                    *slot = new;
                }
            }
        }
        Some(removed)
    }

    fn index_owner(&mut self, at: usize) {
        let (Some(entry), Ok(slot)) = (self.entries.get(at), u32::try_from(at)) else { return };
        let hash = self.owner_hash(&entry.owner);
        let (entries, hasher) = (&self.entries, &self.hasher);
        self.owners.insert_unique(hash, slot, |&at| owner_rehash(hasher, entries, at));
    }

    fn unindex_owner(&mut self, owner: &Owner, at: usize) {
        let hash = self.owner_hash(owner);
        if let Ok(found) = self.owners.find_entry(hash, |&slot| slot as usize == at) {
            found.remove();
        }
    }

    fn owner_hash(&self, owner: &Owner) -> u64 {
        self.hasher.hash_one(owner)
    }

    /// Keeps the entries `keep` says yes to; it may change the ones it keeps.
    pub(crate) fn retain(&mut self, keep: impl FnMut(&mut Published) -> bool) {
        let before = self.entries.len();
        self.entries.retain_mut(keep);
        if self.entries.len() != before {
            self.reindex();
            self.shrink_if_sparse();
        }
    }

    pub(crate) fn iter(&self) -> std::slice::Iter<'_, Published> {
        self.entries.iter()
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn position(&self, ip: &str, port: u16, cluster: &ClusterName) -> Option<usize> {
        let hash = self.hash(ip, port, cluster);
        self.index.find(hash, |&at| is_at(&self.entries, at, ip, port, cluster)).map(|&at| at as usize)
    }

    fn hash(&self, ip: &str, port: u16, cluster: &ClusterName) -> u64 {
        address_hash(&self.hasher, ip, port, cluster)
    }

    fn reindex(&mut self) {
        self.index.clear();
        self.owners.clear();
        let (entries, hasher) = (&self.entries, &self.hasher);
        for (at, entry) in (0u32..).zip(entries) {
            let hash = address_hash(hasher, &entry.instance.ip, entry.instance.port, &entry.instance.cluster);
            self.index.insert_unique(hash, at, |&at| rehash(hasher, entries, at));
            self.owners.insert_unique(hasher.hash_one(&entry.owner), at, |&at| owner_rehash(hasher, entries, at));
        }
    }

    /// After a service shrinks a lot (a deployment scaled down), gives the memory back.
    fn shrink_if_sparse(&mut self) {
        if self.entries.capacity() > 64 && self.entries.len() < self.entries.capacity() / 4 {
            self.entries.shrink_to_fit();
            let (entries, hasher) = (&self.entries, &self.hasher);
            self.index.shrink_to_fit(|&at| rehash(hasher, entries, at));
            self.owners.shrink_to_fit(|&at| owner_rehash(hasher, entries, at));
        }
    }
}

fn is_at(entries: &[Published], at: u32, ip: &str, port: u16, cluster: &ClusterName) -> bool {
    entries.get(at as usize).is_some_and(|entry| entry.instance.is_at(ip, port, cluster))
}

fn owned_by(entries: &[Published], at: u32, owner: &Owner) -> bool {
    entries.get(at as usize).is_some_and(|entry| entry.owner == *owner)
}

fn owner_rehash(hasher: &RandomState, entries: &[Published], at: u32) -> u64 {
    entries.get(at as usize).map_or(0, |entry| hasher.hash_one(&entry.owner))
}

fn rehash(hasher: &RandomState, entries: &[Published], at: u32) -> u64 {
    entries
        .get(at as usize)
        .map_or(0, |entry| address_hash(hasher, &entry.instance.ip, entry.instance.port, &entry.instance.cluster))
}

fn address_hash(hasher: &RandomState, ip: &str, port: u16, cluster: &ClusterName) -> u64 {
    let mut state = hasher.build_hasher();
    ip.hash(&mut state);
    port.hash(&mut state);
    cluster.as_str().hash(&mut state);
    std::hash::Hasher::finish(&state)
}

#[cfg(test)]
mod tests {
    //! The roster against a plain model: any sequence of inserts, removals by address and
    //! by owner, and retains leaves the same entries, each found by address and by owner.
    #![allow(clippy::unwrap_used, reason = "tests")]

    use proptest::prelude::*;

    use super::*;
    use crate::config::ConnectionId;
    use crate::naming::InstanceDraft;
    use crate::Millis;

    #[derive(Debug, Clone)]
    enum Op {
        Insert { owner: u8, host: u8 },
        Remove { host: u8 },
        RemoveOwnedBy { owner: u8 },
        RetainEvenHosts,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0..6u8, 0..24u8).prop_map(|(owner, host)| Op::Insert { owner, host }),
            1 => (0..24u8).prop_map(|host| Op::Remove { host }),
            2 => (0..6u8).prop_map(|owner| Op::RemoveOwnedBy { owner }),
            1 => Just(Op::RetainEvenHosts),
        ]
    }

    fn owner(n: u8) -> Owner {
        Owner::Connection(ConnectionId::new(format!("c{n}")))
    }

    fn entry(owner_n: u8, host: u8) -> Published {
        let draft = InstanceDraft { ip: Some(format!("10.0.0.{host}")), port: Some(80), ..InstanceDraft::default() };
        Published { owner: owner(owner_n), instance: draft.validate().unwrap(), last_beat: Millis(0) }
    }

    proptest! {
        #[test]
        fn the_roster_matches_a_model(ops in proptest::collection::vec(op(), 1..120)) {
            let mut roster = Roster::default();
            // host -> owner
            let mut model: std::collections::BTreeMap<u8, u8> = std::collections::BTreeMap::new();
            let cluster = ClusterName::default();
            for op in ops {
                match op {
                    Op::Insert { owner, host } => {
                        let replaced = roster.insert(entry(owner, host)).map(|old| old.owner);
                        prop_assert_eq!(replaced, model.insert(host, owner).map(self::owner));
                    }
                    Op::Remove { host } => {
                        let removed = roster.remove(&format!("10.0.0.{host}"), 80, &cluster).map(|old| old.owner);
                        prop_assert_eq!(removed, model.remove(&host).map(self::owner));
                    }
                    Op::RemoveOwnedBy { owner } => {
                        let before = model.len();
                        model.retain(|_, o| *o != owner);
                        prop_assert_eq!(roster.remove_owned_by(&self::owner(owner)), before - model.len());
                    }
                    Op::RetainEvenHosts => {
                        roster.retain(|p| p.instance.ip.ends_with(['0', '2', '4', '6', '8']));
                        model.retain(|host, _| host % 2 == 0);
                    }
                }
                prop_assert_eq!(roster.len(), model.len());
                for (host, owner) in &model {
                    let found = roster.get(&format!("10.0.0.{host}"), 80, &cluster).map(|p| p.owner.clone());
                    prop_assert_eq!(found, Some(self::owner(*owner)));
                }
                for n in 0..6u8 {
                    prop_assert_eq!(roster.owns(&owner(n)), model.values().any(|o| *o == n));
                }
            }
        }
    }
}
