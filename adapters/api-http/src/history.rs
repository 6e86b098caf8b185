//! Config history: `/nacos/v1/cs/history` (list, one record, previous, configs of a
//! namespace) for consoles.

use std::sync::Arc;

use domain::config::{ConfigDetails, ConfigKey, ConfigQuery, HistoryRecord, MatchMode, Namespace};
use domain::paging::{PageRequest, DEFAULT_CONFIG_PAGE_SIZE};
use serde_json::{json, Value};
use warp::reply::{Reply, Response};
use warp::Filter;

use crate::error::ApiError;
use crate::params::Params;
use crate::HttpApi;

pub(crate) fn routes(api: Arc<HttpApi>) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    let checked = crate::access::checked_params(&api);
    let with_api = warp::any().map(move || Arc::clone(&api));
    let list_or_one = warp::path!("nacos" / "v1" / "cs" / "history")
        .and(warp::get())
        .and(with_api.clone())
        .and(checked.clone())
        .and_then(list_or_one);
    let previous = warp::path!("nacos" / "v1" / "cs" / "history" / "previous")
        .and(warp::get())
        .and(with_api.clone())
        .and(checked.clone())
        .and_then(previous);
    let configs = warp::path!("nacos" / "v1" / "cs" / "history" / "configs")
        .and(warp::get())
        .and(with_api)
        .and(checked.clone())
        .and_then(configs_of_namespace);
    list_or_one.or(previous).unify().or(configs).unify()
}

async fn list_or_one(api: Arc<HttpApi>, params: Params) -> Result<Response, warp::Rejection> {
    if let Some(nid) = params.get("nid") {
        let id = number("nid", nid)?;
        let record = api.config.history_record(id).map_err(reject_from)?.ok_or(reject(ApiError::HistoryNotFound))?;
        return Ok(warp::reply::json(&record_json(&record)).into_response());
    }
    let key = key(&params)?;
    let page = api.config.history(&key, page(&params)?).map_err(reject_from)?;
    let items: Vec<Value> = page.items.iter().map(|record| record_json(record)).collect();
    Ok(warp::reply::json(&json!({
        "totalCount": page.total,
        "pageNumber": page.page_no,
        "pagesAvailable": page.pages,
        "pageItems": items,
    }))
    .into_response())
}

async fn previous(api: Arc<HttpApi>, params: Params) -> Result<Response, warp::Rejection> {
    let key = key(&params)?;
    let id = number("id", params.get("id").ok_or(reject(ApiError::MissingParam("id")))?)?;
    let record =
        api.config.history_previous(&key, id).map_err(reject_from)?.ok_or(reject(ApiError::HistoryNotFound))?;
    Ok(warp::reply::json(&record_json(&record)).into_response())
}

/// Every config of a namespace (`tenant`), as the console's history page lists them.
async fn configs_of_namespace(api: Arc<HttpApi>, params: Params) -> Result<Response, warp::Rejection> {
    let namespace = Namespace::new(params.get("tenant").unwrap_or("")).map_err(|err| reject(ApiError::from(err)))?;
    let query = ConfigQuery {
        namespace,
        data_id: String::new(),
        group: String::new(),
        mode: MatchMode::Accurate,
        app_name: String::new(),
        tags: Vec::new(),
    };
    let page = api.config.search(&query, PageRequest::everything());
    let items: Vec<Value> = page
        .items
        .iter()
        .map(|(key, config)| {
            json!({
                "id": config.id.to_string(),
                "dataId": key.data_id.as_str(),
                "group": key.group.as_str(),
                "tenant": tenant(&key.namespace),
                "appName": config.app_name,
                "type": config.config_type.as_str(),
            })
        })
        .collect();
    Ok(warp::reply::json(&items).into_response())
}

fn record_json(record: &HistoryRecord) -> Value {
    json!({
        "id": record.id.to_string(),
        "lastId": -1,
        "dataId": record.key.data_id.as_str(),
        "group": record.key.group.as_str(),
        "tenant": tenant(&record.key.namespace),
        "appName": record.app_name,
        "md5": record.md5,
        "content": record.content,
        "srcIp": "",
        "srcUser": "",
        "opType": record.op.as_str(),
        "publishType": if record.gray_name.is_some() { "gray" } else { "formal" },
        "grayName": record.gray_name.as_deref().unwrap_or_default(),
        "extInfo": ext_info(record),
        "type": record.config_type.as_str(),
        "createdTime": record.recorded.as_u64(),
        "lastModifiedTime": record.recorded.as_u64(),
        "encryptedDataKey": record.encrypted_data_key,
    })
}

/// `extInfo`: what the version shown carried beside its content, as a JSON string under the
/// names Nacos's console reads when it rolls a config back (`type`, `config_tags`, `c_desc`,
/// `c_use`, `effect`, `c_schema`); empty values are left out.
pub(crate) fn ext_info(record: &HistoryRecord) -> String {
    let details = ConfigDetails::or_empty(record.details.as_deref());
    let mut ext = serde_json::Map::new();
    ext.insert("type".to_owned(), record.config_type.as_str().into());
    let fields = [
        ("config_tags", &record.tags),
        ("c_desc", &record.desc),
        ("c_use", &details.usage),
        ("effect", &details.effect),
        ("c_schema", &details.schema),
    ];
    for (name, value) in fields.into_iter().filter(|(_, value)| !value.is_empty()) {
        ext.insert(name.to_owned(), value.as_str().into());
    }
    Value::Object(ext).to_string()
}

/// Nacos 2.x shows the public namespace as `""`.
pub(crate) fn tenant(namespace: &Namespace) -> &str {
    if namespace.is_public() {
        ""
    } else {
        namespace.as_str()
    }
}

fn key(params: &Params) -> Result<ConfigKey, warp::Rejection> {
    ConfigKey::parse(params.get("tenant"), params.get("group"), params.get("dataId")).map_err(|err| reject(err.into()))
}

/// The page a config search or history list asks for.
pub(crate) fn page(params: &Params) -> Result<PageRequest, warp::Rejection> {
    let number = |name: &'static str| {
        params
            .get(name)
            .map(|raw| raw.trim().parse::<i64>().map_err(|_| reject(ApiError::NotANumber(name))))
            .transpose()
    };
    Ok(PageRequest::new(number("pageNo")?, number("pageSize")?, DEFAULT_CONFIG_PAGE_SIZE))
}

fn number(param: &'static str, raw: &str) -> Result<u64, warp::Rejection> {
    raw.trim().parse().map_err(|_| reject(ApiError::NotANumber(param)))
}

fn reject_from(err: ports::config::ConfigServiceError) -> warp::Rejection {
    reject(err.into())
}

fn reject(err: ApiError) -> warp::Rejection {
    warp::reject::custom(err)
}
