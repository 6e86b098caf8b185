//! The connection registry: one entry per client transport, the outbound half of its
//! bi-stream, and the server-to-client requests waiting for an answer.

use std::collections::HashMap;
use std::collections::HashSet;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use domain::config::{ConfigKey, ConnectionId};
use domain::fuzzy_watch::FuzzyChange;
use domain::naming::SubscriberId;
use ports::clock::Clock;
use ports::listen::ClientChannel;
use ports::naming::{ServicePush, SharedView};
use proto::nacos::Payload;
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot, Notify};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::fuzzy_wire::{self, Module};
use crate::{naming_wire, wire};

/// How long shutdown waits for pushes, probes and sessions to end.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(2);
/// How long a push waits for the client's answer.
pub(crate) const PUSH_ACK_TIMEOUT: Duration = Duration::from_secs(3);
/// Attempts per config push before giving up (the connection stays open; the client's
/// periodic listen round catches up).
pub(crate) const PUSH_ATTEMPTS: u32 = 5;
/// Outbound messages queued per connection before pushes count as failed.
pub(crate) const OUTBOUND_QUEUE: usize = 1024;

/// One message for a client's stream, boxed: the queue allocates its slots 32 at a time
/// for every connection, and an unboxed `Payload` or `Status` would make that ~5 KB each.
pub(crate) type Outgoing = Result<Box<Payload>, Box<tonic::Status>>;

/// What the server knows about one client connection.
pub(crate) struct Connection {
    pub(crate) id: ConnectionId,
    pub(crate) remote: SocketAddr,
    pub(crate) client_ip: String,
    pub(crate) client_version: String,
    pub(crate) labels: HashMap<String, String>,
    pub(crate) connected_at: u64,
    /// Epoch millis of the last request or answer from the client.
    pub(crate) last_active: AtomicU64,
    outbound: mpsc::Sender<Outgoing>,
    /// Signalled when the server decides to drop this connection.
    pub(crate) closing: Notify,
    /// Set while a `ClientDetectionRequest` is out, so a slow client gets one probe at a time.
    probing: std::sync::atomic::AtomicBool,
}

/// The registry, shared by the unary service, the bi-stream and the push path.
#[derive(Clone)]
pub struct Connections {
    inner: Arc<Inner>,
}

struct Inner {
    /// The only source of time: activity, ids and probes follow it (paused in tests).
    clock: Arc<dyn Clock>,
    /// Every task the registry starts (sessions, pushes, probes): none outlives shutdown.
    tasks: TaskTracker,
    /// Cancels pushes and probes at shutdown.
    stop: CancellationToken,
    /// std locks: never held across an `.await`; each section is a map operation.
    by_id: Mutex<HashMap<ConnectionId, Arc<Connection>>>,
    /// The same connections by transport: every unary call looks its caller up here, so
    /// it is one read lock, shared by concurrent calls.
    by_remote: RwLock<HashMap<SocketAddr, Arc<Connection>>>,
    /// Ids handed out per transport (remote address), registered or not yet, with when
    /// they were minted (ids never registered are forgotten after a while).
    ids: Mutex<HashMap<SocketAddr, (ConnectionId, u64)>>,
    /// Server-to-client requests awaiting their answer, by request id.
    pending: Mutex<HashMap<String, oneshot::Sender<Value>>>,
    next_request_id: AtomicU64,
    /// Transports whose stream is open but not yet set up: a unary call from one of them
    /// waits briefly for the set-up instead of being told to reconnect (the Rust SDK sends
    /// its first unary call right behind its set-up message).
    opening: Mutex<HashSet<SocketAddr>>,
    registered: Notify,
}

/// Details a client gives when it sets up its stream.
pub(crate) struct Setup {
    pub(crate) client_ip: String,
    pub(crate) client_version: String,
    pub(crate) labels: HashMap<String, String>,
}

