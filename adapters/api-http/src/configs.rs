//! `/nacos/v1/cs/configs`: get, publish and delete one config.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use domain::config::{
    parse_gray_rule, parse_gray_tag, reader_tag, ArchiveLayout, Config, ConfigDetails, ConfigKey, ConfigQuery,
    ConfigType, GrayConfig, GrayRule, KeyRef, MatchMode, Namespace, PublishConfig, PublishParams, Reader,
    BETA_GRAY_NAME,
};
use domain::paging::Page;
use warp::reply::{Reply, Response};
use warp::Filter;

use crate::error::{text, ApiError};
use crate::params::Params;
use crate::{history, transfer, HttpApi};

pub(crate) fn routes(api: Arc<HttpApi>) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    config_requests(api, warp::path!("nacos" / "v1" / "cs" / "configs")).and_then(|request: ConfigRequest| async move {
        match request.operation {
            Operation::Read => get_config(request.api, request.params, request.client_ip, request.vipserver_tag).await,
            Operation::Publish => publish_config(request.api, request.params, request.cas_md5, request.beta_ips).await,
            Operation::Remove => delete_config(request.api, request.params).await,
        }
    })
}

/// What a config request asks for: its method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation {
    Read,
    Publish,
    Remove,
}

/// One config request with everything its handler may need.
pub(crate) struct ConfigRequest {
    pub(crate) operation: Operation,
    pub(crate) api: Arc<HttpApi>,
    pub(crate) params: Params,
    pub(crate) client_ip: String,
    pub(crate) cas_md5: Option<String>,
    pub(crate) beta_ips: Option<String>,
    /// The `Vipserver-Tag` header: the tag a client reads with when the query names none.
    pub(crate) vipserver_tag: Option<String>,
}

/// The config requests on `path`: GET reads, POST publishes (with the `casMd5` and
/// `betaIps` headers), DELETE removes; other methods are refused as not allowed. v1 and v2
/// share this wiring and differ only in parameter names and answers.
pub(crate) fn config_requests(
    api: Arc<HttpApi>,
    path: impl Filter<Extract = (), Error = warp::Rejection> + Clone,
) -> impl Filter<Extract = (ConfigRequest,), Error = warp::Rejection> + Clone {
    let checked = crate::access::checked_params(&api);
    let with_api = warp::any().map(move || Arc::clone(&api));
    let operation = warp::get()
        .map(|| Operation::Read)
        .or(warp::post().map(|| Operation::Publish))
        .unify()
        .or(warp::delete().map(|| Operation::Remove))
        .unify();
    path.and(operation)
        .and(with_api)
        .and(checked.clone())
        .and(client_ip())
        .and(warp::header::optional::<String>("casMd5"))
        .and(warp::header::optional::<String>("betaIps"))
        .and(warp::header::optional::<String>("Vipserver-Tag"))
        .map(|operation, api, params, client_ip, cas_md5, beta_ips, vipserver_tag| ConfigRequest {
            operation,
            api,
            params,
            client_ip,
            cas_md5,
            beta_ips,
            vipserver_tag,
        })
}

/// Which parameters name the namespace and the group: `tenant` and `group` in v1,
/// `namespaceId` and `group` in v2, `namespaceId` and `groupName` in v3.
#[derive(Clone, Copy)]
pub(crate) enum Version {
    V1,
    V2,
    V3,
}

impl Version {
    pub(crate) fn namespace(self, params: &Params) -> Option<&str> {
        match self {
            Self::V1 => params.get("tenant"),
            Self::V2 | Self::V3 => params.get("namespaceId").or_else(|| params.get("tenant")),
        }
    }

    pub(crate) fn group(self, params: &Params) -> Option<&str> {
        match self {
            Self::V1 | Self::V2 => params.get("group"),
            Self::V3 => params.get("groupName").or_else(|| params.get("group")),
        }
    }
}

