//! The end of a client connection: the one use case that undoes everything the
//! connection held, whatever protocol adapter noticed it.

use std::sync::Arc;

use domain::config::{ConnectionId, ListenerId};

use crate::listen::ListenService;
use crate::naming::NamingApp;

/// Told when a client connection ends (driving port).
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait ConnectionService: Send + Sync {
    /// The connection closed or was found dead: its config listens, ephemeral instances
    /// and subscriptions go (and the instances' subscribers are pushed).
    fn connection_closed(&self, connection: &ConnectionId);
}

/// What a connection can hold: listens and registry entries.
pub struct ConnectionApp {
    listeners: Arc<dyn ListenService>,
    naming: Arc<NamingApp>,
}

impl ConnectionApp {
    pub fn new(listeners: Arc<dyn ListenService>, naming: Arc<NamingApp>) -> Self {
        Self { listeners, naming }
    }
}

impl ConnectionService for ConnectionApp {
    fn connection_closed(&self, connection: &ConnectionId) {
        self.listeners.forget(&ListenerId::Connection(connection.clone()));
        self.naming.connection_closed(connection);
    }
}
