//! `/nacos/v1/cs/configs`: get, publish and delete one config.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use domain::config::{Config, ConfigKey, ConfigType, PublishConfig, PublishParams};
use warp::reply::{Reply, Response};
use warp::Filter;

use crate::error::{text, ApiError};
use crate::params::{params, Params};
use crate::HttpApi;

pub(crate) fn routes(api: Arc<HttpApi>) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    let limit = api.max_body_bytes;
    let with_api = warp::any().map(move || Arc::clone(&api));
    let base = warp::path!("nacos" / "v1" / "cs" / "configs").and(with_api);

    let get = base.clone().and(warp::get()).and(params(limit)).and_then(get_config);
    let publish = base
        .clone()
        .and(warp::post())
        .and(params(limit))
        .and(warp::header::optional::<String>("casMd5"))
        .and_then(publish_config);
    let delete = base.and(warp::delete()).and(params(limit)).and_then(delete_config);
    get.or(publish).unify().or(delete).unify()
}

#[tracing::instrument(level = "debug", skip_all)]
async fn get_config(api: Arc<HttpApi>, params: Params) -> Result<Response, warp::Rejection> {
    let key = parse_key(&params)?;
    match api.config.get(&key) {
        Some(config) => Ok(config_response(&config)),
        None => Err(warp::reject::custom(ApiError::ConfigNotFound)),
    }
}

#[tracing::instrument(level = "debug", skip_all)]
async fn publish_config(
    api: Arc<HttpApi>,
    params: Params,
    cas_md5: Option<String>,
) -> Result<Response, warp::Rejection> {
    let raw = PublishParams {
        namespace: params.get("tenant"),
        group: params.get("group"),
        data_id: params.get("dataId"),
        content: params.get("content"),
        config_type: params.get("type"),
        desc: params.get("desc"),
        app_name: params.get("appName"),
        tags: params.get("config_tags"),
        cas_md5: cas_md5.as_deref(),
    };
    let publish = PublishConfig::parse(&raw, api.config.limits()).map_err(reject)?;
    tracing::debug!(key = %publish.key, "publish");
    api.config.publish(publish).await.map_err(reject)?;
    Ok(text("true".to_owned()).into_response())
}

#[tracing::instrument(level = "debug", skip_all)]
async fn delete_config(api: Arc<HttpApi>, params: Params) -> Result<Response, warp::Rejection> {
    let key = parse_key(&params)?;
    api.config.remove(key).await.map_err(reject)?;
    Ok(text("true".to_owned()).into_response())
}

fn parse_key(params: &Params) -> Result<ConfigKey, warp::Rejection> {
    ConfigKey::parse(params.get("tenant"), params.get("group"), params.get("dataId")).map_err(reject)
}

fn reject(err: impl Into<ApiError>) -> warp::Rejection {
    warp::reject::custom(err.into())
}

/// The raw content with the headers Nacos clients read (`Content-MD5`, `Config-Type`).
fn config_response(config: &Config) -> Response {
    let mut response = Response::new(config.content.clone().into());
    let last_modified = UNIX_EPOCH + Duration::from_millis(config.last_modified.as_u64());
    let headers = [
        ("content-type", content_type(config.config_type).to_owned()),
        ("config-type", config.config_type.as_str().to_owned()),
        ("content-md5", config.md5.clone()),
        ("last-modified", httpdate::fmt_http_date(last_modified)),
        ("pragma", "no-cache".to_owned()),
        ("expires", "Thu, 01 Jan 1970 00:00:00 GMT".to_owned()),
        ("cache-control", "no-cache,no-store".to_owned()),
    ];
    for (name, value) in headers {
        if let Ok(value) = warp::http::HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

fn content_type(config_type: ConfigType) -> &'static str {
    match config_type {
        ConfigType::Json => "application/json;charset=UTF-8",
        ConfigType::Xml => "application/xml;charset=UTF-8",
        ConfigType::Html => "text/html;charset=UTF-8",
        _ => "text/plain;charset=UTF-8",
    }
}