/// `linearizable=true` on a read: wait first until this node holds every write that
/// completed anywhere before the read (ours; Nacos reads are always local).
pub(crate) async fn barrier_if_asked(api: &HttpApi, params: &Params) -> Result<(), ApiError> {
    if params.get("linearizable").is_some_and(|value| value.eq_ignore_ascii_case("true")) {
        api.config.read_barrier().await?;
    }
    Ok(())
}

/// The config a client at `client_ip` reads with the query's `tag` (else the
/// `Vipserver-Tag` header), and the gray version that served it, if one did.
pub(crate) fn read(
    api: &HttpApi,
    version: Version,
    params: &Params,
    client_ip: &str,
    vipserver_tag: Option<&str>,
) -> Result<(Arc<Config>, Option<Arc<GrayConfig>>), ApiError> {
    let key = KeyRef::parse(version.namespace(params), version.group(params), params.get("dataId"))?;
    let tag = reader_tag([params.get("tag"), vipserver_tag]);
    api.config.get_for(key, Reader::new(client_ip, tag)).ok_or(ApiError::ConfigNotFound)
}

/// Marks an answer served from a gray version as Nacos does: `isBeta: true` for the beta,
/// the `tag` header for a tag's version.
pub(crate) fn mark_gray(response: &mut Response, gray: Option<&GrayConfig>) {
    match gray.map(|gray| &gray.rule) {
        Some(GrayRule::Beta { .. }) => {
            response.headers_mut().insert("isBeta", warp::http::HeaderValue::from_static("true"));
        }
        Some(GrayRule::Tag { tag }) => {
            if let Ok(value) = warp::http::HeaderValue::from_str(tag) {
                response.headers_mut().insert("tag", value);
            }
        }
        None => {}
    }
}

/// A publish's raw parameters, as the v1 and v2 APIs name them.
pub(crate) fn publish_params<'a>(version: Version, params: &'a Params, cas_md5: Option<&'a str>) -> PublishParams<'a> {
    PublishParams {
        namespace: version.namespace(params),
        group: version.group(params),
        data_id: params.get("dataId"),
        content: params.get("content"),
        config_type: params.get("type"),
        desc: params.get("desc"),
        app_name: params.get("appName"),
        tags: params.get("config_tags").or_else(|| params.get("configTags")),
        cas_md5,
        encrypted_data_key: params.get("encryptedDataKey"),
        usage: params.get("use"),
        effect: params.get("effect"),
        schema: params.get("schema"),
    }
}

/// Publishes; a non-blank `beta_ips` makes it a gray release for those ips, a non-blank
/// `tag` one for clients reading with that tag.
pub(crate) async fn write(
    api: &HttpApi,
    version: Version,
    params: &Params,
    cas_md5: Option<&str>,
    beta_ips: Option<&str>,
) -> Result<(), ApiError> {
    let rule = parse_gray_rule(beta_ips, params.get("tag"))?;
    let publish = PublishConfig::parse(&publish_params(version, params, cas_md5), api.config.limits())?;
    tracing::debug!(key = %publish.key, gray = ?rule.as_ref().map(GrayRule::name), "publish");
    match rule {
        Some(rule) => Ok(api.config.publish_gray(publish, rule).await?),
        None => Ok(api.config.publish(publish).await?),
    }
}

/// Removes the config, or with a non-blank `tag` only that tag's gray version (Nacos's
/// "delete with tag").
pub(crate) async fn delete(api: &HttpApi, version: Version, params: &Params) -> Result<(), ApiError> {
    let key = ConfigKey::parse(version.namespace(params), version.group(params), params.get("dataId"))?;
    match parse_gray_tag(params.get("tag"))? {
        Some(tag) => Ok(api.config.stop_gray(key, GrayRule::Tag { tag }.name()).await?),
        None => Ok(api.config.remove(key).await?),
    }
}

