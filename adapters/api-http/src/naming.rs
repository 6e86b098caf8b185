//! The registry's HTTP API, v1 (`/nacos/v1/ns/...`) and v2 (`/nacos/v2/ns/...`).
//!
//! One filter takes every naming path and dispatches on method and path in plain code:
//! the operations are the same in both versions, only the answer's shape differs (v1:
//! `ok` or bare JSON; v2: the `{code, message, data}` envelope).

use std::net::IpAddr;
use std::sync::Arc;

use domain::config::Namespace;
use domain::naming::{
    validate_address, Owner, ProtectThreshold, Selector, ServiceKey, ServiceMeta, Subscriber, SubscriberId, ViewQuery,
};
use ports::naming::NamingServiceError;
use serde_json::{json, Value};
use warp::http::Method;
use warp::reply::{Reply, Response};
use warp::Filter;

use crate::config_v2;
use crate::configs::client_ip;
use crate::error::ApiError;
use crate::naming_wire::{self, boolean, cluster, draft, float, number, patch, service_key, Beat};
use crate::params::{params, Params};
use crate::HttpApi;

/// Java Nacos's beat codes: OK, and "unknown instance, register again".
const BEAT_OK: u32 = 10200;
const BEAT_UNKNOWN: u32 = 20404;
/// Largest page the service lists answer.
const MAX_PAGE_SIZE: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    V1,
    V2,
}

/// What an operation answers, before the version gives it its shape.
enum Answer {
    Ok,
    Json(Value),
    /// Sent as is in both versions (the beat reply, which v2 does not wrap).
    Raw(Value),
    /// Pre-encoded JSON (a memoised `ServiceInfo`).
    Encoded(Arc<[u8]>),
}

/// One request's inputs.
struct Call {
    api: Arc<HttpApi>,
    params: Params,
    client_ip: String,
    version: Version,
}

pub(crate) fn routes(api: Arc<HttpApi>) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    let limit = api.max_body_bytes;
    let with_api = warp::any().map(move || Arc::clone(&api));
    warp::path("nacos")
        .and(warp::path::param::<String>())
        .and(warp::path("ns"))
        .and(warp::path::tail())
        .and(warp::method())
        .and(params(limit))
        .and(client_ip())
        .and(with_api)
        .and_then(dispatch)
}

async fn dispatch(
    version: String,
    tail: warp::path::Tail,
    method: Method,
    params: Params,
    client_ip: String,
    api: Arc<HttpApi>,
) -> Result<Response, warp::Rejection> {
    let version = match version.as_str() {
        "v1" => Version::V1,
        "v2" => Version::V2,
        _ => return Err(warp::reject::not_found()),
    };
    let call = Call { api, params, client_ip, version };
    let path = tail.as_str().trim_end_matches('/');
    let answer = match (&method, path) {
        (&Method::POST, "instance") => register(&call).await,
        (&Method::DELETE, "instance") => deregister(&call).await,
        (&Method::PUT | &Method::PATCH, "instance") => update(&call).await,
        (&Method::GET, "instance") => instance(&call),
        (&Method::GET, "instance/list") => list(&call),
        (&Method::PUT, "instance/beat") => beat(&call),
        (&Method::POST, "service") => create_service(&call).await,
        (&Method::PUT, "service") => update_service(&call).await,
        (&Method::DELETE, "service") => remove_service(&call).await,
        (&Method::GET, "service" | "catalog/service") => service(&call),
        (&Method::GET, "service/list") => service_list(&call),
        (&Method::GET, "service/subscribers") => subscribers(&call),
        (&Method::GET, "catalog/services") => catalog_services(&call),
        (&Method::GET | &Method::POST, "catalog/instances") => catalog_instances(&call),
        (&Method::PUT, "health/instance" | "health") => set_health(&call).await,
        (&Method::GET, "operator/metrics") => metrics(&call),
        (&Method::GET, "health/server") => Ok(Answer::Raw(json!({
            "msg": format!("Hello! I am Nacos-Naming and healthy! total services: {}", call.api.naming.metrics().service_count)
        }))),
        _ => return Err(warp::reject::not_found()),
    };
    Ok(render(version, answer))
}

fn render(version: Version, answer: Result<Answer, ApiError>) -> Response {
    let json_bytes = |bytes: bytes::Bytes| {
        let mut response = Response::new(bytes.into());
        response.headers_mut().insert("content-type", warp::http::HeaderValue::from_static("application/json"));
        response
    };
    match (version, answer) {
        (Version::V1, Ok(Answer::Ok)) => crate::error::text("ok".to_owned()).into_response(),
        (Version::V1, Ok(Answer::Json(value) | Answer::Raw(value))) | (Version::V2, Ok(Answer::Raw(value))) => {
            warp::reply::json(&value).into_response()
        }
        // The memoised encoding is shared, not copied, into the response body.
        (Version::V1, Ok(Answer::Encoded(bytes))) => json_bytes(bytes::Bytes::from_owner(bytes)),
        (Version::V2, Ok(Answer::Ok)) => {
            warp::reply::json(&json!({"code": 0, "message": "success", "data": "ok"})).into_response()
        }
        (Version::V2, Ok(Answer::Json(data))) => {
            warp::reply::json(&json!({"code": 0, "message": "success", "data": data})).into_response()
        }
        (Version::V2, Ok(Answer::Encoded(bytes))) => {
            let mut body = br#"{"code":0,"message":"success","data":"#.to_vec();
            body.extend_from_slice(&bytes);
            body.push(b'}');
            json_bytes(body.into())
        }
        (Version::V1, Err(err)) => err.into_response(),
        (Version::V2, Err(err)) => config_v2::failure(err),
    }
}

