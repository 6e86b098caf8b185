//! Route tests against mockall mocks of the driving ports: what reaches the services (and
//! with which arguments), what never does on bad input, and what the client sees.

#![allow(clippy::unwrap_used, reason = "tests")]

mod cluster;
mod config;
mod console;
mod long_poll;
mod naming;

use std::sync::Arc;

use ports::auth::{AuthSettings, MockAuthService};
use ports::cluster::MockClusterView;
use ports::config::MockConfigService;
use ports::listen::MockListenService;
use ports::namespace::MockNamespaceService;
use ports::naming::{MockRegistryQueries, MockRegistryService, MockSubscriptionService};

use crate::{HttpApi, LongPolls};

/// One mock per driving port; a test sets the expectations it needs, and any call it did
/// not expect fails it. A single node: every client is this node's (Distro's routing is
/// tested with real processes, `tests/it/t104_cluster_registry.rs`).
pub(super) struct Mocks {
    pub(super) config: MockConfigService,
    pub(super) namespaces: MockNamespaceService,
    pub(super) registry: MockRegistryService,
    pub(super) queries: MockRegistryQueries,
    pub(super) subscriptions: MockSubscriptionService,
    pub(super) listening: MockListenService,
    pub(super) cluster: MockClusterView,
    pub(super) auth: MockAuthService,
}

impl Default for Mocks {
    fn default() -> Self {
        let mut cluster = MockClusterView::new();
        cluster.expect_responsible_for().returning(|_| ports::cluster::Responsible::Here);
        Self {
            config: MockConfigService::new(),
            namespaces: MockNamespaceService::new(),
            registry: MockRegistryService::new(),
            queries: MockRegistryQueries::new(),
            subscriptions: MockSubscriptionService::new(),
            listening: MockListenService::new(),
            cluster,
            auth: auth_off(),
        }
    }
}

impl Mocks {
    pub(super) fn api(self) -> HttpApi {
        self.api_with(LongPolls::new())
    }

    pub(super) fn api_with(self, long_polls: LongPolls) -> HttpApi {
        HttpApi {
            config: Arc::new(self.config),
            namespaces: Arc::new(self.namespaces),
            registry: Arc::new(self.registry),
            queries: Arc::new(self.queries),
            subscriptions: Arc::new(self.subscriptions),
            listening: Arc::new(self.listening),
            long_polls,
            cluster: Arc::new(self.cluster),
            http_port: 8848,
            relay: crate::Relay::default(),
            max_body_bytes: 64 * 1024,
            auth: Arc::new(self.auth),
        }
    }
}

/// Auth as shipped: off, so every request passes.
pub(super) fn auth_off() -> MockAuthService {
    let mut auth = MockAuthService::new();
    auth.expect_settings().return_const(AuthSettings { enabled: false, token_ttl_seconds: 18_000 });
    auth
}
