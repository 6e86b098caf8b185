//! `/nacos/v1/cs/configs/listener`: the HTTP long poll of 1.x-style clients (POST), and
//! which clients listen to a config (GET).

use std::sync::Arc;
use std::time::Duration;

use domain::config::{ConfigKey, ListenContext, ListenError};
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::json;
use warp::reply::{Reply, Response};
use warp::Filter;

use crate::error::ApiError;
use crate::params::Params;
use crate::HttpApi;

/// Nacos holds a poll at least this long, whatever the client asked.
const MIN_HOLD: Duration = Duration::from_secs(10);
/// And at most this long, so a wild header cannot pin a request for hours.
const MAX_HOLD: Duration = Duration::from_secs(120);
/// No poll parses more keys than this; the listen service's per-listener limit, the same
/// as gRPC's, then applies.
const MAX_KEYS: usize = 10_000;
const WORD: char = '\u{2}';
const LINE: char = '\u{1}';
/// What `URLEncoder` leaves alone: letters, digits and `-_.*`.
const FORM: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'*');

pub(crate) fn routes(api: Arc<HttpApi>) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    let checked = crate::access::checked_params(&api);
    let api_for_ip = Arc::clone(&api);
    let with_api = warp::any().map(move || Arc::clone(&api));
    let base = warp::path!("nacos" / "v1" / "cs" / "configs" / "listener").and(with_api);
    let poll = base
        .clone()
        .and(warp::post())
        .and(checked.clone())
        .and(warp::header::optional::<u64>("Long-Pulling-Timeout"))
        .and(warp::header::optional::<String>("Long-Pulling-Timeout-No-Hangup"))
        .and(crate::configs::client_ip())
        .and(warp::header::optional::<String>("Vipserver-Tag"))
        .and_then(long_poll);
    let query = base.and(warp::get()).and(checked.clone()).and_then(listeners_of);
    let by_ip = warp::path!("nacos" / "v1" / "cs" / "listener")
        .and(warp::get())
        .and(warp::any().map(move || Arc::clone(&api_for_ip)))
        .and(checked.clone())
        .and_then(listened_by_ip);
    poll.or(query).unify().or(by_ip).unify()
}

async fn long_poll(
    api: Arc<HttpApi>,
    params: Params,
    timeout_ms: Option<u64>,
    no_hangup: Option<String>,
    client_ip: String,
    vipserver_tag: Option<String>,
) -> Result<Response, warp::Rejection> {
    let raw = params.get("Listening-Configs").ok_or(reject(ApiError::MissingParam("Listening-Configs")))?;
    let watched = parse_listening_configs(raw).map_err(reject)?;

    // Registered before the comparison, so a change between the two still wakes the poll.
    let poll = api.long_polls.start(Arc::clone(&api.listening));
    let tag = domain::config::reader_tag([vipserver_tag.as_deref()]);
    let changed = api.listening.listen(&poll.listener(), &client_ip, tag, &watched).map_err(|err| match err {
        ListenError::TooManyListeners { limit } => reject(ApiError::TooManyListeningConfigs { limit }),
    })?;
    let hang = timeout_ms.is_some() && !no_hangup.is_some_and(|value| value.eq_ignore_ascii_case("true"));
    if !changed.is_empty() || !hang {
        return Ok(answer(&changed));
    }
    // A wake-up may find nothing stale: the notice of a change the client already had
    // (applied before the poll registered, announced after). The poll then holds on for
    // the rest of its time instead of sending the client round again.
    let until = tokio::time::Instant::now() + hold(timeout_ms.unwrap_or(0));
    while tokio::time::timeout_at(until, poll.changed()).await.is_ok() {
        let stale = api.listening.stale(&poll.listener());
        if !stale.is_empty() {
            return Ok(answer(&stale));
        }
    }
    Ok(answer(&[]))
}

/// How long a poll is held: what the client asked less half a second (so it hears back
/// before its own timeout), within Nacos's bounds.
fn hold(requested_ms: u64) -> Duration {
    Duration::from_millis(requested_ms).saturating_sub(Duration::from_millis(500)).clamp(MIN_HOLD, MAX_HOLD)
}

fn answer(changed: &[ListenContext]) -> Response {
    let mut response = Response::new(encode(changed).into());
    for (name, value) in [("cache-control", "no-cache,no-store"), ("pragma", "no-cache"), ("expires", "0")] {
        response.headers_mut().insert(name, warp::http::HeaderValue::from_static(value));
    }
    response
}

/// `dataId ^B group [^B tenant] ^A` per key, form-encoded, then a newline.
fn encode(changed: &[ListenContext]) -> String {
    let mut body = String::new();
    for watched in changed {
        body.push_str(watched.key.data_id.as_str());
        body.push(WORD);
        body.push_str(watched.key.group.as_str());
        if !watched.tenant_as_sent.is_empty() {
            body.push(WORD);
            body.push_str(&watched.tenant_as_sent);
        }
        body.push(LINE);
    }
    let mut encoded = utf8_percent_encode(&body, FORM).to_string();
    if !encoded.is_empty() {
        encoded.push('\n');
    }
    encoded
}

