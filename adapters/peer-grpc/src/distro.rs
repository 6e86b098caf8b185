//! Distro over the peer service: the [`DistroPeers`] port on the client side, and the
//! server side handing what arrives to the registry's [`DistroHandler`].

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use domain::cluster::NodeId;
use domain::naming::distro::{ClientCopy, ServiceSync};
use domain::naming::ServiceKey;
use ports::cluster::ClusterView;
use ports::naming::{DistroHandler, DistroPeers};
use ports::peer::PeerError;
use proto::peer::DistroKind;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tonic::Status;

use crate::distro_wire::{ClientCopyWire, Malformed, ServiceKeyWire, ServiceSyncWire};
use crate::GrpcPeerTransport;

/// Where the registry's handler goes once it exists: the peer server starts (for raft)
/// before the registry does. Messages before that are refused as unavailable.
#[derive(Default)]
pub struct DistroSlot(OnceLock<Arc<dyn DistroHandler>>);

impl DistroSlot {
    pub fn set(&self, handler: Arc<dyn DistroHandler>) {
        let _ = self.0.set(handler);
    }
}

/// Sends Distro messages to the members the cluster view knows.
pub struct GrpcDistroPeers {
    transport: Arc<GrpcPeerTransport>,
    cluster: Arc<dyn ClusterView>,
}

impl GrpcDistroPeers {
    pub fn new(transport: Arc<GrpcPeerTransport>, cluster: Arc<dyn ClusterView>) -> Self {
        Self { transport, cluster }
    }

    /// This node's id and `to`'s cluster address.
    fn route(&self, to: NodeId) -> Result<(NodeId, String), PeerError> {
        let status = self.cluster.status();
        let addr = status.members.iter().find(|member| member.node_id == to).map(|member| member.cluster_addr.clone());
        let addr =
            addr.ok_or_else(|| PeerError::Unreachable { addr: format!("node {to}"), reason: "not a member".into() })?;
        Ok((status.self_id, addr))
    }

    async fn call<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        to: NodeId,
        kind: DistroKind,
        message: &Req,
    ) -> Result<Resp, PeerError> {
        let (from, addr) = self.route(to)?;
        let payload = serde_json::to_vec(message).map_err(|err| PeerError::Malformed(err.to_string()))?;
        let reply = self.transport.distro(&addr, kind, from, payload).await?;
        serde_json::from_slice(&reply).map_err(|err| PeerError::Malformed(err.to_string()))
    }
}

#[async_trait]
impl DistroPeers for GrpcDistroPeers {
    fn live_peers(&self) -> Vec<NodeId> {
        self.cluster.status().live_peers()
    }

    async fn sync(&self, to: NodeId, syncs: Vec<ServiceSync>) -> Result<(), PeerError> {
        let wire: Vec<ServiceSyncWire> = syncs.iter().map(Into::into).collect();
        self.call::<_, ()>(to, DistroKind::Sync, &wire).await
    }

    async fn verify(&self, to: NodeId, digest: Vec<(ServiceKey, u64)>) -> Result<Vec<ServiceKey>, PeerError> {
        let wire: Vec<(ServiceKeyWire, u64)> = digest.iter().map(|(service, sum)| (service.into(), *sum)).collect();
        let differ: Vec<ServiceKeyWire> = self.call(to, DistroKind::Verify, &wire).await?;
        differ.iter().map(|service| service.decode().map_err(|err| PeerError::Malformed(err.to_string()))).collect()
    }

    async fn snapshot(&self, from: NodeId) -> Result<Vec<ClientCopy>, PeerError> {
        let copies: Vec<ClientCopyWire> = self.call(from, DistroKind::Snapshot, &()).await?;
        copies.into_iter().map(|copy| copy.decode().map_err(|err| PeerError::Malformed(err.to_string()))).collect()
    }
}

/// Decodes one incoming message, hands it to the registry, encodes the answer.
pub(crate) fn serve(slot: &DistroSlot, kind: i32, from: NodeId, payload: &[u8]) -> Result<Vec<u8>, Status> {
    let handler = slot.0.get().ok_or_else(|| Status::unavailable("the registry is not started yet"))?;
    let answer = match DistroKind::try_from(kind).unwrap_or(DistroKind::Unspecified) {
        DistroKind::Sync => {
            let wire: Vec<ServiceSyncWire> = parse(payload)?;
            let syncs = wire.into_iter().map(ServiceSyncWire::decode).collect::<Result<_, _>>().map_err(refused)?;
            handler.on_sync(from, syncs);
            serde_json::to_vec(&())
        }
        DistroKind::Verify => {
            let wire: Vec<(ServiceKeyWire, u64)> = parse(payload)?;
            let digest = wire
                .into_iter()
                .map(|(service, sum)| Ok((service.decode()?, sum)))
                .collect::<Result<_, Malformed>>()
                .map_err(refused)?;
            let differ: Vec<ServiceKeyWire> = handler.on_verify(from, digest).iter().map(Into::into).collect();
            serde_json::to_vec(&differ)
        }
        DistroKind::Snapshot => {
            let copies: Vec<ClientCopyWire> = handler.snapshot().iter().map(Into::into).collect();
            serde_json::to_vec(&copies)
        }
        DistroKind::Unspecified => return Err(Status::invalid_argument("unknown distro message kind")),
    };
    answer.map_err(|err| Status::internal(err.to_string()))
}

fn parse<T: DeserializeOwned>(payload: &[u8]) -> Result<T, Status> {
    serde_json::from_slice(payload).map_err(|err| Status::invalid_argument(format!("malformed distro message: {err}")))
}

fn refused(err: Malformed) -> Status {
    Status::invalid_argument(err.to_string())
}