impl Connections {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        let inner = Inner {
            clock,
            tasks: TaskTracker::new(),
            stop: CancellationToken::new(),
            by_id: Mutex::default(),
            by_remote: RwLock::default(),
            ids: Mutex::default(),
            pending: Mutex::default(),
            next_request_id: AtomicU64::default(),
            opening: Mutex::default(),
            registered: Notify::new(),
        };
        Self { inner: Arc::new(inner) }
    }

    /// Now, in epoch milliseconds, from the clock port.
    pub(crate) fn now(&self) -> u64 {
        self.inner.clock.now().as_u64()
    }

    /// Runs a session: tracked, so shutdown waits for it; it ends by itself when the
    /// server stops (it resets its client first).
    pub(crate) fn spawn_session(&self, session: impl Future<Output = ()> + Send + 'static) {
        self.inner.tasks.spawn(session);
    }

    /// Runs a push or probe: tracked, and cancelled at shutdown.
    fn spawn_cancellable(&self, runtime: &tokio::runtime::Handle, work: impl Future<Output = ()> + Send + 'static) {
        let stop = self.inner.stop.clone();
        self.inner.tasks.spawn_on(
            async move {
                tokio::select! {
                    () = work => {}
                    () = stop.cancelled() => {}
                }
            },
            runtime,
        );
    }

    /// Cancels pushes and probes and waits (briefly) for every task to end.
    pub(crate) async fn shutdown(&self) {
        self.inner.stop.cancel();
        self.inner.tasks.close();
        if tokio::time::timeout(SHUTDOWN_WAIT, self.inner.tasks.wait()).await.is_err() {
            tracing::warn!(left = self.inner.tasks.len(), "client connection tasks did not end in time");
        }
    }

    /// How many tasks are running (tests).
    #[cfg(test)]
    pub(crate) fn task_count(&self) -> usize {
        self.inner.tasks.len()
    }

    /// The id of the transport at `remote`, minted on first sight as Nacos does:
    /// `<epochMillis>_<ip>_<port>`.
    pub(crate) fn id_for(&self, remote: SocketAddr) -> ConnectionId {
        let now = self.now();
        lock(&self.inner.ids)
            .entry(remote)
            .or_insert_with(|| (ConnectionId::new(format!("{now}_{}_{}", remote.ip(), remote.port())), now))
            .0
            .clone()
    }

    pub(crate) fn register(
        &self,
        remote: SocketAddr,
        setup: Setup,
        outbound: mpsc::Sender<Outgoing>,
    ) -> Arc<Connection> {
        let id = self.id_for(remote);
        let now = self.now();
        let connection = Arc::new(Connection {
            id: id.clone(),
            remote,
            client_ip: if setup.client_ip.is_empty() { remote.ip().to_string() } else { setup.client_ip },
            client_version: setup.client_version,
            labels: setup.labels,
            connected_at: now,
            last_active: AtomicU64::new(now),
            outbound,
            closing: Notify::new(),
            probing: std::sync::atomic::AtomicBool::new(false),
        });
        lock(&self.inner.by_id).insert(id, Arc::clone(&connection));
        write(&self.inner.by_remote).insert(remote, Arc::clone(&connection));
        lock(&self.inner.opening).remove(&remote);
        self.inner.registered.notify_waiters();
        connection
    }

    /// A stream from `remote` was opened; its set-up message is on the way.
    pub(crate) fn opening(&self, remote: SocketAddr) {
        lock(&self.inner.opening).insert(remote);
    }

    /// The stream from `remote` ended before (or without) a set-up.
    pub(crate) fn abandoned(&self, remote: SocketAddr) {
        lock(&self.inner.opening).remove(&remote);
        self.inner.registered.notify_waiters();
    }

    /// The registered connection of `remote`, waiting up to `patience` if its stream is
    /// being set up right now.
    pub(crate) async fn registered(&self, remote: SocketAddr, patience: Duration) -> Option<Arc<Connection>> {
        if let Some(connection) = self.touch(remote) {
            return Some(connection);
        }
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            let notified = self.inner.registered.notified();
            if let Some(connection) = self.touch(remote) {
                return Some(connection);
            }
            if !lock(&self.inner.opening).contains(&remote) {
                return None;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.touch(remote);
            }
        }
    }

    pub(crate) fn unregister(&self, connection: &Connection) {
        lock(&self.inner.by_id).remove(&connection.id);
        let mut by_remote = write(&self.inner.by_remote);
        if by_remote.get(&connection.remote).is_some_and(|known| known.id == connection.id) {
            by_remote.remove(&connection.remote);
        }
        drop(by_remote);
        let mut ids = lock(&self.inner.ids);
        if ids.get(&connection.remote).is_some_and(|(id, _)| *id == connection.id) {
            ids.remove(&connection.remote);
        }
    }

    /// The registered connection of the transport at `remote`, refreshing its activity.
    pub(crate) fn touch(&self, remote: SocketAddr) -> Option<Arc<Connection>> {
        let connection = read(&self.inner.by_remote).get(&remote).cloned()?;
        connection.last_active.store(self.now(), Ordering::Relaxed);
        Some(connection)
    }

    /// Whether the transport at `remote` carries a set-up connection.
    pub(crate) fn is_registered(&self, remote: SocketAddr) -> bool {
        read(&self.inner.by_remote).contains_key(&remote)
    }

    pub(crate) fn get(&self, id: &ConnectionId) -> Option<Arc<Connection>> {
        lock(&self.inner.by_id).get(id).cloned()
    }

    pub fn count(&self) -> usize {
        lock(&self.inner.by_id).len()
    }

    /// Completes the server request `request_id` with the client's answer.
    pub(crate) fn answer(&self, request_id: &str, body: Value) {
        if let Some(waiter) = lock(&self.inner.pending).remove(request_id) {
            let _ = waiter.send(body);
        }
    }

    /// Sends a server request on a connection's stream and waits for its answer.
    pub(crate) async fn request(&self, connection: &Connection, kind: &str, body: Value) -> Result<Value, PushError> {
        self.request_body(connection, kind, &Body::Json(body)).await
    }

    async fn request_body(&self, connection: &Connection, kind: &str, body: &Body) -> Result<Value, PushError> {
        let request_id = self.inner.next_request_id.fetch_add(1, Ordering::Relaxed).to_string();
        let (tx, rx) = oneshot::channel();
        lock(&self.inner.pending).insert(request_id.clone(), tx);
        let sent = connection.outbound.try_send(Ok(Box::new(body.payload(kind, &request_id))));
        let answer = match sent {
            Ok(()) => tokio::time::timeout(PUSH_ACK_TIMEOUT, rx).await,
            Err(mpsc::error::TrySendError::Full(_)) => {
                lock(&self.inner.pending).remove(&request_id);
                return Err(PushError::QueueFull);
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                lock(&self.inner.pending).remove(&request_id);
                return Err(PushError::Closed);
            }
        };
        lock(&self.inner.pending).remove(&request_id);
        match answer {
            Ok(Ok(body)) => {
                connection.last_active.store(self.now(), Ordering::Relaxed);
                Ok(body)
            }
            Ok(Err(_)) => Err(PushError::Closed),
            Err(_) => Err(PushError::Timeout),
        }
    }

    /// Sends a message that expects no answer (`SetupAckRequest`, `ConnectResetRequest`).
    pub(crate) fn send(&self, connection: &Connection, kind: &str, mut body: Value) {
        let request_id = self.inner.next_request_id.fetch_add(1, Ordering::Relaxed).to_string();
        if let Value::Object(map) = &mut body {
            map.insert("requestId".into(), json!(request_id));
            map.entry("headers").or_insert_with(|| json!({}));
        }
        let _ = connection.outbound.try_send(Ok(Box::new(wire::payload(kind, &body))));
    }

    /// Every registered connection.
    pub(crate) fn all(&self) -> Vec<Arc<Connection>> {
        lock(&self.inner.by_id).values().cloned().collect()
    }

    /// Ends a connection from the server side: its stream is closed with an error status,
    /// which makes every SDK reconnect (and re-register what it had).
    pub(crate) fn close(&self, connection: &Connection, reason: &str) {
        let _ = connection.outbound.try_send(Err(Box::new(tonic::Status::unavailable(reason.to_owned()))));
        connection.closing.notify_one();
    }

    /// Probes connections silent for `idle` with `ClientDetectionRequest` and closes those
    /// that do not answer. Silent is normal for the Rust SDK, which sends no health checks
    /// once connected, so a probe comes before any drop.
    pub(crate) fn eject_silent(&self, idle: Duration) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let now = self.now();
        let idle_ms = u64::try_from(idle.as_millis()).unwrap_or(u64::MAX);
        // Ids minted by a server check whose client never set up a stream: forget them, so
        // clients that only probe cannot grow the map without bound.
        {
            let registered = lock(&self.inner.by_id);
            let opening = lock(&self.inner.opening);
            lock(&self.inner.ids).retain(|remote, (id, minted)| {
                registered.contains_key(id) || opening.contains(remote) || now.saturating_sub(*minted) < idle_ms
            });
        }
        for connection in self.all() {
            if now.saturating_sub(connection.last_active.load(Ordering::Relaxed)) < idle_ms {
                continue;
            }
            if connection.probing.swap(true, Ordering::AcqRel) {
                continue;
            }
            let connections = self.clone();
            self.spawn_cancellable(&runtime, async move {
                let probe = connections.request(&connection, "ClientDetectionRequest", json!({ "module": "internal" }));
                match probe.await {
                    Ok(_) => connection.probing.store(false, Ordering::Release),
                    Err(err) => {
                        tracing::info!(connection = connection.id.as_str(), cause = %err, "dropping a silent connection");
                        connections.close(&connection, "client did not answer detection");
                    }
                }
            });
        }
    }
}

