//! `/nacos/v1/console/health/{liveness,readiness}`: what load balancers and our tests poll;
//! `/nacos/v3/admin/core/state/{liveness,readiness}`: the same in 3.x's envelope (the Java
//! 3.x client's naming health check reads it).

use serde_json::json;
use warp::reply::{Reply, Response};
use warp::Filter;

use crate::error::text;

pub(crate) fn routes() -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    let v1 = warp::path!("nacos" / "v1" / "console" / "health" / String).and(warp::get()).and_then(
        |probe: String| async move {
            match probe.as_str() {
                "liveness" | "readiness" => Ok(text("OK".to_owned()).into_response()),
                _ => Err(warp::reject::not_found()),
            }
        },
    );
    let v3 = warp::path!("nacos" / "v3" / "admin" / "core" / "state" / String).and(warp::get()).and_then(
        |probe: String| async move {
            match probe.as_str() {
                "liveness" | "readiness" => {
                    Ok(warp::reply::json(&json!({ "code": 0, "message": "success", "data": "ok" })).into_response())
                }
                _ => Err(warp::reject::not_found()),
            }
        },
    );
    v1.or(v3).unify()
}
