//! Membership changes and read barriers, done by the leader whoever is asked.
//!
//! A node asks any member; a member that does not lead passes the request to the leader
//! (one hop, retried while an election settles). The leader decides by the domain's rules
//! (`domain::cluster::membership`: who becomes a learner, who is promoted, who is refused)
//! and carries the decision out as openraft membership changes:
//! - `Join`: a node with no state asks until the answer is `Done` (a voter), so a leader
//!   change in between only delays it; a lost `Done` costs one more round of demotion and
//!   admission, never a wrong membership.
//! - `Move`: a member restarted at a new address with its data records the new address.
//! - `Remove`: an operator removes a member by id.
//! - `ReadIndex`: the leader confirms it still leads and says which index a linearizable
//!   read must wait for.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use domain::cluster::membership::{self, MembershipDecision, MembershipRequest, MembershipView, NodeFacts};
use openraft::{BasicNode, ChangeMembers};
use ports::consensus::ConsensusError;
use ports::peer::{PeerError, PeerTransport, RaftRpcKind};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::contacts::Contacts;
use crate::leader;
use crate::types::{NodeId, Raft};

/// How long a request waits for a leader (an election) before it fails.
const LEADER_PATIENCE: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum AdminRequest {
    Join { node_id: NodeId, addr: String },
    Move { node_id: NodeId, addr: String },
    Remove { node_id: NodeId },
    ReadIndex,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum AdminReply {
    /// Added as a learner; ask again once caught up.
    Learner,
    /// A voter (joined), moved or removed: done.
    Done,
    /// A linearizable read must wait until this index is applied.
    ReadIndex(u64),
    /// The receiver does not lead; nothing was done.
    NotLeader { leader: Option<(NodeId, String)> },
    /// Refused: the reason is for the operator.
    Refused(String),
    /// Raft could not do it; the reason is for the log.
    Failed(String),
}

/// What a node needs to have the leader do something.
#[derive(Clone)]
pub(crate) struct Admin {
    pub(crate) raft: Raft,
    pub(crate) node_id: NodeId,
    pub(crate) transport: Arc<dyn PeerTransport>,
    pub(crate) contacts: Contacts,
}

impl Admin {
    /// Has the leader do `request`: here when this node leads, else through the leader.
    pub(crate) async fn ask(&self, request: AdminRequest) -> Result<AdminReply, ConsensusError> {
        let deadline = Instant::now() + LEADER_PATIENCE;
        let payload = serde_json::to_vec(&request).map_err(|err| ConsensusError::Failed(Arc::new(err)))?;
        loop {
            let leader = leader::known(&self.raft, deadline).await?;
            let reply = if leader.0 == self.node_id {
                self.decide(request.clone()).await
            } else {
                match self.transport.raft_rpc(&leader.1, RaftRpcKind::Admin, payload.clone()).await {
                    Ok(bytes) => serde_json::from_slice(&bytes).map_err(|err| ConsensusError::Failed(Arc::new(err)))?,
                    Err(PeerError::Unreachable { .. }) if Instant::now() < deadline => {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                    Err(err) => return Err(ConsensusError::Failed(Arc::new(err))),
                }
            };
            match reply {
                AdminReply::NotLeader { .. } if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                AdminReply::NotLeader { .. } => return Err(ConsensusError::NoLeader),
                other => return Ok(other),
            }
        }
    }

    /// Sends `request` to the member at `addr`, which passes it to its leader: for a node
    /// that is not (or not yet) in the cluster and knows only an address.
    pub(crate) async fn ask_member(&self, addr: &str, request: &AdminRequest) -> Result<AdminReply, PeerError> {
        let payload = serde_json::to_vec(request).map_err(|err| PeerError::Malformed(err.to_string()))?;
        let bytes = self.transport.raft_rpc(addr, RaftRpcKind::Admin, payload).await?;
        serde_json::from_slice(&bytes).map_err(|err| PeerError::Malformed(err.to_string()))
    }

    /// The receiving side: decide when leading, else pass to the leader once.
    pub(crate) async fn serve(&self, request: AdminRequest) -> AdminReply {
        match leader::current(&self.raft) {
            Some((leader, _)) if leader == self.node_id => self.decide(request).await,
            Some((_, addr)) => match self.ask_member(&addr, &request).await {
                Ok(reply) => reply,
                Err(err) => AdminReply::Failed(err.to_string()),
            },
            None => AdminReply::NotLeader { leader: None },
        }
    }

    /// The leader's decision (the domain's rules), carried out.
    async fn decide(&self, request: AdminRequest) -> AdminReply {
        let metrics = self.raft.metrics().borrow().clone();
        if metrics.current_leader != Some(self.node_id) {
            return AdminReply::NotLeader { leader: None };
        }
        let request = match request {
            AdminRequest::ReadIndex => {
                return match self.raft.get_read_log_id().await {
                    Ok((read, _)) => AdminReply::ReadIndex(read.map_or(0, |log_id| log_id.index)),
                    Err(err) => AdminReply::Failed(err.to_string()),
                }
            }
            AdminRequest::Join { node_id, addr } => MembershipRequest::Join { node_id, addr },
            AdminRequest::Move { node_id, addr } => MembershipRequest::Move { node_id, addr },
            AdminRequest::Remove { node_id } => MembershipRequest::Remove { node_id },
        };
        let membership = metrics.membership_config.membership();
        let nodes: BTreeMap<NodeId, String> = membership.nodes().map(|(id, node)| (*id, node.addr.clone())).collect();
        let voters: BTreeSet<NodeId> = membership.voter_ids().collect();
        let view =
            MembershipView { nodes: &nodes, voters: &voters, last_log_index: metrics.last_log_index.unwrap_or(0) };
        let facts = |node_id| NodeFacts {
            silence_ms: self.contacts.silence_ms(node_id),
            matched_index: metrics
                .replication
                .as_ref()
                .and_then(|replication| replication.get(&node_id).copied().flatten())
                .map(|log_id| log_id.index),
        };
        let decision = membership::decide(&request, view, facts);
        self.carry_out(decision).await
    }

    /// Makes the membership change a decision names, and says how it went.
    async fn carry_out(&self, decision: MembershipDecision) -> AdminReply {
        let change = |changes: ChangeMembers<NodeId, BasicNode>, retain: bool| async move {
            self.raft
                .change_membership(changes, retain)
                .await
                .map(|_| ())
                .map_err(|err| AdminReply::Failed(err.to_string()))
        };
        let outcome = match decision {
            MembershipDecision::AddLearner { node_id, addr } => {
                tracing::info!(node_id, addr, "a node joins as a learner");
                match self.raft.add_learner(node_id, BasicNode { addr }, false).await {
                    Ok(_) => return AdminReply::Learner,
                    Err(err) => Err(AdminReply::Failed(err.to_string())),
                }
            }
            MembershipDecision::StillLearner => return AdminReply::Learner,
            MembershipDecision::Promote { node_id } => {
                tracing::info!(node_id, "a caught-up learner becomes a voter");
                change(ChangeMembers::AddVoterIds(BTreeSet::from([node_id])), false).await
            }
            MembershipDecision::Readmit { node_id, addr, demote } => {
                tracing::info!(node_id, addr, "a member came back without its data: a learner until it has caught up");
                // `retain`: the demoted voter stays a learner, so the leader keeps sending
                // it the log (this change included) and it never stands for election on a
                // stale membership.
                if demote {
                    if let Err(failed) = change(ChangeMembers::RemoveVoters(BTreeSet::from([node_id])), true).await {
                        return failed;
                    }
                }
                return match change(ChangeMembers::SetNodes(BTreeMap::from([(node_id, BasicNode { addr })])), false)
                    .await
                {
                    Ok(()) => AdminReply::Learner,
                    Err(failed) => failed,
                };
            }
            MembershipDecision::SetAddress { node_id, addr } => {
                tracing::info!(node_id, to = %addr, "a member moved");
                change(ChangeMembers::SetNodes(BTreeMap::from([(node_id, BasicNode { addr })])), false).await
            }
            MembershipDecision::RemoveVoter { node_id } => {
                tracing::info!(node_id, "removing a voter");
                change(ChangeMembers::RemoveVoters(BTreeSet::from([node_id])), false).await
            }
            MembershipDecision::RemoveLearner { node_id } => {
                tracing::info!(node_id, "removing a learner");
                change(ChangeMembers::RemoveNodes(BTreeSet::from([node_id])), false).await
            }
            MembershipDecision::AlreadyDone => Ok(()),
            MembershipDecision::Refused(refusal) => Err(AdminReply::Refused(refusal.to_string())),
        };
        match outcome {
            Ok(()) => AdminReply::Done,
            Err(reply) => reply,
        }
    }
}
