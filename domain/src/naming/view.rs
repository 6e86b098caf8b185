//! What a client is shown of a service: Nacos's `ServiceInfo`, computed by its rules.

use std::collections::HashSet;

use super::{Instance, ServiceKey, ServiceMeta};
use crate::Millis;

/// How a client asked: which clusters (comma-separated, `""` = all) and whether only
/// healthy instances.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ViewQuery {
    pub clusters: String,
    pub healthy_only: bool,
}

/// A computed view. `clusters` echoes the query (clients key their caches on it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceView {
    pub service: ServiceKey,
    pub clusters: String,
    pub hosts: Vec<Instance>,
    pub reach_protection_threshold: bool,
    /// MD5 over the hosts (address, weight, flags, cluster, metadata), order-independent:
    /// equal host sets give equal checksums, so a client can tell a real change.
    pub checksum: String,
    /// When the view was made; strictly increasing per service on this node, since
    /// several SDKs drop a view that is not newer than the one they hold.
    pub last_ref_time: Millis,
}

/// Nacos's view rules (`ServiceUtil`), in order: cluster filter, enabled only, healthy
/// only (if asked), then the protect threshold for services with stored metadata: when
/// the healthy share is at or below it, every host is returned as healthy.
pub fn compute_view<'a>(
    service: &ServiceKey,
    meta: Option<&ServiceMeta>,
    instances: impl Iterator<Item = &'a Instance>,
    query: &ViewQuery,
    last_ref_time: Millis,
) -> ServiceView {
    let clusters: HashSet<&str> = query.clusters.split(',').map(str::trim).filter(|c| !c.is_empty()).collect();
    let mut hosts: Vec<Instance> = instances
        .filter(|instance| clusters.is_empty() || clusters.contains(instance.cluster.as_str()))
        .filter(|instance| instance.enabled)
        .filter(|instance| !query.healthy_only || instance.healthy)
        .cloned()
        .collect();
    // The registry keeps no order; clients get hosts ordered by address.
    hosts.sort_unstable_by(|a, b| a.address().cmp(&b.address()));
    let mut reach_protection_threshold = false;
    if let Some(meta) = meta {
        let healthy = hosts.iter().filter(|host| host.healthy).count();
        // Ratios of small counts: f64 is exact enough for a threshold comparison.
        #[allow(clippy::cast_precision_loss)]
        let share = if hosts.is_empty() { 1.0 } else { healthy as f64 / hosts.len() as f64 };
        if !hosts.is_empty() && share <= meta.protect_threshold.value() {
            reach_protection_threshold = true;
            for host in &mut hosts {
                host.healthy = true;
            }
        }
    }
    let checksum = checksum(&hosts);
    ServiceView {
        service: service.clone(),
        clusters: query.clusters.clone(),
        hosts,
        reach_protection_threshold,
        checksum,
        last_ref_time,
    }
}

fn checksum(hosts: &[Instance]) -> String {
    let mut lines: Vec<String> = hosts
        .iter()
        .map(|host| {
            let metadata: Vec<String> = host.metadata.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!(
                "{}:{}_{}_{}_{}_{}_{}_{}",
                host.ip,
                host.port,
                host.weight.value(),
                host.healthy,
                host.enabled,
                host.ephemeral,
                host.cluster.as_str(),
                metadata.join(",")
            )
        })
        .collect();
    lines.sort();
    crate::config::md5_hex(&lines.join("\n"))
}
