//! The peer transport over tonic: nacosd's own cluster service on the cluster port.
//!
//! The client side ([`GrpcPeerTransport`]) implements [`PeerTransport`]; the server side
//! ([`serve`]) hands what arrives to a [`RaftRpcHandler`]. Payloads are opaque bytes here.
//!
//! Every call carries the sender's [`PeerIdentity`] (cluster id, and the cluster token when
//! one is set) in its metadata, and the receiver refuses a call that does not match its
//! own: a node of another cluster, or one without the secret, never reaches raft.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use ports::peer::{PeerError, PeerTransport, RaftRpcHandler, RaftRpcKind};
use proto::peer::peer_client::PeerClient;
use proto::peer::peer_server::{Peer, PeerServer};
use proto::peer::{DistroKind, DistroReply, DistroRequest, RaftKind, RaftReply, RaftRequest};
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::metadata::MetadataValue;
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Response, Status};

/// Snapshots and batches of large configs travel on this service.
const MAX_MESSAGE_BYTES: usize = 256 * 1024 * 1024;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

const CLUSTER_ID_HEADER: &str = "x-nacosd-cluster-id";
const CLUSTER_TOKEN_HEADER: &str = "x-nacosd-cluster-token";
/// A refusal is logged at most this often per peer, so a misconfigured node that retries
/// ten times a second is reported without flooding the log.
const REFUSAL_LOG_EVERY: Duration = Duration::from_secs(10);

/// Which cluster a node belongs to, as its peers must see it.
#[derive(Clone, PartialEq, Eq)]
pub struct PeerIdentity {
    pub cluster_id: String,
    /// The shared secret; `None` when the cluster runs without one.
    pub token: Option<String>,
}

impl std::fmt::Debug for PeerIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let token = if self.token.is_some() { "<set>" } else { "<none>" };
        f.debug_struct("PeerIdentity").field("cluster_id", &self.cluster_id).field("token", &token).finish()
    }
}

impl PeerIdentity {
    /// Why a call from a sender with these headers is refused, if it is.
    fn refuses(&self, cluster_id: Option<&str>, token: Option<&str>) -> Option<Status> {
        if cluster_id != Some(self.cluster_id.as_str()) {
            return Some(Status::failed_precondition(format!(
                "this node is in cluster {:?}, the caller in {:?}",
                self.cluster_id,
                cluster_id.unwrap_or("")
            )));
        }
        let expected = self.token.as_deref().unwrap_or("");
        if !same_secret(expected.as_bytes(), token.unwrap_or("").as_bytes()) {
            return Some(Status::unauthenticated("the cluster token is missing or wrong"));
        }
        None
    }
}

/// Compares two secrets in time that does not depend on where they differ.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

/// Remembers when a refusal was last logged, per peer.
#[derive(Default)]
struct RefusalLog {
    last: Mutex<HashMap<String, Instant>>,
}

impl RefusalLog {
    fn due(&self, peer: &str) -> bool {
        let mut last = self.last.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let now = Instant::now();
        match last.get(peer) {
            Some(at) if now.duration_since(*at) < REFUSAL_LOG_EVERY => false,
            _ => {
                last.insert(peer.to_owned(), now);
                true
            }
        }
    }
}

/// Sends peer RPCs, one lazily connected channel per peer address.
pub struct GrpcPeerTransport {
    identity: PeerIdentity,
    /// The local address connections leave from; the OS's choice when `None`.
    source_ip: Option<IpAddr>,
    /// A std lock: held only to look up or insert a channel, never across an `.await`.
    channels: Mutex<HashMap<String, Channel>>,
    refusals: RefusalLog,
}

impl GrpcPeerTransport {
    pub fn new(identity: PeerIdentity) -> Self {
        Self { identity, source_ip: None, channels: Mutex::default(), refusals: RefusalLog::default() }
    }

