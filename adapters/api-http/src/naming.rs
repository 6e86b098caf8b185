//! The registry's HTTP API, v1 (`/nacos/v1/ns/...`) and v2 (`/nacos/v2/ns/...`).
//!
//! One filter takes every naming path and dispatches on method and path in plain code:
//! the operations are the same in both versions, only the answer's shape differs (v1:
//! `ok` or bare JSON; v2: the `{code, message, data}` envelope).

use std::net::IpAddr;
use std::sync::Arc;

use domain::config::Namespace;
use domain::naming::switches::SwitchKind;
use domain::naming::{
    ClusterMeta, ClusterName, InstanceAddress, MetadataEdit, NamingError, ProtectThreshold, Registrant, Selector,
    ServiceKey, ServiceMeta, Subscriber, SubscriberId, Switches, ViewQuery, DEFAULT_GROUP,
};
use domain::paging::{PageRequest, DEFAULT_NAMING_PAGE_SIZE};
use ports::cluster::Responsible;
use ports::naming::NamingServiceError;
use serde_json::{json, Value};
use warp::http::Method;
use warp::reply::{Reply, Response};
use warp::Filter;

use crate::config_v2;
use crate::configs::client_ip;
use crate::error::ApiError;
use crate::naming_wire::{self, boolean, cluster, draft, float, number, patch, service_key, Beat};
use crate::params::Params;
use crate::HttpApi;

/// Java Nacos's beat codes: OK, and "unknown instance, register again".
const BEAT_OK: u32 = 10200;
const BEAT_UNKNOWN: u32 = 20404;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    V1,
    V2,
    /// Nacos 3.x: `/nacos/v3/client/ns/*` (a client's own register, deregister, heartbeat
    /// and instance list) or `/nacos/v3/admin/ns/*` (the v2 operations); v2's envelope.
    V3 {
        admin: bool,
    },
}

/// What an operation answers, before the version gives it its shape.
pub(crate) enum Answer {
    Ok,
    Json(Value),
    /// Sent as is in both versions (the beat reply, which v2 does not wrap).
    Raw(Value),
    /// Pre-encoded JSON (a memoised `ServiceInfo`).
    Encoded(Arc<[u8]>),
}

/// One request's inputs.
pub(crate) struct Call {
    pub(crate) api: Arc<HttpApi>,
    pub(crate) params: Params,
    client_ip: String,
    version: Version,
}

pub(crate) fn routes(api: Arc<HttpApi>) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    let checked = crate::access::checked_params(&api);
    let with_api = warp::any().map(move || Arc::clone(&api));
    // `/nacos/v1/ns/...`, `/nacos/v2/ns/...`, and 3.x's `/nacos/v3/{client,admin}/ns/...`.
    let v1_v2 = warp::path("nacos").and(warp::path::param::<String>()).and(warp::path("ns"));
    let v3 = warp::path!("nacos" / "v3" / String / "ns" / ..).map(|audience: String| format!("v3/{audience}"));
    v1_v2
        .or(v3)
        .unify()
        .and(warp::path::tail())
        .and(warp::method())
        .and(checked.clone())
        .and(client_ip())
        .and(warp::header::optional::<String>("user-agent"))
        .and(with_api)
        .and_then(dispatch)
}

