//! What the leader does when a node asks to join, has moved, or is to be removed.
//!
//! The rules, decided here once and carried out by the consensus adapter:
//! - An unknown id joins as a learner (it gets the log but has no vote); a learner is made a
//!   voter once it is within [`CAUGHT_UP_WITHIN`] entries of the leader, so a new voter
//!   never leaves the cluster waiting for it to catch up before a write commits.
//! - A voter asking to join has lost its data (a node with data never asks): the votes it
//!   gave are gone with it, and it could give them twice. It loses its vote until it has
//!   caught up again, as a learner at the address it asks from.
//! - An id already held by a member at another address is refused while that member still
//!   answers: two live nodes with one id would corrupt the log. Once the holder is silent,
//!   the asker is taken to be it, moved and wiped.
//! - A member restarted at a new address with its data has the address recorded.
//! - The last voter is never removed nor demoted: the cluster would have no one to decide.

use std::collections::{BTreeMap, BTreeSet};

use super::{NodeId, UP_WITHIN_MS};

/// A learner this close to the leader's last log index is caught up and gets a vote.
pub const CAUGHT_UP_WITHIN: u64 = 100;
/// A member heard from this recently is alive: no other node may take its id.
pub const ALIVE_WITHIN_MS: u64 = UP_WITHIN_MS;

/// A change a node or an operator asks the leader for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MembershipRequest {
    /// A node without state asks to be admitted (again, until it is a voter).
    Join { node_id: NodeId, addr: String },
    /// A member with its data now answers at `addr`.
    Move { node_id: NodeId, addr: String },
    /// An operator removes a member.
    Remove { node_id: NodeId },
}

/// The membership as the leader sees it when it decides.
#[derive(Debug, Clone, Copy)]
pub struct MembershipView<'a> {
    /// Every member, voter or learner, with its address.
    pub nodes: &'a BTreeMap<NodeId, String>,
    pub voters: &'a BTreeSet<NodeId>,
    /// The leader's last log index.
    pub last_log_index: u64,
}

/// What the leader knows of one node beyond the membership.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NodeFacts {
    /// Since the leader last heard from it; `None` if it never has.
    pub silence_ms: Option<u64>,
    /// The last log index the leader knows it holds; `None` if unknown.
    pub matched_index: Option<u64>,
}

/// What to change, and what to tell the asker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MembershipDecision {
    /// Add `node_id` as a learner; the asker is told to ask again once caught up.
    AddLearner {
        node_id: NodeId,
        addr: String,
    },
    /// Nothing to change yet: a learner still catching up.
    StillLearner,
    /// Give a caught-up learner its vote.
    Promote {
        node_id: NodeId,
    },
    /// Take a wiped node's vote away (when it has one) and record `addr`: a learner again.
    Readmit {
        node_id: NodeId,
        addr: String,
        demote: bool,
    },
    /// Record a member's new address.
    SetAddress {
        node_id: NodeId,
        addr: String,
    },
    /// Remove a voter, or a learner.
    RemoveVoter {
        node_id: NodeId,
    },
    RemoveLearner {
        node_id: NodeId,
    },
    /// Already so: nothing to change.
    AlreadyDone,
    Refused(MembershipRefusal),
}

/// Why the leader refused a change; the text is for the operator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MembershipRefusal {
    #[error("node {0} is not a member")]
    NotAMember(NodeId),
    #[error("node {0} is the last voter")]
    LastVoter(NodeId),
    #[error("node id {node_id} is taken by the member at {holder}, which is alive")]
    IdTaken { node_id: NodeId, holder: String },
}

/// The leader's decision on `request`; `facts` tells what it knows of a node.
pub fn decide(
    request: &MembershipRequest,
    view: MembershipView<'_>,
    facts: impl Fn(NodeId) -> NodeFacts,
) -> MembershipDecision {
    use MembershipDecision as D;
    match request {
        MembershipRequest::Remove { node_id } => {
            let node_id = *node_id;
            if !view.nodes.contains_key(&node_id) {
                D::Refused(MembershipRefusal::NotAMember(node_id))
            } else if !view.voters.contains(&node_id) {
                D::RemoveLearner { node_id }
            } else if view.voters.len() == 1 {
                D::Refused(MembershipRefusal::LastVoter(node_id))
            } else {
                D::RemoveVoter { node_id }
            }
        }
        MembershipRequest::Move { node_id, addr } => match view.nodes.get(node_id) {
            None => D::Refused(MembershipRefusal::NotAMember(*node_id)),
            Some(known) if known == addr => D::AlreadyDone,
            Some(_) => D::SetAddress { node_id: *node_id, addr: addr.clone() },
        },
        MembershipRequest::Join { node_id, addr } => join(*node_id, addr, view, &facts),
    }
}

