//! The raft network: openraft RPCs encoded as JSON and carried by the peer transport port.

use std::sync::Arc;

use openraft::error::{InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse, VoteRequest,
    VoteResponse,
};
use ports::peer::{PeerError, PeerTransport, RaftRpcKind};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::contacts::Contacts;
use crate::types::{Node, NodeId, TypeConfig};

/// Hands openraft one [`PeerClient`] per target node.
#[derive(Clone)]
pub struct NetworkFactory {
    transport: Arc<dyn PeerTransport>,
    contacts: Contacts,
}

impl NetworkFactory {
    pub(crate) fn new(transport: Arc<dyn PeerTransport>, contacts: Contacts) -> Self {
        Self { transport, contacts }
    }
}

impl RaftNetworkFactory<TypeConfig> for NetworkFactory {
    type Network = PeerClient;

    async fn new_client(&mut self, target: NodeId, node: &Node) -> PeerClient {
        PeerClient {
            target,
            addr: node.addr.clone(),
            transport: Arc::clone(&self.transport),
            contacts: self.contacts.clone(),
        }
    }
}

/// Sends raft RPCs to one node. Connects lazily: the transport owns connections.
pub struct PeerClient {
    target: NodeId,
    addr: String,
    transport: Arc<dyn PeerTransport>,
    contacts: Contacts,
}

type RpcResult<T, E> = Result<T, RPCError<NodeId, Node, RaftError<NodeId, E>>>;

impl PeerClient {
    #[tracing::instrument(level = "debug", skip_all, fields(target = self.target, kind = ?kind))]
    async fn call<Req, Resp, E>(&self, kind: RaftRpcKind, request: &Req) -> RpcResult<Resp, E>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        let payload = serde_json::to_vec(request).map_err(|err| RPCError::Network(NetworkError::new(&err)))?;
        let reply = self.transport.raft_rpc(&self.addr, kind, payload).await.map_err(|err| match err {
            PeerError::Unreachable { .. } => RPCError::Unreachable(Unreachable::new(&err)),
            PeerError::Remote(_) | PeerError::Malformed(_) | PeerError::Refused { .. } => {
                RPCError::Network(NetworkError::new(&err))
            }
        })?;
        self.contacts.heard(self.target);
        let result: Result<Resp, RaftError<NodeId, E>> =
            serde_json::from_slice(&reply).map_err(|err| RPCError::Network(NetworkError::new(&err)))?;
        result.map_err(|err| RPCError::RemoteError(RemoteError::new(self.target, err)))
    }
}

impl RaftNetwork<TypeConfig> for PeerClient {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        _option: RPCOption,
    ) -> RpcResult<AppendEntriesResponse<NodeId>, openraft::error::Infallible> {
        self.call(RaftRpcKind::AppendEntries, &rpc).await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        _option: RPCOption,
    ) -> RpcResult<InstallSnapshotResponse<NodeId>, InstallSnapshotError> {
        self.call(RaftRpcKind::InstallSnapshot, &rpc).await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        _option: RPCOption,
    ) -> RpcResult<VoteResponse<NodeId>, openraft::error::Infallible> {
        self.call(RaftRpcKind::Vote, &rpc).await
    }
}
