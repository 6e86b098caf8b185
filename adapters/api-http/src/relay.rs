//! Distro's routing of HTTP registry writes: a write for an HTTP client (`ip:port`) that
//! another node is responsible for is passed to that node's HTTP API, and its answer is
//! the client's (as Java Nacos's `DistroFilter` does). So each such client's instances
//! are changed, beat and expired by one node, whichever node the client talks to.
//! When that node cannot be reached (it died, and the members do not know yet), the write
//! is handled where it arrived: registrations and beats are idempotent, and the node that
//! handles a client's write takes the client over, so a beating client never expires
//! while ownership settles.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use warp::http::{Method, Request};
use warp::reply::Response;

use crate::params::Params;

/// Marks a relayed request, so the node it reaches does not pass it on again even if its
/// view of who is responsible differs for a moment: it handles it.
pub(crate) const RELAYED_AGENT: &str = "Nacos-Server:nacosd";
/// A relayed request that takes longer fails (Java: 2 s connect, 2 s read).
const RELAY_TIMEOUT: Duration = Duration::from_secs(4);

/// The HTTP client relayed requests go through.
#[derive(Clone)]
pub struct Relay {
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Default for Relay {
    fn default() -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(Duration::from_secs(2)));
        connector.set_nodelay(true);
        Self { client: Client::builder(TokioExecutor::new()).build(connector) }
    }
}

impl Relay {
    /// Sends `method path` with `params` as a form to the node at `http_addr`; its answer,
    /// or why it could not be had.
    pub(crate) async fn relay(
        &self,
        http_addr: &str,
        method: &Method,
        path: &str,
        params: &Params,
    ) -> Result<Response, String> {
        let request = Request::builder()
            .method(method.clone())
            .uri(format!("http://{http_addr}{path}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("user-agent", RELAYED_AGENT)
            .body(Full::new(Bytes::from(params.encode_form())));
        let request = request.map_err(|err| format!("cannot relay to {http_addr}: {err}"))?;
        let answer = tokio::time::timeout(RELAY_TIMEOUT, async {
            let response = self.client.request(request).await.map_err(|err| err.to_string())?;
            let (parts, body) = response.into_parts();
            let body = body.collect().await.map_err(|err| err.to_string())?.to_bytes();
            Ok::<_, String>((parts, body))
        })
        .await;
        match answer {
            Ok(Ok((parts, body))) => {
                let mut response = Response::new(body.into());
                *response.status_mut() = parts.status;
                if let Some(kind) = parts.headers.get("content-type") {
                    response.headers_mut().insert("content-type", kind.clone());
                }
                Ok(response)
            }
            Ok(Err(err)) => Err(format!("the node responsible for this client ({http_addr}) failed: {err}")),
            Err(_) => Err(format!("the node responsible for this client ({http_addr}) did not answer")),
        }
    }
}
