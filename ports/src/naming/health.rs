//! Health checks of persistent instances: the probe port, and what the checking task asks
//! of the registry (which instances, their recorded health, recording a new one).

use async_trait::async_trait;
use domain::naming::health_check::{probe_targets, ProbeObservation, ProbeTarget};
use domain::naming::{NamingCommand, ServiceKey};

use super::{NamingApp, NamingServiceError};

/// Probes one instance (driven port: TCP connects and HTTP requests).
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait HealthProbe: Send + Sync {
    /// Probes `target.ip` on `target.check_port` as `target.checker` says, within the
    /// domain's probe timeout, and reports what it saw (the checker judges it).
    async fn probe(&self, target: &ProbeTarget) -> ProbeObservation;
}

impl NamingApp {
    /// Grows whenever raft applies a change to a service: the probe targets need listing
    /// again only when it has.
    pub fn persistent_generation(&self) -> u64 {
        self.persistent_changes.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Every persistent instance to probe in the services `mine` says this node is
    /// responsible for.
    pub fn probe_targets(&self, mine: impl Fn(&ServiceKey) -> bool) -> Vec<ProbeTarget> {
        self.state.read_with(|state| {
            state
                .naming
                .iter()
                .filter(|(service, entry)| !entry.instances.is_empty() && mine(service))
                .flat_map(|(service, entry)| probe_targets(service, entry))
                .collect()
        })
    }

    /// The health recorded for the instance `target` probes (`None`: it is gone).
    pub fn recorded_health(&self, target: &ProbeTarget) -> Option<bool> {
        let entry = self.persistent(&target.service)?;
        let instance = entry.instances.iter().find(|i| i.is_at(&target.ip, target.port, &target.cluster))?;
        Some(instance.healthy)
    }

    /// Records the health probes found, through raft (every node applies it and pushes its
    /// subscribers).
    pub async fn record_health(&self, target: &ProbeTarget, healthy: bool) -> Result<(), NamingServiceError> {
        self.propose(NamingCommand::SetHealth {
            service: target.service.clone(),
            ip: target.ip.clone(),
            port: target.port,
            cluster: target.cluster.clone(),
            healthy,
        })
        .await
    }
}
