//! The config use cases: publish, remove and read configs.

use std::sync::Arc;

use async_trait::async_trait;
use domain::config::{Config, ConfigCommand, ConfigError, ConfigKey, ConfigLimits, PublishConfig};
use domain::{Command, Rejection, Verdict};

use crate::applied::AppliedState;
use crate::clock::Clock;
use crate::consensus::{ConsensusError, ConsensusLog};

/// What the HTTP and gRPC adapters call for configs (driving port).
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait ConfigService: Send + Sync {
    /// Replicates a publish; answers once it is applied on this node.
    async fn publish(&self, publish: PublishConfig) -> Result<(), ConfigServiceError>;

    /// Replicates a removal; removing an absent config succeeds, as in Nacos.
    async fn remove(&self, key: ConfigKey) -> Result<(), ConfigServiceError>;

    /// Reads this node's applied copy; never waits for raft.
    fn get(&self, key: &ConfigKey) -> Option<Arc<Config>>;

    /// The bounds adapters validate requests against.
    fn limits(&self) -> ConfigLimits;
}

/// Why a config use case failed.
#[derive(Debug, thiserror::Error)]
pub enum ConfigServiceError {
    #[error(transparent)]
    Invalid(#[from] ConfigError),
    #[error(transparent)]
    Rejected(#[from] Rejection),
    #[error(transparent)]
    Unavailable(#[from] ConsensusError),
}

/// The config service: validated requests in, raft proposals out, reads from the applied
/// state.
pub struct ConfigApp {
    consensus: Arc<dyn ConsensusLog>,
    state: AppliedState,
    clock: Arc<dyn Clock>,
    limits: ConfigLimits,
}

impl ConfigApp {
    pub fn new(
        consensus: Arc<dyn ConsensusLog>,
        state: AppliedState,
        clock: Arc<dyn Clock>,
        limits: ConfigLimits,
    ) -> Self {
        Self { consensus, state, clock, limits }
    }

    async fn propose(&self, command: ConfigCommand) -> Result<(), ConfigServiceError> {
        match self.consensus.propose(Command::Config(command)).await? {
            Verdict::Applied => Ok(()),
            Verdict::Rejected(rejection) => Err(rejection.into()),
        }
    }
}

#[async_trait]
impl ConfigService for ConfigApp {
    async fn publish(&self, publish: PublishConfig) -> Result<(), ConfigServiceError> {
        if publish.content.len() > self.limits.max_content_bytes {
            let err =
                ConfigError::ContentTooLarge { size: publish.content.len(), limit: self.limits.max_content_bytes };
            return Err(err.into());
        }
        let now = self.clock.now();
        self.propose(ConfigCommand::Publish { publish, now }).await
    }

    async fn remove(&self, key: ConfigKey) -> Result<(), ConfigServiceError> {
        let now = self.clock.now();
        self.propose(ConfigCommand::Remove { key, now }).await
    }

    fn get(&self, key: &ConfigKey) -> Option<Arc<Config>> {
        self.state.config(key)
    }

    fn limits(&self) -> ConfigLimits {
        self.limits
    }
}

#[cfg(test)]
mod tests;