/// Parses `dataId ^B group ^B md5 [^B tenant] ^A ...`. Some clients encode the value twice;
/// names cannot contain `%`, so a second decode is safe when separators are still encoded.
pub(crate) fn parse_listening_configs(raw: &str) -> Result<Vec<ListenContext>, ApiError> {
    let decoded = if raw.contains("%02") || raw.contains("%01") {
        percent_decode_str(raw)
            .decode_utf8()
            .map_err(|_| ApiError::NotUtf8("Listening-Configs".to_owned()))?
            .into_owned()
    } else {
        raw.to_owned()
    };
    let mut watched = Vec::new();
    for record in decoded.split(LINE).filter(|record| !record.trim().is_empty()) {
        let fields: Vec<&str> = record.split(WORD).collect();
        let (data_id, group, md5, tenant) = match fields.as_slice() {
            [data_id, group, md5] => (*data_id, *group, *md5, ""),
            [data_id, group, md5, tenant] => (*data_id, *group, *md5, *tenant),
            _ => return Err(ApiError::BadListeningConfigs),
        };
        let key = ConfigKey::parse(Some(tenant), Some(group), Some(data_id))?;
        watched.push(ListenContext { key, tenant_as_sent: tenant.to_owned(), md5: md5.to_owned() });
        if watched.len() > MAX_KEYS {
            return Err(ApiError::TooManyListeningConfigs { limit: MAX_KEYS });
        }
    }
    Ok(watched)
}

/// Which clients listen to one config, gRPC connections and long polls alike: Nacos's
/// shape (client ip -> md5 it holds) plus the number of listeners, which the ip map cannot
/// show when ips repeat.
async fn listeners_of(api: Arc<HttpApi>, params: Params) -> Result<Response, warp::Rejection> {
    let key = ConfigKey::parse(params.get("tenant"), params.get("group"), params.get("dataId")).map_err(reject)?;
    let (by_ip, count) = listeners_by_ip(&api, &key);
    let body = json!({ "collectStatus": 200, "lisentersGroupkeyStatus": by_ip, "listenerCount": count });
    Ok(warp::reply::json(&body).into_response())
}

/// Who listens to `key`: client ip -> the md5 it holds, and how many listeners there are.
pub(crate) fn listeners_by_ip(api: &HttpApi, key: &ConfigKey) -> (serde_json::Map<String, serde_json::Value>, usize) {
    let registrations = api.listening.registrations(key);
    let by_ip = registrations
        .iter()
        .map(|(_, registration)| (registration.client_ip.clone(), json!(registration.md5)))
        .collect();
    (by_ip, registrations.len())
}

/// `GET /nacos/v1/cs/listener?ip=`: the configs clients at one ip listen to, keyed
/// `dataId+group[+tenant]` as Nacos's group keys, with the md5 each holds.
async fn listened_by_ip(api: Arc<HttpApi>, params: Params) -> Result<Response, warp::Rejection> {
    let ip = params.get("ip").ok_or(reject(ApiError::MissingParam("ip")))?;
    let status = listened_configs(&api, ip);
    Ok(warp::reply::json(&json!({ "collectStatus": 200, "lisentersGroupkeyStatus": status })).into_response())
}

/// What clients at `ip` listen to: group key (`dataId+group[+tenant]`, the tenant as the
/// client spelt it) -> the md5 each holds.
pub(crate) fn listened_configs(api: &HttpApi, ip: &str) -> serde_json::Map<String, serde_json::Value> {
    api.listening
        .registrations_of_ip(ip.trim())
        .into_iter()
        .map(|(key, registration)| {
            let mut group_key = format!("{}+{}", key.data_id.as_str(), key.group.as_str());
            if !registration.tenant_as_sent.is_empty() {
                group_key.push('+');
                group_key.push_str(&registration.tenant_as_sent);
            }
            (group_key, json!(registration.md5))
        })
        .collect()
}

fn reject(err: impl Into<ApiError>) -> warp::Rejection {
    warp::reject::custom(err.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listening_configs_parse_with_and_without_tenant() {
        let watched = parse_listening_configs("a\u{2}G\u{2}m1\u{1}b\u{2}G\u{2}\u{2}dev\u{1}").unwrap();
        assert_eq!(watched.len(), 2);
        assert_eq!(
            (watched[0].key.data_id.as_str(), watched[0].md5.as_str(), watched[0].tenant_as_sent.as_str()),
            ("a", "m1", "")
        );
        assert_eq!((watched[1].md5.as_str(), watched[1].tenant_as_sent.as_str()), ("", "dev"));
        let twice = parse_listening_configs("a%02G%02m1%01").unwrap();
        assert_eq!(twice[0].key.group.as_str(), "G");
        assert!(parse_listening_configs("only-one-field\u{1}").is_err());
    }

    proptest::proptest! {
        /// Whatever a client puts in `Listening-Configs`, it parses or is refused; what
        /// parses answers back in the client's own spelling.
        #[test]
        fn any_listening_configs_parse_or_are_refused(raw in "(.{0,12}[\u{1}\u{2}%]{0,2}){0,8}") {
            if let Ok(watched) = parse_listening_configs(&raw) {
                proptest::prop_assert!(watched.len() <= MAX_KEYS + 1);
                let _ = encode(&watched);
            }
        }
    }

    #[test]
    fn answers_are_form_encoded_records() {
        let key = ConfigKey::parse(Some("dev"), Some("G"), Some("a.yaml")).unwrap();
        let watched = ListenContext { key, tenant_as_sent: "dev".to_owned(), md5: String::new() };
        assert_eq!(encode(std::slice::from_ref(&watched)), "a.yaml%02G%02dev%01\n");
        let public = ListenContext { tenant_as_sent: String::new(), ..watched };
        assert_eq!(encode(&[public]), "a.yaml%02G%01\n");
        assert_eq!(encode(&[]), "");
    }
}
