//! `/nacos/v2/cs/config`: the same operations as v1 in the `{code, message, data}` envelope.

use std::sync::Arc;

use serde_json::json;
use warp::reply::{Reply, Response};
use warp::Filter;

use crate::configs::{self, Version};
use crate::configs::{ConfigRequest, Operation};
use crate::error::ApiError;
use crate::params::Params;
use crate::HttpApi;

pub(crate) fn routes(api: Arc<HttpApi>) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    configs::config_requests(api, warp::path!("nacos" / "v2" / "cs" / "config")).then(
        |request: ConfigRequest| async move {
            match request.operation {
                Operation::Read => {
                    get_config(request.api, request.params, request.client_ip, request.vipserver_tag).await
                }
                Operation::Publish => {
                    publish_config(request.api, request.params, request.cas_md5, request.beta_ips).await
                }
                Operation::Remove => delete_config(request.api, request.params).await,
            }
        },
    )
}

async fn get_config(api: Arc<HttpApi>, params: Params, client_ip: String, vipserver_tag: Option<String>) -> Response {
    if let Err(err) = configs::barrier_if_asked(&api, &params).await {
        return failure(err);
    }
    match configs::read(&api, Version::V2, &params, &client_ip, vipserver_tag.as_deref()) {
        Ok((config, gray)) => {
            let body = json!({ "code": 0, "message": "success", "data": config.content }).to_string();
            let mut response = configs::config_response(body, &config);
            response.headers_mut().insert("content-type", warp::http::HeaderValue::from_static("application/json"));
            configs::mark_gray(&mut response, gray.as_deref());
            response
        }
        Err(err) => failure(err),
    }
}

async fn publish_config(api: Arc<HttpApi>, params: Params, cas_md5: Option<String>, beta: Option<String>) -> Response {
    match configs::write(&api, Version::V2, &params, cas_md5.as_deref(), beta.as_deref()).await {
        Ok(()) => success(),
        Err(err) => failure(err),
    }
}

async fn delete_config(api: Arc<HttpApi>, params: Params) -> Response {
    match configs::delete(&api, Version::V2, &params).await {
        Ok(()) => success(),
        Err(err) => failure(err),
    }
}

fn success() -> Response {
    warp::reply::json(&json!({ "code": 0, "message": "success", "data": true })).into_response()
}

/// HTTP status as v1, `code` from the v2 table, the detail in `data`.
pub(crate) fn failure(err: ApiError) -> Response {
    let body = json!({ "code": err.v2_code(), "message": err.v2_message(), "data": err.to_string() });
    let mut response = warp::reply::with_status(warp::reply::json(&body), err.status()).into_response();
    if err.closes_connection() {
        crate::error::mark_closing(&mut response);
    }
    response
}