async fn dispatch(
    version: String,
    tail: warp::path::Tail,
    method: Method,
    params: Params,
    client_ip: String,
    agent: Option<String>,
    api: Arc<HttpApi>,
) -> Result<Response, warp::Rejection> {
    let version_name = version;
    let version = match version_name.as_str() {
        "v1" => Version::V1,
        "v2" => Version::V2,
        "v3/client" => Version::V3 { admin: false },
        "v3/admin" => Version::V3 { admin: true },
        _ => return Err(warp::reject::not_found()),
    };
    let path = tail.as_str().trim_end_matches('/');
    if version == (Version::V3 { admin: false }) && !V3_CLIENT_PATHS.contains(&(method.as_str(), path)) {
        return Err(warp::reject::not_found());
    }
    let call = Call { api, params, client_ip, version };
    if let Some((node, http_addr)) = relay_to(&call, &method, path, agent.as_deref()) {
        let full_path = format!("/nacos/{version_name}/ns/{path}");
        match call.api.relay.relay(&http_addr, &method, &full_path, &call.params).await {
            Ok(answer) => {
                if answer.status().is_success() {
                    mirror_relayed(&call, &method, path, node).await;
                }
                return Ok(answer);
            }
            Err(reason) => tracing::warn!(reason, "a registry write is handled here instead"),
        }
    }
    let answer = match (&method, path) {
        (&Method::POST, "instance") if version == (Version::V3 { admin: false }) && is_heartbeat(&call)? => {
            v3_heartbeat(&call)
        }
        (&Method::GET, "instance/list") if matches!(version, Version::V3 { .. }) => v3_instances(&call),
        (&Method::POST, "instance") => register(&call).await,
        (&Method::DELETE, "instance") => deregister(&call).await,
        (&Method::PUT | &Method::PATCH, "instance") => update(&call).await,
        (&Method::PUT, "instance/metadata/batch") => batch_metadata(&call, MetadataEdit::Put).await,
        (&Method::DELETE, "instance/metadata/batch") => batch_metadata(&call, MetadataEdit::Remove).await,
        (&Method::GET, "instance") => instance(&call),
        (&Method::GET, "instance/list") => list(&call),
        (&Method::PUT, "instance/beat") => beat(&call),
        (&Method::POST, "service") => create_service(&call).await,
        (&Method::PUT, "service") => update_service(&call).await,
        (&Method::DELETE, "service") => remove_service(&call).await,
        (&Method::PUT, "cluster") => update_cluster(&call).await,
        (&Method::GET, "service" | "catalog/service") => service(&call),
        (&Method::GET, "service/list") => service_list(&call),
        (&Method::GET, "service/subscribers") => subscribers(&call),
        (&Method::GET, "catalog/services") => catalog_services(&call),
        (&Method::GET | &Method::POST, "catalog/instances") => catalog_instances(&call),
        (&Method::PUT, "health/instance" | "health") => set_health(&call).await,
        // 3.x's admin API calls the operator paths `ops/...`.
        (&Method::GET, "operator/metrics") => metrics(&call),
        (&Method::GET, "ops/metrics") if version == (Version::V3 { admin: true }) => metrics(&call),
        (&Method::GET, "operator/switches") => Ok(Answer::Json(switches_json(&call.api.queries.switches()))),
        (&Method::GET, "ops/switches") if version == (Version::V3 { admin: true }) => {
            Ok(Answer::Json(switches_json(&call.api.queries.switches())))
        }
        (&Method::PUT, "operator/switches") => set_switch(&call).await,
        (&Method::PUT, "ops/switches") if version == (Version::V3 { admin: true }) => set_switch(&call).await,
        (&Method::GET, path) if path == "client" || path.starts_with("client/") => {
            match crate::naming_clients::answer(&call, path) {
                Some(answer) => answer,
                None => return Err(warp::reject::not_found()),
            }
        }
        (&Method::GET, "health/server") => Ok(Answer::Raw(json!({
            "msg": format!("Hello! I am Nacos-Naming and healthy! total services: {}", call.api.queries.metrics().service_count)
        }))),
        _ => return Err(warp::reject::not_found()),
    };
    Ok(render(version, answer))
}

/// The HTTP address of the node responsible for this write's client, when it is another
/// node (Distro's routing): writes of ephemeral instances, beats and health, keyed by the
/// instance's `ip:port` (for a beat without them, the `beat` JSON's). A write another node
/// already passed on is handled here.
fn relay_to(call: &Call, method: &Method, path: &str, agent: Option<&str>) -> Option<(u64, String)> {
    let routed = matches!(
        (method, path),
        (&Method::POST | &Method::DELETE | &Method::PUT | &Method::PATCH, "instance")
            | (&Method::PUT, "instance/beat" | "health/instance" | "health")
    );
    if !routed || agent.is_some_and(|agent| agent.starts_with(crate::relay::RELAYED_AGENT)) {
        return None;
    }
    let params = &call.params;
    if params.get("ephemeral").is_some_and(|ephemeral| ephemeral.eq_ignore_ascii_case("false")) {
        return None;
    }
    let tag = match (params.get("ip"), params.get("port")) {
        (Some(ip), port) => format!("{ip}:{}", port.unwrap_or("0")),
        (None, _) => {
            let beat: Value = serde_json::from_str(params.get("beat")?).ok()?;
            format!("{}:{}", beat["ip"].as_str()?, beat["port"].as_u64()?)
        }
    };
    match call.api.cluster.responsible_for(&tag) {
        Responsible::Peer { node_id, http_addr } => Some((node_id, http_addr)),
        Responsible::Here => None,
    }
}

