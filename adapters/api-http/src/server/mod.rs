//! The HTTP server: our own accept loop around hyper, so that connections have limits.
//!
//! `warp::serve` accepts without bound and never times a connection out. Here every
//! connection counts against [`ServerLimits::max_connections`] (over it, a client gets a 503
//! and the socket is closed, rather than `accept` failing for everyone once file descriptors
//! run out), and a connection that keeps the server waiting longer than its [`Timeouts`]
//! is closed. Client mistakes (bad framing, resets, timeouts) are logged at debug.

mod activity;
mod service;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

pub use activity::Timeouts;
pub use service::PeerAddr;

use activity::{Activity, Watched};
use service::ConnectionService;

/// Bounds on the HTTP connections one node serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    pub timeouts: Timeouts,
    /// Most HTTP connections open at once.
    pub max_connections: usize,
}

/// What a client over the connection cap reads before its socket is closed.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain;charset=UTF-8\r\n\
Content-Length: 36\r\nConnection: close\r\n\r\ntoo many connections, try again later";
/// Refusals being written at once; beyond it a refused socket is just closed.
const MAX_REFUSALS: usize = 64;
/// How long a refusal waits for its client to read the 503.
const REFUSAL_LINGER: Duration = Duration::from_secs(1);
/// Shortest time between two warnings of refused connections.
const REFUSAL_WARN_PERIOD: Duration = Duration::from_secs(10);
/// Pause after `accept` fails for want of file descriptors, so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Serves `routes` on `listener` until `shutdown` resolves, then lets in-flight requests
/// finish.
pub(crate) async fn serve(
    listener: TcpListener,
    routes: impl warp::Filter<Extract = (impl warp::Reply,), Error = std::convert::Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let service = TowerToHyperService::new(warp::service(routes));
    let open = Arc::new(Semaphore::new(limits.max_connections));
    let refusals = Arc::new(Semaphore::new(MAX_REFUSALS));
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    // Our watchdog times connections out; hyper's own header timer would also close idle
    // keep-alive connections at the header timeout.
    http.timer(TokioTimer::new()).header_read_timeout(None);
    // No half-close (hyper's default): the end of a client's input ends its requests in
    // flight, which is how a long poll whose client has gone is noticed and let go.
    let mut shutdown = std::pin::pin!(shutdown);
    // Refusals are counted and warned of at most once per period, so a flood cannot fill
    // the log.
    let (mut refused, mut last_warned) = (0_u64, None);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(err) => {
                accept_failed(&err).await;
                continue;
            }
        };
        let Ok(permit) = Arc::clone(&open).try_acquire_owned() else {
            refused += 1;
            if last_warned.is_none_or(|at: tokio::time::Instant| at.elapsed() >= REFUSAL_WARN_PERIOD) {
                tracing::warn!(
                    limit = limits.max_connections,
                    refused,
                    "HTTP connections refused: at the connection cap"
                );
                last_warned = Some(tokio::time::Instant::now());
                refused = 0;
            }
            refuse(stream, &refusals);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let activity = Arc::new(Activity::new());
        let service = ConnectionService { routes: service.clone(), peer, activity: Arc::clone(&activity) };
        let connection = http.serve_connection(TokioIo::new(Watched::new(stream, Arc::clone(&activity))), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _permit = permit;
            tokio::select! {
                served = connection => if let Err(err) = served {
                    tracing::debug!(%peer, error = %err, "HTTP connection ended by an error");
                },
                () = activity.expired(limits.timeouts) => {
                    tracing::debug!(%peer, "HTTP connection timed out waiting for its client");
                }
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Answers 503 on a connection over the cap and closes it, without waiting on the client
/// for more than [`REFUSAL_LINGER`] and without more than [`MAX_REFUSALS`] such sockets.
fn refuse(mut stream: TcpStream, refusals: &Arc<Semaphore>) {
    let Ok(permit) = Arc::clone(refusals).try_acquire_owned() else { return };
    tokio::spawn(async move {
        let _permit = permit;
        let _ = tokio::time::timeout(REFUSAL_LINGER, async {
            stream.write_all(BUSY).await?;
            stream.shutdown().await?;
            // Read what the client sent until it closes, so closing does not reset the
            // connection before it has read the answer.
            let mut sink = [0_u8; 1024];
            while tokio::io::AsyncReadExt::read(&mut stream, &mut sink).await? > 0 {}
            Ok::<_, std::io::Error>(())
        })
        .await;
    });
}

/// A failed `accept`: a client that gave up in the handshake is nobody's concern; running
/// out of file descriptors is the operator's, and must not make the loop spin.
async fn accept_failed(err: &std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset, Interrupted};
    if matches!(err.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset | Interrupted) {
        tracing::debug!(error = %err, "accept failed");
        return;
    }
    tracing::warn!(error = %err, "accepting HTTP connections failed; pausing");
    tokio::time::sleep(ACCEPT_BACKOFF).await;
}
