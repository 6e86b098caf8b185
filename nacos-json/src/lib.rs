//! The registry's JSON objects as Nacos writes them, shared by the HTTP and gRPC adapters:
//! an `Instance` and a `ServiceInfo` differ between the two only in how the service is
//! named, so they are written once, here.
//!
//! Java Nacos's conventions hold: no `null`s, primitives always present, the computed
//! heartbeat fields of `Instance`, both spellings of `allIPs`.

use std::sync::Arc;

use domain::naming::{HeartbeatTimes, Instance, ServiceKey, ServiceView};
use ports::naming::SharedView;
use serde_json::{json, Value};

/// Nacos's `defaultPushCacheMillis`: clients that poll do so at this period.
const CACHE_MILLIS: u64 = 10_000;

/// How a `ServiceInfo` names its service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceName {
    /// `svc`, as gRPC answers and pushes carry it.
    Plain,
    /// `group@@svc`, as HTTP v1 `/instance/list` answers it ("adapt for v1.x sdk").
    Grouped,
}

impl ServiceName {
    /// The name of the memoised encoding for this form.
    fn encoding(self) -> &'static str {
        match self {
            Self::Plain => "service-info-plain",
            Self::Grouped => "service-info-grouped",
        }
    }
}

/// An instance as Nacos writes it, with the computed heartbeat fields Java adds.
pub fn instance(instance: &Instance, service: &ServiceKey) -> Value {
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

/// A `ServiceInfo`.
pub fn service_info(view: &ServiceView, name: ServiceName) -> Value {
    let service_name = match name {
        ServiceName::Plain => view.service.name.as_str().to_owned(),
        ServiceName::Grouped => view.service.grouped_name(),
    };
    json!({
        "name": service_name,
        "groupName": view.service.group.as_str(),
        "clusters": view.clusters,
        "cacheMillis": CACHE_MILLIS,
        "hosts": view.hosts.iter().map(|host| instance(host, &view.service)).collect::<Vec<_>>(),
        "lastRefTime": view.last_ref_time.as_u64(),
        "checksum": view.checksum,
        "allIPs": false,
        "allIps": false,
        "reachProtectionThreshold": view.reach_protection_threshold,
        "valid": true,
    })
}

/// The encoded `ServiceInfo` of a shared view, serialized once per view and form.
pub fn service_info_bytes(view: &SharedView, name: ServiceName) -> Arc<[u8]> {
    view.encoded(name.encoding(), |view| serde_json::to_vec(&service_info(view, name)).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use domain::naming::{compute_view, InstanceDraft, ViewQuery};
    use domain::Millis;

    use super::*;

    #[test]
    fn both_forms_share_everything_but_the_name() {
        let service = ServiceKey::parse(None, Some("G"), Some("svc")).unwrap();
        let draft = InstanceDraft { ip: Some("10.0.0.1".into()), port: Some(80), ..InstanceDraft::default() };
        let instances = [draft.validate().unwrap()];
        let view =
            SharedView::new(compute_view(&service, None, instances.iter(), &ViewQuery::default(), None, Millis(7)));
        let plain: Value = serde_json::from_slice(&service_info_bytes(&view, ServiceName::Plain)).unwrap();
        let grouped: Value = serde_json::from_slice(&service_info_bytes(&view, ServiceName::Grouped)).unwrap();
        assert_eq!((plain["name"].as_str(), grouped["name"].as_str()), (Some("svc"), Some("G@@svc")));
        assert_eq!(plain["hosts"], grouped["hosts"]);
        let host = &plain["hosts"][0];
        assert_eq!(host["instanceId"], "10.0.0.1#80#DEFAULT#G@@svc");
        assert_eq!(host["serviceName"], "G@@svc");
        assert_eq!(host["metadata"], json!({}), "never null");
        assert_eq!((plain["lastRefTime"].as_u64(), plain["cacheMillis"].as_u64()), (Some(7), Some(10_000)));
    }
}
