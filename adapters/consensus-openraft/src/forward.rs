//! Writes that reach a follower: forwarded to the leader, answered once applied here.
//!
//! A client may write to any node. A follower's batch comes back from openraft as
//! "forward to the leader", which openraft says only for entries it did not append (or
//! that it truncated, so they can never commit): resending such a batch cannot apply it
//! twice. The follower sends the batch to the leader as one peer RPC; the leader proposes
//! it as one entry and answers with the entry's index and results; the follower waits
//! until it has applied that index itself, so the client reads its own write from the node
//! it wrote to.

use std::sync::Arc;
use std::time::Duration;

use openraft::error::{ClientWriteError, RaftError};
use ports::consensus::ConsensusError;
use ports::peer::{PeerError, PeerTransport, RaftRpcKind};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::leader;
use crate::record::{ApplyResult, LogRecord};
use crate::types::{NodeId, Raft};

/// How long a write waits for a leader to be known (an election) before it fails.
const LEADER_PATIENCE: Duration = Duration::from_secs(5);
/// How long a follower waits to apply an entry the leader committed for it. Far beyond a
/// healthy lag; past it the client is told the outcome is unknown.
const APPLY_PATIENCE: Duration = Duration::from_secs(10);

/// What the leader answers a forwarded batch.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum ForwardReply {
    /// Committed and applied on the leader at `index`.
    Written { index: u64, result: ApplyResult },
    /// The receiver does not lead (or no longer does); nothing was appended.
    NotLeader { leader: Option<(NodeId, String)> },
    /// Raft refused it for another reason; the text is for the log.
    Failed(String),
}

/// Sends batches to the leader for a follower.
#[derive(Clone)]
pub(crate) struct Forwarder {
    pub(crate) raft: Raft,
    pub(crate) node_id: NodeId,
    pub(crate) transport: Arc<dyn PeerTransport>,
}

impl Forwarder {
    /// Proposes `record` through the leader, `leader` being who openraft last named, and
    /// answers once this node has applied it.
    pub(crate) async fn write(
        &self,
        record: &LogRecord,
        mut leader: Option<(NodeId, String)>,
    ) -> Result<ApplyResult, ConsensusError> {
        let payload = serde_json::to_vec(record).map_err(|err| ConsensusError::Failed(Arc::new(err)))?;
        let deadline = Instant::now() + LEADER_PATIENCE;
        loop {
            let (id, addr) = match leader.take() {
                Some(known) => known,
                None => leader::known(&self.raft, deadline).await?,
            };
            if id == self.node_id {
                // Elected meanwhile: propose here.
                return match self.raft.client_write(record.clone()).await {
                    Ok(response) => Ok(response.data),
                    Err(RaftError::APIError(ClientWriteError::ForwardToLeader(to))) => {
                        leader = to.leader_id.zip(to.leader_node.map(|node| node.addr));
                        continue;
                    }
                    Err(err) => Err(ConsensusError::Failed(Arc::new(err))),
                };
            }
            let reply = self.transport.raft_rpc(&addr, RaftRpcKind::Forward, payload.clone()).await;
            let reply: ForwardReply = match reply {
                Ok(bytes) => serde_json::from_slice(&bytes).map_err(|err| ConsensusError::Failed(Arc::new(err)))?,
                // Sent or not, we cannot tell: the outcome is unknown, so it is not retried.
                Err(err @ PeerError::Unreachable { .. }) => {
                    tracing::warn!(leader = id, cause = %err, "a forwarded write did not reach the leader");
                    return Err(ConsensusError::NoLeader);
                }
                Err(err) => return Err(ConsensusError::Failed(Arc::new(err))),
            };
            match reply {
                ForwardReply::Written { index, result } => {
                    self.raft
                        .wait(Some(APPLY_PATIENCE))
                        .applied_index_at_least(Some(index), "a forwarded write is applied here")
                        .await
                        .map_err(|err| ConsensusError::Failed(Arc::new(err)))?;
                    return Ok(result);
                }
                ForwardReply::NotLeader { leader: named } => {
                    if Instant::now() >= deadline {
                        return Err(ConsensusError::NoLeader);
                    }
                    // The named leader may be this node's stale view; wait for a fresh one.
                    leader = named.filter(|(named, _)| *named != id);
                }
                ForwardReply::Failed(reason) => return Err(ConsensusError::Failed(Arc::new(Refused(reason)))),
            }
        }
    }
}

/// The leader's side: proposes a forwarded batch and says how it went.
pub(crate) async fn serve(raft: &Raft, record: LogRecord) -> ForwardReply {
    match raft.client_write(record).await {
        Ok(response) => ForwardReply::Written { index: response.log_id.index, result: response.data },
        Err(RaftError::APIError(ClientWriteError::ForwardToLeader(to))) => {
            ForwardReply::NotLeader { leader: to.leader_id.zip(to.leader_node.map(|node| node.addr)) }
        }
        Err(err) => ForwardReply::Failed(err.to_string()),
    }
}

/// The leader refused a forwarded batch.
#[derive(Debug, thiserror::Error)]
#[error("the leader refused the write: {0}")]
struct Refused(String);
