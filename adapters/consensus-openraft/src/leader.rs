//! Who leads, as this node knows it: the leader's id and its cluster address.

use ports::consensus::ConsensusError;
use tokio::time::Instant;

use crate::types::{NodeId, Raft};

/// The leader this node knows of now, with its address.
pub(crate) fn current(raft: &Raft) -> Option<(NodeId, String)> {
    let metrics = raft.metrics();
    let metrics = metrics.borrow();
    let leader = metrics.current_leader?;
    let addr = metrics.membership_config.membership().get_node(&leader)?.addr.clone();
    Some((leader, addr))
}

/// The leader, waiting until `deadline` for one to be known (an election).
pub(crate) async fn known(raft: &Raft, deadline: Instant) -> Result<(NodeId, String), ConsensusError> {
    if let Some(leader) = current(raft) {
        return Ok(leader);
    }
    let left = deadline.saturating_duration_since(Instant::now());
    raft.wait(Some(left))
        .metrics(|metrics| metrics.current_leader.is_some(), "a leader is known")
        .await
        .map_err(|_| ConsensusError::NoLeader)?;
    current(raft).ok_or(ConsensusError::NoLeader)
}
