//! Who may make an HTTP request: the credentials it carries, and the resource and action
//! its path and parameters name, checked by the auth service (the domain's rule). Every
//! route reads its parameters through [`checked_params`], so none is served unchecked.
//!
//! The classification is a table by path: config paths name a config, registry paths a
//! service, the user, role, permission, namespace-write, cluster and operator paths are the
//! administrator's, and anything unlisted under `/nacos/` is the administrator's too (it
//! fails closed). Login, the first-admin initialisation and health probes are open.

use std::sync::Arc;

use domain::auth::{Action, Resource};
use ports::auth::{AuthFailure, Credentials};
use warp::http::Method;
use warp::Filter;

use crate::error::ApiError;
use crate::params::{unchecked_params, Params};
use crate::HttpApi;

/// The merged parameters of a request that passed the access check.
pub(crate) fn checked_params(api: &Arc<HttpApi>) -> impl Filter<Extract = (Params,), Error = warp::Rejection> + Clone {
    let api = Arc::clone(api);
    warp::method()
        .and(warp::path::full())
        .and(warp::header::optional::<String>("authorization"))
        .and(warp::header::optional::<String>("accesstoken"))
        .and(unchecked_params(api.max_body_bytes))
        .and_then(
            move |method: Method,
                  path: warp::path::FullPath,
                  authorization: Option<String>,
                  access_token: Option<String>,
                  mut params: Params| {
                let api = Arc::clone(&api);
                async move {
                    if !api.auth.settings().enabled {
                        return Ok::<_, warp::Rejection>(params);
                    }
                    let credentials = credentials(authorization.as_deref(), access_token.as_deref(), &params);
                    // A write's token that came in a header travels on with the parameters,
                    // so a write relayed to the node responsible for its client is checked
                    // there too.
                    if let Some(token) = credentials.token.as_deref().filter(|_| method != Method::GET) {
                        params.insert_if_absent("accessToken", token);
                    }
                    check(&api, &method, path.as_str(), credentials, &params).await.map_err(warp::reject::custom)?;
                    Ok(params)
                }
            },
        )
}

/// What a request needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Need {
    Nothing,
    /// A known user, whatever their permissions (changing one's own password).
    Identity,
    /// `action` on each resource.
    Access(Vec<Resource>, Action),
}

async fn check(
    api: &HttpApi,
    method: &Method,
    path: &str,
    credentials: Credentials,
    params: &Params,
) -> Result<(), ApiError> {
    judge(api, credentials, need(method, path, params)?).await
}

/// Whether `credentials` have what `need` asks for.
async fn judge(api: &HttpApi, credentials: Credentials, need: Need) -> Result<(), ApiError> {
    let auth = Arc::clone(&api.auth);
    let uses_password = credentials.carry_password();
    let decide = move || match need {
        Need::Nothing => Ok(()),
        Need::Identity => auth.identify(&credentials).map(|_| ()),
        Need::Access(resources, action) => {
            resources.iter().try_for_each(|resource| auth.check(&credentials, resource, action))
        }
    };
    // A token is checked in a map lookup (verified tokens are cached); a user name and
    // password with bcrypt, which takes a while: off the async workers.
    let judged = if uses_password {
        tokio::task::spawn_blocking(decide).await.map_err(|_| ApiError::Internal)?
    } else {
        decide()
    };
    judged.map_err(forbidden)
}

/// Checks `action` on each of `resources` for the credentials the request carried (in
/// `params`, where the route's check leaves a write's token): for a request that touches
/// more than its parameters name, as a clone reads its sources.
pub(crate) async fn check_each(
    api: &HttpApi,
    params: &Params,
    resources: Vec<Resource>,
    action: Action,
) -> Result<(), ApiError> {
    if !api.auth.settings().enabled {
        return Ok(());
    }
    judge(api, credentials(None, None, params), Need::Access(resources, action)).await
}

/// The 403 of a refused request, with Java Nacos's reason.
pub(crate) fn forbidden(failure: AuthFailure) -> ApiError {
    match failure {
        AuthFailure::Unavailable(err) => err.into(),
        other => ApiError::Forbidden(other.to_string()),
    }
}

/// The credentials a request carries: `Authorization: Bearer`, then an `accessToken`
/// header or parameter, then `username` and `password` parameters.
pub(crate) fn credentials(authorization: Option<&str>, access_token: Option<&str>, params: &Params) -> Credentials {
    let bearer = authorization.map(str::trim).and_then(|value| value.strip_prefix("Bearer ")).map(str::trim);
    let token = bearer.or_else(|| access_token.map(str::trim)).or_else(|| params.get("accessToken"));
    Credentials {
        token: token.filter(|token| !token.is_empty()).map(str::to_owned),
        username: params.get("username").map(str::to_owned),
        password: params.get("password").map(str::to_owned),
    }
}

