//! `BiRequestStream`: one long-lived stream per connection. The client's first message sets
//! the connection up; afterwards it carries server pushes out and the client's answers in.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use proto::nacos::bi_request_stream_server::BiRequestStream;
use proto::nacos::Payload;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};

use crate::connections::{Outgoing, Setup, OUTBOUND_QUEUE};
use crate::wire::{self, code, Incoming, WireError};
use crate::GrpcApi;

/// A client that opens a stream but never sets it up is dropped after this.
const SETUP_TIMEOUT: Duration = Duration::from_secs(10);

type PayloadStream = Pin<Box<dyn Stream<Item = Result<Payload, Status>> + Send>>;

/// Why a stream's first message did not set a connection up.
#[derive(Debug, thiserror::Error)]
enum SetupError {
    #[error("the stream must start with a ConnectionSetupRequest, not {0}")]
    NotASetup(String),
    #[error("malformed ConnectionSetupRequest: {0}")]
    Wire(WireError),
}

/// The set-up's fields; nulls are accepted where SDKs send them, anything of another
/// shape (a number for the version, labels that are not an object) refuses the set-up.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct ConnectionSetupRequest {
    client_version: Option<String>,
    labels: Option<HashMap<String, Option<String>>>,
    ability_table: Option<serde_json::Value>,
}

impl ConnectionSetupRequest {
    fn labels(&mut self) -> HashMap<String, String> {
        let labels = self.labels.take().unwrap_or_default();
        labels.into_iter().map(|(name, value)| (name, value.unwrap_or_default())).collect()
    }
}

#[tonic::async_trait]
impl BiRequestStream for GrpcApi {
    type requestBiStreamStream = PayloadStream;

    async fn request_bi_stream(
        &self,
        request: Request<Streaming<Payload>>,
    ) -> Result<Response<Self::requestBiStreamStream>, Status> {
        let remote = request.remote_addr().ok_or_else(|| Status::internal("the transport has no peer address"))?;
        let inbound = request.into_inner();
        let (outbound, rx) = mpsc::channel(OUTBOUND_QUEUE);
        let api = self.clone();
        api.connections.opening(remote);
        let connections = api.connections.clone();
        api.connections.clone().spawn_session(async move {
            api.session(remote, inbound, outbound).await;
            connections.abandoned(remote);
        });
        let unboxed = ReceiverStream::new(rx).map(|message| message.map(|payload| *payload).map_err(|status| *status));
        Ok(Response::new(Box::pin(unboxed)))
    }
}

impl GrpcApi {
    #[tracing::instrument(level = "debug", skip_all, fields(%remote))]
    async fn session(self, remote: SocketAddr, mut inbound: Streaming<Payload>, outbound: mpsc::Sender<Outgoing>) {
        let first = match tokio::time::timeout(SETUP_TIMEOUT, inbound.message()).await {
            Ok(Ok(Some(payload))) => payload,
            _ => return,
        };
        let setup = match Incoming::parse(first).map_err(SetupError::Wire).and_then(|incoming| {
            if incoming.kind != "ConnectionSetupRequest" {
                return Err(SetupError::NotASetup(incoming.kind));
            }
            let setup: ConnectionSetupRequest = incoming.decode().map_err(SetupError::Wire)?;
            Ok((incoming.client_ip, setup))
        }) {
            Ok(setup) => setup,
            Err(err) => {
                // Refused, not guessed at: the client hears why, and reconnects.
                tracing::debug!(cause = %err, "stream set-up refused");
                let refusal = wire::error_response(code::BAD_GATEWAY, &err.to_string());
                let _ = outbound.send(Ok(Box::new(refusal))).await;
                return;
            }
        };
        if self.connections.count() >= self.limits.max_connections {
            self.refusals.note(self.limits.max_connections);
            let _ = outbound.send(Err(Box::new(Status::resource_exhausted("too many connections")))).await;
            return;
        }
        let (client_ip, mut setup) = setup;
        let labels = setup.labels();
        let wants_ack = setup.ability_table.is_some();
        let connection = self.connections.register(
            remote,
            Setup { client_ip, client_version: setup.client_version.unwrap_or_default(), labels },
            outbound,
        );
        tracing::info!(
            connection = connection.id.as_str(),
            client_ip = %connection.client_ip,
            version = %connection.client_version,
            module = connection.labels.get("module").map_or("", String::as_str),
            "client connected"
        );
        if wants_ack {
            self.connections.send(
                &connection,
                "SetupAckRequest",
                json!({ "module": "internal", "abilityTable": { "fuzzyWatch": true } }),
            );
        }

        let mut stopping = self.stopping.clone();
        loop {
            tokio::select! {
                message = inbound.message() => match message {
                    Ok(Some(payload)) => self.on_client_message(payload),
                    Ok(None) | Err(_) => break,
                },
                _ = stopping.wait_for(|stop| *stop) => {
                    self.connections.send(&connection, "ConnectResetRequest", json!({ "module": "internal" }));
                    break;
                }
                _ = connection.closing.notified() => break,
            }
        }
        self.connections.unregister(&connection);
        self.departures.departed(connection.id.clone());
        let seconds = self.connections.now().saturating_sub(connection.connected_at) / 1000;
        tracing::info!(connection = connection.id.as_str(), seconds, "client disconnected");
    }

    /// Answers to server requests complete them; anything else on the stream is ignored,
    /// as Nacos does.
    fn on_client_message(&self, payload: Payload) {
        let Ok(incoming) = Incoming::parse(payload) else { return };
        let body = incoming.value();
        if let Some(request_id) = body.get("requestId").and_then(serde_json::Value::as_str).map(str::to_owned) {
            self.connections.answer(&request_id, body);
        }
    }
}

/// Connections refused at the connection cap. The operator hears of it at warn, at most
/// once per [`Refusals::PERIOD`] with the count since, however many clients retry.
#[derive(Debug, Default)]
pub(crate) struct Refusals {
    since_warned: AtomicU64,
    last_warned: std::sync::Mutex<Option<tokio::time::Instant>>,
}

impl Refusals {
    const PERIOD: std::time::Duration = std::time::Duration::from_secs(10);

    fn note(&self, limit: usize) {
        let refused = self.since_warned.fetch_add(1, Ordering::Relaxed) + 1;
        let now = tokio::time::Instant::now();
        // The guarded value is a time only: poisoning carries no broken invariant.
        let mut last = self.last_warned.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if last.is_some_and(|at| now.duration_since(at) < Self::PERIOD) {
            tracing::debug!(limit, "client gRPC connection refused: at the connection cap");
            return;
        }
        *last = Some(now);
        self.since_warned.fetch_sub(refused, Ordering::Relaxed);
        tracing::warn!(limit, refused, "client gRPC connections refused: at the connection cap");
    }
}
