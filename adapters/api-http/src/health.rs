//! `/nacos/v1/console/health/{liveness,readiness}`: what load balancers and our tests poll.

use warp::Filter;

use crate::error::text;

pub(crate) fn routes() -> impl Filter<Extract = (impl warp::Reply,), Error = warp::Rejection> + Clone {
    warp::path!("nacos" / "v1" / "console" / "health" / String).and(warp::get()).and_then(|probe: String| async move {
        match probe.as_str() {
            "liveness" | "readiness" => Ok(text("OK".to_owned())),
            _ => Err(warp::reject::not_found()),
        }
    })
}
