//! The cluster as this node sees it: members, raft roles, and how recently each was heard.

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
