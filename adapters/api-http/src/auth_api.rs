//! Logins and the user, role and permission APIs: `/nacos/v1/auth/...` in Nacos 2.x's
//! shapes (write answers `{"code":200,"message":null,"data":"create user ok!"}`, lists a
//! bare page), and `/nacos/v3/auth/...` in the 3.x envelope. Every call is one call of the
//! auth service; the access check in front of them keeps all but login, the first-admin
//! initialisation and one's own password change to the administrator.

use std::sync::Arc;

use domain::paging::{Page, PageRequest};
use domain::Rejection;
use ports::auth::{AuthFailure, LoginGrant, NameFilter};
use serde_json::{json, Value};
use warp::http::{HeaderMap, Method, StatusCode};
use warp::reply::{Reply, Response};
use warp::Filter;

use crate::access::{checked_params, credentials};
use crate::error::{text, ApiError};
use crate::params::{unchecked_params, Params};
use crate::HttpApi;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    V1,
    V3,
}

pub(crate) fn routes(api: Arc<HttpApi>) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    let limit = api.max_body_bytes;
    let client_ip = crate::configs::client_ip();
    let with_api = {
        let api = Arc::clone(&api);
        warp::any().map(move || Arc::clone(&api))
    };
    // Login reads its parameters unchecked: it is how a client gets a token.
    let login_paths = warp::path!("nacos" / "v1" / "auth" / "login")
        .map(|| Version::V1)
        .or(warp::path!("nacos" / "v1" / "auth" / "users" / "login").map(|| Version::V1))
        .unify()
        .or(warp::path!("nacos" / "v3" / "auth" / "user" / "login").map(|| Version::V3))
        .unify();
    let login =
        login_paths.and(warp::post()).and(with_api.clone()).and(unchecked_params(limit)).and(client_ip).then(login);
    let v1 = warp::path!("nacos" / "v1" / "auth" / ..).map(|| Version::V1);
    let v3 = warp::path!("nacos" / "v3" / "auth" / ..).map(|| Version::V3);
    let manage = v1
        .or(v3)
        .unify()
        .and(warp::path::tail())
        .and(warp::method())
        .and(warp::header::headers_cloned())
        .and(with_api)
        .and(checked_params(&api))
        .and_then(
            |version: Version,
             tail: warp::path::Tail,
             method: Method,
             headers: HeaderMap,
             api: Arc<HttpApi>,
             params: Params| async move {
                manage(version, tail.as_str(), method, &headers, &api, &params)
                    .await
                    .ok_or_else(warp::reject::not_found)
            },
        );
    let state = warp::path!("nacos" / "v1" / "console" / "server" / "state")
        .and(warp::get())
        .and(warp::any().map(move || Arc::clone(&api)))
        .map(|api: Arc<HttpApi>| server_state(&api));
    login.or(manage).unify().or(state).unify()
}

/// `GET /nacos/v1/console/server/state`: what a console reads before it shows a login page
/// (or the page that sets the first administrator's password).
fn server_state(api: &HttpApi) -> Response {
    let enabled = api.auth.settings().enabled;
    let cluster = api.cluster.status().members.len() > 1;
    let body = json!({
        "version": env!("CARGO_PKG_VERSION"),
        "startup_mode": if cluster { "cluster" } else { "standalone" },
        "function_mode": null,
        "auth_enabled": enabled.to_string(),
        "login_page_enabled": enabled.to_string(),
        "auth_system_type": "nacos",
        "auth_admin_request": (enabled && api.auth.admin_missing()).to_string(),
    });
    warp::reply::json(&body).into_response()
}

/// `POST /nacos/v1/auth/login`, `/v1/auth/users/login`, `/v3/auth/user/login`.
async fn login(version: Version, api: Arc<HttpApi>, params: Params, client_ip: String) -> Response {
    let username = params.get("username").unwrap_or("").to_owned();
    let password = params.get("password").unwrap_or("").to_owned();
    let auth = Arc::clone(&api.auth);
    // bcrypt takes a while: off the async workers.
    let granted = tokio::task::spawn_blocking(move || auth.login(&username, &password, &client_ip)).await;
    match granted {
        Ok(Ok(grant)) => granted_answer(version, &grant),
        Ok(Err(failure)) => forbidden(version, &failure),
        Err(_) => ApiError::Internal.into_response(),
    }
}

