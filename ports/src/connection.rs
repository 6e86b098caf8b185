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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use domain::config::{ConnectionId, ListenerId};
    use domain::naming::{InstanceDraft, Registrant, ServiceKey, ViewQuery};

    use super::*;
    use crate::applied::AppliedState;
    use crate::clock::MockClock;
    use crate::consensus::MockConsensusLog;
    use crate::listen::MockListenService;
    use crate::naming::{RegistryQueries, RegistryService};

    #[tokio::test]
    async fn a_closed_connection_loses_its_listens_and_its_instances_and_nothing_else() {
        let mut clock = MockClock::new();
        clock.expect_now().return_const(domain::Millis(1));
        let naming = Arc::new(NamingApp::new(Arc::new(MockConsensusLog::new()), AppliedState::new(), Arc::new(clock)));
        let service = ServiceKey::parse(None, None, Some("s")).unwrap();
        let draft = |port| InstanceDraft { ip: Some("127.0.0.1".into()), port: Some(port), ..InstanceDraft::default() };
        let (gone, stays) = (ConnectionId::new("gone"), ConnectionId::new("stays"));
        naming.register(Registrant::Connection(gone.clone()), &service, &draft(1)).await.unwrap();
        naming.register(Registrant::Connection(stays.clone()), &service, &draft(2)).await.unwrap();
        let mut listeners = MockListenService::new();
        let expected = ListenerId::Connection(gone.clone());
        listeners.expect_forget().withf(move |listener| *listener == expected).times(1).return_const(());

        ConnectionApp::new(Arc::new(listeners), naming.clone()).connection_closed(&gone);

        let ports: Vec<u16> = naming.view(&service, &ViewQuery::default()).hosts.iter().map(|h| h.port).collect();
        assert_eq!(ports, vec![2]);
    }
}
