//! The receiving side of the raft network: decodes an RPC, hands it to openraft, encodes
//! the answer (including openraft's own errors, which the sender turns back into types).

use async_trait::async_trait;
use ports::peer::{PeerError, RaftRpcHandler, RaftRpcKind};
use serde::de::DeserializeOwned;

use openraft::raft::AppendEntriesRequest;

use crate::contacts::Ping;
use crate::forward;
use crate::membership::Admin;
use crate::types::{Raft, TypeConfig};

/// Serves raft RPCs that peers send to this node.
#[derive(Clone)]
pub struct RaftRpcServer {
    raft: Raft,
    admin: Admin,
    /// Where this node serves HTTP, told to probing peers.
    http_addr: String,
}

impl RaftRpcServer {
    pub(crate) fn new(raft: Raft, admin: Admin, http_addr: String) -> Self {
        Self { raft, admin, http_addr }
    }
}

#[async_trait]
impl RaftRpcHandler for RaftRpcServer {
    async fn handle(&self, kind: RaftRpcKind, payload: Vec<u8>) -> Result<Vec<u8>, PeerError> {
        let reply = match kind {
            RaftRpcKind::AppendEntries => {
                let request: AppendEntriesRequest<TypeConfig> = parse(&payload)?;
                self.admin.contacts.heard(request.vote.leader_id().voted_for().unwrap_or_default());
                serde_json::to_vec(&self.raft.append_entries(request).await)
            }
            RaftRpcKind::Ping => {
                let ping: Ping = parse(&payload)?;
                self.admin.contacts.heard(ping.node_id);
                self.admin.contacts.serves_http_at(ping.node_id, ping.http_addr);
                serde_json::to_vec(&Ping { node_id: self.admin.node_id, http_addr: self.http_addr.clone() })
            }
            RaftRpcKind::Admin => serde_json::to_vec(&self.admin.serve(parse(&payload)?).await),
            RaftRpcKind::Vote => serde_json::to_vec(&self.raft.vote(parse(&payload)?).await),
            RaftRpcKind::InstallSnapshot => serde_json::to_vec(&self.raft.install_snapshot(parse(&payload)?).await),
            RaftRpcKind::Forward => serde_json::to_vec(&forward::serve(&self.raft, parse(&payload)?).await),
        };
        reply.map_err(|err| PeerError::Malformed(err.to_string()))
    }
}

fn parse<T: DeserializeOwned>(payload: &[u8]) -> Result<T, PeerError> {
    serde_json::from_slice(payload).map_err(|err| PeerError::Malformed(err.to_string()))
}