    /// Connections to peers leave from `source_ip` (hosts with several addresses).
    pub fn with_source_ip(mut self, source_ip: Option<IpAddr>) -> Self {
        self.source_ip = source_ip;
        self
    }

    fn channel(&self, addr: &str) -> Result<Channel, PeerError> {
        let mut channels = self.channels.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(channel) = channels.get(addr) {
            return Ok(channel.clone());
        }
        let endpoint = Endpoint::from_shared(format!("http://{addr}"))
            .map_err(|err| PeerError::Unreachable { addr: addr.to_owned(), reason: err.to_string() })?
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .local_address(self.source_ip);
        let channel = endpoint.connect_lazy();
        channels.insert(addr.to_owned(), channel.clone());
        Ok(channel)
    }
}

impl GrpcPeerTransport {
    fn client(&self, addr: &str) -> Result<PeerClient<Channel>, PeerError> {
        Ok(PeerClient::new(self.channel(addr)?)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES))
    }

    /// `message` as a request that carries this node's identity.
    fn request<T>(&self, message: T) -> Request<T> {
        let mut request = Request::new(message);
        if let Ok(value) = MetadataValue::try_from(self.identity.cluster_id.as_str()) {
            request.metadata_mut().insert(CLUSTER_ID_HEADER, value);
        }
        if let Some(Ok(value)) = self.identity.token.as_deref().map(MetadataValue::try_from) {
            request.metadata_mut().insert(CLUSTER_TOKEN_HEADER, value);
        }
        request
    }

    /// What a failed call to `addr` means; a refusal is logged (at most every few seconds).
    fn failure(&self, addr: &str, status: &Status) -> PeerError {
        match status.code() {
            tonic::Code::Unavailable | tonic::Code::DeadlineExceeded | tonic::Code::Cancelled => {
                PeerError::Unreachable { addr: addr.to_owned(), reason: status.message().to_owned() }
            }
            tonic::Code::InvalidArgument => PeerError::Malformed(status.message().to_owned()),
            tonic::Code::Unauthenticated | tonic::Code::FailedPrecondition => {
                if self.refusals.due(addr) {
                    tracing::error!(peer = addr, reason = status.message(), "a peer refused this node");
                }
                PeerError::Refused { addr: addr.to_owned(), reason: status.message().to_owned() }
            }
            _ => PeerError::Remote(status.message().to_owned()),
        }
    }

    /// One Distro message to `addr`.
    pub(crate) async fn distro(
        &self,
        addr: &str,
        kind: DistroKind,
        from: u64,
        payload: Vec<u8>,
    ) -> Result<Vec<u8>, PeerError> {
        let request = self.request(DistroRequest { kind: kind as i32, from, payload });
        match self.client(addr)?.distro(request).await {
            Ok(reply) => Ok(reply.into_inner().payload),
            Err(status) => Err(self.failure(addr, &status)),
        }
    }
}

#[async_trait]
impl PeerTransport for GrpcPeerTransport {
    async fn raft_rpc(&self, addr: &str, kind: RaftRpcKind, payload: Vec<u8>) -> Result<Vec<u8>, PeerError> {
        let request = self.request(RaftRequest { kind: kind_to_wire(kind) as i32, payload });
        match self.client(addr)?.raft(request).await {
            Ok(reply) => Ok(reply.into_inner().payload),
            Err(status) => Err(self.failure(addr, &status)),
        }
    }
}

/// The tonic service for incoming peer RPCs.
struct PeerService {
    raft: Arc<dyn RaftRpcHandler>,
    distro: Arc<DistroSlot>,
    identity: PeerIdentity,
    refusals: RefusalLog,
}

