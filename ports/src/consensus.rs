//! The consensus port: a replicated log of [`domain::Command`]s.

use async_trait::async_trait;
use domain::{Command, Verdict};

/// Proposes commands to the replicated log and reports what applying them did.
///
/// ### To ensure correctness
/// - `propose` answers only after the command is committed (on a majority's stable storage)
///   and applied to this node's state, so a read on this node that follows sees it.
/// - An error means the command may or may not have been applied; callers report it as
///   a failure and never as success.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait ConsensusLog: Send + Sync {
    async fn propose(&self, command: Command) -> Result<Verdict, ConsensusError>;

    /// Waits until this node has applied everything committed before the call, as the
    /// leader confirms it: a read after it is linearizable (it sees every write that
    /// completed before the read began, on any node).
    async fn ensure_linearizable(&self) -> Result<(), ConsensusError>;

    /// Who this node believes leads the cluster, for health checks and forwarding.
    fn leader(&self) -> Option<u64>;

    /// This node's id in the cluster.
    fn node_id(&self) -> u64;
}

/// Why a proposal did not complete.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ConsensusError {
    /// No leader could take the command (an election in progress, or the leader was lost
    /// while it was being forwarded); the client may retry. Writes that reach a follower
    /// are forwarded to the leader by the consensus adapter, never refused for that.
    #[error("no raft leader is available, retry later")]
    NoLeader,
    /// A write or a linearizable read was not confirmed by a majority in time (none
    /// reachable from this node's leader, or the leader lost); a write may still be
    /// applied. The client may retry.
    #[error("not confirmed by a majority in time; a write may or may not be applied")]
    Timeout,
    /// The node is shutting down.
    #[error("raft is shutting down")]
    ShuttingDown,
    /// Raft stopped on an unrecoverable failure (its storage failed); the node must be
    /// restarted. The cause is logged, not shown to clients.
    #[error("raft stopped after a fatal failure")]
    Fatal(#[source] Cause),
    /// Raft could not complete this proposal (a refused membership change, a batch that
    /// came back malformed). The cause is logged, not shown to clients.
    #[error("raft could not complete the proposal")]
    Failed(#[source] Cause),
}

/// What went wrong underneath, shared so that every proposal of a failed batch can carry
/// the same cause.
pub type Cause = std::sync::Arc<dyn std::error::Error + Send + Sync>;
