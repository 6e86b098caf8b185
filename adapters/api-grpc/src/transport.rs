//! The client port's transport: hyper's HTTP/2 server calling the two tonic-generated
//! services directly.
//!
//! tonic's `Server` puts every call through an axum router, a timeout layer, an
//! error-recovery layer and HTTP/1-or-2 detection, and pings every connection for
//! keep-alive. The Nacos client protocol needs none of it: two fixed paths, HTTP/2 only,
//! deadlines kept by the SDKs, and dead clients found by `ClientDetectionRequest`
//! (`GrpcApi::eject_silent_connections`). The generated services, their codec and their
//! message limits are tonic's; only the layers around them are gone, about a tenth of the
//! server's CPU per request.

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
use tonic::codegen::{http, BoxFuture, Service};
use tonic::transport::server::TcpConnectInfo;

use crate::GrpcApi;

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
    /// Set by the connection's first call.
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
/// A connection that makes no call within `first_call_within` (no HTTP/2 preface, or
/// nothing after it) is closed: nothing else would ever notice it.
pub(crate) async fn serve(
    listener: TcpListener,
    unary: RequestServer<GrpcApi>,
    streams: BiRequestStreamServer<GrpcApi>,
    first_call_within: Duration,
    shutdown: impl Future<Output = ()>,
) {
    let mut builder = http2::Builder::new(TokioExecutor::new());
    builder.timer(TokioTimer::new()).max_concurrent_streams(MAX_CONCURRENT_STREAMS).auto_date_header(false);
    let (closing, closed) = watch::channel(false);
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
                    let connection = serve_connection(builder.clone(), stream, remote, routes, first_call_within, closed.clone());
                    tokio::spawn(connection);
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
    // Every connection task holds a receiver; all dropped means all connections are done.
    let _ = tokio::time::timeout(DRAIN, closing.closed()).await;
}

#[tracing::instrument(level = "debug", skip_all, fields(%remote))]
async fn serve_connection(
    builder: http2::Builder<TokioExecutor>,
    stream: TcpStream,
    remote: SocketAddr,
    routes: Routes,
    first_call_within: Duration,
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
    let first_call_due = tokio::time::sleep(first_call_within);
    tokio::pin!(first_call_due);
    let mut waiting_for_first_call = true;
    let served = loop {
        tokio::select! {
            served = connection.as_mut() => break served,
            // The only change ever sent is "closing"; a dropped sender means the same.
            _ = closing.changed() => {
                connection.as_mut().graceful_shutdown();
                break connection.await;
            }
            () = first_call_due.as_mut(), if waiting_for_first_call => {
                if !called.load(Ordering::Relaxed) {
                    tracing::debug!("no call on a new connection in time: closed");
                    return;
                }
                waiting_for_first_call = false;
            }
        }
    };
    if let Err(err) = served {
        tracing::debug!(cause = %err, "client connection ended with an error");
    }
}
