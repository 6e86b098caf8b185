//! What a node does by itself to take its place in the membership: a new node asks to
//! join until it is a voter; a node restarted at a new address has it recorded.

use std::time::Duration;

use ports::peer::PeerError;
use tokio_util::sync::CancellationToken;

use crate::membership::{Admin, AdminReply, AdminRequest};

/// How often a joining or moved node asks again.
const ASK_EVERY: Duration = Duration::from_secs(1);

/// Asks the member at `seed` to admit this node until it is a voter, or until `stop`.
pub(crate) async fn join(admin: Admin, seed: String, addr: String, stop: CancellationToken) {
    let request = AdminRequest::Join { node_id: admin.node_id, addr };
    let mut last_complaint = String::new();
    loop {
        // Only the leader's word counts: a wiped node hears the old membership, which still
        // lists it as a voter, before the leader has re-admitted it.
        let complaint = match admin.ask_member(&seed, &request).await {
            Ok(AdminReply::Done) => {
                tracing::info!(node_id = admin.node_id, "joined the cluster as a voter");
                return;
            }
            Ok(AdminReply::Learner) => {
                tracing::debug!("a learner, catching up");
                String::new()
            }
            Ok(AdminReply::Refused(reason)) => format!("the cluster refused this node: {reason}"),
            Ok(AdminReply::Failed(reason)) => format!("joining failed, retrying: {reason}"),
            Ok(_) => String::new(),
            Err(PeerError::Refused { reason, .. }) => format!("the seed refused this node: {reason}"),
            Err(err) => format!("the seed {seed} did not answer, retrying: {err}"),
        };
        // Said once per change, so a node that waits for long does not flood its log.
        if !complaint.is_empty() && complaint != last_complaint {
            tracing::error!(seed, "{complaint}");
        }
        last_complaint = complaint;
        tokio::select! {
            () = tokio::time::sleep(ASK_EVERY) => {}
            () = stop.cancelled() => return,
        }
    }
}

/// Has the membership record `addr` for this node, asking the other members, until it
/// does or `stop`.
pub(crate) async fn keep_address(admin: Admin, addr: String, stop: CancellationToken) {
    loop {
        let others: Vec<String> = {
            let metrics = admin.raft.metrics();
            let metrics = metrics.borrow();
            let membership = metrics.membership_config.membership();
            match membership.get_node(&admin.node_id) {
                Some(node) if node.addr == addr => return,
                // Not a member (removed): nothing to record.
                None => return,
                Some(_) => membership
                    .nodes()
                    .filter(|(id, _)| **id != admin.node_id)
                    .map(|(_, node)| node.addr.clone())
                    .collect(),
            }
        };
        tracing::info!(node_id = admin.node_id, addr, "this node's address changed; telling the cluster");
        let request = AdminRequest::Move { node_id: admin.node_id, addr: addr.clone() };
        for member in others {
            match admin.ask_member(&member, &request).await {
                Ok(AdminReply::Done) => break,
                Ok(reply) => tracing::debug!(member, ?reply, "address change not recorded yet"),
                Err(err) => tracing::debug!(member, cause = %err, "address change not recorded yet"),
            }
        }
        tokio::select! {
            () = tokio::time::sleep(ASK_EVERY) => {}
            () = stop.cancelled() => return,
        }
    }
}