/// What `method` on `path` with `params` needs.
pub(crate) fn need(method: &Method, path: &str, params: &Params) -> Result<Need, ApiError> {
    let path = path.trim_end_matches('/');
    let Some(rest) = path.strip_prefix("/nacos/") else {
        return Ok(Need::Access(vec![Resource::Admin], Action::Write));
    };
    let parts: Vec<&str> = rest.split('/').collect();
    let read_or_write = if method == Method::GET { Action::Read } else { Action::Write };
    let admin = || Ok(Need::Access(vec![Resource::Admin], read_or_write));
    match parts.as_slice() {
        // Open: logins, the first administrator, health and readiness.
        ["v1", "auth", "login"] | ["v1", "auth", "users", "login"] | ["v3", "auth", "user", "login"] => {
            Ok(Need::Nothing)
        }
        ["v1", "auth", "users", "admin"] | ["v3", "auth", "user", "admin"] => Ok(Need::Nothing),
        ["v1", "console", "health", ..] | ["v3", "admin", "core", "state", ..] => Ok(Need::Nothing),
        ["v1", "console", "server", "state"] => Ok(Need::Nothing),
        // The console's counts: any known user.
        ["v1", "console", "overview"] => Ok(Need::Identity),
        // Changing a password: any known user; the service checks it is their own.
        ["v1", "auth", "users"] | ["v3", "auth", "user"] if method == Method::PUT => Ok(Need::Identity),
        ["v1", "auth", ..] | ["v3", "auth", ..] => admin(),
        // Namespaces: anyone may list them (as Java), only the administrator changes them.
        ["v1", "console", "namespaces"]
        | ["v2", "console", "namespace", ..]
        | ["v3", "admin", "core", "namespace", ..] => {
            if method == Method::GET {
                Ok(Need::Nothing)
            } else {
                admin()
            }
        }
        // Configs.
        ["v1", "cs", "configs", "listener"] if method == Method::POST => listened(params),
        ["v1" | "v2", "cs", ..] | ["v3", "client" | "admin", "cs", ..] => {
            let action = if parts.contains(&"listener") { Action::Read } else { read_or_write };
            Ok(Need::Access(vec![config(params)], action))
        }
        // The registry's counts are what SDKs (Go, Java 1.x/2.x, node) poll as a health
        // check: any known user.
        ["v1" | "v2", "ns", "operator", "metrics"] | ["v3", "admin", "ns", "ops", "metrics"]
            if method == Method::GET =>
        {
            Ok(Need::Identity)
        }
        // The registry: operator and client views are the administrator's.
        ["v1" | "v2", "ns", "operator" | "client", ..] | ["v3", _, "ns", "ops" | "operator" | "client", ..] => admin(),
        ["v1" | "v2", "ns", ..] | ["v3", "client" | "admin", "ns", ..] => {
            Ok(Need::Access(vec![service(params)], read_or_write))
        }
        // The cluster, and anything else.
        _ => admin(),
    }
}

/// A config request's resource: namespace from `namespaceId` or `tenant`, group from
/// `groupName` or `group`, the data id (blank parts match any).
fn config(params: &Params) -> Resource {
    let namespace = params.get("namespaceId").or_else(|| crate::transfer::target_namespace(params)).unwrap_or("");
    let group = params.get("groupName").or_else(|| params.get("group")).unwrap_or("");
    Resource::Config {
        namespace: namespace.into(),
        group: group.into(),
        data_id: params.get("dataId").unwrap_or("").into(),
    }
}

/// A registry request's resource: the service, its group from `groupName` or from a
/// grouped name (`group@@service`).
fn service(params: &Params) -> Resource {
    let namespace = params.get("namespaceId").unwrap_or("");
    let name = params.get("serviceName").unwrap_or("");
    let (group, name) = match name.split_once("@@") {
        Some((group, name)) => (group, name),
        None => (params.get("groupName").unwrap_or(""), name),
    };
    Resource::Naming { namespace: namespace.into(), group: group.into(), service: name.into() }
}

