//! What a client is shown of a service: Nacos's `ServiceInfo`, computed by its rules.

use std::collections::{BTreeMap, HashSet};

use super::{Instance, ServiceKey, ServiceMeta};
use crate::Millis;

/// How a client asked: which clusters (comma-separated, `""` = all), whether only
/// healthy instances, and from which ip (what a label selector matches the consumer by;
/// `None` where no consumer is known).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ViewQuery {
    pub clusters: String,
    pub healthy_only: bool,
    pub consumer_ip: Option<String>,
}

impl ViewQuery {
    pub fn new(clusters: impl Into<String>, healthy_only: bool, consumer_ip: Option<&str>) -> Self {
        Self { clusters: clusters.into(), healthy_only, consumer_ip: consumer_ip.map(str::to_owned) }
    }
}

/// A consumer's labels for a label selector (what Java asks its CMDB): the metadata of the
/// consumer's own instances, those at `ip` among `instances`, the first value of a key
/// winning.
pub fn consumer_labels<'a>(ip: &str, instances: impl IntoIterator<Item = &'a Instance>) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    for instance in instances.into_iter().filter(|instance| instance.ip == ip) {
        for (key, value) in instance.metadata.iter() {
            labels.entry(key.to_owned()).or_insert_with(|| value.to_owned());
        }
    }
    labels
}

/// Java's label selection: a provider is kept unless, for some label, the consumer has a
/// value and the provider's differs. `consumer` gives the consumer's label values.
pub fn select_by_labels(hosts: &mut Vec<Instance>, labels: &[String], consumer: &BTreeMap<String, String>) {
    if labels.is_empty() {
        return;
    }
    hosts.retain(|host| {
        labels.iter().all(|label| match consumer.get(label).map(String::as_str) {
            None | Some("") => true,
            Some(wanted) => host.metadata.get(label) == Some(wanted),
        })
    });
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
    consumer_labels: Option<&BTreeMap<String, String>>,
    last_ref_time: Millis,
) -> ServiceView {
    let clusters: HashSet<&str> = query.clusters.split(',').map(str::trim).filter(|c| !c.is_empty()).collect();
    let mut hosts: Vec<Instance> = instances
        .filter(|instance| clusters.is_empty() || clusters.contains(instance.cluster.as_str()))
        .filter(|instance| instance.enabled)
        .filter(|instance| !query.healthy_only || instance.healthy)
        .cloned()
        .collect();
    if let (Some(meta), Some(consumer)) = (meta, consumer_labels) {
        select_by_labels(&mut hosts, &meta.selector.labels(), consumer);
    }
    // The registry keeps no order; clients get hosts ordered by address.
    hosts.sort_unstable_by(|a, b| a.address().cmp(&b.address()));
    let reach_protection_threshold = meta.is_some_and(|meta| protect_threshold_reached(meta, &hosts));
    if reach_protection_threshold {
        for host in &mut hosts {
            host.healthy = true;
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

/// Whether a service's protect threshold holds: it has enabled instances and their healthy
/// share is at or below the threshold. Disabled instances are never shown, so they do not
/// count. Views then show every host as healthy; consoles show it as `triggerFlag`.
pub fn protect_threshold_reached<'a>(meta: &ServiceMeta, instances: impl IntoIterator<Item = &'a Instance>) -> bool {
    let (mut enabled, mut healthy) = (0_usize, 0_usize);
    for instance in instances.into_iter().filter(|instance| instance.enabled) {
        enabled += 1;
        healthy += usize::from(instance.healthy);
    }
    // Ratios of small counts: f64 is exact enough for a threshold comparison.
    #[allow(clippy::cast_precision_loss)]
    let share = healthy as f64 / enabled.max(1) as f64;
    enabled > 0 && share <= meta.protect_threshold.value()
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
