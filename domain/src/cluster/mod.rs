//! Cluster membership as operators write it: who the founding members are, by id.
//!
//! A node is identified by its id, never by its address: an address is where the node can
//! be reached today, and a node restarted elsewhere keeps its id and its data. The rules
//! here decide what a `--members` list means and refuse one that could form two clusters
//! or confuse two nodes.

use std::collections::BTreeMap;
use std::fmt;

pub mod membership;

/// A node's id in the cluster: stable across restarts and address changes.
pub type NodeId = u64;

/// The founding members, by id: `1=host:port,2=host:port,3=host:port` (cluster ports).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Members {
    by_id: BTreeMap<NodeId, PeerAddr>,
}

/// Where a peer's cluster port is reached: `host:port`, the host a name or an IP.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PeerAddr(String);

impl PeerAddr {
    /// Checks the `host:port` shape (an IPv6 host in brackets); no lookup is done.
    pub fn parse(raw: &str) -> Result<Self, MembersError> {
        let raw = raw.trim();
        let bad = || MembersError::BadAddress(raw.to_owned());
        let (host, port) = raw.rsplit_once(':').ok_or_else(bad)?;
        let host_ok = if let Some(inner) = host.strip_prefix('[') {
            inner.strip_suffix(']').is_some_and(|ip| ip.parse::<std::net::Ipv6Addr>().is_ok())
        } else {
            !host.is_empty()
                && host.len() <= 253
                && host.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_')
        };
        match port.parse::<u16>() {
            Ok(port) if port != 0 && host_ok => Ok(Self(raw.to_owned())),
            _ => Err(bad()),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The host part, without brackets.
    pub fn host(&self) -> &str {
        let host = self.0.rsplit_once(':').map_or(self.0.as_str(), |(host, _)| host);
        host.trim_start_matches('[').trim_end_matches(']')
    }

    /// The port part.
    pub fn port(&self) -> u16 {
        self.0.rsplit_once(':').and_then(|(_, port)| port.parse().ok()).unwrap_or(0)
    }
}

impl fmt::Display for PeerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Members {
    /// Parses `id=host:port` items separated by commas. Ids and addresses must be unique:
    /// two ids at one address, or one id twice, would make two nodes one.
    pub fn parse(raw: &str) -> Result<Self, MembersError> {
        let mut by_id = BTreeMap::new();
        for item in raw.split(',').map(str::trim).filter(|item| !item.is_empty()) {
            let (id, addr) = item.split_once('=').ok_or_else(|| MembersError::BadItem(item.to_owned()))?;
            let id: NodeId = id.trim().parse().map_err(|_| MembersError::BadItem(item.to_owned()))?;
            let addr = PeerAddr::parse(addr)?;
            if by_id.values().any(|known| *known == addr) {
                return Err(MembersError::DuplicateAddress(addr.0));
            }
            if by_id.insert(id, addr).is_some() {
                return Err(MembersError::DuplicateId(id));
            }
        }
        if by_id.is_empty() {
            return Err(MembersError::Empty);
        }
        Ok(Self { by_id })
    }

    /// Just this node: a one-node cluster.
    pub fn solo(id: NodeId, addr: PeerAddr) -> Self {
        Self { by_id: BTreeMap::from([(id, addr)]) }
    }

    /// Checks that this node (`id`, reached at `advertised`) is one of the members, at the
    /// address the others will use for it.
    pub fn admit_self(&self, id: NodeId, advertised: &PeerAddr) -> Result<(), MembersError> {
        match self.by_id.get(&id) {
            None => Err(MembersError::SelfMissing(id)),
            Some(addr) if addr != advertised => {
                Err(MembersError::SelfElsewhere { id, listed: addr.0.clone(), advertised: advertised.0.clone() })
            }
            Some(_) => Ok(()),
        }
    }

    pub fn get(&self, id: NodeId) -> Option<&PeerAddr> {
        self.by_id.get(&id)
    }

    /// The members in id order.
    pub fn iter(&self) -> impl Iterator<Item = (NodeId, &PeerAddr)> {
        self.by_id.iter().map(|(id, addr)| (*id, addr))
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

/// Nacos puts a node's cluster port this far above its HTTP port.
pub const CLUSTER_PORT_OFFSET: u16 = 1001;

/// A member's HTTP port when only its cluster port is known (peers list cluster ports):
/// Nacos's convention, which holds unless the operator set both ports by hand.
pub fn http_port_of(cluster_port: u16) -> u16 {
    cluster_port.saturating_sub(CLUSTER_PORT_OFFSET)
}

/// A member's state as Nacos names it (`NodeState`), judged by how long this node has not
/// heard from it. Every node probes every other every couple of seconds, so a member
/// silent for a few probes is suspicious, and for several more is down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberState {
    Up,
    Suspicious,
    Down,
}

/// Silence up to this long is normal (a probe or two in flight).
pub const UP_WITHIN_MS: u64 = 5_000;
/// Silence beyond this long is a member down; between the two it is suspicious.
pub const DOWN_AFTER_MS: u64 = 15_000;

impl MemberState {
    /// `silence_ms`: since this node last heard from the member; `None` if it never has.
    pub fn after_silence(silence_ms: Option<u64>) -> Self {
        match silence_ms {
            Some(ms) if ms <= UP_WITHIN_MS => Self::Up,
            Some(ms) if ms <= DOWN_AFTER_MS => Self::Suspicious,
            _ => Self::Down,
        }
    }

    /// Nacos's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Up => "UP",
            Self::Suspicious => "SUSPICIOUS",
            Self::Down => "DOWN",
        }
    }
}

/// Why a membership list was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MembersError {
    #[error("members lists no node")]
    Empty,
    #[error("member `{0}` is not id=host:port")]
    BadItem(String),
    #[error("`{0}` is not host:port")]
    BadAddress(String),
    #[error("node id {0} is listed twice")]
    DuplicateId(NodeId),
    #[error("address {0} is listed for two node ids")]
    DuplicateAddress(String),
    #[error("this node's id {0} is not among the members")]
    SelfMissing(NodeId),
    #[error("node {id} is listed at {listed} but advertises {advertised}")]
    SelfElsewhere { id: NodeId, listed: String, advertised: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_members_list_is_read_by_id() {
        let members = Members::parse(" 3=127.0.0.1:9851, 1=node-a.local:9849,2=[::1]:9850 ").unwrap();
        let ids: Vec<_> = members.iter().map(|(id, addr)| (id, addr.as_str())).collect();
        assert_eq!(ids, [(1, "node-a.local:9849"), (2, "[::1]:9850"), (3, "127.0.0.1:9851")]);
        assert_eq!(members.get(2).unwrap().host(), "::1");
        assert_eq!(members.get(3).unwrap().port(), 9851);
    }

    #[test]
    fn lists_that_could_confuse_two_nodes_are_refused() {
        use MembersError::*;
        assert_eq!(Members::parse(""), Err(Empty));
        assert_eq!(Members::parse("1=a:1,1=b:2"), Err(DuplicateId(1)));
        assert_eq!(Members::parse("1=a:1,2=a:1"), Err(DuplicateAddress("a:1".into())));
        assert_eq!(Members::parse("a:1"), Err(BadItem("a:1".into())));
        assert_eq!(Members::parse("x=a:1"), Err(BadItem("x=a:1".into())));
        for bad in ["a", "a:0", "a:70000", ":1", "[zz]:1", "a b:1"] {
            assert_eq!(Members::parse(&format!("1={bad}")), Err(BadAddress(bad.into())), "{bad}");
        }
    }

    #[test]
    fn a_member_is_up_suspicious_then_down_as_its_silence_grows() {
        assert_eq!(MemberState::after_silence(Some(0)), MemberState::Up);
        assert_eq!(MemberState::after_silence(Some(UP_WITHIN_MS)), MemberState::Up);
        assert_eq!(MemberState::after_silence(Some(UP_WITHIN_MS + 1)), MemberState::Suspicious);
        assert_eq!(MemberState::after_silence(Some(DOWN_AFTER_MS + 1)), MemberState::Down);
        assert_eq!(MemberState::after_silence(None), MemberState::Down);
    }

    #[test]
    fn this_node_must_be_a_member_at_its_advertised_address() {
        let members = Members::parse("1=h:1,2=h:2").unwrap();
        let addr = |raw| PeerAddr::parse(raw).unwrap();
        assert_eq!(members.admit_self(2, &addr("h:2")), Ok(()));
        assert_eq!(members.admit_self(3, &addr("h:3")), Err(MembersError::SelfMissing(3)));
        assert!(matches!(members.admit_self(1, &addr("h:9")), Err(MembersError::SelfElsewhere { id: 1, .. })));
    }
}