#[tracing::instrument(level = "debug", skip_all)]
async fn get_config(
    api: Arc<HttpApi>,
    params: Params,
    client_ip: String,
    vipserver_tag: Option<String>,
) -> Result<Response, warp::Rejection> {
    if let Some(mode) = params.get("search") {
        return search(&api, mode, &params);
    }
    if transfer::asked(&params, "exportV2") {
        return transfer::export(&api, &params, ArchiveLayout::V2);
    }
    if transfer::asked(&params, "export") {
        return transfer::export(&api, &params, ArchiveLayout::V1);
    }
    if params.get("beta").is_some_and(|beta| beta.eq_ignore_ascii_case("true")) {
        return beta_info(&api, &params);
    }
    if params.get("show").is_some_and(|show| show.eq_ignore_ascii_case("all")) {
        return detail(&api, &params);
    }
    barrier_if_asked(&api, &params).await.map_err(reject)?;
    let (config, gray) = read(&api, Version::V1, &params, &client_ip, vipserver_tag.as_deref()).map_err(reject)?;
    let mut response = config_response(config.content.clone(), &config);
    mark_gray(&mut response, gray.as_deref());
    Ok(response)
}

/// `GET ?show=all`: the formal config with everything stored beside it, in the shape of
/// Java's `ConfigAllInfo` (what the console's detail and edit pages read).
fn detail(api: &HttpApi, params: &Params) -> Result<Response, warp::Rejection> {
    let key = ConfigKey::parse(params.get("tenant"), params.get("group"), params.get("dataId")).map_err(reject)?;
    let config = api.config.get(&key).ok_or_else(|| reject(ApiError::ConfigNotFound))?;
    let details = ConfigDetails::or_empty(config.details.as_deref());
    let mut body = config_info(&key, &config);
    let more = serde_json::json!({
        "createTime": config.created.as_u64(),
        "modifyTime": config.last_modified.as_u64(),
        "createUser": null,
        "createIp": null,
        "desc": config.desc,
        "use": details.usage,
        "effect": details.effect,
        "schema": details.schema,
        "configTags": config.tags,
    });
    if let (Some(fields), serde_json::Value::Object(more)) = (body.as_object_mut(), more) {
        fields.extend(more);
    }
    Ok(warp::reply::json(&body).into_response())
}

/// Java's `ConfigInfo`: what a search lists of each config, and the start of its detail.
fn config_info(key: &ConfigKey, config: &Config) -> serde_json::Value {
    serde_json::json!({
        "id": config.id.to_string(),
        "dataId": key.data_id.as_str(),
        "group": key.group.as_str(),
        "content": config.content,
        "md5": config.md5,
        "encryptedDataKey": config.encrypted_data_key,
        "tenant": history::tenant(&key.namespace),
        "appName": config.app_name,
        "type": config.config_type.as_str(),
    })
}

/// `GET ?beta=true`: the live gray release of a config, in Nacos's RestResult shape.
fn beta_info(api: &HttpApi, params: &Params) -> Result<Response, warp::Rejection> {
    let key = ConfigKey::parse(params.get("tenant"), params.get("group"), params.get("dataId")).map_err(reject)?;
    let data = api.config.gray(&key, BETA_GRAY_NAME).map(|beta| {
        serde_json::json!({
            "dataId": key.data_id.as_str(),
            "group": key.group.as_str(),
            "tenant": history::tenant(&key.namespace),
            "content": beta.content,
            "md5": beta.md5,
            "type": beta.config_type.as_str(),
            "betaIps": beta.rule.expression(),
            "lastModified": beta.last_modified.as_u64(),
        })
    });
    let body = serde_json::json!({ "code": 200, "message": "query beta ok", "data": data });
    Ok(warp::reply::json(&body).into_response())
}

