//! The web console: its page and modules (embedded by `console-web`) under `/nacos/`, `/`
//! redirected there as Java Nacos does, and the one summary the console needs that the
//! Nacos API has no call for (`/nacos/v1/console/overview`).

use std::sync::Arc;

use warp::http::{HeaderValue, StatusCode};
use warp::reply::{Reply, Response};
use warp::Filter;

use crate::HttpApi;

/// The page's and modules' policy: everything from this server, nothing inline but styles
/// (the editor's overlay positions itself), never framed.
const CONTENT_SECURITY_POLICY: &str =
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'";

pub(crate) fn routes(api: Arc<HttpApi>) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    // By the full path (warp's segment matching cannot tell `/nacos` from `/nacos/`), and
    // the path before the method: other paths must fall through as "not found", not as
    // "method not allowed".
    let pages = warp::path::full()
        .and_then(|path: warp::path::FullPath| async move {
            match path.as_str() {
                "/" | "/nacos" => Ok(None),
                "/nacos/" | "/nacos/index.html" => Ok(Some("")),
                _ => Err(warp::reject::not_found()),
            }
        })
        .and(warp::get())
        .map(|page: Option<&'static str>| page.map_or_else(|| redirect("/nacos/"), asset));
    let files = warp::path!("nacos" / "console-ui" / ..)
        .and(warp::path::tail())
        .and(warp::get())
        .map(|tail: warp::path::Tail| asset(tail.as_str()));
    let overview = warp::path!("nacos" / "v1" / "console" / "overview")
        .and(warp::get())
        .and(crate::access::checked_params(&api))
        .map(move |_| overview(&api));
    pages.or(files).unify().or(overview).unify()
}

fn redirect(to: &'static str) -> Response {
    let mut response = Response::new("".into());
    *response.status_mut() = StatusCode::FOUND;
    response.headers_mut().insert("location", HeaderValue::from_static(to));
    response
}

fn asset(path: &str) -> Response {
    let Some(asset) = console_web::asset(path) else {
        return warp::reply::with_status(crate::error::text("no such file".to_owned()), StatusCode::NOT_FOUND)
            .into_response();
    };
    let mut response = Response::new(asset.bytes.into());
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static(asset.content_type));
    headers.insert("cache-control", HeaderValue::from_static("no-cache"));
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    headers.insert("content-security-policy", HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    response
}

/// Counts for the console's overview page.
fn overview(api: &HttpApi) -> Response {
    let namespaces = api.namespaces.list();
    let configs: usize = namespaces.iter().map(|namespace| namespace.config_count).sum();
    let metrics = api.queries.metrics();
    let (listeners, listened) = api.listening.counts();
    let body = serde_json::json!({
        "namespaceCount": namespaces.len(),
        "configCount": configs,
        "serviceCount": metrics.service_count,
        "instanceCount": metrics.instance_count,
        "subscriberCount": metrics.subscriber_count,
        "clientCount": metrics.client_count,
        "listenerCount": listeners,
        "listenedConfigCount": listened,
        "nodeCount": api.cluster.status().members.len(),
    });
    warp::reply::json(&body).into_response()
}
