//! The registry's JSON objects on the gRPC wire: `Instance` in and out, `ServiceInfo` out.

use std::collections::BTreeMap;

use domain::naming::{HeartbeatTimes, Instance, InstanceDraft, ServiceKey, ServiceView};
use ports::naming::SharedView;
use serde::Deserialize;
use serde_json::{json, Value};

/// Nacos's `defaultPushCacheMillis`: clients that poll do so at this period.
const CACHE_MILLIS: u64 = 10_000;
/// The memoised encoding of a view for gRPC answers and pushes.
const ENCODING: &str = "grpc-service-info";

/// An `Instance` as a client sends it. Everything is optional here; the domain decides what
/// is required. Unknown fields (Go's computed ones, `serviceName`) are ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct WireInstance {
    instance_id: Option<String>,
    ip: Option<String>,
    port: Option<i64>,
    weight: Option<f64>,
    healthy: Option<bool>,
    enabled: Option<bool>,
    ephemeral: Option<bool>,
    cluster_name: Option<String>,
    metadata: Option<BTreeMap<String, Value>>,
}

impl WireInstance {
    pub(crate) fn draft(&self) -> InstanceDraft {
        InstanceDraft {
            instance_id: self.instance_id.clone(),
            ip: self.ip.clone(),
            port: self.port,
            weight: self.weight,
            healthy: self.healthy,
            enabled: self.enabled,
            ephemeral: self.ephemeral,
            cluster: self.cluster_name.clone(),
            metadata: metadata(self.metadata.as_ref()),
        }
    }

    pub(crate) fn ip(&self) -> Option<&str> {
        self.ip.as_deref()
    }

    pub(crate) fn port(&self) -> Option<i64> {
        self.port
    }

    pub(crate) fn cluster(&self) -> Option<&str> {
        self.cluster_name.as_deref()
    }
}

/// Metadata values are strings in Nacos; a client that sends a number or a boolean means
/// its text.
fn metadata(raw: Option<&BTreeMap<String, Value>>) -> BTreeMap<String, String> {
    raw.into_iter()
        .flatten()
        .filter(|(_, value)| !value.is_null())
        .map(|(key, value)| {
            let text = match value {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            (key.clone(), text)
        })
        .collect()
}

/// An instance as the server emits it, with the computed heartbeat fields Java adds.
pub(crate) fn instance_json(instance: &Instance, service: &ServiceKey) -> Value {
    let times = instance.heartbeat();
    json!({
        "instanceId": instance.id(service),
        "ip": instance.ip,
        "port": instance.port,
        "weight": instance.weight.value(),
        "healthy": instance.healthy,
        "enabled": instance.enabled,
        "ephemeral": instance.ephemeral,
        "clusterName": instance.cluster.as_str(),
        "serviceName": service.grouped_name(),
        "metadata": instance.metadata.as_map(),
        "instanceHeartBeatInterval": times.interval,
        "instanceHeartBeatTimeOut": times.timeout,
        "ipDeleteTimeout": times.delete_after,
        "instanceIdGenerator": HeartbeatTimes::id_generator(&instance.metadata),
    })
}

/// `ServiceInfo` with the ungrouped name, as gRPC answers and pushes carry it.
pub(crate) fn service_info(view: &ServiceView) -> Value {
    json!({
        "name": view.service.name.as_str(),
        "groupName": view.service.group.as_str(),
        "clusters": view.clusters,
        "cacheMillis": CACHE_MILLIS,
        "hosts": view.hosts.iter().map(|host| instance_json(host, &view.service)).collect::<Vec<_>>(),
        "lastRefTime": view.last_ref_time.as_u64(),
        "checksum": view.checksum,
        "allIPs": false,
        "allIps": false,
        "reachProtectionThreshold": view.reach_protection_threshold,
        "valid": true,
    })
}

/// The encoded `ServiceInfo` of a shared view, serialized once per view.
pub(crate) fn service_info_bytes(view: &SharedView) -> std::sync::Arc<[u8]> {
    view.encoded(ENCODING, |view| serde_json::to_vec(&service_info(view)).unwrap_or_default())
}