#[tracing::instrument(level = "debug", skip_all)]
async fn publish_config(
    api: Arc<HttpApi>,
    params: Params,
    cas_md5: Option<String>,
    beta_ips: Option<String>,
) -> Result<Response, warp::Rejection> {
    if transfer::asked(&params, "import") {
        return transfer::import(&api, &params).await;
    }
    if transfer::asked(&params, "clone") {
        return transfer::clone(&api, &params).await;
    }
    write(&api, Version::V1, &params, cas_md5.as_deref(), beta_ips.as_deref()).await.map_err(reject)?;
    Ok(text("true".to_owned()).into_response())
}

#[tracing::instrument(level = "debug", skip_all)]
async fn delete_config(api: Arc<HttpApi>, params: Params) -> Result<Response, warp::Rejection> {
    if params.get("beta").is_some_and(|beta| beta.eq_ignore_ascii_case("true")) {
        let key = ConfigKey::parse(params.get("tenant"), params.get("group"), params.get("dataId")).map_err(reject)?;
        api.config.stop_gray(key, BETA_GRAY_NAME.to_owned()).await.map_err(reject)?;
        return Ok(text("true".to_owned()).into_response());
    }
    delete(&api, Version::V1, &params).await.map_err(reject)?;
    Ok(text("true".to_owned()).into_response())
}

pub(crate) fn reject(err: impl Into<ApiError>) -> warp::Rejection {
    warp::reject::custom(err.into())
}

/// `body` with the headers Nacos clients read (`Content-MD5`, `Config-Type`, and
/// `Encrypted-Data-Key` for an encrypted config, which the encryption plugin needs to decrypt
/// the body).
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
    let data_key =
        (!config.encrypted_data_key.is_empty()).then(|| ("encrypted-data-key", config.encrypted_data_key.clone()));
    for (name, value) in headers.into_iter().chain(data_key) {
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

/// The caller's ip, which beta releases are matched against.
pub(crate) fn client_ip() -> impl Filter<Extract = (String,), Error = std::convert::Infallible> + Clone {
    warp::ext::optional::<crate::PeerAddr>().map(|remote: Option<crate::PeerAddr>| {
        remote.map_or_else(String::new, |crate::PeerAddr(addr)| match addr.ip() {
            std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or_else(|| v6.to_string(), |v4| v4.to_string()),
            ip => ip.to_string(),
        })
    })
}
/// `search=accurate|blur`: one page of matching configs, as consoles and the Python 2.x
/// SDK's `get_configs` read it.
fn search(api: &HttpApi, mode: &str, params: &Params) -> Result<Response, warp::Rejection> {
    let page = search_page(api, Version::V1, mode, params)?;
    let items: Vec<serde_json::Value> = page.items.iter().map(|(key, config)| config_info(key, config)).collect();
    let body = serde_json::json!({
        "totalCount": page.total,
        "pageNumber": page.page_no,
        "pagesAvailable": page.pages,
        "pageItems": items,
    });
    Ok(warp::reply::json(&body).into_response())
}

/// One page of the configs a search (`blur` or `accurate`) finds.
pub(crate) fn search_page(
    api: &HttpApi,
    version: Version,
    mode: &str,
    params: &Params,
) -> Result<Page<(ConfigKey, Arc<Config>)>, warp::Rejection> {
    let mode = match mode {
        "blur" => MatchMode::Blur,
        _ => MatchMode::Accurate,
    };
    let namespace = Namespace::new(version.namespace(params).unwrap_or("")).map_err(reject)?;
    let query = ConfigQuery {
        namespace,
        data_id: params.get("dataId").unwrap_or("").trim().to_owned(),
        group: version.group(params).unwrap_or("").trim().to_owned(),
        mode,
        app_name: params.get("appName").unwrap_or("").trim().to_owned(),
        tags: params
            .get("config_tags")
            .or_else(|| params.get("configTags"))
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|tag| !tag.is_empty())
            .map(str::to_owned)
            .collect(),
    };
    Ok(api.config.search(&query, history::page(params)?))
}