fn join(
    node_id: NodeId,
    addr: &str,
    view: MembershipView<'_>,
    facts: &impl Fn(NodeId) -> NodeFacts,
) -> MembershipDecision {
    use MembershipDecision as D;
    let Some(known) = view.nodes.get(&node_id) else {
        return D::AddLearner { node_id, addr: addr.to_owned() };
    };
    let voter = view.voters.contains(&node_id);
    if known != addr && facts(node_id).silence_ms.is_some_and(|ms| ms <= ALIVE_WITHIN_MS) {
        return D::Refused(MembershipRefusal::IdTaken { node_id, holder: known.clone() });
    }
    if known != addr || voter {
        // A silent holder of the id elsewhere, or a voter without its data: the same node,
        // wiped (and maybe moved). Its vote goes until it has caught up.
        if voter && view.voters.len() == 1 {
            return D::Refused(MembershipRefusal::LastVoter(node_id));
        }
        return D::Readmit { node_id, addr: addr.to_owned(), demote: voter };
    }
    let matched = facts(node_id).matched_index.unwrap_or(0);
    if matched.saturating_add(CAUGHT_UP_WITHIN) < view.last_log_index {
        D::StillLearner
    } else {
        D::Promote { node_id }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use MembershipDecision as D;

    struct Cluster {
        nodes: BTreeMap<NodeId, String>,
        voters: BTreeSet<NodeId>,
        last_log_index: u64,
    }

    /// Voters 1-3 at `h:1`..`h:3`, and learner 4 at `h:4`.
    fn cluster() -> Cluster {
        Cluster {
            nodes: (1..=4).map(|id| (id, format!("h:{id}"))).collect(),
            voters: BTreeSet::from([1, 2, 3]),
            last_log_index: 1_000,
        }
    }

    impl Cluster {
        fn decide(&self, request: MembershipRequest, facts: NodeFacts) -> MembershipDecision {
            let view = MembershipView { nodes: &self.nodes, voters: &self.voters, last_log_index: self.last_log_index };
            decide(&request, view, |_| facts)
        }
    }

    fn join(node_id: NodeId, addr: &str) -> MembershipRequest {
        MembershipRequest::Join { node_id, addr: addr.to_owned() }
    }

    fn heard(silence_ms: u64) -> NodeFacts {
        NodeFacts { silence_ms: Some(silence_ms), matched_index: None }
    }

    #[test]
    fn a_new_node_is_a_learner_until_it_has_caught_up() {
        let cluster = cluster();
        assert_eq!(
            cluster.decide(join(5, "h:5"), NodeFacts::default()),
            D::AddLearner { node_id: 5, addr: "h:5".into() }
        );
        let behind = NodeFacts { matched_index: Some(1_000 - CAUGHT_UP_WITHIN - 1), ..NodeFacts::default() };
        assert_eq!(cluster.decide(join(4, "h:4"), behind), D::StillLearner);
        assert_eq!(cluster.decide(join(4, "h:4"), NodeFacts::default()), D::StillLearner, "nothing known: behind");
        let close = NodeFacts { matched_index: Some(1_000 - CAUGHT_UP_WITHIN), ..NodeFacts::default() };
        assert_eq!(cluster.decide(join(4, "h:4"), close), D::Promote { node_id: 4 });
    }

    #[test]
    fn a_voter_asking_to_join_lost_its_data_and_its_vote() {
        let cluster = cluster();
        assert_eq!(
            cluster.decide(join(2, "h:2"), heard(10)),
            D::Readmit { node_id: 2, addr: "h:2".into(), demote: true },
            "same address: it answers as itself, wiped"
        );
        assert_eq!(
            cluster.decide(join(2, "h:9"), heard(ALIVE_WITHIN_MS + 1)),
            D::Readmit { node_id: 2, addr: "h:9".into(), demote: true },
            "the old address is silent: moved and wiped"
        );
        assert_eq!(
            cluster.decide(join(4, "h:9"), NodeFacts::default()),
            D::Readmit { node_id: 4, addr: "h:9".into(), demote: false },
            "a learner that moved keeps learning at its new address"
        );
    }

    #[test]
    fn an_id_held_by_a_live_member_elsewhere_is_refused() {
        let refused = cluster().decide(join(2, "h:9"), heard(ALIVE_WITHIN_MS));
        assert_eq!(refused, D::Refused(MembershipRefusal::IdTaken { node_id: 2, holder: "h:2".into() }));
        assert_eq!(refused_text(&refused), "node id 2 is taken by the member at h:2, which is alive");
    }

    #[test]
    fn the_last_voter_is_never_removed_nor_demoted() {
        let solo =
            Cluster { nodes: BTreeMap::from([(1, "h:1".to_owned())]), voters: BTreeSet::from([1]), last_log_index: 5 };
        let last = D::Refused(MembershipRefusal::LastVoter(1));
        assert_eq!(solo.decide(MembershipRequest::Remove { node_id: 1 }, NodeFacts::default()), last);
        assert_eq!(solo.decide(join(1, "h:1"), NodeFacts::default()), last);
    }

    #[test]
    fn removal_takes_a_voter_or_a_learner_and_refuses_strangers() {
        let cluster = cluster();
        let remove = |node_id| cluster.decide(MembershipRequest::Remove { node_id }, NodeFacts::default());
        assert_eq!(remove(3), D::RemoveVoter { node_id: 3 });
        assert_eq!(remove(4), D::RemoveLearner { node_id: 4 });
        assert_eq!(remove(7), D::Refused(MembershipRefusal::NotAMember(7)));
    }

    #[test]
    fn a_moved_member_has_its_new_address_recorded_once() {
        let cluster = cluster();
        let moved = |addr: &str| MembershipRequest::Move { node_id: 2, addr: addr.to_owned() };
        assert_eq!(
            cluster.decide(moved("h:9"), NodeFacts::default()),
            D::SetAddress { node_id: 2, addr: "h:9".into() }
        );
        assert_eq!(cluster.decide(moved("h:2"), NodeFacts::default()), D::AlreadyDone);
        let stranger = MembershipRequest::Move { node_id: 8, addr: "h:8".into() };
        assert_eq!(cluster.decide(stranger, NodeFacts::default()), D::Refused(MembershipRefusal::NotAMember(8)));
    }

    fn refused_text(decision: &MembershipDecision) -> String {
        match decision {
            D::Refused(refusal) => refusal.to_string(),
            other => panic!("not a refusal: {other:?}"),
        }
    }
}
