//! `POST /nacos/v1/auth/login` and `/nacos/v1/auth/users/login`.
//!
//! Authentication is not enabled yet, so every login succeeds and the token is only a
//! placeholder; SDKs (Python, Go, Java with a username set) log in at start-up and must
//! get a well-formed answer: `accessToken` a string, `tokenTtl` a number of seconds.

use serde_json::json;
use warp::reply::{Reply, Response};
use warp::Filter;

use crate::params::{params, Params};

/// The token of an auth-disabled server; never checked.
const TOKEN: &str = "nacosd-auth-disabled";
const TOKEN_TTL_SECONDS: u64 = 18_000;

pub(crate) fn routes(limit: u64) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    let login = warp::path!("nacos" / "v1" / "auth" / "login");
    let users_login = warp::path!("nacos" / "v1" / "auth" / "users" / "login");
    login.or(users_login).unify().and(warp::post()).and(params(limit)).map(|params: Params| {
        let username = params.get("username").unwrap_or("nacos");
        let body = json!({
            "accessToken": TOKEN,
            "tokenTtl": TOKEN_TTL_SECONDS,
            "globalAdmin": true,
            "username": username,
        });
        warp::reply::with_header(warp::reply::json(&body), "authorization", format!("Bearer {TOKEN}")).into_response()
    })
}
