//! The receiving side of the raft network: decodes an RPC, hands it to openraft, encodes
//! the answer (including openraft's own errors, which the sender turns back into types).

use async_trait::async_trait;
use ports::peer::{PeerError, RaftRpcHandler, RaftRpcKind};
use serde::de::DeserializeOwned;

use crate::types::Raft;

/// Serves raft RPCs that peers send to this node.
#[derive(Clone)]
pub struct RaftRpcServer {
    raft: Raft,
}

impl RaftRpcServer {
    pub(crate) fn new(raft: Raft) -> Self {
        Self { raft }
    }
}

#[async_trait]
impl RaftRpcHandler for RaftRpcServer {
    async fn handle(&self, kind: RaftRpcKind, payload: Vec<u8>) -> Result<Vec<u8>, PeerError> {
        let reply = match kind {
            RaftRpcKind::AppendEntries => serde_json::to_vec(&self.raft.append_entries(parse(&payload)?).await),
            RaftRpcKind::Vote => serde_json::to_vec(&self.raft.vote(parse(&payload)?).await),
            RaftRpcKind::InstallSnapshot => serde_json::to_vec(&self.raft.install_snapshot(parse(&payload)?).await),
        };
        reply.map_err(|err| PeerError::Malformed(err.to_string()))
    }
}

fn parse<T: DeserializeOwned>(payload: &[u8]) -> Result<T, PeerError> {
    serde_json::from_slice(payload).map_err(|err| PeerError::Malformed(err.to_string()))
}