/// After node `node` took a registration or a deregistration for its client, the same
/// change here at once, so the client reads its write on the node it wrote to (that node's
/// next sync confirms it). Beats and updates change nothing a list shows.
async fn mirror_relayed(call: &Call, method: &Method, path: &str, node: u64) {
    let done = match (method, path) {
        (&Method::POST, "instance") => match (service_key(&call.params), draft(&call.params)) {
            (Ok(service), Ok(draft)) => {
                call.api.registry.record_relayed(node, &service, &draft).map_err(ApiError::from)
            }
            (Err(err), _) | (_, Err(err)) => Err(err),
        },
        (&Method::DELETE, "instance") => deregister(call).await.map(|_| ()),
        _ => Ok(()),
    };
    if let Err(err) = done {
        tracing::debug!(cause = %err, "a relayed write was not mirrored here");
    }
}

fn render(version: Version, answer: Result<Answer, ApiError>) -> Response {
    let json_bytes = |bytes: bytes::Bytes| {
        let mut response = Response::new(bytes.into());
        response.headers_mut().insert("content-type", warp::http::HeaderValue::from_static("application/json"));
        response
    };
    match (version, answer) {
        (Version::V1, Ok(Answer::Ok)) => crate::error::text("ok".to_owned()).into_response(),
        (Version::V1, Ok(Answer::Json(value) | Answer::Raw(value)))
        | (Version::V2 | Version::V3 { .. }, Ok(Answer::Raw(value))) => warp::reply::json(&value).into_response(),
        // The memoised encoding is shared, not copied, into the response body.
        (Version::V1, Ok(Answer::Encoded(bytes))) => json_bytes(bytes::Bytes::from_owner(bytes)),
        (Version::V2 | Version::V3 { .. }, Ok(Answer::Ok)) => {
            warp::reply::json(&json!({"code": 0, "message": "success", "data": "ok"})).into_response()
        }
        (Version::V2 | Version::V3 { .. }, Ok(Answer::Json(data))) => {
            warp::reply::json(&json!({"code": 0, "message": "success", "data": data})).into_response()
        }
        (Version::V2 | Version::V3 { .. }, Ok(Answer::Encoded(bytes))) => {
            let mut body = br#"{"code":0,"message":"success","data":"#.to_vec();
            body.extend_from_slice(&bytes);
            body.push(b'}');
            json_bytes(body.into())
        }
        (Version::V1, Err(err)) => err.into_response(),
        (Version::V2 | Version::V3 { .. }, Err(err)) => config_v2::failure(err),
    }
}

// ---- switches -----------------------------------------------------------------------------

/// `GET /operator/switches`: every switch with its value, typed, with Java's name for the
/// whole (what consoles and scripts read).
fn switches_json(switches: &Switches) -> Value {
    let mut body = serde_json::Map::new();
    body.insert("name".to_owned(), "00-00---000-NACOS_SWITCH_DOMAIN-000---00-00".into());
    for (switch, value) in switches.all() {
        let typed = match switch.kind {
            SwitchKind::Bool => Value::Bool(value == "true"),
            SwitchKind::Int => value.parse::<i64>().map_or(Value::Null, Value::from),
            SwitchKind::Float => value.parse::<f64>().map_or(Value::Null, Value::from),
            SwitchKind::Text => Value::from(value),
        };
        body.insert(switch.name.to_owned(), typed);
    }
    Value::Object(body)
}

/// `PUT /operator/switches?entry=...&value=...`: sets one switch cluster-wide (`debug`, which
/// in Java changes only the node asked, is not honoured: a switch is the same everywhere).
async fn set_switch(call: &Call) -> Result<Answer, ApiError> {
    let entry = call.params.get("entry").ok_or(ApiError::MissingParam("entry"))?;
    let value = call.params.get("value").ok_or(ApiError::MissingParam("value"))?;
    call.api.registry.set_switch(entry, value).await?;
    Ok(Answer::Ok)
}

// ---- instances ----------------------------------------------------------------------------

/// What 3.x's client API serves (Java's `InstanceOpenApiController`).
const V3_CLIENT_PATHS: [(&str, &str); 3] = [("POST", "instance"), ("DELETE", "instance"), ("GET", "instance/list")];

