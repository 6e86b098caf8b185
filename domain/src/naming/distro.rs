//! Distro's rules: which node is responsible for a client, what one node tells the others
//! about the ephemeral instances it owns, and when copies from a silent node are dropped.
//!
//! Every node holds every ephemeral instance. Each instance's owner (a client) has one
//! responsible node: the node holding its gRPC connection, or, for an HTTP client kept by
//! beats, the node [`responsible`] names for its `ip:port`. Only the responsible node
//! changes a client; it tells the others per service ([`ServiceSync`]: every instance its
//! clients have in that service), and every few seconds it sends a digest ([`checksum`] per
//! service) that renews the others' copies and repairs any they got wrong. Copies from a
//! node that stopped verifying are dropped after [`LEASE_MS`].

use crate::cluster::NodeId;
use crate::Millis;

use super::{Instance, Owner, ServiceKey};

/// How often a node sends its digest to every other.
pub const VERIFY_EVERY_MS: u64 = 5_000;
/// Copies from a node not heard verifying for this long are dropped: long past a dead
/// node's clients reconnecting elsewhere and registering again, so no live instance goes
/// missing in between. The slowest redo we know is nacos-sdk-python 3.x's: its redo task
/// wakes every 30 s (the Java and Rust SDKs redo within 3 s of reconnecting), so 20 s
/// dropped its instances for up to ten seconds. Java Nacos keeps such copies 3 minutes;
/// one minute covers every SDK twice over and serves a dead client's instances for less.
pub const LEASE_MS: u64 = 60_000;

/// Whether copies last renewed at `renewed` have outlived their lease at `now`.
pub fn lease_expired(renewed: Millis, now: Millis) -> bool {
    now.as_u64().saturating_sub(renewed.as_u64()) > LEASE_MS
}

/// The node responsible for the client tagged `tag` (`ip:port` of an HTTP client), among
/// the live members: rendezvous hashing, the member with the highest score, where a score
/// is FNV-1a 64 of the tag's bytes, a 0 byte and the id's 8 little-endian bytes, mixed by
/// SplitMix64's finaliser (FNV alone spreads trailing bytes poorly). The same on every
/// platform and release (no `std` hasher), and when a member leaves, only the clients it
/// was responsible for move (Java's `hash % members` moves nearly all of them).
pub fn responsible(tag: &str, live: &[NodeId]) -> Option<NodeId> {
    live.iter().copied().max_by_key(|node| {
        let mut hash = Fnv::new();
        hash.write(tag.as_bytes());
        hash.write(&[0]);
        hash.write(&node.to_le_bytes());
        (mix(hash.finish()), *node)
    })
}

/// SplitMix64's finaliser.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The instances one node's clients have in one service, grouped by client: what the
/// others replace their copies of that service's instances from that node with.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceSync {
    pub service: ServiceKey,
    pub clients: Vec<(Owner, Vec<Instance>)>,
}

/// One client's instances in one service, and the node responsible for it: a row of the
/// snapshot a starting node loads.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientCopy {
    pub node: NodeId,
    pub owner: Owner,
    pub service: ServiceKey,
    pub instances: Vec<Instance>,
}

/// A digest of one node's instances in one service, independent of their order: the same
/// on the owner and on a correct copy.
pub fn checksum<'a>(clients: impl IntoIterator<Item = (&'a Owner, &'a Instance)>) -> u64 {
    // XOR of per-instance hashes: order-free, and one instance's change changes it.
    clients.into_iter().fold(0, |sum, (owner, instance)| {
        let mut hash = Fnv::new();
        match owner {
            Owner::Connection(connection) => {
                hash.write(b"c");
                hash.write(connection.as_str().as_bytes());
            }
            Owner::Beats { ip, port } => {
                hash.write(b"b");
                hash.write(ip.as_bytes());
                hash.write(&port.to_le_bytes());
            }
        }
        hash.write(&[0]);
        hash.write(instance.given_id.as_deref().unwrap_or("").as_bytes());
        hash.write(&[0]);
        hash.write(instance.ip.as_bytes());
        hash.write(&instance.port.to_le_bytes());
        hash.write(&instance.weight.value().to_bits().to_le_bytes());
        hash.write(&[u8::from(instance.healthy), u8::from(instance.enabled), u8::from(instance.ephemeral)]);
        hash.write(instance.cluster.as_str().as_bytes());
        for (key, value) in instance.metadata.iter() {
            hash.write(&[0]);
            hash.write(key.as_bytes());
            hash.write(&[1]);
            hash.write(value.as_bytes());
        }
        sum ^ hash.finish()
    })
}