// ---- instances ----------------------------------------------------------------------------

async fn register(call: &Call) -> Result<Answer, ApiError> {
    let service = service_key(&call.params)?;
    let draft = draft(&call.params)?;
    if draft.ephemeral == Some(false) {
        call.api.naming.register_persistent(&service, &draft).await?;
    } else {
        let (ip, port, _) = validate_address(draft.ip.as_deref(), draft.port, None)?;
        call.api.naming.register_ephemeral(Owner::Beats { ip, port }, &service, &draft)?;
    }
    Ok(Answer::Ok)
}

async fn deregister(call: &Call) -> Result<Answer, ApiError> {
    let service = service_key(&call.params)?;
    let (ip, port, cluster) =
        validate_address(call.params.get("ip"), number(&call.params, "port")?, cluster(&call.params))?;
    if boolean(&call.params, "ephemeral")? == Some(false) {
        call.api.naming.deregister_persistent(&service, &ip, port, &cluster).await?;
    } else {
        call.api.naming.deregister_ephemeral(&service, &ip, port, &cluster);
    }
    Ok(Answer::Ok)
}

async fn update(call: &Call) -> Result<Answer, ApiError> {
    let service = service_key(&call.params)?;
    let (ip, port, cluster) =
        validate_address(call.params.get("ip"), number(&call.params, "port")?, cluster(&call.params))?;
    let ephemeral = boolean(&call.params, "ephemeral")?.unwrap_or(true);
    let patch = patch(&call.params)?;
    let draft = draft(&call.params)?;
    call.api.naming.update_or_register(&service, (&ip, port, &cluster), ephemeral, &patch, &draft).await?;
    Ok(Answer::Ok)
}