fn is_heartbeat(call: &Call) -> Result<bool, ApiError> {
    Ok(boolean(&call.params, "heartBeat")?.unwrap_or(false))
}

/// 3.x's `heartBeat=true` register: a beat; an unknown instance answers 21003 (register
/// again), as Java's.
fn v3_heartbeat(call: &Call) -> Result<Answer, ApiError> {
    let service = service_key(&call.params)?;
    let address = address(&call.params)?;
    let reply = call.api.registry.beat(&service, &address, None)?;
    if !reply.known {
        return Err(ApiError::HeartbeatUnknown);
    }
    Ok(Answer::Ok)
}

/// 3.x's instance list: the instances themselves (enabled ones, healthy or not), not a
/// `ServiceInfo`.
fn v3_instances(call: &Call) -> Result<Answer, ApiError> {
    let service = service_key(&call.params)?;
    let clusters = call.params.get("clusterName").or_else(|| call.params.get("clusters")).unwrap_or("");
    let healthy_only = boolean(&call.params, "healthyOnly")?.unwrap_or(false);
    let query = ViewQuery::new(clusters.trim(), healthy_only, Some(&call.client_ip));
    let view = call.api.queries.view(&service, &query);
    let hosts: Vec<Value> = view.hosts.iter().map(|instance| nacos_json::instance(instance, &service)).collect();
    Ok(Answer::Json(Value::Array(hosts)))
}

async fn register(call: &Call) -> Result<Answer, ApiError> {
    let service = service_key(&call.params)?;
    let draft = draft(&call.params)?;
    call.api.registry.register(Registrant::Http, &service, &draft).await?;
    Ok(Answer::Ok)
}

async fn deregister(call: &Call) -> Result<Answer, ApiError> {
    let service = service_key(&call.params)?;
    let address = address(&call.params)?;
    let ephemeral = boolean(&call.params, "ephemeral")?.unwrap_or(true);
    call.api.registry.deregister(&service, &address, ephemeral).await?;
    Ok(Answer::Ok)
}

async fn update(call: &Call) -> Result<Answer, ApiError> {
    let service = service_key(&call.params)?;
    let address = address(&call.params)?;
    let ephemeral = boolean(&call.params, "ephemeral")?.unwrap_or(true);
    let patch = patch(&call.params)?;
    let draft = draft(&call.params)?;
    call.api.registry.update_or_register(&service, &address, ephemeral, &patch, &draft).await?;
    Ok(Answer::Ok)
}

/// `PUT`/`DELETE /instance/metadata/batch`: adds or removes metadata on the named instances
/// of one kind (`consistencyType=persist`, else ephemeral), or on all of them when
/// `instances` names none. Answers Java's `updated` list (`ip:port:unknown:cluster:kind`).
async fn batch_metadata(call: &Call, edit: MetadataEdit) -> Result<Answer, ApiError> {
    let params = &call.params;
    let service = service_key(params)?;
    let ephemeral = params.get("consistencyType").map(str::trim) != Some("persist");
    let addresses = naming_wire::batch_addresses(params.get("instances"))?;
    let pairs = naming_wire::metadata(Some(params.get("metadata").ok_or(ApiError::MissingParam("metadata"))?))?
        .unwrap_or_default();
    let edited = call.api.registry.batch_metadata(&service, ephemeral, addresses, edit, pairs).await?;
    let kind = if ephemeral { "ephemeral" } else { "persist" };
    let updated: Vec<String> = edited
        .iter()
        .map(|instance| format!("{}:{}:unknown:{}:{kind}", instance.ip, instance.port, instance.cluster.as_str()))
        .collect();
    Ok(Answer::Json(json!({ "updated": updated })))
}

/// The instance a request names by `ip`, `port` and `clusterName` (or `cluster`).
fn address(params: &Params) -> Result<InstanceAddress, ApiError> {
    Ok(InstanceAddress::parse(params.get("ip"), number(params, "port")?, cluster(params))?)
}

