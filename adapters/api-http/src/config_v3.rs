//! Nacos 3.x's config and namespace HTTP APIs, as encodings of the same service calls as v1
//! and v2: `/nacos/v3/client/cs/config` (a client's read), `/nacos/v3/admin/cs/config` (read
//! with every stored field, publish, delete, `/list`), `/nacos/v3/admin/core/namespace`. The
//! 3.x forms name the group `groupName`; answers are in the `{code, message, data}` envelope.

use std::sync::Arc;

use domain::config::{Config, ConfigKey, GrayRule, HistoryRecord, BETA_GRAY_NAME};
use serde_json::{json, Value};
use warp::reply::{Reply, Response};
use warp::Filter;

use crate::config_v2::failure;
use crate::configs::{self, ConfigRequest, Operation, Version};
use crate::error::ApiError;
use crate::params::Params;
use crate::{history, namespaces, HttpApi};

pub(crate) fn routes(api: Arc<HttpApi>) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    let checked = crate::access::checked_params(&api);
    let client = configs::config_requests(Arc::clone(&api), warp::path!("nacos" / "v3" / "client" / "cs" / "config"))
        .then(|request: ConfigRequest| async move {
            match request.operation {
                Operation::Read => client_read(&request).await,
                _ => failure(ApiError::NoSuchApi),
            }
        });
    let admin = configs::config_requests(Arc::clone(&api), warp::path!("nacos" / "v3" / "admin" / "cs" / "config"))
        .then(|request: ConfigRequest| async move {
            let done = match request.operation {
                Operation::Read => return admin_read(&request),
                Operation::Publish => {
                    let (cas_md5, beta_ips) = (request.cas_md5.as_deref(), request.beta_ips.as_deref());
                    configs::write(&request.api, Version::V3, &request.params, cas_md5, beta_ips).await
                }
                Operation::Remove => configs::delete(&request.api, Version::V3, &request.params).await,
            };
            envelope(done.map(|()| json!(true)))
        });
    let with_api = warp::any().map(move || Arc::clone(&api));
    let list = warp::path!("nacos" / "v3" / "admin" / "cs" / "config" / "list")
        .and(warp::get())
        .and(with_api.clone())
        .and(checked.clone())
        .map(|api: Arc<HttpApi>, params: Params| list(&api, &params));
    let history = warp::path!("nacos" / "v3" / "admin" / "cs" / "history" / ..)
        .and(warp::path::tail())
        .and(warp::get())
        .and(with_api.clone())
        .and(checked.clone())
        .map(|tail: warp::path::Tail, api: Arc<HttpApi>, params: Params| history(&api, tail.as_str(), &params));
    let beta = warp::path!("nacos" / "v3" / "admin" / "cs" / "config" / "beta")
        .and(warp::method())
        .and(with_api.clone())
        .and(checked.clone())
        .then(|method: warp::http::Method, api: Arc<HttpApi>, params: Params| async move {
            beta(&api, &method, &params).await
        });
    let listeners = warp::path!("nacos" / "v3" / "admin" / "cs" / "config" / "listener")
        .and(warp::get())
        .and(with_api.clone())
        .and(checked.clone())
        .map(|api: Arc<HttpApi>, params: Params| listeners(&api, &params));
    let listened = warp::path!("nacos" / "v3" / "admin" / "cs" / "listener")
        .and(warp::get())
        .and(with_api.clone())
        .and(checked.clone())
        .map(|api: Arc<HttpApi>, params: Params| listened(&api, &params));
    let namespace = warp::path!("nacos" / "v3" / "admin" / "core" / "namespace" / ..)
        .and(warp::path::tail())
        .and(warp::method())
        .and(with_api)
        .and(checked.clone())
        .then(|tail: warp::path::Tail, method, api, params| {
            namespaces::v2(tail.as_str().to_owned(), method, api, params)
        });
    let queries = list.or(beta).unify().or(listeners).unify().or(listened).unify();
    queries.or(client).unify().or(admin).unify().or(history).unify().or(namespace).unify()
}

