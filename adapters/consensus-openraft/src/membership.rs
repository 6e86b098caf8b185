//! Membership changes and read barriers, done by the leader whoever is asked.
//!
//! A node asks any member; a member that does not lead passes the request to the leader
//! (one hop, retried while an election settles). The leader decides:
//! - `Join`: a node with no state asks to be added. Unknown ids become learners; a learner
//!   is promoted to voter once it has caught up (it asks again until the leader answers
//!   `Done`, so a leader change in between only delays it; a lost `Done` costs one more
//!   round of removal and admission, never a wrong membership). An id that is already a member at another
//!   address is refused while that address still answers as that id (two nodes with one id
//!   would corrupt the log); a voter asking to join is a wiped node coming back, whose old
//!   votes are gone: it becomes a learner (at its new address) until it has caught up.
//! - `Move`: a member restarted at a new address with its data records the new address.
//! - `Remove`: an operator removes a member by id.
//! - `ReadIndex`: the leader confirms it still leads and says which index a linearizable
//!   read must wait for.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

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
/// A learner within this many entries of the leader's log is caught up and promoted.
const CAUGHT_UP_WITHIN: u64 = 100;
/// A member heard from this recently is alive: another node may not take its id.
const ALIVE_WITHIN_MS: u64 = domain::cluster::UP_WITHIN_MS;

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

    /// The leader's decision.
    async fn decide(&self, request: AdminRequest) -> AdminReply {
        let metrics = self.raft.metrics().borrow().clone();
        if metrics.current_leader != Some(self.node_id) {
            return AdminReply::NotLeader { leader: None };
        }
        let membership = metrics.membership_config.membership().clone();
        let voters: BTreeSet<NodeId> = membership.voter_ids().collect();
        let change = |changes: ChangeMembers<NodeId, BasicNode>| async move {
            match self.raft.change_membership(changes, false).await {
                Ok(_) => AdminReply::Done,
                Err(err) => AdminReply::Failed(err.to_string()),
            }
        };
        match request {
            AdminRequest::ReadIndex => match self.raft.get_read_log_id().await {
                Ok((read, _)) => AdminReply::ReadIndex(read.map_or(0, |log_id| log_id.index)),
                Err(err) => AdminReply::Failed(err.to_string()),
            },
            AdminRequest::Remove { node_id } => {
                if membership.get_node(&node_id).is_none() {
                    return AdminReply::Refused(format!("node {node_id} is not a member"));
                }
                tracing::info!(node_id, "removing a member");
                match removal(node_id, &voters) {
                    Ok(changes) => change(changes).await,
                    Err(refused) => refused,
                }
            }
            AdminRequest::Move { node_id, addr } => match membership.get_node(&node_id) {
                None => AdminReply::Refused(format!("node {node_id} is not a member")),
                Some(node) if node.addr == addr => AdminReply::Done,
                Some(node) => {
                    tracing::info!(node_id, from = %node.addr, to = %addr, "a member moved");
                    change(ChangeMembers::SetNodes(BTreeMap::from([(node_id, BasicNode { addr })]))).await
                }
            },
            AdminRequest::Join { node_id, addr } => {
                match membership.get_node(&node_id) {
                    Some(node) if node.addr != addr => {
                        let silence = self.contacts.silence_ms(node_id);
                        if silence.is_some_and(|ms| ms <= ALIVE_WITHIN_MS) {
                            return AdminReply::Refused(format!(
                                "node id {node_id} is taken by the member at {}, which is alive",
                                node.addr
                            ));
                        }
                        // The old holder of the id is gone: this is it, moved and wiped.
                        return self.readmit(node_id, addr, &voters).await;
                    }
                    Some(_) if voters.contains(&node_id) => {
                        // Same id, same address, no state: a wiped node coming back.
                        return self.readmit(node_id, addr, &voters).await;
                    }
                    Some(_) => {}
                    None => {
                        tracing::info!(node_id, addr, "a node joins as a learner");
                        return match self.raft.add_learner(node_id, BasicNode { addr }, false).await {
                            Ok(_) => AdminReply::Learner,
                            Err(err) => AdminReply::Failed(err.to_string()),
                        };
                    }
                }
                // A learner: promoted once caught up.
                let matched = metrics
                    .replication
                    .as_ref()
                    .and_then(|replication| replication.get(&node_id).copied().flatten())
                    .map_or(0, |log_id| log_id.index);
                let last = metrics.last_log_index.unwrap_or(0);
                if matched + CAUGHT_UP_WITHIN < last {
                    return AdminReply::Learner;
                }
                tracing::info!(node_id, "a caught-up learner becomes a voter");
                change(ChangeMembers::AddVoterIds(BTreeSet::from([node_id]))).await
            }
        }
    }

    /// Takes `node_id`'s vote away until it has caught up again: a node that lost its data
    /// lost the votes it gave, and could give them twice. It stays a learner (so the leader
    /// keeps sending it the log, the change that demoted it included, and it never stands
    /// for election on a stale membership) at `addr`, and is promoted like any learner.
    async fn readmit(&self, node_id: NodeId, addr: String, voters: &BTreeSet<NodeId>) -> AdminReply {
        if voters.contains(&node_id) {
            if voters.len() == 1 {
                return AdminReply::Refused(format!("node {node_id} is the last voter"));
            }
            tracing::info!(node_id, "a member came back without its data: a learner until it has caught up");
            let demote = ChangeMembers::RemoveVoters(BTreeSet::from([node_id]));
            if let Err(err) = self.raft.change_membership(demote, true).await {
                return AdminReply::Failed(err.to_string());
            }
        }
        let moved = ChangeMembers::SetNodes(BTreeMap::from([(node_id, BasicNode { addr })]));
        match self.raft.change_membership(moved, false).await {
            Ok(_) => AdminReply::Learner,
            Err(err) => AdminReply::Failed(err.to_string()),
        }
    }
}

/// The change that removes `node_id` (a voter, or a learner), refused for the last voter.
fn removal(node_id: NodeId, voters: &BTreeSet<NodeId>) -> Result<ChangeMembers<NodeId, BasicNode>, AdminReply> {
    let ids = BTreeSet::from([node_id]);
    match voters.contains(&node_id) {
        true if voters.len() == 1 => Err(AdminReply::Refused(format!("node {node_id} is the last voter"))),
        true => Ok(ChangeMembers::RemoveVoters(ids)),
        false => Ok(ChangeMembers::RemoveNodes(ids)),
    }
}
