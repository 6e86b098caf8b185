//! Namespaces: `/nacos/v1/console/namespaces` and `/nacos/v2/console/namespace`.

use std::sync::Arc;

use domain::Rejection;
use ports::namespace::{NamespaceServiceError, NamespaceView};
use serde_json::{json, Value};
use warp::http::StatusCode;
use warp::reply::{Reply, Response};
use warp::Filter;

use crate::error::{text, ApiError};
use crate::params::Params;
use crate::HttpApi;

/// Nacos's fixed per-namespace config quota, shown by consoles.
const QUOTA: u32 = 200;

pub(crate) fn routes(api: Arc<HttpApi>) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    let checked = crate::access::checked_params(&api);
    let with_api = warp::any().map(move || Arc::clone(&api));
    let v1 = warp::path!("nacos" / "v1" / "console" / "namespaces")
        .and(warp::method())
        .and(with_api.clone())
        .and(checked.clone())
        .then(v1);
    let v2 = warp::path!("nacos" / "v2" / "console" / "namespace" / ..)
        .and(warp::path::tail())
        .and(warp::method())
        .and(with_api)
        .and(checked.clone())
        .then(|tail: warp::path::Tail, method, api, params| v2(tail.as_str().to_owned(), method, api, params));
    v1.or(v2).unify()
}

async fn v1(method: warp::http::Method, api: Arc<HttpApi>, params: Params) -> Response {
    let namespaces = &api.namespaces;
    match method.as_str() {
        "GET" if params.get("checkNamespaceIdExist").is_some() => {
            let id = params.get("customNamespaceId").unwrap_or("");
            text(namespaces.get(id).is_some().to_string()).into_response()
        }
        "GET" if params.get("show").is_some() => match namespaces.get(params.get("namespaceId").unwrap_or("")) {
            Some(view) => warp::reply::json(&item(&view)).into_response(),
            None => ApiError::NamespaceNotFound.into_response(),
        },
        "GET" => {
            let items: Vec<Value> = namespaces.list().iter().map(item).collect();
            warp::reply::json(&json!({ "code": 200, "message": null, "data": items })).into_response()
        }
        "POST" => {
            let created = namespaces
                .create(
                    params.get("customNamespaceId").map(str::to_owned),
                    params.get("namespaceName").unwrap_or("").to_owned(),
                    params.get("namespaceDesc").unwrap_or("").to_owned(),
                )
                .await;
            v1_answer(created.map(|_| ()))
        }
        "PUT" => {
            let updated = namespaces
                .update(
                    params.get("namespace").unwrap_or("").to_owned(),
                    params.get("namespaceShowName").unwrap_or("").to_owned(),
                    params.get("namespaceDesc").unwrap_or("").to_owned(),
                )
                .await;
            v1_answer(updated)
        }
        "DELETE" => v1_answer(namespaces.delete(params.get("namespaceId").unwrap_or("").to_owned()).await),
        _ => warp::reply::with_status(text("method not allowed".to_owned()), StatusCode::METHOD_NOT_ALLOWED)
            .into_response(),
    }
}

/// v1 answers `true`, or `false` for what the state refused (exists, not found), as Nacos
/// does; invalid input is a 400 with the reason.
fn v1_answer(result: Result<(), NamespaceServiceError>) -> Response {
    match result {
        Ok(()) => text("true".to_owned()).into_response(),
        Err(NamespaceServiceError::Rejected(_)) => text("false".to_owned()).into_response(),
        Err(err) => ApiError::from(err).into_response(),
    }
}

pub(crate) async fn v2(tail: String, method: warp::http::Method, api: Arc<HttpApi>, params: Params) -> Response {
    let namespaces = &api.namespaces;
    let result: Result<Value, ApiError> = match (method.as_str(), tail.as_str()) {
        ("GET", "list") => Ok(Value::Array(namespaces.list().iter().map(item).collect())),
        ("GET", "") => namespaces
            .get(params.get("namespaceId").unwrap_or(""))
            .map(|view| item(&view))
            .ok_or(ApiError::NamespaceNotFound),
        ("POST", "") => namespaces
            .create(
                params.get("namespaceId").map(str::to_owned),
                params.get("namespaceName").unwrap_or("").to_owned(),
                params.get("namespaceDesc").unwrap_or("").to_owned(),
            )
            .await
            .map(|_| json!(true))
            .map_err(ApiError::from),
        ("PUT", "") => namespaces
            .update(
                params.get("namespaceId").unwrap_or("").to_owned(),
                params.get("namespaceName").unwrap_or("").to_owned(),
                params.get("namespaceDesc").unwrap_or("").to_owned(),
            )
            .await
            .map(|()| json!(true))
            .map_err(ApiError::from),
        ("DELETE", "") => namespaces
            .delete(params.get("namespaceId").unwrap_or("").to_owned())
            .await
            .map(|()| json!(true))
            .map_err(ApiError::from),
        _ => return crate::config_v2::failure(ApiError::NoSuchApi),
    };
    match result {
        Ok(data) => warp::reply::json(&json!({ "code": 0, "message": "success", "data": data })).into_response(),
        Err(err) => crate::config_v2::failure(err),
    }
}

/// A namespace as Nacos 2.x shows it: the public one has id `""` and type 0.
fn item(view: &NamespaceView) -> Value {
    match &view.info {
        None => json!({
            "namespace": "",
            "namespaceShowName": "public",
            "namespaceDesc": "Default Namespace",
            "quota": QUOTA,
            "configCount": view.config_count,
            "type": 0,
        }),
        Some(info) => json!({
            "namespace": info.id,
            "namespaceShowName": info.name,
            "namespaceDesc": info.desc,
            "quota": QUOTA,
            "configCount": view.config_count,
            "type": 2,
        }),
    }
}

impl From<NamespaceServiceError> for ApiError {
    fn from(err: NamespaceServiceError) -> Self {
        match err {
            NamespaceServiceError::Invalid(err) => Self::InvalidNamespace(err),
            NamespaceServiceError::Rejected(Rejection::NamespaceExists(_)) => Self::NamespaceExists,
            NamespaceServiceError::Rejected(Rejection::NamespaceProtected) => Self::NamespaceProtected,
            NamespaceServiceError::Rejected(_) => Self::NamespaceNotFound,
            NamespaceServiceError::Unavailable(err) => err.into(),
        }
    }
}
