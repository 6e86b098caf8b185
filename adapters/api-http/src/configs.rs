//! `/nacos/v1/cs/configs`: get, publish and delete one config.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use domain::config::{Config, ConfigKey, ConfigQuery, ConfigType, MatchMode, Namespace, PublishConfig, PublishParams};
use warp::reply::{Reply, Response};
use warp::Filter;

use crate::error::{text, ApiError};
use crate::params::{params, Params};
use crate::{history, HttpApi};

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
        .and(beta_unsupported())
        .and_then(publish_config);
    let delete = base.and(warp::delete()).and(params(limit)).and_then(delete_config);
    get.or(publish).unify().or(delete).unify()
}

/// Which parameter names the namespace: `tenant` in v1, `namespaceId` in v2.
#[derive(Clone, Copy)]
pub(crate) enum Version {
    V1,
    V2,
}

impl Version {
    fn namespace(self, params: &Params) -> Option<&str> {
        match self {
            Self::V1 => params.get("tenant"),
            Self::V2 => params.get("namespaceId").or_else(|| params.get("tenant")),
        }
    }
}

pub(crate) fn read(api: &HttpApi, version: Version, params: &Params) -> Result<Arc<Config>, ApiError> {
    let key = ConfigKey::parse(version.namespace(params), params.get("group"), params.get("dataId"))?;
    api.config.get(&key).ok_or(ApiError::ConfigNotFound)
}

pub(crate) async fn write(
    api: &HttpApi,
    version: Version,
    params: &Params,
    cas_md5: Option<&str>,
) -> Result<(), ApiError> {
    let raw = PublishParams {
        namespace: version.namespace(params),
        group: params.get("group"),
        data_id: params.get("dataId"),
        content: params.get("content"),
        config_type: params.get("type"),
        desc: params.get("desc"),
        app_name: params.get("appName"),
        tags: params.get("config_tags").or_else(|| params.get("configTags")),
        cas_md5,
    };
    let publish = PublishConfig::parse(&raw, api.config.limits())?;
    tracing::debug!(key = %publish.key, "publish");
    Ok(api.config.publish(publish).await?)
}

pub(crate) async fn delete(api: &HttpApi, version: Version, params: &Params) -> Result<(), ApiError> {
    let key = ConfigKey::parse(version.namespace(params), params.get("group"), params.get("dataId"))?;
    Ok(api.config.remove(key).await?)
}

#[tracing::instrument(level = "debug", skip_all)]
async fn get_config(api: Arc<HttpApi>, params: Params) -> Result<Response, warp::Rejection> {
    if let Some(mode) = params.get("search") {
        return search(&api, mode, &params);
    }
    let config = read(&api, Version::V1, &params).map_err(reject)?;
    Ok(config_response(config.content.clone(), &config))
}

#[tracing::instrument(level = "debug", skip_all)]
async fn publish_config(
    api: Arc<HttpApi>,
    params: Params,
    cas_md5: Option<String>,
) -> Result<Response, warp::Rejection> {
    gray_unsupported(&params)?;
    write(&api, Version::V1, &params, cas_md5.as_deref()).await.map_err(reject)?;
    Ok(text("true".to_owned()).into_response())
}

#[tracing::instrument(level = "debug", skip_all)]
async fn delete_config(api: Arc<HttpApi>, params: Params) -> Result<Response, warp::Rejection> {
    delete(&api, Version::V1, &params).await.map_err(reject)?;
    Ok(text("true".to_owned()).into_response())
}

/// Gray releases (beta ips, tags) are not supported yet: refuse them rather than publish
/// them as the formal content every client would then get.
pub(crate) fn gray_unsupported(params: &Params) -> Result<(), warp::Rejection> {
    if params.get("tag").is_some() {
        return Err(reject(ApiError::GrayUnsupported));
    }
    Ok(())
}

fn reject(err: impl Into<ApiError>) -> warp::Rejection {
    warp::reject::custom(err.into())
}

/// `body` with the headers Nacos clients read (`Content-MD5`, `Config-Type`).
pub(crate) fn config_response(body: String, config: &Config) -> Response {
    let mut response = Response::new(body.into());
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

/// Refuses a publish that carries a non-blank `betaIps` header (see [`gray_unsupported`]).
pub(crate) fn beta_unsupported() -> impl Filter<Extract = (), Error = warp::Rejection> + Clone {
    warp::header::optional::<String>("betaIps")
        .and_then(|beta: Option<String>| async move {
            match beta {
                Some(ips) if !ips.trim().is_empty() => Err(reject(ApiError::GrayUnsupported)),
                _ => Ok(()),
            }
        })
        .untuple_one()
}

/// `search=accurate|blur`: one page of matching configs, as consoles and the Python 2.x
/// SDK's `get_configs` read it.
fn search(api: &HttpApi, mode: &str, params: &Params) -> Result<Response, warp::Rejection> {
    let mode = match mode {
        "blur" => MatchMode::Blur,
        _ => MatchMode::Accurate,
    };
    let namespace = Namespace::new(params.get("tenant").unwrap_or("")).map_err(reject)?;
    let query = ConfigQuery {
        namespace,
        data_id: params.get("dataId").unwrap_or("").trim().to_owned(),
        group: params.get("group").unwrap_or("").trim().to_owned(),
        mode,
        app_name: params.get("appName").unwrap_or("").trim().to_owned(),
        tags: params
            .get("config_tags")
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|tag| !tag.is_empty())
            .map(str::to_owned)
            .collect(),
    };
    let page = api.config.search(&query, history::page_no(params)?, history::page_size(params)?);
    let items: Vec<serde_json::Value> = page
        .items
        .iter()
        .map(|(key, config)| {
            serde_json::json!({
                "id": config.id.to_string(),
                "dataId": key.data_id.as_str(),
                "group": key.group.as_str(),
                "content": config.content,
                "md5": config.md5,
                "encryptedDataKey": "",
                "tenant": history::tenant(&key.namespace),
                "appName": config.app_name,
                "type": config.config_type.as_str(),
            })
        })
        .collect();
    let body = serde_json::json!({
        "totalCount": page.total,
        "pageNumber": page.page_no,
        "pagesAvailable": page.pages,
        "pageItems": items,
    });
    Ok(warp::reply::json(&body).into_response())
}
