//! The client port's transport: hyper's HTTP/2 server calling the two tonic-generated
//! services directly.
//!
//! tonic's `Server` puts every call through an axum router, a timeout layer, an
//! error-recovery layer and HTTP/1-or-2 detection, and pings every connection for
//! keep-alive. The Nacos client protocol needs none of it: two fixed paths, HTTP/2 only,
//! deadlines kept by the SDKs, dead clients found by the `ClientDetectionRequest` probe
//! (`eject_silent_connections`) and idle transports closed here. The generated services,
//! their codec and their message limits are tonic's; only the layers around them are gone,
//! about a tenth of the server's CPU per request.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::server::conn::http2;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use proto::nacos::bi_request_stream_server::BiRequestStreamServer;
use proto::nacos::request_server::RequestServer;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_util::task::TaskTracker;
use tonic::codegen::{http, BoxFuture, Service};
use tonic::transport::server::TcpConnectInfo;

use crate::{Connections, GrpcApi};

/// Path prefix of the `BiRequestStream` service; everything else goes to `Request`.
const STREAM_PREFIX: &str = "/BiRequestStream/";
/// Concurrent calls per connection (hyper's default; Nacos clients use a handful).
const MAX_CONCURRENT_STREAMS: u32 = 200;
/// How long connections get to finish their calls at shutdown.
const DRAIN: Duration = Duration::from_secs(1);

/// The two services, and the connection they serve.
#[derive(Clone)]
struct Routes {
    unary: RequestServer<GrpcApi>,
    streams: BiRequestStreamServer<GrpcApi>,
    connect_info: TcpConnectInfo,
    /// Set by every call; cleared by each idle check.
    called: Arc<AtomicBool>,
}

impl hyper::service::Service<http::Request<Incoming>> for Routes {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn call(&self, mut request: http::Request<Incoming>) -> Self::Future {
        // Handlers read the peer address from here, as tonic's server would put it.
        request.extensions_mut().insert(self.connect_info.clone());
        self.called.store(true, Ordering::Relaxed);
        // Both generated services are always ready (no `poll_ready` back-pressure), and
        // each answers an unknown method with gRPC status UNIMPLEMENTED itself.
        if request.uri().path().starts_with(STREAM_PREFIX) {
            self.streams.clone().call(request)
        } else {
            self.unary.clone().call(request)
        }
    }
}

/// Accepts connections on `listener` and serves them until `shutdown` resolves; then stops
/// accepting, asks every connection to finish (HTTP/2 GOAWAY) and waits up to [`DRAIN`].
///
/// A transport that makes no call for `idle_after` and carries no set-up client connection
/// is closed: one that never sent an HTTP/2 preface, one that stopped after it, one whose
/// client only ever made unary calls and vanished. Set-up connections are the probe's
/// business (`ClientDetectionRequest`); once one is dropped, its transport goes idle too.
pub(crate) async fn serve(
    listener: TcpListener,
    unary: RequestServer<GrpcApi>,
    streams: BiRequestStreamServer<GrpcApi>,
    connections: Connections,
    idle_after: Duration,
    shutdown: impl Future<Output = ()>,
) {
    let mut builder = http2::Builder::new(TokioExecutor::new());
    builder.timer(TokioTimer::new()).max_concurrent_streams(MAX_CONCURRENT_STREAMS).auto_date_header(false);
    let (closing, closed) = watch::channel(false);
    let transports = TaskTracker::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, remote)) => {
                    let routes = Routes {
                        unary: unary.clone(),
                        streams: streams.clone(),
                        connect_info: TcpConnectInfo { local_addr: stream.local_addr().ok(), remote_addr: Some(remote) },
                        called: Arc::default(),
                    };
                    let idle = Idle { after: idle_after, connections: connections.clone() };
                    transports.spawn(serve_connection(builder.clone(), stream, remote, routes, idle, closed.clone()));
                }
                // Out of file descriptors and the like: the listener stays usable.
                Err(err) => {
                    tracing::warn!(cause = %err, "client gRPC accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
    drop(listener);
    drop(closed);
    let _ = closing.send(true);
    transports.close();
    if tokio::time::timeout(DRAIN, transports.wait()).await.is_err() {
        tracing::debug!(left = transports.len(), "client transports still open at shutdown");
    }
}

/// When a transport counts as idle.
struct Idle {
    after: Duration,
    connections: Connections,
}

#[tracing::instrument(level = "debug", skip_all, fields(%remote))]
async fn serve_connection(
    builder: http2::Builder<TokioExecutor>,
    stream: TcpStream,
    remote: SocketAddr,
    routes: Routes,
    idle: Idle,
    mut closing: watch::Receiver<bool>,
) {
    // Nagle off: a response larger than one segment (a 100-instance `ServiceInfo`) would
    // otherwise wait for the peer's delayed ACK, ~40 ms.
    if let Err(err) = stream.set_nodelay(true) {
        tracing::debug!(cause = %err, "could not turn Nagle off");
    }
    let called = Arc::clone(&routes.called);
    let connection = builder.serve_connection(TokioIo::new(stream), routes);
    tokio::pin!(connection);
    let mut idle_check = tokio::time::interval_at(tokio::time::Instant::now() + idle.after, idle.after);
    let served = loop {
        tokio::select! {
            served = connection.as_mut() => break served,
            // The only change ever sent is "closing"; a dropped sender means the same.
            _ = closing.changed() => {
                connection.as_mut().graceful_shutdown();
                break connection.await;
            }
            _ = idle_check.tick() => {
                if !called.swap(false, Ordering::Relaxed) && !idle.connections.is_registered(remote) {
                    tracing::debug!("idle transport closed");
                    return;
                }
            }
        }
    };
    if let Err(err) = served {
        tracing::debug!(cause = %err, "client connection ended with an error");
    }
}
