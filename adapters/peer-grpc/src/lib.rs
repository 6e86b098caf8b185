//! The peer transport over tonic: nacosd's own cluster service on the cluster port.
//!
//! The client side ([`GrpcPeerTransport`]) implements [`PeerTransport`]; the server side
//! ([`serve`]) hands what arrives to a [`RaftRpcHandler`]. Payloads are opaque bytes here.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use ports::peer::{PeerError, PeerTransport, RaftRpcHandler, RaftRpcKind};
use proto::peer::peer_client::PeerClient;
use proto::peer::peer_server::{Peer, PeerServer};
use proto::peer::{RaftKind, RaftReply, RaftRequest};
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Response, Status};

/// Snapshots and batches of large configs travel on this service.
const MAX_MESSAGE_BYTES: usize = 256 * 1024 * 1024;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends peer RPCs, one lazily connected channel per peer address.
#[derive(Default)]
pub struct GrpcPeerTransport {
    /// A std lock: held only to look up or insert a channel, never across an `.await`.
    channels: Mutex<HashMap<String, Channel>>,
}

impl GrpcPeerTransport {
    pub fn new() -> Self {
        Self::default()
    }

    fn channel(&self, addr: &str) -> Result<Channel, PeerError> {
        let mut channels = self.channels.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(channel) = channels.get(addr) {
            return Ok(channel.clone());
        }
        let endpoint = Endpoint::from_shared(format!("http://{addr}"))
            .map_err(|err| PeerError::Unreachable { addr: addr.to_owned(), reason: err.to_string() })?
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT);
        let channel = endpoint.connect_lazy();
        channels.insert(addr.to_owned(), channel.clone());
        Ok(channel)
    }
}

#[async_trait]
impl PeerTransport for GrpcPeerTransport {
    async fn raft_rpc(&self, addr: &str, kind: RaftRpcKind, payload: Vec<u8>) -> Result<Vec<u8>, PeerError> {
        let mut client = PeerClient::new(self.channel(addr)?)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES);
        let request = RaftRequest { kind: kind_to_wire(kind) as i32, payload };
        match client.raft(request).await {
            Ok(reply) => Ok(reply.into_inner().payload),
            Err(status) => Err(match status.code() {
                tonic::Code::Unavailable | tonic::Code::DeadlineExceeded | tonic::Code::Cancelled => {
                    PeerError::Unreachable { addr: addr.to_owned(), reason: status.message().to_owned() }
                }
                tonic::Code::InvalidArgument => PeerError::Malformed(status.message().to_owned()),
                _ => PeerError::Remote(status.message().to_owned()),
            }),
        }
    }
}

/// The tonic service for incoming peer RPCs.
struct PeerService {
    raft: Arc<dyn RaftRpcHandler>,
}

#[tonic::async_trait]
impl Peer for PeerService {
    #[tracing::instrument(level = "trace", skip_all)]
    async fn raft(&self, request: Request<RaftRequest>) -> Result<Response<RaftReply>, Status> {
        let request = request.into_inner();
        let kind = kind_from_wire(request.kind).ok_or_else(|| Status::invalid_argument("unknown raft rpc kind"))?;
        match self.raft.handle(kind, request.payload).await {
            Ok(payload) => Ok(Response::new(RaftReply { payload })),
            Err(PeerError::Malformed(reason)) => Err(Status::invalid_argument(reason)),
            Err(err) => Err(Status::internal(err.to_string())),
        }
    }
}

/// Serves the peer service on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    raft: Arc<dyn RaftRpcHandler>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let service = PeerServer::new(PeerService { raft })
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
    }
}

fn kind_from_wire(raw: i32) -> Option<RaftRpcKind> {
    match RaftKind::try_from(raw).ok()? {
        RaftKind::AppendEntries => Some(RaftRpcKind::AppendEntries),
        RaftKind::Vote => Some(RaftRpcKind::Vote),
        RaftKind::InstallSnapshot => Some(RaftRpcKind::InstallSnapshot),
        RaftKind::Unspecified => None,
    }
}

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
