//! Export, import and clone on `/nacos/v1/cs/configs` (`export=true`, `exportV2=true`,
//! `import=true`, `clone=true`), in Nacos's wire shapes: a zip download, and
//! `{code, message, data: {succCount, skipCount, failData, skipData, unrecognized*}}`
//! answered with HTTP 200 whatever the outcome, as Nacos does.

use std::sync::Arc;

use domain::auth::{Action, Resource};
use domain::config::{
    export_archive, read_archive, ArchiveLayout, CloneItem, Config, ConfigKey, ConfigQuery, ImportReport, MatchMode,
    Namespace, SameConfigPolicy, TransferError,
};
use domain::paging::{PageRequest, MAX_PAGE_SIZE};
use ports::config::TransferFailure;
use serde::Deserialize;
use warp::reply::{Reply, Response};

use crate::configs::reject;
use crate::error::ApiError;
use crate::params::Params;
use crate::HttpApi;

/// Which transfer a config request asks for, if any.
pub(crate) fn asked(params: &Params, name: &str) -> bool {
    params.get(name).is_some_and(|value| value.eq_ignore_ascii_case("true"))
}

/// The namespace an import or a clone writes into: `tenant` (as every config call), else
/// `namespace` (what Java's import reads); the access check reads the same.
pub(crate) fn target_namespace(params: &Params) -> Option<&str> {
    params.get("tenant").or_else(|| params.get("namespace"))
}

/// `GET ?export=true` (v1 layout) or `?exportV2=true`: the selected configs of one
/// namespace as a zip. `ids` selects by id (within the namespace: an id of another
/// namespace is not exported, unlike Java); otherwise `dataId`, `group` (with `*`
/// patterns) and `appName` filter.
pub(crate) fn export(api: &HttpApi, params: &Params, layout: ArchiveLayout) -> Result<Response, warp::Rejection> {
    let namespace = Namespace::new(params.get("tenant").unwrap_or("")).map_err(reject)?;
    let selected = match params.get("ids") {
        Some(ids) => {
            let ids = parse_ids(ids)?;
            api.config.by_ids(&ids).into_iter().filter(|(key, _)| key.namespace == namespace).collect()
        }
        None => matching(api, namespace, params),
    };
    let (files, metadata) = export_archive(selected.iter().map(|(key, config)| (key, config.as_ref())), layout);
    let zip = crate::archive::write_zip(&files, &metadata).map_err(|err| {
        tracing::error!(cause = %err, "export archive could not be written");
        reject(ApiError::Internal)
    })?;
    let disposition = format!("attachment;filename=nacos_config_export_{}.zip", timestamp());
    let mut response = Response::new(zip.into());
    let headers = response.headers_mut();
    headers.insert("content-type", warp::http::HeaderValue::from_static("application/zip"));
    if let Ok(value) = warp::http::HeaderValue::from_str(&disposition) {
        headers.insert("content-disposition", value);
    }
    Ok(response)
}

fn parse_ids(raw: &str) -> Result<Vec<u64>, warp::Rejection> {
    raw.split(',')
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .map(|id| id.parse::<u64>().map_err(|_| reject(ApiError::NotANumber("ids"))))
        .collect()
}

/// Every config of `namespace` the filters match, page by page.
fn matching(api: &HttpApi, namespace: Namespace, params: &Params) -> Vec<(ConfigKey, Arc<Config>)> {
    let data_id = params.get("dataId").unwrap_or("").trim().to_owned();
    let group = params.get("group").unwrap_or("").trim().to_owned();
    let mode = if data_id.contains('*') || group.contains('*') { MatchMode::Blur } else { MatchMode::Accurate };
    let query = ConfigQuery {
        namespace,
        data_id,
        group,
        mode,
        app_name: params.get("appName").unwrap_or("").trim().to_owned(),
        tags: Vec::new(),
    };
    let mut found = Vec::new();
    for page_no in 1.. {
        let page =
            api.config.search(&query, PageRequest::new(Some(page_no), Some(MAX_PAGE_SIZE as i64), MAX_PAGE_SIZE));
        let last = page.items.len() < MAX_PAGE_SIZE;
        found.extend(page.items);
        if last {
            break;
        }
    }
    found
}

/// `yyyyMMddHHmmss` in UTC, for the export's file name.
fn timestamp() -> String {
    let seconds = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |since| since.as_secs());
    let (days, rest) = (seconds / 86_400, seconds % 86_400);
    // Howard Hinnant's days-to-civil.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}{month:02}{day:02}{:02}{:02}{:02}", rest / 3600, rest % 3600 / 60, rest % 60)
}

