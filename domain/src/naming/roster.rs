//! The ephemeral instances of one service, stored compactly.
//!
//! A registry holds up to hundreds of thousands of instances, and an instance's identity
//! (ip, port, cluster) is part of the instance itself. A map keyed by that identity stores
//! it twice and, as a `BTreeMap`, keeps nodes about a third empty. Here the entries sit in
//! one `Vec` and a hash table of positions (4 bytes a slot) finds them by address.

use std::hash::{BuildHasher, Hash, RandomState};

use hashbrown::HashTable;

use super::{ClusterName, Published};

#[derive(Debug, Clone, Default)]
pub(crate) struct Roster {
    entries: Vec<Published>,
    /// Positions in `entries`, hashed by address.
    index: HashTable<u32>,
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
            return self.entries.get_mut(at).map(|old| std::mem::replace(old, entry));
        }
        let hash = self.hash(&instance.ip, instance.port, &instance.cluster);
        let at = self.entries.len();
        self.entries.push(entry);
        let (entries, hasher) = (&self.entries, &self.hasher);
        // Positions are u32 to keep the index at 4 bytes a slot. Overflowing one takes
        // 4 billion instances in a service (over 500 GB); were it to happen, the entries
        // beyond would be listed and expire with their owner but not be found by address.
        if let Ok(at) = u32::try_from(at) {
            self.index.insert_unique(hash, at, |&at| rehash(hasher, entries, at));
        }
        None
    }

    /// Removes and answers the entry at `ip:port` in `cluster`.
    pub(crate) fn remove(&mut self, ip: &str, port: u16, cluster: &ClusterName) -> Option<Published> {
        let hash = self.hash(ip, port, cluster);
        let entries = &self.entries;
        let found = self.index.find_entry(hash, |&at| is_at(entries, at, ip, port, cluster)).ok()?;
        let (at, _) = found.remove();
        let at = at as usize;
        let removed = self.entries.swap_remove(at);
        // The last entry moved into the hole: point its index slot at the new position.
        if let Some(moved) = self.entries.get(at) {
            let old = self.entries.len();
            let hash = self.hash(&moved.instance.ip, moved.instance.port, &moved.instance.cluster);
            if let Some(slot) = self.index.find_mut(hash, |&slot| slot as usize == old) {
                *slot = at as u32;
            }
        }
        self.shrink_if_sparse();
        Some(removed)
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
        let (entries, hasher) = (&self.entries, &self.hasher);
        for (at, entry) in (0u32..).zip(entries) {
            let hash = address_hash(hasher, &entry.instance.ip, entry.instance.port, &entry.instance.cluster);
            self.index.insert_unique(hash, at, |&at| rehash(hasher, entries, at));
        }
    }

    /// After a service shrinks a lot (a deployment scaled down), gives the memory back.
    fn shrink_if_sparse(&mut self) {
        if self.entries.capacity() > 64 && self.entries.len() < self.entries.capacity() / 4 {
            self.entries.shrink_to_fit();
            let (entries, hasher) = (&self.entries, &self.hasher);
            self.index.shrink_to_fit(|&at| rehash(hasher, entries, at));
        }
    }
}

fn is_at(entries: &[Published], at: u32, ip: &str, port: u16, cluster: &ClusterName) -> bool {
    entries.get(at as usize).is_some_and(|entry| entry.instance.is_at(ip, port, cluster))
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
