//! The registry's JSON on the gRPC wire: `Instance` in; `ServiceInfo` out is written by
//! `nacos-json`, shared with the HTTP API.

use std::collections::BTreeMap;

use domain::naming::InstanceDraft;
use ports::naming::SharedView;
use serde::Deserialize;
use serde_json::Value;

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
    pub(crate) fn into_draft(self) -> InstanceDraft {
        InstanceDraft {
            instance_id: self.instance_id,
            ip: self.ip,
            port: self.port,
            weight: self.weight,
            healthy: self.healthy,
            enabled: self.enabled,
            ephemeral: self.ephemeral,
            cluster: self.cluster_name,
            metadata: metadata(self.metadata),
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
fn metadata(raw: Option<BTreeMap<String, Value>>) -> BTreeMap<String, String> {
    raw.into_iter()
        .flatten()
        .filter(|(_, value)| !value.is_null())
        .map(|(key, value)| {
            let text = match value {
                Value::String(text) => text,
                other => other.to_string(),
            };
            (key, text)
        })
        .collect()
}

/// The encoded `ServiceInfo` of a shared view, as gRPC answers and pushes carry it (the
/// plain service name).
pub(crate) fn service_info_bytes(view: &SharedView) -> std::sync::Arc<[u8]> {
    nacos_json::service_info_bytes(view, nacos_json::ServiceName::Plain)
}
