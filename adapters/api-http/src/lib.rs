//! The Nacos HTTP Open API on warp.
//!
//! Handlers translate: wire parameters in, a port call, Nacos-shaped responses out. Every
//! rule about what is valid lives in `domain`; every decision about what happens lives in
//! the services behind [`ports`].

mod access;
mod archive;
mod auth_api;
mod cluster;
mod config_v2;
mod config_v3;
mod configs;
mod console;
mod error;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
mod health;
mod history;
mod listener;
mod long_poll;
mod namespaces;
mod naming;
mod naming_clients;
mod naming_wire;
mod params;
mod relay;
mod server;
mod transfer;
mod udp_push;

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;

use ports::auth::AuthService;
use ports::cluster::ClusterView;
use ports::config::ConfigService;
use ports::listen::ListenService;
use ports::namespace::NamespaceService;
use ports::naming::{RegistryQueries, RegistryService, SubscriptionService};
use tokio::net::TcpListener;
use warp::Filter;

pub use error::ApiError;
pub use long_poll::LongPolls;
pub use relay::Relay;
pub use server::{PeerAddr, ServerLimits, Timeouts};
pub use udp_push::UdpPusher;

/// What the HTTP API serves and how.
#[derive(Clone)]
pub struct HttpApi {
    pub config: Arc<dyn ConfigService>,
    pub namespaces: Arc<dyn NamespaceService>,
    pub registry: Arc<dyn RegistryService>,
    pub queries: Arc<dyn RegistryQueries>,
    pub subscriptions: Arc<dyn SubscriptionService>,
    /// Listen registrations of long polls and gRPC connections alike.
    pub listening: Arc<dyn ListenService>,
    /// HTTP long polls in flight, woken through the `LongPollWaker` port.
    pub long_polls: LongPolls,
    /// The cluster as this node sees it.
    pub cluster: Arc<dyn ClusterView>,
    /// The port this API is served on, which the cluster endpoints show for this node.
    pub http_port: u16,
    /// Passes registry writes to the node responsible for their client.
    pub relay: Relay,
    /// Largest request body accepted, in bytes (form encoding can triple a config's size).
    pub max_body_bytes: u64,
    /// Who may do what; every route's parameters pass its check.
    pub auth: Arc<dyn AuthService>,
}

impl HttpApi {
    /// Every route, with Nacos-shaped answers for requests no route takes.
    pub fn routes(self) -> impl Filter<Extract = (impl warp::Reply,), Error = Infallible> + Clone {
        let api = Arc::new(self);
        // The hot config routes stay concrete; the rest are boxed, which costs one virtual
        // call on their (cold) paths and keeps the filter type within the compiler's limits.
        let console = config_v2::routes(Arc::clone(&api))
            .or(history::routes(Arc::clone(&api)))
            .unify()
            .or(namespaces::routes(Arc::clone(&api)))
            .unify()
            .or(auth_api::routes(Arc::clone(&api)))
            .unify()
            .or(cluster::routes(Arc::clone(&api)))
            .unify()
            .or(config_v3::routes(Arc::clone(&api)))
            .unify()
            .or(console::routes(Arc::clone(&api)))
            .unify()
            .boxed();
        let naming = naming::routes(Arc::clone(&api)).boxed();
        listener::routes(Arc::clone(&api))
            .or(configs::routes(Arc::clone(&api)))
            .or(naming)
            .or(console)
            .or(health::routes())
            .recover(error::recover)
    }
}

/// Serves `api` on `listener` within `limits` until `shutdown` resolves, then finishes
/// in-flight requests.
pub async fn serve(
    listener: TcpListener,
    api: HttpApi,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    server::serve(listener, api.routes(), limits, shutdown).await;
}

#[cfg(test)]
mod tests;
