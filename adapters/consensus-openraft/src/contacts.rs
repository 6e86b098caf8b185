//! When this node last heard from each member, and the probe that keeps it current.
//!
//! Raft alone does not say it: followers hear only the leader. So every node probes every
//! member every couple of seconds (as Java Nacos's member report does) with a small peer
//! RPC that also names the node that answers: an address that answers with another id
//! than the membership says is reported, never counted as that member.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ports::peer::{PeerTransport, RaftRpcKind};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::types::{NodeId, Raft};

/// How often every member is probed.
pub(crate) const PROBE_EVERY: Duration = Duration::from_secs(2);
/// A probe not answered in this time failed: a frozen member (its socket open, nobody
/// reading) must not hold up the round, or every other member would look silent too.
const PROBE_TIMEOUT: Duration = Duration::from_millis(1_500);

/// A probe and its answer: who sends, who answers, and where it serves HTTP (which the
/// registry needs to pass an HTTP client's request to the node responsible for it).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Ping {
    pub(crate) node_id: NodeId,
    #[serde(default)]
    pub(crate) http_addr: String,
}

/// Last contact per member, and what the probe last found. Std locks: held only to read
/// or stamp a value.
#[derive(Debug, Default, Clone)]
pub(crate) struct Contacts {
    last: Arc<Mutex<HashMap<NodeId, Instant>>>,
    reachable: Arc<Mutex<HashMap<NodeId, bool>>>,
    http: Arc<Mutex<HashMap<NodeId, String>>>,
}

impl Contacts {
    /// Records whether the probe reached `node`; whether that is news (a change, or the
    /// first probe of that member).
    fn mark(&self, node: NodeId, reached: bool) -> bool {
        let mut reachable = self.reachable.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        reachable.insert(node, reached) != Some(reached)
    }

    pub(crate) fn heard(&self, node: NodeId) {
        self.last.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(node, Instant::now());
    }

    /// Records where `node` serves HTTP, as its probe said.
    pub(crate) fn serves_http_at(&self, node: NodeId, addr: String) {
        if !addr.is_empty() {
            self.http.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(node, addr);
        }
    }

    /// Where `node` serves HTTP, if it said.
    pub(crate) fn http_addr(&self, node: NodeId) -> Option<String> {
        self.http.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).get(&node).cloned()
    }

    /// Milliseconds since `node` was last heard from; `None`: never.
    pub(crate) fn silence_ms(&self, node: NodeId) -> Option<u64> {
        let last = self.last.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        last.get(&node).map(|at| u64::try_from(at.elapsed().as_millis()).unwrap_or(u64::MAX))
    }
}

/// Probes every other member every [`PROBE_EVERY`] until `stop`.
pub(crate) async fn probe(
    raft: Raft,
    ping: Ping,
    transport: Arc<dyn PeerTransport>,
    contacts: Contacts,
    stop: CancellationToken,
) {
    let mut every = tokio::time::interval(PROBE_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let node_id = ping.node_id;
    let Ok(payload) = serde_json::to_vec(&ping) else { return };
    loop {
        tokio::select! {
            _ = every.tick() => {}
            () = stop.cancelled() => return,
        }
        let members: Vec<(NodeId, String)> = {
            let metrics = raft.metrics();
            let metrics = metrics.borrow();
            metrics
                .membership_config
                .membership()
                .nodes()
                .filter(|(id, _)| **id != node_id)
                .map(|(id, node)| (*id, node.addr.clone()))
                .collect()
        };
        let probes = members.into_iter().map(|(id, addr)| {
            let (transport, contacts, payload) = (Arc::clone(&transport), contacts.clone(), payload.clone());
            async move {
                let call = transport.raft_rpc(&addr, RaftRpcKind::Ping, payload);
                let reply = match tokio::time::timeout(PROBE_TIMEOUT, call).await {
                    Ok(Ok(reply)) => reply,
                    Ok(Err(err)) => {
                        if contacts.mark(id, false) {
                            tracing::warn!(node_id = id, addr, cause = %err, "a member is unreachable");
                        }
                        return;
                    }
                    Err(_) => {
                        if contacts.mark(id, false) {
                            tracing::warn!(node_id = id, addr, "a member does not answer its probe");
                        }
                        return;
                    }
                };
                match serde_json::from_slice::<Ping>(&reply) {
                    Ok(Ping { node_id: answered, http_addr }) if answered == id => {
                        contacts.heard(id);
                        contacts.serves_http_at(id, http_addr);
                        if contacts.mark(id, true) {
                            tracing::info!(node_id = id, addr, "a member is reachable");
                        }
                    }
                    Ok(Ping { node_id: answered, .. }) => tracing::error!(
                        addr,
                        expected = id,
                        answered,
                        "a member's address answers as another node id; check --node-id and --members"
                    ),
                    Err(err) => tracing::warn!(addr, cause = %err, "a member answered a probe with garbage"),
                }
            }
        });
        futures::future::join_all(probes).await;
    }
}