/// `GET /nacos/v3/admin/cs/config/listener`: who listens to a config (Java's
/// `ConfigListenerInfo`, by client ip).
fn listeners(api: &HttpApi, params: &Params) -> Response {
    let key = ConfigKey::parse(Version::V3.namespace(params), Version::V3.group(params), params.get("dataId"));
    envelope(key.map_err(ApiError::from).map(|key| {
        let (by_ip, _) = crate::listener::listeners_by_ip(api, &key);
        json!({ "queryType": "config", "listenersStatus": by_ip })
    }))
}

/// `GET /nacos/v3/admin/cs/listener?ip=`: what the clients at one ip listen to.
fn listened(api: &HttpApi, params: &Params) -> Response {
    let ip = params.get("ip").ok_or(ApiError::MissingParam("ip"));
    envelope(ip.map(|ip| json!({ "queryType": "ip", "listenersStatus": crate::listener::listened_configs(api, ip) })))
}

fn envelope(result: Result<Value, ApiError>) -> Response {
    match result {
        Ok(data) => warp::reply::json(&json!({ "code": 0, "message": "success", "data": data })).into_response(),
        Err(err) => failure(err),
    }
}

/// A client's read (Java's `ConfigOpenApiController`): the version gray rules give this
/// client, as the gRPC query answers it.
async fn client_read(request: &ConfigRequest) -> Response {
    if let Err(err) = configs::barrier_if_asked(&request.api, &request.params).await {
        return failure(err);
    }
    let tag = request.vipserver_tag.as_deref();
    let read = configs::read(&request.api, Version::V3, &request.params, &request.client_ip, tag);
    envelope(read.map(|(config, gray)| {
        let mut data = json!({
            "content": config.content,
            "md5": config.md5,
            "encryptedDataKey": config.encrypted_data_key,
            "contentType": config.config_type.as_str(),
            "lastModified": config.last_modified.as_u64(),
            "beta": gray.as_ref().is_some_and(|gray| gray.rule.is_beta()),
        });
        if let (Some(GrayRule::Tag { tag }), Some(fields)) =
            (gray.as_ref().map(|gray| &gray.rule), data.as_object_mut())
        {
            fields.insert("tag".to_owned(), tag.as_str().into());
        }
        data
    }))
}

/// The formal config with every stored field (Java's `ConfigDetailInfo`).
fn admin_read(request: &ConfigRequest) -> Response {
    let params = &request.params;
    let key = ConfigKey::parse(Version::V3.namespace(params), Version::V3.group(params), params.get("dataId"));
    let found = key.map_err(ApiError::from).and_then(|key| {
        let config = request.api.config.get(&key).ok_or(ApiError::ConfigNotFound)?;
        Ok(detail(&key, &config))
    });
    envelope(found)
}

fn basic(key: &ConfigKey, config: &Config) -> Value {
    json!({
        "id": config.id.to_string(),
        "namespaceId": key.namespace.as_str(),
        "groupName": key.group.as_str(),
        "dataId": key.data_id.as_str(),
        "md5": config.md5,
        "type": config.config_type.as_str(),
        "appName": config.app_name,
        "createTime": config.created.as_u64(),
        "modifyTime": config.last_modified.as_u64(),
    })
}

fn detail(key: &ConfigKey, config: &Config) -> Value {
    let mut info = basic(key, config);
    let more = json!({
        "content": config.content,
        "desc": config.desc,
        "encryptedDataKey": config.encrypted_data_key,
        "createUser": null,
        "createIp": null,
        "configTags": config.tags,
    });
    if let (Some(info), Value::Object(more)) = (info.as_object_mut(), more) {
        info.extend(more);
    }
    info
}

/// `GET /list`: a search (`search=blur` by default, as Java's) in Java's `Page` shape.
fn list(api: &HttpApi, params: &Params) -> Response {
    let mode = params.get("search").unwrap_or("blur");
    match configs::search_page(api, Version::V3, mode, params) {
        Ok(page) => envelope(Ok(json!({
            "totalCount": page.total,
            "pageNumber": page.page_no,
            "pagesAvailable": page.pages,
            "pageItems": page.items.iter().map(|(key, config)| basic(key, config)).collect::<Vec<_>>(),
        }))),
        Err(rejection) => match rejection.find::<ApiError>() {
            Some(err) => failure(err.clone()),
            None => failure(ApiError::Internal),
        },
    }
}

