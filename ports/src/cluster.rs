//! The cluster as this node sees it: members, raft roles, and how recently each was heard.

use domain::cluster::MemberState;

/// A member's part in raft.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RaftRole {
    Leader,
    Follower,
    Learner,
    Candidate,
}

impl RaftRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Leader => "leader",
            Self::Follower => "follower",
            Self::Learner => "learner",
            Self::Candidate => "candidate",
        }
    }
}

/// One member, from this node's point of view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberStatus {
    pub node_id: u64,
    /// Its cluster address (`host:port`), as the membership records it.
    pub cluster_addr: String,
    pub role: RaftRole,
    /// The last log index this node knows it holds: its own, or (on the leader) what the
    /// member has acknowledged. `None` when unknown.
    pub last_log_index: Option<u64>,
    /// Milliseconds since this node last heard from it (0 for itself); `None`: never.
    pub silence_ms: Option<u64>,
    /// Where it serves HTTP (`host:port`), once its probe said.
    pub http_addr: Option<String>,
}

/// The cluster as this node sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterStatus {
    pub self_id: u64,
    pub leader: Option<u64>,
    pub term: u64,
    /// In node id order.
    pub members: Vec<MemberStatus>,
}

impl ClusterStatus {
    /// The other members this node can reach now (not DOWN by the domain's rule).
    pub fn live_peers(&self) -> Vec<u64> {
        self.live().filter(|member| member.node_id != self.self_id).map(|member| member.node_id).collect()
    }

    /// Which node is responsible for the HTTP client tagged `tag`: the domain's rule over the
    /// live voters (learners are still catching up and handle nothing).
    pub fn responsible_for(&self, tag: &str) -> Responsible {
        let live: Vec<u64> =
            self.live().filter(|member| member.role != RaftRole::Learner).map(|member| member.node_id).collect();
        match domain::naming::distro::responsible(tag, &live) {
            Some(node) if node != self.self_id => {
                let http_addr = self.members.iter().find(|m| m.node_id == node).and_then(|m| m.http_addr.clone());
                http_addr.map_or(Responsible::Here, |http_addr| Responsible::Peer { node_id: node, http_addr })
            }
            _ => Responsible::Here,
        }
    }

    fn live(&self) -> impl Iterator<Item = &MemberStatus> + '_ {
        self.members.iter().filter(|member| MemberState::after_silence(member.silence_ms) != MemberState::Down)
    }
}

/// The cluster's status and the operator's membership changes (driving port, for the
/// cluster API and the console).
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait::async_trait]
pub trait ClusterView: Send + Sync {
    fn status(&self) -> ClusterStatus;

    /// Removes a member by id (shrinking the cluster, or before replacing a lost node).
    async fn remove_member(&self, node_id: u64) -> Result<(), ClusterError>;

    /// Which node is responsible for the HTTP client tagged `tag` (`ip:port`), by the
    /// domain's rule over the live members (Distro).
    fn responsible_for(&self, tag: &str) -> Responsible;
}

/// Where an HTTP client's registry writes are handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Responsible {
    /// This node (also when the responsible node's HTTP address is not known yet).
    Here,
    /// Another node, at this HTTP address.
    Peer { node_id: u64, http_addr: String },
}

/// Why a membership change was not made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClusterError {
    /// The change is not allowed (not a member, the last voter); the text says why.
    #[error("{0}")]
    Refused(String),
    /// No leader could make it now; the caller may retry.
    #[error("the cluster could not make the change now: {0}")]
    Unavailable(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_live_voters_are_responsible_and_only_live_members_are_peers() {
        let member = |node_id, role, silence_ms| MemberStatus {
            node_id,
            cluster_addr: format!("127.0.0.1:{}", 9000 + node_id),
            role,
            last_log_index: None,
            silence_ms,
            http_addr: Some(format!("127.0.0.1:{}", 8000 + node_id)),
        };
        let status = ClusterStatus {
            self_id: 1,
            leader: Some(1),
            term: 1,
            members: vec![
                member(1, RaftRole::Leader, Some(0)),
                member(2, RaftRole::Follower, Some(100)),
                member(3, RaftRole::Follower, None),
                member(4, RaftRole::Learner, Some(100)),
            ],
        };
        assert_eq!(status.live_peers(), vec![2, 4], "never heard: not live; a learner gets the data");
        for last in 0..200 {
            let tag = format!("127.0.0.{last}:80");
            let expected = domain::naming::distro::responsible(&tag, &[1, 2]).unwrap();
            match status.responsible_for(&tag) {
                Responsible::Here => assert_eq!(expected, 1, "{tag}"),
                Responsible::Peer { node_id, http_addr } => {
                    assert_eq!((node_id, http_addr.as_str()), (2, "127.0.0.1:8002"), "{tag}");
                    assert_eq!(expected, 2);
                }
            }
        }
    }
}
