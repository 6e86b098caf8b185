//! Handler and connection tests against mockall mocks of the driving ports: what each
//! request type forwards (and with which arguments), that bad input forwards nothing, and
//! the timing rules of probes and pushes in paused time.

#![allow(clippy::unwrap_used, reason = "tests")]

mod handlers;
mod timing;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use domain::Millis;
use ports::auth::{AuthSettings, MockAuthService};
use ports::clock::Clock;
use ports::config::MockConfigService;
use ports::connection::MockConnectionService;
use ports::listen::MockListenService;
use ports::naming::{MockRegistryQueries, MockRegistryService, MockSubscriptionService};
use proto::nacos::Payload;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::connections::{Connection, Outgoing, Setup};
use crate::wire::Incoming;
use crate::{Connections, GrpcApi, GrpcLimits, Services};

/// Epoch milliseconds that follow tokio's clock, so paused time moves them too.
struct TokioClock {
    origin: tokio::time::Instant,
}

impl Clock for TokioClock {
    fn now(&self) -> Millis {
        let elapsed = u64::try_from(self.origin.elapsed().as_millis()).unwrap();
        Millis(1_700_000_000_000 + elapsed)
    }
}

pub(super) fn connections() -> Connections {
    Connections::new(Arc::new(TokioClock { origin: tokio::time::Instant::now() }))
}

/// One mock per driving port; a test sets the expectations it needs.
#[derive(Default)]
pub(super) struct Mocks {
    pub(super) config: MockConfigService,
    pub(super) listening: MockListenService,
    pub(super) registry: MockRegistryService,
    pub(super) queries: MockRegistryQueries,
    pub(super) subscriptions: MockSubscriptionService,
    pub(super) connection_ends: MockConnectionService,
    /// Auth as shipped (off) unless a test sets it.
    pub(super) auth: Option<MockAuthService>,
}

pub(super) const REMOTE: &str = "127.0.0.1:50000";

/// A client whose stream is set up: the api, its connection, and what the server sends it.
pub(super) struct Client {
    pub(super) api: GrpcApi,
    pub(super) connection: Arc<Connection>,
    pub(super) inbox: mpsc::Receiver<Outgoing>,
}

impl Mocks {
    pub(super) fn client(self) -> Client {
        let services = Services {
            config: Arc::new(self.config),
            listening: Arc::new(self.listening),
            registry: Arc::new(self.registry),
            queries: Arc::new(self.queries),
            subscriptions: Arc::new(self.subscriptions),
            connection_ends: Arc::new(self.connection_ends),
            auth: Arc::new(self.auth.unwrap_or_else(|| auth_with(false))),
        };
        let limits =
            GrpcLimits { max_connections: 10, max_message_bytes: 1 << 20, silent_after: Duration::from_secs(20) };
        let api = GrpcApi::new(services, connections(), limits);
        let (outbound, inbox) = mpsc::channel(crate::connections::OUTBOUND_QUEUE);
        let setup = Setup { client_ip: "127.0.0.9".into(), client_version: "test".into(), labels: HashMap::new() };
        let connection = api.connections.register(remote(), setup, outbound);
        Client { api, connection, inbox }
    }
}

pub(super) fn remote() -> SocketAddr {
    REMOTE.parse().unwrap()
}

impl Client {
    /// Sends one unary request of `kind` from the set-up transport; answers its body.
    pub(super) async fn call(&self, kind: &str, body: Value) -> (String, Value) {
        answer(crate::handlers::dispatch(&self.api, Some(remote()), incoming(kind, &body)).await)
    }
}

/// An auth service mock that says whether auth is on.
pub(super) fn auth_with(enabled: bool) -> MockAuthService {
    let mut auth = MockAuthService::new();
    auth.expect_settings().return_const(AuthSettings { enabled, token_ttl_seconds: 18_000 });
    auth
}

pub(super) fn incoming(kind: &str, body: &Value) -> Incoming {
    Incoming::parse(crate::wire::payload(kind, body)).unwrap()
}

/// A payload's type and JSON body.
pub(super) fn answer(payload: Payload) -> (String, Value) {
    let kind = payload.metadata.unwrap().r#type;
    let body = serde_json::from_slice(&payload.body.unwrap().value).unwrap();
    (kind, body)
}