fn instance(call: &Call) -> Result<Answer, ApiError> {
    let service = service_key(&call.params)?;
    let address = address(&call.params)?;
    let cluster = cluster(&call.params).map(|_| address.cluster.clone());
    let found =
        call.api.queries.instance(&service, &address.ip, address.port, cluster).ok_or(ApiError::InstanceNotFound)?;
    let mut body = json!({
        "service": service.grouped_name(),
        "ip": found.ip,
        "port": found.port,
        "clusterName": found.cluster.as_str(),
        "weight": found.weight.value(),
        "healthy": found.healthy,
        "instanceId": found.id(&service),
        "metadata": found.metadata.as_map(),
    });
    if call.version != Version::V1 {
        body["serviceName"] = body["service"].take();
        if let Value::Object(map) = &mut body {
            map.remove("service");
        }
    }
    Ok(Answer::Json(body))
}

/// `/instance/list`: the 1.x read, and its UDP subscription when `udpPort` is given.
fn list(call: &Call) -> Result<Answer, ApiError> {
    let service = service_key(&call.params)?;
    let clusters = call.params.get("clusters").or_else(|| call.params.get("clusterName")).unwrap_or("");
    let consumer = call.params.get("clientIP").unwrap_or(&call.client_ip).trim();
    let healthy_only = boolean(&call.params, "healthyOnly")?.unwrap_or(false);
    let query = ViewQuery::new(clusters.trim(), healthy_only, Some(consumer));
    if let Some(udp_port) = number(&call.params, "udpPort")?.filter(|port| *port > 0) {
        let ip = call.params.get("clientIP").unwrap_or(&call.client_ip).trim().to_owned();
        let port = u16::try_from(udp_port).map_err(|_| ApiError::NotANumber("udpPort"))?;
        if ip.parse::<IpAddr>().is_ok() {
            let subscriber = Subscriber {
                clusters: query.clusters.clone(),
                client_ip: ip.clone(),
                app: call.params.get("app").unwrap_or_default().to_owned(),
            };
            call.api.subscriptions.refresh_udp(SubscriberId::Udp { ip, port }, &service, subscriber);
        }
    }
    let view = call.api.queries.view(&service, &query);
    Ok(Answer::Encoded(naming_wire::service_info_bytes(&view)))
}

fn beat(call: &Call) -> Result<Answer, ApiError> {
    let beat = call.params.get("beat").map(Beat::parse).transpose()?;
    let service_param = call.params.get("serviceName").or_else(|| beat.as_ref().and_then(Beat::service_name));
    let service = ServiceKey::parse(call.params.get("namespaceId"), call.params.get("groupName"), service_param)?;
    let full = beat.as_ref().map(Beat::draft);
    let ip = call.params.get("ip").or_else(|| full.as_ref().and_then(|d| d.ip.as_deref()));
    let port = number(&call.params, "port")?.or_else(|| full.as_ref().and_then(|d| d.port));
    let cluster_name = cluster(&call.params).or_else(|| full.as_ref().and_then(|d| d.cluster.as_deref()));
    let address = InstanceAddress::parse(ip, port, cluster_name)?;
    let reply = call.api.registry.beat(&service, &address, full)?;
    Ok(Answer::Raw(json!({
        "clientBeatInterval": reply.interval,
        "code": if reply.known { BEAT_OK } else { BEAT_UNKNOWN },
        "lightBeatEnabled": true,
    })))
}

async fn set_health(call: &Call) -> Result<Answer, ApiError> {
    let service = service_key(&call.params)?;
    let address = address(&call.params)?;
    let healthy = boolean(&call.params, "healthy")?
        .or(boolean(&call.params, "valid")?)
        .ok_or(ApiError::MissingParam("healthy"))?;
    call.api.registry.set_health(&service, &address, healthy).await?;
    Ok(Answer::Ok)
}

// ---- services -----------------------------------------------------------------------------

/// The service API's metadata fields. v1 creates persistent services; v2 takes
/// `ephemeral` (default false as well).
fn service_meta(params: &Params) -> Result<ServiceMeta, ApiError> {
    let threshold = float(params, "protectThreshold")?.unwrap_or(0.0);
    let selector = match params.get("selector") {
        Some(raw) => {
            let value: Value = serde_json::from_str(raw).map_err(|_| ApiError::BadSelector)?;
            Selector::from_parts(
                value.get("type").and_then(Value::as_str),
                value.get("expression").and_then(Value::as_str),
            )?
        }
        None => Selector::None,
    };
    Ok(ServiceMeta {
        protect_threshold: ProtectThreshold::new(threshold)?,
        metadata: naming_wire::metadata(params.get("metadata"))?.unwrap_or_default(),
        selector,
        ephemeral: boolean(params, "ephemeral")?.unwrap_or(false),
        ..ServiceMeta::default()
    })
}

