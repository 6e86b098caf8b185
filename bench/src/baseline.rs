//! The limit baseline: bare servers, started in this process, that answer every request
//! with the bytes nacosd answered. Whatever nacosd does beyond that is our overhead.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use proto::nacos::bi_request_stream_server::{BiRequestStream, BiRequestStreamServer};
use proto::nacos::request_server::{Request as RequestService, RequestServer};
use proto::nacos::Payload;
use tokio::net::TcpListener;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::Stream;
use tonic::{Status, Streaming};

use crate::http::Captured;

/// A bare hyper HTTP/1.1 server replaying `captured`; answers its address.
pub(crate) async fn spawn_http(captured: Captured) -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let captured = Arc::new(captured);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            let captured = Arc::clone(&captured);
            tokio::spawn(async move {
                let service = service_fn(move |request: Request<hyper::body::Incoming>| {
                    let captured = Arc::clone(&captured);
                    async move {
                        // Read the request as a real server would.
                        let _ = request.into_body().collect().await;
                        let mut response = Response::new(Full::new(captured.body.clone()));
                        *response.status_mut() = hyper::StatusCode::from_u16(captured.status).unwrap_or_default();
                        for (name, value) in &captured.headers {
                            if let (Ok(name), Ok(value)) = (
                                hyper::header::HeaderName::from_bytes(name.as_bytes()),
                                hyper::header::HeaderValue::from_bytes(value),
                            ) {
                                response.headers_mut().insert(name, value);
                            }
                        }
                        Ok::<_, Infallible>(response)
                    }
                });
                let _ =
                    hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    Ok(addr)
}

#[derive(Clone)]
struct Replay {
    answer: Arc<Payload>,
}

#[tonic::async_trait]
impl RequestService for Replay {
    async fn request(&self, _request: tonic::Request<Payload>) -> Result<tonic::Response<Payload>, Status> {
        Ok(tonic::Response::new((*self.answer).clone()))
    }
}

#[tonic::async_trait]
impl BiRequestStream for Replay {
    type requestBiStreamStream = Pin<Box<dyn Stream<Item = Result<Payload, Status>> + Send>>;

    async fn request_bi_stream(
        &self,
        request: tonic::Request<Streaming<Payload>>,
    ) -> Result<tonic::Response<Self::requestBiStreamStream>, Status> {
        let mut inbound = request.into_inner();
        let (keep, rx) = tokio::sync::mpsc::channel(1);
        // Hold the stream open until the client ends it, as nacosd does.
        tokio::spawn(async move {
            while let Ok(Some(_)) = inbound.message().await {}
            drop(keep);
        });
        Ok(tonic::Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}

/// A bare server with the Nacos services, answering `answer` to every unary call: the
/// tonic-generated services on hyper's HTTP/2 server, the transport nacosd uses, so the
/// difference is nacosd's own work.
pub(crate) async fn spawn_grpc(answer: Payload) -> anyhow::Result<SocketAddr> {
    use tonic::codegen::Service as _;

    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let replay = Replay { answer: Arc::new(answer) };
    let (unary, streams) = (RequestServer::new(replay.clone()), BiRequestStreamServer::new(replay));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let _ = stream.set_nodelay(true);
            let (unary, streams) = (unary.clone(), streams.clone());
            let service = service_fn(move |request: Request<hyper::body::Incoming>| {
                if request.uri().path().starts_with("/BiRequestStream/") {
                    streams.clone().call(request)
                } else {
                    unary.clone().call(request)
                }
            });
            let builder = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
            tokio::spawn(async move { builder.serve_connection(TokioIo::new(stream), service).await });
        }
    });
    Ok(addr)
}
