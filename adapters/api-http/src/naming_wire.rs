//! The registry's shapes on the HTTP API: instances read from form parameters (or a beat's
//! JSON); what is written out comes from `nacos-json`, shared with the gRPC API.

use std::collections::BTreeMap;

use domain::naming::{
    ClusterMeta, HealthChecker, InstanceAddress, InstanceDraft, InstancePatch, NamingError, ServiceKey,
};
use ports::naming::SharedView;
use serde::Deserialize;
use serde_json::Value;

use crate::error::ApiError;
use crate::params::Params;

/// The service a request names: `namespaceId`, `groupName`, `serviceName` (plain or
/// grouped).
pub(crate) fn service_key(params: &Params) -> Result<ServiceKey, ApiError> {
    Ok(ServiceKey::parse(params.get("namespaceId"), params.get("groupName"), params.get("serviceName"))?)
}

/// An instance described by form parameters (`enable` and `cluster` are the spellings
/// some clients use).
pub(crate) fn draft(params: &Params) -> Result<InstanceDraft, ApiError> {
    Ok(InstanceDraft {
        instance_id: params.get("instanceId").map(str::to_owned),
        ip: params.get("ip").map(str::to_owned),
        port: number(params, "port")?,
        weight: float(params, "weight")?,
        healthy: boolean(params, "healthy")?,
        enabled: boolean(params, "enabled")?.or(boolean(params, "enable")?),
        ephemeral: boolean(params, "ephemeral")?,
        cluster: cluster(params).map(str::to_owned),
        metadata: metadata(params.get("metadata"))?.unwrap_or_default(),
    })
}

/// The fields of an update that were given.
pub(crate) fn patch(params: &Params) -> Result<InstancePatch, ApiError> {
    Ok(InstancePatch {
        weight: float(params, "weight")?,
        healthy: boolean(params, "healthy")?,
        enabled: boolean(params, "enabled")?.or(boolean(params, "enable")?),
        metadata: metadata(params.get("metadata"))?,
    })
}

pub(crate) fn cluster(params: &Params) -> Option<&str> {
    params.get("clusterName").or_else(|| params.get("cluster"))
}

pub(crate) fn number(params: &Params, name: &'static str) -> Result<Option<i64>, ApiError> {
    params.get(name).map(|raw| raw.trim().parse::<i64>().map_err(|_| ApiError::NotANumber(name))).transpose()
}

pub(crate) fn float(params: &Params, name: &'static str) -> Result<Option<f64>, ApiError> {
    params
        .get(name)
        .map(|raw| raw.trim().parse::<f64>().ok().filter(|value| value.is_finite()).ok_or(ApiError::NotANumber(name)))
        .transpose()
}

pub(crate) fn boolean(params: &Params, name: &'static str) -> Result<Option<bool>, ApiError> {
    params
        .get(name)
        .map(|raw| match raw.trim().to_ascii_lowercase().as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(ApiError::NotABoolean(name)),
        })
        .transpose()
}

/// Metadata as Nacos accepts it: a JSON object, or `k=v,k2=v2`.
pub(crate) fn metadata(raw: Option<&str>) -> Result<Option<BTreeMap<String, String>>, ApiError> {
    let Some(raw) = raw.map(str::trim) else { return Ok(None) };
    if raw.starts_with('{') {
        let object: BTreeMap<String, Value> = serde_json::from_str(raw).map_err(|_| ApiError::BadMetadata)?;
        return Ok(Some(object.into_iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k, text_of(v))).collect()));
    }
    raw.split(',')
        .filter(|pair| !pair.trim().is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((key, value)) if !key.trim().is_empty() => Ok((key.trim().to_owned(), value.trim().to_owned())),
            _ => Err(ApiError::BadMetadata),
        })
        .collect::<Result<BTreeMap<_, _>, _>>()
        .map(Some)
}

fn text_of(value: Value) -> String {
    match value {
        Value::String(text) => text,
        other => other.to_string(),
    }
}