async fn create_service(call: &Call) -> Result<Answer, ApiError> {
    let service = service_key(&call.params)?;
    call.api.registry.create_service(&service, service_meta(&call.params)?).await?;
    Ok(Answer::Ok)
}

async fn update_service(call: &Call) -> Result<Answer, ApiError> {
    let service = service_key(&call.params)?;
    if call.version == Version::V1 && call.params.get("protectThreshold").is_none() {
        return Err(ApiError::MissingParam("protectThreshold"));
    }
    call.api.registry.update_service(&service, service_meta(&call.params)?).await?;
    Ok(Answer::Ok)
}

/// `PUT /ns/cluster`: a cluster's health checker, check port and metadata. Java requires
/// every parameter but the metadata.
async fn update_cluster(call: &Call) -> Result<Answer, ApiError> {
    let params = &call.params;
    let service = service_key(params)?;
    let name = params.get("clusterName").ok_or(ApiError::MissingParam("clusterName"))?;
    let cluster = ClusterName::new(name)?;
    let check_port = number(params, "checkPort")?.ok_or(ApiError::MissingParam("checkPort"))?;
    let check_port = u16::try_from(check_port).map_err(|_| {
        ApiError::Naming(NamingError::Invalid { param: "checkPort", reason: "must be a port (0-65535)".to_owned() })
    })?;
    let use_instance_port =
        boolean(params, "useInstancePort4Check")?.ok_or(ApiError::MissingParam("useInstancePort4Check"))?;
    let checker =
        naming_wire::health_checker(params.get("healthChecker").ok_or(ApiError::MissingParam("healthChecker"))?)?;
    let metadata = naming_wire::metadata(params.get("metadata"))?.unwrap_or_default();
    let meta = ClusterMeta { checker, check_port, use_instance_port, metadata };
    call.api.registry.update_cluster(&service, &cluster, meta).await?;
    Ok(Answer::Ok)
}

async fn remove_service(call: &Call) -> Result<Answer, ApiError> {
    let service = service_key(&call.params)?;
    call.api.registry.remove_service(&service).await?;
    Ok(Answer::Ok)
}

fn service(call: &Call) -> Result<Answer, ApiError> {
    let service = service_key(&call.params)?;
    let summary =
        call.api.queries.service(&service).ok_or_else(|| ApiError::ServiceNotFound(service.grouped_name()))?;
    let meta = summary.meta.unwrap_or_default();
    let selector = selector_json(&meta.selector);
    // Clusters with instances, and those given settings before any instance joined.
    let mut names: Vec<&str> = summary.clusters.iter().map(String::as_str).collect();
    names.extend(meta.clusters.keys().map(String::as_str));
    names.sort_unstable();
    names.dedup();
    let default = ClusterMeta::default();
    let cluster_of = |name: &str| naming_wire::cluster_json(name, meta.clusters.get(name).unwrap_or(&default));
    let clusters: Vec<Value> = names.iter().map(|name| cluster_of(name)).collect();
    Ok(Answer::Json(match call.version {
        Version::V1 => json!({
            "namespaceId": service.namespace.as_str(),
            "groupName": service.group.as_str(),
            "name": service.name.as_str(),
            "protectThreshold": meta.protect_threshold.value(),
            "metadata": meta.metadata,
            "selector": selector,
            "clusters": clusters,
        }),
        Version::V2 | Version::V3 { .. } => json!({
            "namespace": service.namespace.as_str(),
            "groupName": service.group.as_str(),
            "serviceName": service.name.as_str(),
            "clusterMap": names.iter().map(|name| ((*name).to_owned(), cluster_of(name))).collect::<serde_json::Map<_, _>>(),
            "metadata": meta.metadata,
            "protectThreshold": meta.protect_threshold.value(),
            "selector": selector,
            "ephemeral": meta.ephemeral,
        }),
    }))
}

fn selector_json(selector: &Selector) -> Value {
    match selector {
        Selector::None => json!({ "type": "none", "contextType": "NONE" }),
        Selector::Label { expression } => json!({ "type": "label", "expression": expression }),
    }
}

/// The page a naming list asks for.
fn page(params: &Params) -> Result<PageRequest, ApiError> {
    Ok(PageRequest::new(number(params, "pageNo")?, number(params, "pageSize")?, DEFAULT_NAMING_PAGE_SIZE))
}