fn instance(call: &Call) -> Result<Answer, ApiError> {
    let service = service_key(&call.params)?;
    let cluster_param = cluster(&call.params);
    let (ip, port, cluster) = validate_address(call.params.get("ip"), number(&call.params, "port")?, cluster_param)?;
    let cluster = cluster_param.map(|_| &cluster);
    let found = call.api.naming.instance(&service, &ip, port, cluster).ok_or(ApiError::InstanceNotFound)?;
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
    if call.version == Version::V2 {
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
    let query = ViewQuery {
        clusters: clusters.trim().to_owned(),
        healthy_only: boolean(&call.params, "healthyOnly")?.unwrap_or(false),
    };
    if let Some(udp_port) = number(&call.params, "udpPort")?.filter(|port| *port > 0) {
        let ip = call.params.get("clientIP").unwrap_or(&call.client_ip).trim().to_owned();
        let port = u16::try_from(udp_port).map_err(|_| ApiError::NotANumber("udpPort"))?;
        if ip.parse::<IpAddr>().is_ok() {
            let subscriber = Subscriber {
                clusters: query.clusters.clone(),
                client_ip: ip.clone(),
                app: call.params.get("app").unwrap_or_default().to_owned(),
                refreshed: domain::Millis::default(),
            };
            call.api.naming.refresh_udp(SubscriberId::Udp { ip, port }, &service, subscriber);
        }
    }
    let view = call.api.naming.view(&service, &query);
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
    let (ip, port, cluster) = validate_address(ip, port, cluster_name)?;
    let reply = call.api.naming.beat(&service, (&ip, port, &cluster), full.as_ref())?;
    Ok(Answer::Raw(json!({
        "clientBeatInterval": reply.interval,
        "code": if reply.known { BEAT_OK } else { BEAT_UNKNOWN },
        "lightBeatEnabled": true,
    })))
}

async fn set_health(call: &Call) -> Result<Answer, ApiError> {
    let service = service_key(&call.params)?;
    let (ip, port, cluster) =
        validate_address(call.params.get("ip"), number(&call.params, "port")?, cluster(&call.params))?;
    let healthy = boolean(&call.params, "healthy")?
        .or(boolean(&call.params, "valid")?)
        .ok_or(ApiError::MissingParam("healthy"))?;
    call.api.naming.set_health(&service, (&ip, port, &cluster), healthy).await?;
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
    call.api.naming.create_service(&service, service_meta(&call.params)?).await?;
    Ok(Answer::Ok)
}

async fn update_service(call: &Call) -> Result<Answer, ApiError> {
    let service = service_key(&call.params)?;
    if call.version == Version::V1 && call.params.get("protectThreshold").is_none() {
        return Err(ApiError::MissingParam("protectThreshold"));
    }
    call.api.naming.update_service(&service, service_meta(&call.params)?).await?;
    Ok(Answer::Ok)
}

async fn remove_service(call: &Call) -> Result<Answer, ApiError> {
    let service = service_key(&call.params)?;
    call.api.naming.remove_service(&service).await?;
    Ok(Answer::Ok)
}

fn service(call: &Call) -> Result<Answer, ApiError> {
    let service = service_key(&call.params)?;
    let summary = call.api.naming.service(&service).ok_or_else(|| ApiError::ServiceNotFound(service.grouped_name()))?;
    let meta = summary.meta.unwrap_or_default();
    let selector = selector_json(&meta.selector);
    let clusters: Vec<Value> = summary
        .clusters
        .iter()
        .map(|name| json!({ "name": name, "healthChecker": { "type": "TCP" }, "metadata": {} }))
        .collect();
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
        Version::V2 => json!({
            "namespace": service.namespace.as_str(),
            "groupName": service.group.as_str(),
            "serviceName": service.name.as_str(),
            "clusterMap": summary.clusters.iter().map(|name| (name.clone(), json!({ "name": name, "healthChecker": { "type": "TCP" } }))).collect::<serde_json::Map<_, _>>(),
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

/// Page parameters, with the defaults and bound the service lists use.
fn page(params: &Params) -> Result<(usize, usize), ApiError> {
    let to_usize = |value: i64| usize::try_from(value.max(1)).unwrap_or(1);
    let page_no = number(params, "pageNo")?.map_or(1, to_usize);
    let page_size = number(params, "pageSize")?.map_or(20, to_usize).min(MAX_PAGE_SIZE);
    Ok((page_no, page_size))
}

fn namespace(params: &Params) -> Result<Namespace, ApiError> {
    Namespace::new(params.get("namespaceId").unwrap_or("")).map_err(|err| ApiError::Naming(err.into()))
}

fn service_list(call: &Call) -> Result<Answer, ApiError> {
    let (page_no, page_size) = page(&call.params)?;
    let group = call.params.get("groupName").unwrap_or(domain::naming::DEFAULT_GROUP);
    let page = call.api.naming.services(&namespace(&call.params)?, Some(group), "", page_no, page_size);
    let names: Vec<&str> = page.items.iter().map(|s| s.service.name.as_str()).collect();
    Ok(Answer::Json(match call.version {
        Version::V1 => json!({ "count": page.total, "doms": names }),
        Version::V2 => json!({ "count": page.total, "services": names }),
    }))
}

fn subscribers(call: &Call) -> Result<Answer, ApiError> {
    let service = service_key(&call.params)?;
    let (page_no, page_size) = page(&call.params)?;
    let all = call.api.naming.subscribers(&service);
    let listed: Vec<Value> = all
        .iter()
        .skip(page_no.saturating_sub(1).saturating_mul(page_size))
        .take(page_size)
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
    Ok(Answer::Json(json!({ "subscribers": listed, "count": all.len() })))
}

fn catalog_services(call: &Call) -> Result<Answer, ApiError> {
    let (page_no, page_size) = page(&call.params)?;
    let group = call.params.get("groupNameParam");
    let name_filter = call.params.get("serviceNameParam").unwrap_or("");
    let page = call.api.naming.services(&namespace(&call.params)?, group, name_filter, page_no, page_size);
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
                "triggerFlag": (summary.instance_count > 0
                    && summary.meta.as_ref().is_some_and(|meta| {
                        // Ratios of small counts: exact enough for a flag.
                        #[allow(clippy::cast_precision_loss)]
                        let share = summary.healthy_count as f64 / summary.instance_count as f64;
                        share <= meta.protect_threshold.value()
                    }))
                .to_string(),
            })
        })
        .collect();
    Ok(Answer::Json(json!({ "count": page.total, "serviceList": list })))
}

fn catalog_instances(call: &Call) -> Result<Answer, ApiError> {
    let service = service_key(&call.params)?;
    let (page_no, page_size) = page(&call.params)?;
    let cluster_filter = cluster(&call.params);
    let instances: Vec<_> = call
        .api
        .naming
        .all_instances(&service)
        .into_iter()
        .filter(|i| cluster_filter.is_none_or(|c| i.cluster.as_str() == c))
        .collect();
    let list: Vec<Value> = instances
        .iter()
        .skip(page_no.saturating_sub(1).saturating_mul(page_size))
        .take(page_size)
        .map(|i| nacos_json::instance(i, &service))
        .collect();
    Ok(Answer::Json(json!({ "list": list, "count": instances.len() })))
}

fn metrics(call: &Call) -> Result<Answer, ApiError> {
    let only_status = boolean(&call.params, "onlyStatus")?.unwrap_or(true);
    if only_status {
        return Ok(Answer::Json(json!({ "status": "UP" })));
    }
    let metrics = call.api.naming.metrics();
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
            NamingServiceError::NotFound(message) => Self::NamingNotFound(message),
            NamingServiceError::Unavailable(err) => err.into(),
        }
    }
}
