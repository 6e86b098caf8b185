//! `SubscribeServiceRequest`, `ServiceQueryRequest` and `ServiceListRequest`: what a
//! client reads of the registry.

use domain::config::Namespace;
use domain::naming::{ServiceKey, Subscriber, SubscriberId, ViewQuery, DEFAULT_GROUP};
use domain::paging::{PageRequest, DEFAULT_NAMING_PAGE_SIZE};
use ports::naming::NamingServiceError;
use proto::nacos::Payload;
use serde::Deserialize;
use serde_json::{json, Value};

use super::naming_error;
use crate::connections::Connection;
use crate::naming_wire::service_info_bytes;
use crate::wire::{self, code, Incoming};
use crate::GrpcApi;

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub(super) struct ServiceRequest {
    namespace: Option<String>,
    service_name: Option<String>,
    group_name: Option<String>,
    /// Subscribe: `true` subscribes, `false` unsubscribes.
    subscribe: Option<bool>,
    /// Subscribe's cluster filter.
    clusters: Option<String>,
    /// Query's cluster filter.
    cluster: Option<String>,
    healthy_only: Option<bool>,
    /// The Python SDK's spelling of `healthyOnly`.
    health_only: Option<bool>,
    page_no: Option<i64>,
    page_size: Option<i64>,
}

impl ServiceRequest {
    pub(super) fn service(&self) -> Result<ServiceKey, NamingServiceError> {
        Ok(ServiceKey::parse(self.namespace.as_deref(), self.group_name.as_deref(), self.service_name.as_deref())?)
    }
}

pub(super) fn subscribe(api: &GrpcApi, connection: &Connection, incoming: &Incoming) -> Payload {
    const RESPONSE: &str = "SubscribeServiceResponse";
    let (request, service) = match decode_with_service(incoming, RESPONSE) {
        Ok(decoded) => decoded,
        Err(failure) => return *failure,
    };
    let id = SubscriberId::Connection(connection.id.clone());
    let clusters = request.clusters.unwrap_or_default();
    let view = if request.subscribe.unwrap_or(true) {
        let subscriber = Subscriber {
            clusters,
            client_ip: connection.client_ip.clone(),
            app: incoming.header("app").unwrap_or_default(),
        };
        api.services.subscriptions.subscribe(id, &service, subscriber)
    } else {
        api.services.subscriptions.unsubscribe(&id, &service);
        api.services.queries.view(&service, &ViewQuery::new(clusters, false, Some(&connection.client_ip)))
    };
    with_service_info(RESPONSE, &service_info_bytes(&view))
}

pub(super) fn query(api: &GrpcApi, connection: &Connection, incoming: &Incoming) -> Payload {
    const RESPONSE: &str = "QueryServiceResponse";
    let (request, service) = match decode_with_service(incoming, RESPONSE) {
        Ok(decoded) => decoded,
        Err(failure) => return *failure,
    };
    let healthy_only = request.healthy_only.or(request.health_only).unwrap_or(false);
    let query = ViewQuery::new(request.cluster.unwrap_or_default(), healthy_only, Some(&connection.client_ip));
    let view = api.services.queries.view(&service, &query);
    with_service_info(RESPONSE, &service_info_bytes(&view))
}

pub(super) fn list(api: &GrpcApi, incoming: &Incoming) -> Payload {
    const RESPONSE: &str = "ServiceListResponse";
    let request: ServiceRequest = match decode(incoming, RESPONSE) {
        Ok(request) => request,
        Err(failure) => return *failure,
    };
    let namespace = match Namespace::new(request.namespace.as_deref().unwrap_or("")) {
        Ok(namespace) => namespace,
        Err(err) => return failed(RESPONSE, &NamingServiceError::Invalid(err.into())),
    };
    let group = request.group_name.as_deref().map(str::trim).filter(|g| !g.is_empty()).unwrap_or(DEFAULT_GROUP);
    let page = PageRequest::new(request.page_no, request.page_size, DEFAULT_NAMING_PAGE_SIZE);
    let page = api.services.queries.services(&namespace, Some(group.to_owned()), "", page);
    let names: Vec<&str> = page.items.iter().map(|summary| summary.service.name.as_str()).collect();
    wire::success(RESPONSE, json!({ "count": page.total, "serviceNames": names, "message": "success" }))
}

/// The request and the service it names, or the failure to answer.
fn decode_with_service(incoming: &Incoming, response: &str) -> Result<(ServiceRequest, ServiceKey), Box<Payload>> {
    let request = decode(incoming, response)?;
    let service = request.service().map_err(|err| Box::new(failed(response, &err)))?;
    Ok((request, service))
}

fn decode(incoming: &Incoming, response: &str) -> Result<ServiceRequest, Box<Payload>> {
    incoming
        .decode()
        .map_err(|err| Box::new(wire::failure(response, code::BAD_GATEWAY, &err.to_string(), empty(response))))
}

fn failed(response: &str, err: &NamingServiceError) -> Payload {
    let (error_code, message) = naming_error(err);
    wire::failure(response, error_code, &message, empty(response))
}

/// What SDKs require even on failure (Python and Rust read `serviceNames`).
fn empty(response: &str) -> Value {
    if response == "ServiceListResponse" {
        json!({ "count": 0, "serviceNames": [] })
    } else {
        json!({})
    }
}

/// A success carrying a pre-encoded `serviceInfo`.
fn with_service_info(response: &str, service_info: &[u8]) -> Payload {
    wire::success_with_raw(response, "serviceInfo", service_info)
}