/// FNV-1a, 64 bits: specified, tiny, and good enough to spread short keys.
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConnectionId;
    use crate::naming::InstanceDraft;

    #[test]
    fn fnv_matches_its_specification() {
        // The published FNV-1a 64 test vectors.
        for (input, expected) in
            [("", 0xcbf2_9ce4_8422_2325), ("a", 0xaf63_dc4c_8601_ec8c), ("foobar", 0x8594_4171_f739_67e8)]
        {
            let mut hash = Fnv::new();
            hash.write(input.as_bytes());
            assert_eq!(hash.finish(), expected, "{input:?}");
        }
    }

    #[test]
    fn one_member_is_responsible_the_same_everywhere_and_only_a_leaver_moves_clients() {
        let tags: Vec<String> = (0..600).map(|i| format!("127.0.{}.{}:8080", i / 200, i % 200)).collect();
        let three = [1, 2, 3];
        let owners: Vec<NodeId> = tags.iter().map(|tag| responsible(tag, &three).unwrap()).collect();
        // Spread: each member gets a fair share.
        for node in three {
            let share = owners.iter().filter(|owner| **owner == node).count();
            assert!((150..=250).contains(&share), "node {node} owns {share} of 600");
        }
        // Order of the list does not matter.
        assert!(tags.iter().all(|tag| responsible(tag, &[3, 1, 2]) == responsible(tag, &three)));
        // Node 2 leaves: only its clients move.
        for (tag, before) in tags.iter().zip(&owners) {
            let after = responsible(tag, &[1, 3]).unwrap();
            if *before != 2 {
                assert_eq!(after, *before, "{tag} moved though its node stayed");
            }
        }
        assert_eq!(responsible("x", &[]), None);
        // Pinned values: a change of the rule would split a mixed-version cluster.
        assert_eq!(
            ["10.0.0.1:8080", "192.168.1.10:8080", "127.0.0.1:0"].map(|tag| responsible(tag, &three).unwrap()),
            PINNED
        );
    }

    /// Computed once from the rule above and kept: the rule must never change silently.
    const PINNED: [NodeId; 3] = [1, 2, 1];

    #[test]
    fn checksums_ignore_order_and_see_every_field() {
        let instance = |ip: &str, weight: f64| {
            let draft =
                InstanceDraft { ip: Some(ip.to_owned()), port: Some(80), weight: Some(weight), ..Default::default() };
            draft.validate().unwrap()
        };
        let a = Owner::Connection(ConnectionId::new("c1"));
        let b = Owner::Beats { ip: "127.0.0.1".into(), port: 80 };
        let (x, y) = (instance("127.0.0.1", 1.0), instance("127.0.0.2", 1.0));
        assert_eq!(checksum([(&a, &x), (&b, &y)]), checksum([(&b, &y), (&a, &x)]));
        assert_ne!(checksum([(&a, &x)]), checksum([(&a, &instance("127.0.0.1", 2.0))]));
        assert_ne!(checksum([(&a, &x)]), checksum([(&b, &x)]));
        assert_ne!(checksum([(&a, &x)]), 0);
    }

    #[test]
    fn a_lease_ends_only_after_its_whole_length() {
        assert!(!lease_expired(Millis(1_000), Millis(1_000 + LEASE_MS)));
        assert!(lease_expired(Millis(1_000), Millis(1_001 + LEASE_MS)));
        assert!(!lease_expired(Millis(5_000), Millis(1_000)), "a clock step back is no expiry");
    }
}