impl ClientChannel for Connections {
    fn notify_config_changed(&self, connection: &ConnectionId, tenant_as_sent: &str, key: &ConfigKey) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!("config push outside a runtime dropped");
            return;
        };
        let connections = self.clone();
        let connection_id = connection.clone();
        let body = json!({
            "module": "config",
            "dataId": key.data_id.as_str(),
            "group": key.group.as_str(),
            "tenant": tenant_as_sent,
        });
        self.spawn_cancellable(&runtime, async move {
            connections.push_with_retry(connection_id, "ConfigChangeNotifyRequest", Body::Json(body)).await;
        });
    }

    fn fuzzy_watch_sync(
        &self,
        connection: &ConnectionId,
        pattern: &str,
        changes: Vec<(String, FuzzyChange)>,
        initializing: bool,
    ) {
        self.send_fuzzy_sync(&fuzzy_wire::CONFIG, connection, pattern, &changes, initializing);
    }

    fn fuzzy_watch_changed(&self, connection: &ConnectionId, group_key: &str, change: FuzzyChange) {
        self.send_fuzzy_change(&fuzzy_wire::CONFIG, connection, group_key, change);
    }
}

impl ServicePush for Connections {
    fn push(&self, subscriber: &SubscriberId, view: Arc<SharedView>) {
        let SubscriberId::Connection(connection_id) = subscriber else { return };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!("service push outside a runtime dropped");
            return;
        };
        let connections = self.clone();
        let connection_id = connection_id.clone();
        let service_info = naming_wire::service_info_bytes(&view);
        self.spawn_cancellable(&runtime, async move {
            let body = Body::NotifySubscriber(service_info);
            connections.push_with_retry(connection_id, "NotifySubscriberRequest", body).await;
        });
    }

    fn fuzzy_watch_sync(
        &self,
        connection: &ConnectionId,
        pattern: &str,
        changes: Vec<(String, FuzzyChange)>,
        initializing: bool,
    ) {
        self.send_fuzzy_sync(&fuzzy_wire::NAMING, connection, pattern, &changes, initializing);
    }

    fn fuzzy_watch_changed(&self, connection: &ConnectionId, service_key: &str, change: FuzzyChange) {
        self.send_fuzzy_change(&fuzzy_wire::NAMING, connection, service_key, change);
    }
}

