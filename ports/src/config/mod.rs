//! The config use cases: publish, remove and read configs.

use std::sync::Arc;

use async_trait::async_trait;
use domain::config::{
    CloneItem, Config, ConfigCommand, ConfigError, ConfigKey, ConfigLimits, ConfigQuery, GrayConfig, GrayRule,
    HistoryRecord, ImportReport, KeyRef, Namespace, PublishConfig, Reader, SameConfigPolicy,
};
use domain::paging::{Page, PageRequest};
use domain::{Command, Millis, Rejection, Verdict};

use crate::applied::AppliedState;
use crate::clock::Clock;
use crate::consensus::{ConsensusError, ConsensusLog};

mod history;
mod transfer;

pub use history::{HistoryStore, HistoryStoreError};
pub use transfer::TransferFailure;

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

    /// Waits until this node holds every write that completed before the call, anywhere
    /// in the cluster: the reads that follow are linearizable. Reads are local and may lag
    /// without it; a client asks for it per read.
    async fn read_barrier(&self) -> Result<(), ConfigServiceError>;

    /// What `reader` reads (a gray version if a rule matches it), and the gray version
    /// that served, if one did.
    /// This is the hot read path: a borrowed key, no state lock, no allocation.
    fn get_for<'a>(&self, key: KeyRef<'a>, reader: Reader<'a>) -> Option<(Arc<Config>, Option<Arc<GrayConfig>>)>;

    /// Replicates a gray publish for the clients `rule` matches.
    async fn publish_gray(&self, publish: PublishConfig, rule: GrayRule) -> Result<(), ConfigServiceError>;

    /// Replicates the end of the gray release named `name` (`beta`, `tag_<tag>`).
    async fn stop_gray(&self, key: ConfigKey, name: String) -> Result<(), ConfigServiceError>;

    /// A config's gray version named `name`, if it is live.
    fn gray(&self, key: &ConfigKey, name: &str) -> Option<Arc<GrayConfig>>;

    /// The bounds adapters validate requests against.
    fn limits(&self) -> ConfigLimits;

    /// Configs matching `query`, ordered by key, one page of them.
    fn search(&self, query: &ConfigQuery, page: PageRequest) -> Page<(ConfigKey, Arc<Config>)>;

    /// A config's retained history, newest first, one page of it. Records are read from
    /// storage: a failed read is an error, never an empty page.
    fn history(&self, key: &ConfigKey, page: PageRequest) -> Result<Page<Arc<HistoryRecord>>, ConfigServiceError>;

    /// One history record by id.
    fn history_record(&self, id: u64) -> Result<Option<Arc<HistoryRecord>>, ConfigServiceError>;

    /// The record of the same config before record `id`.
    fn history_previous(&self, key: &ConfigKey, id: u64) -> Result<Option<Arc<HistoryRecord>>, ConfigServiceError>;

    /// Replicates dropping history older than `retention`; only the leader does anything,
    /// so a cluster purges once.
    async fn purge_history(&self, retention: std::time::Duration) -> Result<(), ConfigServiceError>;

    /// Configs by id (the console's selection), in id order; unknown ids are left out.
    fn by_ids(&self, ids: &[u64]) -> Vec<(ConfigKey, Arc<Config>)>;

    /// Publishes `configs` (an archive's) under `policy`: into existing namespaces only,
    /// nothing at all when `ABORT` finds a config that exists.
    async fn import(
        &self,
        configs: Vec<PublishConfig>,
        policy: SameConfigPolicy,
    ) -> Result<ImportReport, TransferFailure>;

    /// Copies the configs `items` name (by id) into `target` under `policy`.
    async fn clone_configs(
        &self,
        items: Vec<CloneItem>,
        target: Namespace,
        policy: SameConfigPolicy,
    ) -> Result<ImportReport, TransferFailure>;
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
    /// Stored data could not be read; the cause is logged, clients get a short reason.
    #[error(transparent)]
    Storage(#[from] HistoryStoreError),
}