fn namespace(params: &Params) -> Result<Namespace, ApiError> {
    Namespace::new(params.get("namespaceId").unwrap_or("")).map_err(|err| ApiError::Naming(err.into()))
}

fn service_list(call: &Call) -> Result<Answer, ApiError> {
    let group = call.params.get("groupName").unwrap_or(DEFAULT_GROUP);
    let page = call.api.queries.services(&namespace(&call.params)?, Some(group.to_owned()), "", page(&call.params)?);
    let names: Vec<&str> = page.items.iter().map(|s| s.service.name.as_str()).collect();
    Ok(Answer::Json(match call.version {
        Version::V1 => json!({ "count": page.total, "doms": names }),
        Version::V2 | Version::V3 { .. } => json!({ "count": page.total, "services": names }),
    }))
}

fn subscribers(call: &Call) -> Result<Answer, ApiError> {
    let service = service_key(&call.params)?;
    let page = call.api.subscriptions.subscribers(&service, page(&call.params)?);
    let listed: Vec<Value> = page
        .items
        .iter()
        .map(|(id, subscriber)| {
            let (address, port) = match id {
                SubscriberId::Connection(connection) => (connection.as_str().to_owned(), 0),
                SubscriberId::Udp { ip, port } => (format!("{ip}:{port}"), *port),
            };
            json!({
                "addrStr": address,
                "ip": subscriber.client_ip,
                "port": port,
                "app": subscriber.app,
                "cluster": subscriber.clusters,
                "namespaceId": service.namespace.as_str(),
                "serviceName": service.grouped_name(),
            })
        })
        .collect();
    Ok(Answer::Json(json!({ "subscribers": listed, "count": page.total })))
}

fn catalog_services(call: &Call) -> Result<Answer, ApiError> {
    let group = call.params.get("groupNameParam").map(str::to_owned);
    let name_filter = call.params.get("serviceNameParam").unwrap_or("");
    let page = call.api.queries.services(&namespace(&call.params)?, group, name_filter, page(&call.params)?);
    let list: Vec<Value> = page
        .items
        .iter()
        .map(|summary| {
            json!({
                "name": summary.service.name.as_str(),
                "groupName": summary.service.group.as_str(),
                "clusterCount": summary.clusters.len(),
                "ipCount": summary.instance_count,
                "healthyInstanceCount": summary.healthy_count,
                "triggerFlag": summary.protect_triggered.to_string(),
            })
        })
        .collect();
    Ok(Answer::Json(json!({ "count": page.total, "serviceList": list })))
}

fn catalog_instances(call: &Call) -> Result<Answer, ApiError> {
    let service = service_key(&call.params)?;
    let cluster = cluster(&call.params).map(str::to_owned);
    let page = call.api.queries.instances(&service, cluster, page(&call.params)?);
    let list: Vec<Value> = page.items.iter().map(|i| nacos_json::instance(i, &service)).collect();
    Ok(Answer::Json(json!({ "list": list, "count": page.total })))
}

fn metrics(call: &Call) -> Result<Answer, ApiError> {
    let only_status = boolean(&call.params, "onlyStatus")?.unwrap_or(true);
    if only_status {
        return Ok(Answer::Json(json!({ "status": "UP" })));
    }
    let metrics = call.api.queries.metrics();
    Ok(Answer::Json(json!({
        "status": "UP",
        "serviceCount": metrics.service_count,
        "instanceCount": metrics.instance_count,
        "subscribeCount": metrics.subscriber_count,
        "clientCount": metrics.client_count,
        "responsibleInstanceCount": metrics.instance_count,
        "persistentIpPortClientCount": metrics.persistent_instance_count,
    })))
}

impl From<NamingServiceError> for ApiError {
    fn from(err: NamingServiceError) -> Self {
        match err {
            NamingServiceError::Invalid(err) => Self::Naming(err),
            NamingServiceError::Rejected(rejection) => Self::NamingRejected(rejection),
            // Java Nacos's wording.
            NamingServiceError::InstanceNotFound { service, ip, port } => {
                Self::NamingNotFound(format!("no matched ip found! {ip}:{port} in {service}"))
            }
            NamingServiceError::ServiceNotFound(service) => Self::ServiceNotFound(service),
            NamingServiceError::Unavailable(err) => err.into(),
        }
    }
}
