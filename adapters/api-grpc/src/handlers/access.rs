//! Who may make a gRPC request: the credentials its headers carry (an `accessToken`, or a
//! `username` and `password`) and the resource its fields name, checked by the auth
//! service. Server checks, health checks and connection set-up are open, as in Java Nacos
//! (a client sets up before it has anything to authenticate with).

use domain::auth::{Action, Resource};
use ports::auth::Credentials;
use serde::Deserialize;

use super::Route;
use crate::wire::Incoming;

/// The fields of any request that name what it touches.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Addressed {
    data_id: Option<String>,
    group: Option<String>,
    tenant: Option<String>,
    namespace: Option<String>,
    group_name: Option<String>,
    service_name: Option<String>,
    config_listen_contexts: Vec<ListenKey>,
    group_key_pattern: Option<String>,
    headers: CredentialHeaders,
}

/// The body's `headers` that carry credentials; the others are skipped unread.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CredentialHeaders {
    #[serde(rename = "accessToken")]
    access_token: Option<String>,
    #[serde(rename = "Authorization")]
    authorization: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct ListenKey {
    data_id: Option<String>,
    group: Option<String>,
    tenant: Option<String>,
}

/// What `route` needs (`action` on each resource; `None`: nothing) and the credentials
/// the request carries, from one reading of its body.
pub(super) fn need(route: Route, incoming: &Incoming) -> Option<(Vec<Resource>, Action, Credentials)> {
    let fields: Addressed = incoming.decode().unwrap_or_default();
    let credentials = credentials(incoming, &fields);
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    let config = |data_id: &Option<String>, group: &Option<String>, tenant: &Option<String>| Resource::Config {
        namespace: text(tenant),
        group: text(group),
        data_id: text(data_id),
    };
    let service = || {
        let name = text(&fields.service_name);
        let (group, name) = match name.split_once("@@") {
            Some((group, name)) => (group.to_owned(), name.to_owned()),
            None => (text(&fields.group_name), name),
        };
        Resource::Naming { namespace: text(&fields.namespace), group, service: name }
    };
    // A fuzzy watch reads everything its pattern may match: the pattern's namespace, any
    // group and name.
    let pattern_namespace = || {
        let pattern = text(&fields.group_key_pattern);
        pattern.split(">>").next().unwrap_or_default().to_owned()
    };
    let (resources, action) = match route {
        Route::HealthCheck => return None,
        Route::ConfigQuery => (vec![config(&fields.data_id, &fields.group, &fields.tenant)], Action::Read),
        Route::ConfigPublish | Route::ConfigRemove => {
            (vec![config(&fields.data_id, &fields.group, &fields.tenant)], Action::Write)
        }
        Route::ConfigListen => {
            let keys = fields.config_listen_contexts.iter().map(|key| config(&key.data_id, &key.group, &key.tenant));
            (keys.collect(), Action::Read)
        }
        Route::ConfigFuzzyWatch => {
            let resource =
                Resource::Config { namespace: pattern_namespace(), group: String::new(), data_id: String::new() };
            (vec![resource], Action::Read)
        }
        Route::NamingFuzzyWatch => {
            let resource =
                Resource::Naming { namespace: pattern_namespace(), group: String::new(), service: String::new() };
            (vec![resource], Action::Read)
        }
        Route::Instance(_) => (vec![service()], Action::Write),
        Route::Subscribe | Route::ServiceQuery | Route::ServiceList => (vec![service()], Action::Read),
    };
    Some((resources, action, credentials))
}

/// The credentials of a request: `accessToken` (or `Authorization: Bearer`), else
/// `username` and `password`, from the payload's metadata headers or the body's `headers`.
fn credentials(incoming: &Incoming, body: &Addressed) -> Credentials {
    let header = |name: &str| {
        let in_body = match name {
            "accessToken" => &body.headers.access_token,
            "Authorization" => &body.headers.authorization,
            "username" => &body.headers.username,
            _ => &body.headers.password,
        };
        incoming
            .metadata_header(name)
            .or_else(|| in_body.clone())
            .map(|value| value.trim().to_owned())
            .filter(|value| !value.is_empty())
    };
    let bearer =
        header("Authorization").and_then(|value| value.strip_prefix("Bearer ").map(|token| token.trim().to_owned()));
    Credentials { token: header("accessToken").or(bearer), username: header("username"), password: header("password") }
}