impl PeerService {
    /// Refuses a call from outside this cluster (and says so, at most every few seconds).
    fn admit<T>(&self, request: &Request<T>) -> Result<(), Status> {
        let header = |name| request.metadata().get(name).and_then(|value| value.to_str().ok());
        match self.identity.refuses(header(CLUSTER_ID_HEADER), header(CLUSTER_TOKEN_HEADER)) {
            None => Ok(()),
            Some(refusal) => {
                let peer = request.remote_addr().map_or_else(|| "unknown".to_owned(), |addr| addr.to_string());
                if self.refusals.due(&peer) {
                    tracing::warn!(peer, reason = refusal.message(), "refused a peer's call");
                }
                Err(refusal)
            }
        }
    }
}

#[tonic::async_trait]
impl Peer for PeerService {
    #[tracing::instrument(level = "trace", skip_all)]
    async fn raft(&self, request: Request<RaftRequest>) -> Result<Response<RaftReply>, Status> {
        self.admit(&request)?;
        let request = request.into_inner();
        let kind = kind_from_wire(request.kind).ok_or_else(|| Status::invalid_argument("unknown raft rpc kind"))?;
        match self.raft.handle(kind, request.payload).await {
            Ok(payload) => Ok(Response::new(RaftReply { payload })),
            Err(PeerError::Malformed(reason)) => Err(Status::invalid_argument(reason)),
            Err(err) => Err(Status::internal(err.to_string())),
        }
    }

    #[tracing::instrument(level = "trace", skip_all)]
    async fn distro(&self, request: Request<DistroRequest>) -> Result<Response<DistroReply>, Status> {
        self.admit(&request)?;
        let request = request.into_inner();
        let payload = distro::serve(&self.distro, request.kind, request.from, &request.payload)?;
        Ok(Response::new(DistroReply { payload }))
    }
}

/// Serves the peer service on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    raft: Arc<dyn RaftRpcHandler>,
    distro: Arc<DistroSlot>,
    identity: PeerIdentity,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let service = PeerServer::new(PeerService { raft, distro, identity, refusals: RefusalLog::default() })
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
    tonic::transport::Server::builder()
        .add_service(service)
        .serve_with_incoming_shutdown(no_delay(TcpListenerStream::new(listener)), shutdown)
        .await
        .map_err(ServeError)
}

/// The peer server stopped with an error.
#[derive(Debug, thiserror::Error)]
#[error("peer gRPC server failed: {0}")]
pub struct ServeError(#[source] tonic::transport::Error);

fn kind_to_wire(kind: RaftRpcKind) -> RaftKind {
    match kind {
        RaftRpcKind::AppendEntries => RaftKind::AppendEntries,
        RaftRpcKind::Vote => RaftKind::Vote,
        RaftRpcKind::InstallSnapshot => RaftKind::InstallSnapshot,
        RaftRpcKind::Forward => RaftKind::Forward,
        RaftRpcKind::Ping => RaftKind::Ping,
        RaftRpcKind::Admin => RaftKind::Admin,
    }
}

fn kind_from_wire(raw: i32) -> Option<RaftRpcKind> {
    match RaftKind::try_from(raw).ok()? {
        RaftKind::AppendEntries => Some(RaftRpcKind::AppendEntries),
        RaftKind::Vote => Some(RaftRpcKind::Vote),
        RaftKind::InstallSnapshot => Some(RaftRpcKind::InstallSnapshot),
        RaftKind::Forward => Some(RaftRpcKind::Forward),
        RaftKind::Ping => Some(RaftRpcKind::Ping),
        RaftKind::Admin => Some(RaftRpcKind::Admin),
        RaftKind::Unspecified => None,
    }
}

mod distro;
mod distro_wire;

pub use distro::{DistroSlot, GrpcDistroPeers};

#[cfg(test)]
mod tests;

/// Accepted connections with Nagle's algorithm off: a response larger than one segment
/// (a 100-instance `ServiceInfo`) otherwise waits for the peer's delayed ACK, ~40 ms.
fn no_delay(incoming: TcpListenerStream) -> impl tokio_stream::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    use tokio_stream::StreamExt;
    incoming.map(|accepted| {
        let stream = accepted?;
        stream.set_nodelay(true)?;
        Ok(stream)
    })
}
