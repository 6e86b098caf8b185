//! One connection's request service: the warp routes, plus what the connection knows.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Request, StatusCode, Version};
use tracing::Instrument;
use warp::http::header::HOST;
use warp::reply::Response;

use super::activity::Activity;

/// The client's address, put in every request's extensions for the routes to read (warp's
/// own `addr::remote` only works under `warp::serve`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr);

/// The routes as one connection's service.
pub(crate) struct ConnectionService<S> {
    pub(crate) routes: S,
    pub(crate) peer: SocketAddr,
    pub(crate) activity: Arc<Activity>,
}

impl<S> hyper::service::Service<Request<Incoming>> for ConnectionService<S>
where
    S: hyper::service::Service<Request<Incoming>, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn call(&self, mut request: Request<Incoming>) -> Self::Future {
        let in_flight = InFlight::start(Arc::clone(&self.activity));
        let span = tracing::debug_span!("http", method = %request.method(), path = %request.uri().path());
        // RFC 9112 §3.2: a server must answer 400 to an HTTP/1.1 request without a Host.
        if request.version() == Version::HTTP_11 && !request.headers().contains_key(HOST) {
            drop(in_flight);
            let _entered = span.enter();
            tracing::debug!(status = 400, "refused: HTTP/1.1 request without a Host header");
            return Box::pin(std::future::ready(Ok(plain(StatusCode::BAD_REQUEST, "Host header is required"))));
        }
        request.extensions_mut().insert(PeerAddr(self.peer));
        let response = self.routes.call(request);
        Box::pin(
            async move {
                let response = response.await;
                if let Ok(answer) = &response {
                    log_status(answer.status());
                }
                drop(in_flight);
                response
            }
            .instrument(span),
        )
    }
}

/// Requests are logged at debug: at warn or above a misbehaving client could fill the disk.
/// A 5xx is the server's own trouble and is logged at warn; its cause is logged where it
/// arose.
fn log_status(status: StatusCode) {
    if status.is_server_error() {
        tracing::warn!(status = status.as_u16(), "answered with a server error");
    } else {
        tracing::debug!(status = status.as_u16(), "answered");
    }
}

/// A short plain-text answer.
pub(crate) fn plain(status: StatusCode, text: &'static str) -> Response {
    let mut response = Response::new(text.into());
    *response.status_mut() = status;
    response
}

/// Marks a request in flight on its connection until dropped, also when hyper drops the
/// request's future because the client went away.
struct InFlight(Arc<Activity>);

impl InFlight {
    fn start(activity: Arc<Activity>) -> Self {
        activity.request_started();
        Self(activity)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.request_finished();
    }
}
