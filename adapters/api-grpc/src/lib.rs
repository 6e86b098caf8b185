//! The Nacos 2.x client protocol on tonic: the unary `Request` service, the
//! `BiRequestStream` service that carries server pushes, and the connection registry
//! ([`Connections`]) that implements the client-channel port.
//!
//! Handlers translate JSON payloads to domain values and call the services in `ports`;
//! they hold no rules of their own.

mod bistream;
mod connections;
mod departures;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
mod fuzzy_wire;
mod handlers;
mod naming_wire;
mod transport;
mod wire;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use ports::auth::AuthService;
use ports::config::ConfigService;
use ports::connection::ConnectionService;
use ports::listen::ListenService;
use ports::naming::{RegistryQueries, RegistryService, SubscriptionService};
use proto::nacos::bi_request_stream_server::BiRequestStreamServer;
use proto::nacos::request_server::{Request as RequestService, RequestServer};
use proto::nacos::Payload;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tonic::{Request, Response, Status};

pub use connections::Connections;

/// How often silent connections are looked for (Nacos: every 3 s).
const EJECT_EVERY: Duration = Duration::from_secs(3);

/// The client port's limits.
#[derive(Debug, Clone, Copy)]
pub struct GrpcLimits {
    /// Connections beyond this are refused at set-up.
    pub max_connections: usize,
    /// Largest message accepted from a client, in bytes.
    pub max_message_bytes: usize,
    /// A connection silent this long is probed with `ClientDetectionRequest` and dropped if
    /// it does not answer (Nacos: 20 s); a transport without a set-up connection that
    /// makes no call for this long is closed.
    pub silent_after: Duration,
}

/// The use cases the client protocol calls (driving ports).
#[derive(Clone)]
pub struct Services {
    pub config: Arc<dyn ConfigService>,
    pub listening: Arc<dyn ListenService>,
    pub registry: Arc<dyn RegistryService>,
    pub queries: Arc<dyn RegistryQueries>,
    pub subscriptions: Arc<dyn SubscriptionService>,
    /// Told when a connection ends, whatever ended it.
    pub connection_ends: Arc<dyn ConnectionService>,
    /// Who may do what: every request but set-up and health checks is checked.
    pub auth: Arc<dyn AuthService>,
}

/// What the client gRPC port serves, and its limits.
#[derive(Clone)]
pub struct GrpcApi {
    services: Services,
    connections: Connections,
    limits: GrpcLimits,
    /// Ended connections, cleaned up off the async workers.
    departures: departures::Departures,
    /// Flipped at shutdown: sessions tell their clients to reconnect elsewhere and end.
    stopping: watch::Receiver<bool>,
    /// Connections refused at the cap, for a warning that a flood cannot multiply.
    refusals: Arc<bistream::Refusals>,
}

impl GrpcApi {
    pub fn new(services: Services, connections: Connections, limits: GrpcLimits) -> Self {
        let (_, stopping) = watch::channel(false);
        Self {
            services,
            connections,
            limits,
            departures: departures::Departures::new(),
            stopping,
            refusals: Arc::default(),
        }
    }
}

#[tonic::async_trait]
impl RequestService for GrpcApi {
    async fn request(&self, request: Request<Payload>) -> Result<Response<Payload>, Status> {
        let remote = request.remote_addr();
        let answer = match wire::Incoming::parse(request.into_inner()) {
            Ok(incoming) => handlers::dispatch(self, remote, incoming).await,
            Err(err) => wire::error_response(wire::code::BAD_GATEWAY, &err.to_string()),
        };
        Ok(Response::new(answer))
    }
}

/// Serves the client protocol on `listener` until `shutdown` resolves. At shutdown every
/// connected client is sent `ConnectResetRequest` and its stream is ended, so SDKs
/// reconnect (to another node, in a cluster) instead of waiting on a dead one.
pub async fn serve(listener: TcpListener, mut api: GrpcApi, shutdown: impl Future<Output = ()> + Send + 'static) {
    let (stop, stopping) = watch::channel(false);
    api.stopping = stopping.clone();
    let ejector = tokio::spawn(eject_silent_connections(api.connections.clone(), api.limits.silent_after, stopping));
    let (departures, ends) = (api.departures.clone(), Arc::clone(&api.services.connection_ends));
    let (stop_cleaner, cleaner_stopped) = tokio::sync::oneshot::channel::<()>();
    let cleaner = tokio::spawn(async move {
        departures
            .run(ends, async move {
                let _ = cleaner_stopped.await;
            })
            .await;
    });
    let max = api.limits.max_message_bytes;
    let silent_after = api.limits.silent_after;
    let connections = api.connections.clone();
    let unary = RequestServer::new(api.clone()).max_decoding_message_size(max).max_encoding_message_size(max);
    let streams = BiRequestStreamServer::new(api).max_decoding_message_size(max).max_encoding_message_size(max);
    let shutdown = async move {
        shutdown.await;
        let _ = stop.send(true);
        // Let sessions send their resets before the transport goes away.
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    transport::serve(listener, unary, streams, connections.clone(), silent_after, shutdown).await;
    ejector.abort();
    // Pushes, probes and sessions still running end here, not in the background; then
    // what the sessions queued is cleaned up.
    connections.shutdown().await;
    let _ = stop_cleaner.send(());
    if let Err(err) = cleaner.await {
        tracing::error!(cause = %err, "the cleaner of ended connections failed");
    }
}

/// Every few seconds, probes connections that have been silent too long.
async fn eject_silent_connections(
    connections: Connections,
    silent_after: Duration,
    mut stopping: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(EJECT_EVERY.min(silent_after).max(Duration::from_millis(100)));
    loop {
        tokio::select! {
            _ = tick.tick() => connections.eject_silent(silent_after),
            // Any change is the stop signal; an error means the sender is gone: stop too.
            _ = stopping.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests;
