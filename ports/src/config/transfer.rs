//! Import and clone: many publishes under one same-config policy.
//!
//! The policy's rules (what exists, what is skipped, what stops the import) are the
//! domain's; this runs the publishes it plans, one at a time, each through raft like any
//! other publish, so every imported config has its history record and its listeners told.

use std::sync::Arc;

use domain::config::{
    clone_publish, CloneItem, Config, ConfigError, ConfigKey, ImportReport, Namespace, PublishConfig, SameConfigPolicy,
    TransferError,
};
use domain::Rejection;

use super::{ConfigApp, ConfigService, ConfigServiceError};

/// Why an import or a clone failed.
#[derive(Debug, thiserror::Error)]
pub enum TransferFailure {
    /// Refused as a whole; nothing was written.
    #[error(transparent)]
    Refused(#[from] TransferError),
    #[error(transparent)]
    Invalid(#[from] ConfigError),
    /// A publish failed part way (the configs before it are imported).
    #[error(transparent)]
    Service(#[from] ConfigServiceError),
}

impl ConfigApp {
    pub(super) fn configs_by_ids(&self, ids: &[u64]) -> Vec<(ConfigKey, Arc<Config>)> {
        let wanted: std::collections::HashSet<u64> = ids.iter().copied().collect();
        let mut found: Vec<(ConfigKey, Arc<Config>)> = self.state.read_with(|state| {
            state
                .config
                .iter()
                .filter(|(_, config)| wanted.contains(&config.id))
                .map(|(key, config)| (key.clone(), Arc::clone(config)))
                .collect()
        });
        found.sort_by_key(|(_, config)| config.id);
        found
    }

    fn namespace_exists(&self, namespace: &Namespace) -> bool {
        namespace.is_public() || self.state.read_with(|state| state.namespaces.get(namespace.as_str()).is_some())
    }

    pub(super) async fn run_import(
        &self,
        configs: Vec<PublishConfig>,
        policy: SameConfigPolicy,
    ) -> Result<ImportReport, TransferFailure> {
        for namespace in configs.iter().map(|config| &config.key.namespace) {
            if !self.namespace_exists(namespace) {
                return Err(TransferError::NoNamespace(namespace.as_str().to_owned()).into());
            }
        }
        let plan = self.state.read_with(|state| policy.plan(configs, |key| state.config.get(key).is_some()));
        let mut report = ImportReport { failed: plan.failed, skipped: plan.skipped, ..ImportReport::default() };
        let mut planned = plan.publish.into_iter();
        while let Some(publish) = planned.next() {
            let key = publish.key.clone();
            match self.publish(publish).await {
                Ok(()) => report.succeeded += 1,
                Err(ConfigServiceError::Rejected(Rejection::CasMismatch)) if policy.stops_on_conflict() => {
                    report.failed.push(key);
                    report.skipped.extend(planned.by_ref().map(|publish| publish.key));
                }
                Err(ConfigServiceError::Rejected(Rejection::CasMismatch)) => report.skipped.push(key),
                Err(err) => return Err(err.into()),
            }
        }
        Ok(report)
    }

    pub(super) async fn run_clone(
        &self,
        items: Vec<CloneItem>,
        target: Namespace,
        policy: SameConfigPolicy,
    ) -> Result<ImportReport, TransferFailure> {
        let ids: Vec<u64> = items.iter().map(|item| item.id).collect();
        let sources = self.configs_by_ids(&ids);
        let mut configs = Vec::with_capacity(items.len());
        for item in &items {
            if let Some((key, config)) = sources.iter().find(|(_, config)| config.id == item.id) {
                configs.push(clone_publish(item, key, config, &target, self.limits())?);
            }
        }
        if configs.is_empty() {
            return Err(TransferError::NothingSelected.into());
        }
        if !self.namespace_exists(&target) {
            return Err(TransferError::NoNamespace(target.as_str().to_owned()).into());
        }
        self.run_import(configs, policy).await
    }
}

#[cfg(test)]
#[path = "transfer_tests.rs"]
mod tests;