/// A long poll reads every config it lists.
fn listened(params: &Params) -> Result<Need, ApiError> {
    let raw = params.get("Listening-Configs").ok_or(ApiError::MissingParam("Listening-Configs"))?;
    let contexts = crate::listener::parse_listening_configs(raw)?;
    let resources = contexts
        .iter()
        .map(|context| Resource::Config {
            namespace: context.key.namespace.as_str().into(),
            group: context.key.group.as_str().into(),
            data_id: context.key.data_id.as_str().into(),
        })
        .collect();
    Ok(Need::Access(resources, Action::Read))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn need_of(method: Method, path: &str, query: &str) -> Need {
        need(&method, path, &Params::parse(query, b"").unwrap()).unwrap()
    }

    fn admin(action: Action) -> Need {
        Need::Access(vec![Resource::Admin], action)
    }

    #[test]
    fn paths_name_their_resources() {
        let config =
            |ns: &str, g: &str, d: &str| Resource::Config { namespace: ns.into(), group: g.into(), data_id: d.into() };
        assert_eq!(
            need_of(Method::GET, "/nacos/v1/cs/configs", "tenant=dev&group=G&dataId=a"),
            Need::Access(vec![config("dev", "G", "a")], Action::Read)
        );
        assert_eq!(
            need_of(Method::POST, "/nacos/v3/admin/cs/config", "namespaceId=dev&groupName=G&dataId=a"),
            Need::Access(vec![config("dev", "G", "a")], Action::Write)
        );
        assert_eq!(
            need_of(Method::GET, "/nacos/v1/cs/configs/listener", "dataId=a&group=G"),
            Need::Access(vec![config("", "G", "a")], Action::Read)
        );
        let listening = "Listening-Configs=a%02G%02md5%02dev%01b%02G%02md5%01";
        let Need::Access(resources, Action::Read) = need_of(Method::POST, "/nacos/v1/cs/configs/listener", listening)
        else {
            panic!("a long poll reads")
        };
        assert_eq!(resources, [config("dev", "G", "a"), config("public", "G", "b")]);
        let svc = Resource::Naming { namespace: "dev".into(), group: "G".into(), service: "s".into() };
        assert_eq!(
            need_of(Method::POST, "/nacos/v1/ns/instance", "namespaceId=dev&serviceName=G@@s&ip=127.0.0.1"),
            Need::Access(vec![svc.clone()], Action::Write)
        );
        assert_eq!(
            need_of(Method::GET, "/nacos/v2/ns/instance/list", "namespaceId=dev&groupName=G&serviceName=s"),
            Need::Access(vec![svc], Action::Read)
        );
    }

    #[test]
    fn administration_is_the_admin_s_and_a_few_paths_are_open() {
        assert_eq!(need_of(Method::GET, "/nacos/v1/auth/users", ""), admin(Action::Read));
        assert_eq!(need_of(Method::POST, "/nacos/v1/auth/permissions", ""), admin(Action::Write));
        assert_eq!(need_of(Method::PUT, "/nacos/v1/auth/users", ""), Need::Identity);
        assert_eq!(need_of(Method::POST, "/nacos/v1/console/namespaces", ""), admin(Action::Write));
        assert_eq!(need_of(Method::GET, "/nacos/v1/console/namespaces", ""), Need::Nothing);
        assert_eq!(need_of(Method::GET, "/nacos/v1/core/cluster/nodes", ""), admin(Action::Read));
        assert_eq!(need_of(Method::PUT, "/nacos/v1/ns/operator/switches", ""), admin(Action::Write));
        assert_eq!(need_of(Method::GET, "/nacos/v3/admin/ns/ops/metrics", ""), Need::Identity, "SDK health checks");
        assert_eq!(need_of(Method::GET, "/nacos/v3/admin/ns/ops/switches", ""), admin(Action::Read));
        assert_eq!(need_of(Method::GET, "/nacos/v2/ns/client/list", ""), admin(Action::Read));
        assert_eq!(need_of(Method::GET, "/nacos/v9/whatever", ""), admin(Action::Read), "unknown: fails closed");
        for open in ["/nacos/v1/auth/login", "/nacos/v1/auth/users/login", "/nacos/v1/auth/users/admin"] {
            assert_eq!(need_of(Method::POST, open, ""), Need::Nothing, "{open}");
        }
        assert_eq!(need_of(Method::GET, "/nacos/v1/console/health/readiness", ""), Need::Nothing);
    }

    /// Routes get their parameters only through the access check: a new endpoint that read
    /// them unchecked would fail here.
    #[test]
    fn only_the_access_check_and_login_read_parameters_unchecked() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut readers = Vec::new();
        let mut dirs = vec![src.clone()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else if std::fs::read_to_string(&path).unwrap().contains(&["unchecked", "_params("].concat()) {
                    readers.push(path.strip_prefix(&src).unwrap().display().to_string());
                }
            }
        }
        readers.sort();
        assert_eq!(readers, ["access.rs", "auth_api.rs", "params.rs"]);
    }

    #[test]
    fn credentials_come_from_the_bearer_header_the_token_or_a_password() {
        let params = Params::parse("accessToken=q&username=u&password=p", b"").unwrap();
        assert_eq!(credentials(None, None, &params).token.as_deref(), Some("q"));
        assert_eq!(credentials(None, Some("h"), &params).token.as_deref(), Some("h"));
        let found = credentials(Some("Bearer b"), Some("h"), &params);
        assert_eq!((found.token.as_deref(), found.username.as_deref()), (Some("b"), Some("u")));
    }
}