/// The config service: validated requests in, raft proposals out, reads from the applied
/// state (history records from storage).
pub struct ConfigApp {
    consensus: Arc<dyn ConsensusLog>,
    state: AppliedState,
    clock: Arc<dyn Clock>,
    limits: ConfigLimits,
    history: Arc<dyn HistoryStore>,
}

impl ConfigApp {
    pub fn new(
        consensus: Arc<dyn ConsensusLog>,
        state: AppliedState,
        clock: Arc<dyn Clock>,
        limits: ConfigLimits,
        history: Arc<dyn HistoryStore>,
    ) -> Self {
        Self { consensus, state, clock, limits, history }
    }

    /// The stored records of `ids`.
    fn load_history(&self, ids: &[u64]) -> Result<Vec<Arc<HistoryRecord>>, ConfigServiceError> {
        Ok(self.history.load(ids)?.into_iter().map(Arc::new).collect())
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

    async fn read_barrier(&self) -> Result<(), ConfigServiceError> {
        Ok(self.consensus.ensure_linearizable().await?)
    }

    fn get_for<'a>(&self, key: KeyRef<'a>, reader: Reader<'a>) -> Option<(Arc<Config>, Option<Arc<GrayConfig>>)> {
        self.state.config_for(key, &reader)
    }

    async fn publish_gray(&self, publish: PublishConfig, rule: GrayRule) -> Result<(), ConfigServiceError> {
        let now = self.clock.now();
        self.propose(ConfigCommand::PublishGray { publish, rule, now }).await
    }

    async fn stop_gray(&self, key: ConfigKey, name: String) -> Result<(), ConfigServiceError> {
        let now = self.clock.now();
        self.propose(ConfigCommand::StopGray { key, name, now }).await
    }

    fn gray(&self, key: &ConfigKey, name: &str) -> Option<Arc<GrayConfig>> {
        self.state.read_with(|state| state.config.gray(key, name).cloned())
    }

    fn limits(&self) -> ConfigLimits {
        self.limits
    }

    fn search(&self, query: &ConfigQuery, page: PageRequest) -> Page<(ConfigKey, Arc<Config>)> {
        let found = self.state.read_with(|state| domain::config::search(&state.config, query));
        Page::of(found, page)
    }

    fn history(&self, key: &ConfigKey, page: PageRequest) -> Result<Page<Arc<HistoryRecord>>, ConfigServiceError> {
        let ids = Page::of(self.history.ids_of(key)?, page);
        let records = self.load_history(&ids.items)?;
        Ok(Page::from_parts(ids.total, page, records))
    }

    fn history_record(&self, id: u64) -> Result<Option<Arc<HistoryRecord>>, ConfigServiceError> {
        Ok(self.load_history(&[id])?.pop())
    }

    fn history_previous(&self, key: &ConfigKey, id: u64) -> Result<Option<Arc<HistoryRecord>>, ConfigServiceError> {
        let Some(previous) = self.history.previous_id(key, id)? else {
            return Ok(None);
        };
        Ok(self.load_history(&[previous])?.pop())
    }

    async fn purge_history(&self, retention: std::time::Duration) -> Result<(), ConfigServiceError> {
        if self.consensus.leader() != Some(self.consensus.node_id()) {
            return Ok(());
        }
        let retention = u64::try_from(retention.as_millis()).unwrap_or(u64::MAX);
        let before = Millis(self.clock.now().as_u64().saturating_sub(retention));
        match self.consensus.propose(Command::PurgeHistory { before }).await? {
            Verdict::Applied => Ok(()),
            Verdict::Rejected(rejection) => Err(rejection.into()),
        }
    }

    fn by_ids(&self, ids: &[u64]) -> Vec<(ConfigKey, Arc<Config>)> {
        self.configs_by_ids(ids)
    }

    async fn import(
        &self,
        configs: Vec<PublishConfig>,
        policy: SameConfigPolicy,
    ) -> Result<ImportReport, TransferFailure> {
        self.run_import(configs, policy).await
    }

    async fn clone_configs(
        &self,
        items: Vec<CloneItem>,
        target: Namespace,
        policy: SameConfigPolicy,
    ) -> Result<ImportReport, TransferFailure> {
        self.run_clone(items, target, policy).await
    }
}

#[cfg(test)]
mod tests;