impl Connections {
    /// Sends a fuzzy watch's sync: one task sends its batches in order, so the end of an
    /// initial sync comes last.
    fn send_fuzzy_sync(
        &self,
        module: &'static Module,
        connection: &ConnectionId,
        pattern: &str,
        changes: &[(String, FuzzyChange)],
        initializing: bool,
    ) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!("fuzzy watch sync outside a runtime dropped");
            return;
        };
        let bodies = module.sync_bodies(pattern, changes, initializing);
        let connections = self.clone();
        let connection_id = connection.clone();
        self.spawn_cancellable(&runtime, async move {
            for body in bodies {
                connections.push_with_retry(connection_id.clone(), module.sync_request, Body::Json(body)).await;
            }
        });
    }

    fn send_fuzzy_change(&self, module: &'static Module, connection: &ConnectionId, key: &str, change: FuzzyChange) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!("fuzzy watch notice outside a runtime dropped");
            return;
        };
        let body = module.change_body(key, change);
        let connections = self.clone();
        let connection_id = connection.clone();
        self.spawn_cancellable(&runtime, async move {
            connections.push_with_retry(connection_id, module.change_request, Body::Json(body)).await;
        });
    }
}

impl Connections {
    /// Pushes a config change until acknowledged, backing off between attempts; gives up
    /// quietly when the connection is gone or after [`PUSH_ATTEMPTS`].
    async fn push_with_retry(&self, connection_id: ConnectionId, kind: &str, body: Body) {
        for attempt in 1..=PUSH_ATTEMPTS {
            let Some(connection) = self.get(&connection_id) else { return };
            match self.request_body(&connection, kind, &body).await {
                Ok(_) => return,
                Err(PushError::Closed) => return,
                Err(err) => {
                    tracing::debug!(connection = connection_id.as_str(), attempt, kind, cause = %err, "push not acknowledged");
                    tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await;
                }
            }
        }
        tracing::info!(connection = connection_id.as_str(), kind, "push given up after {PUSH_ATTEMPTS} attempts");
    }
}