fn granted_answer(version: Version, grant: &LoginGrant) -> Response {
    let body = json!({
        "accessToken": grant.token,
        "tokenTtl": grant.ttl_seconds,
        "globalAdmin": grant.global_admin,
        "username": grant.username,
    });
    let body = match version {
        Version::V1 => body,
        Version::V3 => json!({ "code": 0, "message": "success", "data": body }),
    };
    let reply = warp::reply::with_header(warp::reply::json(&body), "authorization", format!("Bearer {}", grant.token));
    reply.into_response()
}

fn forbidden(version: Version, failure: &AuthFailure) -> Response {
    let reason = failure.to_string();
    match version {
        Version::V1 => warp::reply::with_status(text(reason), StatusCode::FORBIDDEN).into_response(),
        Version::V3 => {
            let body = json!({ "code": 10001, "message": "access denied", "data": reason });
            warp::reply::with_status(warp::reply::json(&body), StatusCode::FORBIDDEN).into_response()
        }
    }
}

/// Users, roles and permissions. `None`: no such path.
async fn manage(
    version: Version,
    tail: &str,
    method: Method,
    headers: &HeaderMap,
    api: &HttpApi,
    params: &Params,
) -> Option<Response> {
    let auth = &api.auth;
    let owned = |name: &str| params.get(name).map(str::to_owned);
    let blur = params.get("search") == Some("blur");
    let page = || {
        let number = |name: &'static str| params.get(name).and_then(|value| value.trim().parse::<i64>().ok());
        PageRequest::new(number("pageNo"), number("pageSize"), 100)
    };
    let done = |message: &str| Ok(Value::String(message.to_owned()));
    let answer = match (version, method.as_str(), tail.trim_end_matches('/')) {
        (_, "POST", "users/admin" | "user/admin") => return Some(init_admin(version, api, params).await),
        (Version::V1, "GET", "users") | (Version::V3, "GET", "user/list") => {
            // Java shows each user's bcrypt hash here too; the service keeps hashes to itself.
            let users = auth.users(&NameFilter::new(params.get("username"), blur), page());
            Ok(page_json(users, |username| json!({ "username": username })))
        }
        (Version::V1, "GET", "users/search") | (Version::V3, "GET", "user/search") => {
            let users = auth.users(&NameFilter::new(params.get("username"), true), PageRequest::everything());
            Ok(json!(users.items))
        }
        (Version::V1, "POST", "users") | (Version::V3, "POST", "user") => {
            auth.create_user(owned("username"), owned("password")).await.and_then(|()| done("create user ok!"))
        }
        (Version::V1, "DELETE", "users") | (Version::V3, "DELETE", "user") => {
            auth.delete_user(owned("username")).await.and_then(|()| done("delete user ok!"))
        }
        (Version::V1, "PUT", "users") | (Version::V3, "PUT", "user") => {
            let caller = if auth.settings().enabled {
                let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
                match auth.identify(&credentials(header("authorization"), header("accesstoken"), params)) {
                    Ok(caller) => caller,
                    Err(failure) => return Some(forbidden(version, &failure)),
                }
            } else {
                String::new()
            };
            let password = owned("newPassword").or_else(|| owned("password"));
            auth.set_password(&caller, owned("username"), password).await.and_then(|()| done("update user ok!"))
        }
        (Version::V1, "GET", "roles") | (Version::V3, "GET", "role/list") => {
            let roles = auth.roles(
                &NameFilter::new(params.get("role"), blur),
                &NameFilter::new(params.get("username"), blur),
                page(),
            );
            Ok(page_json(roles, |(role, username)| json!({ "role": role, "username": username })))
        }
        (Version::V1, "GET", "roles/search") | (Version::V3, "GET", "role/search") => {
            let roles =
                auth.roles(&NameFilter::new(params.get("role"), true), &NameFilter::Any, PageRequest::everything());
            let mut names: Vec<String> = roles.items.into_iter().map(|(role, _)| role).collect();
            names.dedup();
            Ok(json!(names))
        }
        (Version::V1, "POST", "roles") | (Version::V3, "POST", "role") => {
            auth.bind_role(owned("role"), owned("username")).await.and_then(|()| done("add role ok!"))
        }
        (Version::V1, "DELETE", "roles") | (Version::V3, "DELETE", "role") => {
            let message = format!("delete role of user {} ok!", params.get("username").unwrap_or(""));
            auth.unbind_role(owned("role"), owned("username")).await.and_then(|()| done(&message))
        }
        (Version::V1, "GET", "permissions") if params.get("search").is_none() && params.get("resource").is_some() => {
            let granted = auth.has_permission(
                params.get("role").unwrap_or(""),
                params.get("resource").unwrap_or(""),
                params.get("action").unwrap_or(""),
            );
            return Some(
                warp::reply::json(&json!({ "code": 0, "message": "success", "data": granted })).into_response(),
            );
        }
        (Version::V3, "GET", "permission") => Ok(json!(auth.has_permission(
            params.get("role").unwrap_or(""),
            params.get("resource").unwrap_or(""),
            params.get("action").unwrap_or(""),
        ))),
        (Version::V1, "GET", "permissions") | (Version::V3, "GET", "permission/list") => {
            let permissions = auth.permissions(&NameFilter::new(params.get("role"), blur), page());
            Ok(page_json(
                permissions,
                |permission| json!({ "role": permission.role, "resource": permission.resource, "action": permission.action }),
            ))
        }
        (Version::V1, "POST", "permissions") | (Version::V3, "POST", "permission") => auth
            .add_permission(owned("role"), owned("resource"), owned("action"))
            .await
            .and_then(|()| done("add permission ok!")),
        (Version::V1, "DELETE", "permissions") | (Version::V3, "DELETE", "permission") => auth
            .remove_permission(owned("role"), owned("resource"), owned("action"))
            .await
            .and_then(|()| done("delete permission ok!")),
        _ => return None,
    };
    Some(render(version, answer))
}