/// The `beat` parameter of `/instance/beat`: the instance the client beats for.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct Beat {
    service_name: Option<String>,
    ip: Option<String>,
    port: Option<i64>,
    cluster: Option<String>,
    weight: Option<f64>,
    metadata: Option<BTreeMap<String, Value>>,
    ephemeral: Option<bool>,
}

impl Beat {
    pub(crate) fn parse(raw: &str) -> Result<Self, ApiError> {
        serde_json::from_str(raw).map_err(|_| ApiError::BadBeat)
    }

    pub(crate) fn service_name(&self) -> Option<&str> {
        self.service_name.as_deref()
    }

    pub(crate) fn draft(&self) -> InstanceDraft {
        InstanceDraft {
            ip: self.ip.clone(),
            port: self.port,
            weight: self.weight,
            ephemeral: self.ephemeral,
            cluster: self.cluster.clone(),
            metadata: self
                .metadata
                .clone()
                .unwrap_or_default()
                .into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, text_of(v)))
                .collect(),
            ..InstanceDraft::default()
        }
    }
}

/// The encoded `ServiceInfo` of a shared view, as `/instance/list` answers it (the grouped
/// service name).
pub(crate) fn service_info_bytes(view: &SharedView) -> std::sync::Arc<[u8]> {
    nacos_json::service_info_bytes(view, nacos_json::ServiceName::Grouped)
}

/// A cluster's `healthChecker` parameter: `{"type":"HTTP","path":"/health","headers":"",
/// "expectedResponseCode":200}` (Java's `AbstractHealthChecker` JSON).
pub(crate) fn health_checker(raw: &str) -> Result<HealthChecker, ApiError> {
    let invalid = |reason: &str| {
        ApiError::Naming(domain::naming::NamingError::Invalid { param: "healthChecker", reason: reason.to_owned() })
    };
    let object: serde_json::Map<String, Value> =
        serde_json::from_str(raw.trim()).map_err(|_| invalid("must be a JSON object with a type"))?;
    let text = |name: &str| match object.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.as_str())),
        Some(_) => Err(invalid("type, path and headers must be strings")),
    };
    let kind = text("type")?.ok_or_else(|| invalid("must be a JSON object with a type"))?;
    let expected = match object.get("expectedResponseCode") {
        None | Some(Value::Null) => None,
        Some(code) => Some(code.as_i64().ok_or_else(|| invalid("expectedResponseCode must be a number"))?),
    };
    Ok(HealthChecker::from_parts(kind, text("path")?, text("headers")?, expected)?)
}

/// A cluster's settings as the service API shows them (Java's `Cluster` JSON).
pub(crate) fn cluster_json(name: &str, meta: &ClusterMeta) -> Value {
    let checker = match &meta.checker {
        HealthChecker::Http { path, headers, expected_code } => serde_json::json!({
            "type": "HTTP", "path": path, "headers": headers, "expectedResponseCode": expected_code,
        }),
        other => serde_json::json!({ "type": other.kind() }),
    };
    serde_json::json!({
        "name": name,
        "healthChecker": checker,
        "metadata": meta.metadata,
        "defaultCheckPort": meta.check_port,
        "useIPPort4Check": meta.use_instance_port,
    })
}

/// The `instances` of a metadata batch: a JSON array of `{"ip", "port", "clusterName"}`
/// (Java's `Instance` JSON); absent or empty names none.
pub(crate) fn batch_addresses(raw: Option<&str>) -> Result<Vec<InstanceAddress>, ApiError> {
    let Some(raw) = raw.map(str::trim).filter(|raw| !raw.is_empty()) else { return Ok(Vec::new()) };
    let invalid = |reason: String| ApiError::Naming(NamingError::Invalid { param: "instances", reason });
    let items: Vec<Value> =
        serde_json::from_str(raw).map_err(|_| invalid("must be a JSON array of instances".to_owned()))?;
    items
        .iter()
        .map(|item| {
            let port = item.get("port").and_then(Value::as_i64);
            let cluster = item.get("clusterName").and_then(Value::as_str);
            InstanceAddress::parse(item.get("ip").and_then(Value::as_str), port, cluster)
                .map_err(|err| invalid(format!("{item}: {err}")))
        })
        .collect()
}