/// The body of a server request, completed with its request id when sent.
enum Body {
    Json(Value),
    /// `NotifySubscriberRequest` around an already-encoded `ServiceInfo`.
    NotifySubscriber(Arc<[u8]>),
}

impl Body {
    fn payload(&self, kind: &str, request_id: &str) -> Payload {
        match self {
            Self::Json(body) => {
                let mut body = body.clone();
                if let Value::Object(map) = &mut body {
                    map.insert("requestId".into(), json!(request_id));
                    map.entry("headers").or_insert_with(|| json!({}));
                }
                wire::payload(kind, &body)
            }
            Self::NotifySubscriber(service_info) => {
                let mut bytes = Vec::with_capacity(service_info.len() + 80);
                bytes.extend_from_slice(br#"{"headers":{},"module":"naming","requestId":""#);
                bytes.extend_from_slice(request_id.as_bytes());
                bytes.extend_from_slice(br#"","serviceInfo":"#);
                bytes.extend_from_slice(service_info);
                bytes.push(b'}');
                wire::raw_payload(kind, bytes)
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum PushError {
    #[error("connection closed")]
    Closed,
    #[error("connection's outbound queue is full")]
    QueueFull,
    #[error("no answer in time")]
    Timeout,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Each critical section is a single map operation; a poisoned lock guards a whole map.
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(std::sync::PoisonError::into_inner)
}
