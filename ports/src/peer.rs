//! The peer ports: how nodes talk to each other, and what a node does with what it hears.
//!
//! Raft RPCs cross this port as opaque bytes: the consensus adapter encodes them and the
//! transport adapter only carries them, so neither knows the other.

use async_trait::async_trait;

/// The kinds of raft RPC a peer can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RaftRpcKind {
    AppendEntries,
    Vote,
    InstallSnapshot,
    /// A write a follower received, for the leader to propose.
    Forward,
    /// A liveness probe between members, naming the sender and the answerer.
    Ping,
    /// A membership change or read barrier, for the leader to do.
    Admin,
}

/// Sends raft RPCs to other nodes (driven port).
#[async_trait]
pub trait PeerTransport: Send + Sync {
    async fn raft_rpc(&self, addr: &str, kind: RaftRpcKind, payload: Vec<u8>) -> Result<Vec<u8>, PeerError>;
}

/// Handles raft RPCs that arrive from other nodes (driving port).
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait RaftRpcHandler: Send + Sync {
    async fn handle(&self, kind: RaftRpcKind, payload: Vec<u8>) -> Result<Vec<u8>, PeerError>;
}

#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    #[error("peer {addr} is unreachable: {reason}")]
    Unreachable { addr: String, reason: String },
    /// The peer refused this node: another cluster, or a wrong cluster token.
    #[error("peer {addr} refused this node: {reason}")]
    Refused { addr: String, reason: String },
    #[error("peer rejected the request: {0}")]
    Remote(String),
    #[error("malformed peer message: {0}")]
    Malformed(String),
}
