//! `/ns/client/*`: the registry's clients and what each registered and subscribes to
//! (Java's `ClientInfoControllerV2`; served under v1 too, without the envelope).

use domain::naming::ClientRef;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::naming::{Answer, Call};
use crate::naming_wire::{boolean, number, service_key};

/// Answers `GET /ns/client/<path>`; `None` for a path that is not a client view.
pub(crate) fn answer(call: &Call, path: &str) -> Option<Result<Answer, ApiError>> {
    Some(match path {
        "client/list" => Ok(list(call)),
        "client" => detail(call),
        "client/publish/list" => published(call),
        "client/subscribe/list" => subscribed(call),
        "client/service/publisher/list" => publishers(call),
        "client/service/subscriber/list" => subscribers(call),
        _ => return None,
    })
}

fn list(call: &Call) -> Answer {
    let ids: Vec<String> = call.api.queries.clients().iter().map(ClientRef::id).collect();
    Answer::Json(json!(ids))
}

/// The client a request names by `clientId`, if this node knows it.
fn client(call: &Call) -> Result<ClientRef, ApiError> {
    let raw = call.params.get("clientId").ok_or(ApiError::MissingParam("clientId"))?;
    let client = ClientRef::parse(raw).ok_or(ApiError::MissingParam("clientId"))?;
    if !call.api.queries.clients().contains(&client) {
        return Err(ApiError::ClientNotFound(raw.to_owned()));
    }
    Ok(client)
}

fn detail(call: &Call) -> Result<Answer, ApiError> {
    let client = client(call)?;
    let (ip, port) = client.address();
    let mut body = json!({
        "clientId": client.id(),
        "ephemeral": client.is_ephemeral(),
        "clientIp": ip,
        "clientPort": port,
    });
    let kind = match client {
        ClientRef::Connection(_) => json!({ "clientType": "connection", "connectType": "GRPC" }),
        ClientRef::IpPort { .. } => json!({ "clientType": "ipPort" }),
    };
    if let (Some(body), Value::Object(kind)) = (body.as_object_mut(), kind) {
        body.extend(kind);
    }
    Ok(Answer::Json(body))
}

fn published(call: &Call) -> Result<Answer, ApiError> {
    let client = client(call)?;
    let publications = call.api.queries.client_publications(&client).unwrap_or_default();
    let items: Vec<Value> = publications
        .iter()
        .map(|(service, instance)| {
            json!({
                "namespace": service.namespace.as_str(),
                "group": service.group.as_str(),
                "serviceName": service.name.as_str(),
                "registeredInstance": { "ip": instance.ip, "port": instance.port, "cluster": instance.cluster.as_str() },
            })
        })
        .collect();
    Ok(Answer::Json(json!(items)))
}

fn subscribed(call: &Call) -> Result<Answer, ApiError> {
    let client = client(call)?;
    let (ip, port) = client.address();
    let items: Vec<Value> = call
        .api
        .queries
        .client_subscriptions(&client)
        .iter()
        .map(|(service, subscriber)| {
            json!({
                "namespace": service.namespace.as_str(),
                "group": service.group.as_str(),
                "serviceName": service.name.as_str(),
                "subscriberInfo": { "app": subscriber.app, "agent": "", "addr": format!("{ip}:{port}") },
            })
        })
        .collect();
    Ok(Answer::Json(json!(items)))
}

/// The `ip` and `port` a service's client lists are narrowed to, when given.
fn address_filter(call: &Call) -> Result<(Option<String>, Option<String>), ApiError> {
    let port = number(&call.params, "port")?.map(|port| port.to_string());
    Ok((call.params.get("ip").map(str::to_owned), port))
}

fn client_item(client: &ClientRef, ip: &str, port: &str, filter: &(Option<String>, Option<String>)) -> Option<Value> {
    let (want_ip, want_port) = filter;
    if want_ip.as_deref().is_some_and(|want| want != ip) || want_port.as_deref().is_some_and(|want| want != port) {
        return None;
    }
    let port: Value = port.parse::<u16>().map_or(Value::Null, Value::from);
    Some(json!({ "clientId": client.id(), "ip": ip, "port": port }))
}

fn publishers(call: &Call) -> Result<Answer, ApiError> {
    let service = service_key(&call.params)?;
    let ephemeral = boolean(&call.params, "ephemeral")?.unwrap_or(true);
    let filter = address_filter(call)?;
    let items: Vec<Value> = call
        .api
        .queries
        .service_publishers(&service, ephemeral)
        .iter()
        .filter_map(|(client, instance)| client_item(client, &instance.ip, &instance.port.to_string(), &filter))
        .collect();
    Ok(Answer::Json(json!(items)))
}

fn subscribers(call: &Call) -> Result<Answer, ApiError> {
    let service = service_key(&call.params)?;
    let filter = address_filter(call)?;
    let items: Vec<Value> = call
        .api
        .queries
        .service_subscribers(&service)
        .iter()
        .filter_map(|(client, subscriber)| {
            let (_, port) = client.address();
            client_item(client, &subscriber.client_ip, &port, &filter)
        })
        .collect();
    Ok(Answer::Json(json!(items)))
}