/// `POST ?import=true`: the multipart `file` imported into the target namespace.
pub(crate) async fn import(api: &HttpApi, params: &Params) -> Result<Response, warp::Rejection> {
    let outcome = async {
        let policy = SameConfigPolicy::parse(params.get("policy"))?;
        let namespace = Namespace::new(target_namespace(params).unwrap_or(""))?;
        let bytes = params.file("file").ok_or(TransferError::EmptyFile)?;
        let (files, metadata) = crate::archive::read_zip(bytes)?;
        let set = read_archive(files, metadata, &namespace, api.config.limits())?;
        let mut report = api.config.import(set.configs, policy).await?;
        report.unrecognized = set.unrecognized;
        Ok::<_, TransferFailure>(report)
    }
    .await;
    answer(outcome, "import success")
}

/// One item of a clone's JSON body.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CloneBody {
    cfg_id: serde_json::Value,
    #[serde(default)]
    data_id: Option<String>,
    #[serde(default)]
    group: Option<String>,
}

/// `POST ?clone=true&tenant=<target>&policy=`: the JSON body's configs (by id) copied
/// into the target. The caller needs read access to every source as well as write access
/// to the target (which the route's check covers).
pub(crate) async fn clone(api: &HttpApi, params: &Params) -> Result<Response, warp::Rejection> {
    let body = params.json_body().unwrap_or_default();
    let items: Vec<CloneBody> = serde_json::from_slice(body)
        .map_err(|_| reject(ApiError::Invalid(invalid("body", "not a JSON list of {cfgId, dataId, group}"))))?;
    let mut selection = Vec::with_capacity(items.len());
    for item in items {
        let id = match &item.cfg_id {
            serde_json::Value::Number(number) => number.as_u64(),
            serde_json::Value::String(text) => text.trim().parse().ok(),
            _ => None,
        };
        let id = id.ok_or_else(|| reject(ApiError::NotANumber("cfgId")))?;
        selection.push(CloneItem { id, group: item.group, data_id: item.data_id });
    }
    let ids: Vec<u64> = selection.iter().map(|item| item.id).collect();
    let sources = api.config.by_ids(&ids);
    let resources = sources.iter().map(|(key, _)| Resource::Config {
        namespace: key.namespace.as_str().into(),
        group: key.group.as_str().into(),
        data_id: key.data_id.as_str().into(),
    });
    crate::access::check_each(api, params, resources.collect(), Action::Read).await.map_err(reject)?;
    let outcome = async {
        let policy = SameConfigPolicy::parse(params.get("policy"))?;
        let target = Namespace::new(target_namespace(params).unwrap_or(""))?;
        api.config.clone_configs(selection, target, policy).await
    }
    .await;
    answer(outcome, "Clone Completed Successfully")
}

fn invalid(param: &'static str, reason: &'static str) -> domain::config::ConfigError {
    domain::config::ConfigError::Invalid { param, reason }
}

/// Nacos's result: HTTP 200 with `code` 200 and the report, or a refusal's `code`; a
/// request that breaks a parameter rule or a failed publish is an ordinary HTTP error.
fn answer(outcome: Result<ImportReport, TransferFailure>, message: &str) -> Result<Response, warp::Rejection> {
    let body = match outcome {
        Ok(report) => serde_json::json!({ "code": 200, "message": message, "data": report_json(&report) }),
        Err(TransferFailure::Refused(refusal)) => serde_json::json!({
            "code": refusal.code(),
            "message": refusal.to_string(),
            "data": { "succCount": 0 },
        }),
        Err(TransferFailure::Invalid(err)) => return Err(reject(ApiError::Invalid(err))),
        Err(TransferFailure::Service(err)) => return Err(reject(ApiError::from(err))),
    };
    Ok(warp::reply::json(&body).into_response())
}

fn report_json(report: &ImportReport) -> serde_json::Value {
    let keys = |keys: &[ConfigKey]| -> Vec<serde_json::Value> {
        keys.iter()
            .map(|key| serde_json::json!({ "dataId": key.data_id.as_str(), "group": key.group.as_str() }))
            .collect()
    };
    let mut data = serde_json::json!({ "succCount": report.succeeded, "skipCount": report.skipped.len() });
    if let Some(fields) = data.as_object_mut() {
        if !report.failed.is_empty() {
            fields.insert("failData".to_owned(), keys(&report.failed).into());
        }
        if !report.skipped.is_empty() {
            fields.insert("skipData".to_owned(), keys(&report.skipped).into());
        }
        if !report.unrecognized.is_empty() {
            let items: Vec<serde_json::Value> =
                report.unrecognized.iter().map(|name| serde_json::json!({ "itemName": name })).collect();
            fields.insert("unrecognizedCount".to_owned(), items.len().into());
            fields.insert("unrecognizedData".to_owned(), items.into());
        }
    }
    data
}

#[cfg(test)]
mod tests {
    #[test]
    fn export_file_names_carry_a_utc_timestamp() {
        let stamp = super::timestamp();
        assert_eq!(stamp.len(), 14);
        assert!(stamp.starts_with("20"), "{stamp}");
        assert!(stamp.chars().all(|c| c.is_ascii_digit()));
    }
}