fn config_key(params: &Params) -> Result<ConfigKey, ApiError> {
    Ok(ConfigKey::parse(Version::V3.namespace(params), Version::V3.group(params), params.get("dataId"))?)
}

fn history_basic(record: &HistoryRecord) -> Value {
    json!({
        "id": record.id.to_string(),
        "namespaceId": record.key.namespace.as_str(),
        "groupName": record.key.group.as_str(),
        "dataId": record.key.data_id.as_str(),
        "srcIp": "",
        "srcUser": "",
        "opType": record.op.as_str(),
        "publishType": if record.gray_name.is_some() { "gray" } else { "formal" },
        "grayName": record.gray_name.as_deref().unwrap_or_default(),
        "createTime": record.recorded.as_u64(),
        "modifyTime": record.recorded.as_u64(),
    })
}

fn history_detail(record: &HistoryRecord) -> Value {
    let mut info = history_basic(record);
    let more = json!({
        "content": record.content,
        "md5": record.md5,
        "encryptedDataKey": record.encrypted_data_key,
        "type": record.config_type.as_str(),
        "appName": record.app_name,
        "extInfo": history::ext_info(record),
    });
    if let (Some(info), Value::Object(more)) = (info.as_object_mut(), more) {
        info.extend(more);
    }
    info
}

/// `/v3/admin/cs/history/list` (a config's records, newest first), `/history?nid=`
/// (one record of that config) and `/history/previous?id=` (the one before).
fn history(api: &HttpApi, tail: &str, params: &Params) -> Response {
    let number = |name: &'static str| -> Result<u64, ApiError> {
        let raw = params.get(name).ok_or(ApiError::MissingParam(name))?;
        raw.trim().parse().map_err(|_| ApiError::NotANumber(name))
    };
    let found: Result<Value, ApiError> = (|| {
        let key = config_key(params)?;
        match tail.trim_end_matches('/') {
            "list" => {
                let request = history::page(params).map_err(|_| ApiError::NotANumber("pageNo"))?;
                let page = api.config.history(&key, request)?;
                Ok(json!({
                    "totalCount": page.total,
                    "pageNumber": page.page_no,
                    "pagesAvailable": page.pages,
                    "pageItems": page.items.iter().map(|record| history_basic(record)).collect::<Vec<_>>(),
                }))
            }
            "" => {
                let record = api.config.history_record(number("nid")?)?;
                let record = record.filter(|record| record.key == key).ok_or(ApiError::HistoryNotFound)?;
                Ok(history_detail(&record))
            }
            "previous" => {
                let record = api.config.history_previous(&key, number("id")?)?.ok_or(ApiError::HistoryNotFound)?;
                Ok(history_detail(&record))
            }
            _ => Err(ApiError::NoSuchApi),
        }
    })();
    envelope(found)
}

/// `GET`/`DELETE /v3/admin/cs/config/beta`: the beta (ip) gray version, and stopping it.
async fn beta(api: &HttpApi, method: &warp::http::Method, params: &Params) -> Response {
    let key = match config_key(params) {
        Ok(key) => key,
        Err(err) => return failure(err),
    };
    match method.as_str() {
        "GET" => envelope(Ok(api.config.gray(&key, BETA_GRAY_NAME).map_or(Value::Null, |beta| {
            json!({
                "namespaceId": key.namespace.as_str(),
                "groupName": key.group.as_str(),
                "dataId": key.data_id.as_str(),
                "content": beta.content,
                "md5": beta.md5,
                "type": beta.config_type.as_str(),
                "encryptedDataKey": beta.encrypted_data_key,
                "grayName": BETA_GRAY_NAME,
                "grayRule": beta.rule.expression(),
                "modifyTime": beta.last_modified.as_u64(),
            })
        }))),
        "DELETE" => envelope(
            api.config.stop_gray(key, BETA_GRAY_NAME.to_owned()).await.map(|()| json!(true)).map_err(ApiError::from),
        ),
        _ => failure(ApiError::NoSuchApi),
    }
}