/// `POST /nacos/v1/auth/users/admin`: the first administrator, once.
async fn init_admin(version: Version, api: &HttpApi, params: &Params) -> Response {
    match api.auth.init_admin(params.get("password").map(str::to_owned)).await {
        Ok((username, password)) => {
            let body = json!({ "username": username, "password": password });
            match version {
                Version::V1 => warp::reply::json(&body).into_response(),
                Version::V3 => {
                    warp::reply::json(&json!({ "code": 0, "message": "success", "data": body })).into_response()
                }
            }
        }
        Err(AuthFailure::Rejected(Rejection::AdminExists)) => {
            let message = "have admin user cannot use it";
            let body = match version {
                Version::V1 => json!({ "code": 409, "message": null, "data": message }),
                Version::V3 => json!({ "code": 409, "message": message, "data": null }),
            };
            warp::reply::json(&body).into_response()
        }
        Err(failure) => render(version, Err(failure)),
    }
}

fn page_json<T>(page: Page<T>, item: impl FnMut(T) -> Value) -> Value {
    json!({
        "totalCount": page.total,
        "pageNumber": page.page_no,
        "pagesAvailable": page.pages,
        "pageItems": page.items.into_iter().map(item).collect::<Vec<_>>(),
    })
}

/// v1: lists bare, writes as `RestResult` with the message in `data`, refusals as 400
/// text; v3: everything in the envelope.
fn render(version: Version, answer: Result<Value, AuthFailure>) -> Response {
    match (version, answer) {
        (Version::V1, Ok(Value::String(message))) => {
            warp::reply::json(&json!({ "code": 200, "message": null, "data": message })).into_response()
        }
        (Version::V1, Ok(value)) => warp::reply::json(&value).into_response(),
        (Version::V3, Ok(value)) => {
            warp::reply::json(&json!({ "code": 0, "message": "success", "data": value })).into_response()
        }
        (_, Err(AuthFailure::Denied(denied))) => forbidden(version, &AuthFailure::Denied(denied)),
        (_, Err(AuthFailure::Unavailable(err))) => ApiError::from(err).into_response(),
        (_, Err(AuthFailure::Hashing(cause))) => {
            tracing::error!(cause, "a password could not be hashed");
            ApiError::Internal.into_response()
        }
        (Version::V1, Err(failure)) => {
            warp::reply::with_status(text(failure.to_string()), StatusCode::BAD_REQUEST).into_response()
        }
        (Version::V3, Err(failure)) => {
            let body = json!({ "code": 10000, "message": failure.to_string(), "data": null });
            warp::reply::with_status(warp::reply::json(&body), StatusCode::BAD_REQUEST).into_response()
        }
    }
}
