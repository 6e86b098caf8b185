//! A whole nacosd node: storage, raft, services and servers, started and stopped together.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use api_grpc::{Connections, GrpcApi, GrpcLimits};
use api_http::{HttpApi, LongPolls, ServerLimits, Timeouts, UdpPusher};
use consensus_openraft::{HistoryRows, RaftNode, RaftSettings};
use domain::config::ConfigLimits;
use peer_grpc::{DistroSlot, GrpcDistroPeers, GrpcPeerTransport, PeerIdentity};
use ports::applied::AppliedState;
use ports::auth::{AuthApp, AuthService, TokenCodec};
use ports::clock::{Clock, SystemClock};
use ports::cluster::ClusterView;
use ports::config::ConfigApp;
use ports::config::ConfigService;
use ports::connection::ConnectionApp;
use ports::kv::KvStore;
use ports::listen::ConfigListeners;
use ports::namespace::NamespaceApp;
use ports::naming::{DistroPeers, NamingApp};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::health_tasks::HealthCheckTask;
use crate::settings::Settings;
use crate::{distro_tasks, registry_tasks, storage};

/// How long a node waits for its first raft leader before giving up on start-up.
const LEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// The file in the data directory that names the cluster the data belongs to.
const CLUSTER_ID_FILE: &str = "cluster-id";
/// How long in-flight work may take to drain on shutdown before the node stops anyway.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(3);
/// How often old config history is purged.
const HISTORY_PURGE_EVERY: Duration = Duration::from_secs(3600);
/// Form encoding can triple a config's size; leave room for the other parameters.
const BODY_OVERHEAD_BYTES: u64 = 64 * 1024;

/// The sockets a node serves on, bound by the caller (so tests can bind port 0).
pub struct Listeners {
    pub http: TcpListener,
    pub grpc: TcpListener,
    pub cluster: TcpListener,
}

impl Listeners {
    /// Binds the ports `settings` names.
    pub async fn bind(settings: &Settings) -> anyhow::Result<Self> {
        let bind = |port: u16| {
            let addr = SocketAddr::new(settings.bind, port);
            async move { TcpListener::bind(addr).await.map_err(|err| anyhow::format_err!("cannot listen on {addr}: {err}")) }
        };
        Ok(Self {
            http: bind(settings.http_port).await?,
            grpc: bind(settings.grpc_port).await?,
            cluster: bind(settings.cluster_port).await?,
        })
    }
}

/// A running node.
pub struct Node {
    kv: Arc<dyn KvStore>,
    raft: RaftNode,
    /// Flipped once to tell every server to stop accepting and drain.
    stop: watch::Sender<bool>,
    servers: Vec<JoinHandle<()>>,
    pub http_addr: SocketAddr,
    pub grpc_addr: SocketAddr,
    pub cluster_addr: SocketAddr,
}

impl Node {
    /// Opens storage, starts raft (waiting for a leader) and starts serving.
    pub async fn start(settings: &Settings, listeners: Listeners) -> anyhow::Result<Self> {
        claim_data_dir(&settings.data_dir, &settings.cluster_id)?;
        let kv = storage::open(settings.storage, &settings.data_dir, settings.storage_memory_bytes)?;
        tracing::info!(engine = kv.engine(), data_dir = %settings.data_dir.display(), "storage opened");

        let state = AppliedState::new();
        let raft_settings = RaftSettings {
            node_id: settings.node_id,
            members: settings.members.clone(),
            advertise_addr: settings.advertise_addr.clone(),
            http_addr: http_advertised(settings, &listeners)?,
            join: settings.join.clone(),
            heartbeat: Duration::from_millis(100),
            election_timeout_min: Duration::from_millis(300),
            election_timeout_max: Duration::from_millis(600),
            snapshot_after_logs: settings.raft_snapshot_logs,
            snapshot_dir: storage::snapshot_dir(settings.storage, &settings.data_dir),
            log_dir: storage::log_dir(settings.storage, &settings.data_dir),
        };
        let identity = PeerIdentity {
            cluster_id: settings.cluster_id.clone(),
            token: settings.cluster_token.as_deref().map(str::to_owned),
        };
        let transport = Arc::new(GrpcPeerTransport::new(identity.clone()).with_source_ip(settings.peer_source_ip));
        let distro_slot = Arc::new(DistroSlot::default());
        let raft = RaftNode::start(raft_settings, Arc::clone(&kv), state.clone(), transport.clone()).await?;

        let (stop, stopped) = watch::channel(false);
        let http_addr = listeners.http.local_addr()?;
        let grpc_addr = listeners.grpc.local_addr()?;
        let cluster_addr = listeners.cluster.local_addr()?;
        let mut servers = Vec::new();

        let rpc_handler = Arc::new(raft.rpc_handler());
        let peer_stop = wait_for_stop(stopped.clone());
        let slot = Arc::clone(&distro_slot);
        servers.push(tokio::spawn(async move {
            if let Err(err) = peer_grpc::serve(listeners.cluster, rpc_handler, slot, identity, peer_stop).await {
                tracing::error!(cause = %err, "cluster server stopped");
            }
        }));

        let leader = wait_for_leader(&raft, settings.members.len() > 1 || settings.join.is_some()).await?;
        tracing::info!(node_id = settings.node_id, leader, "raft is ready");

        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let limits = ConfigLimits { max_content_bytes: settings.max_content_bytes };
        let history = Arc::new(HistoryRows::new(Arc::clone(&kv)));
        let config =
            Arc::new(ConfigApp::new(Arc::new(raft.clone()), state.clone(), Arc::clone(&clock), limits, history));
        let connections = Connections::new(Arc::clone(&clock));
        let long_polls = LongPolls::new();
        let listening = Arc::new(ConfigListeners::new(
            state.clone(),
            Arc::new(connections.clone()),
            Arc::new(long_polls.clone()),
            settings.max_listeners_per_connection,
        ));
        state.observe(listening.clone());

        let max_message_bytes =
            settings.max_content_bytes.saturating_mul(2).saturating_add(BODY_OVERHEAD_BYTES as usize);
        let grpc_limits = GrpcLimits {
            max_connections: settings.max_connections,
            max_message_bytes,
            silent_after: settings.connection_silent_after,
        };
        let naming = Arc::new(NamingApp::new(Arc::new(raft.clone()), state.clone(), Arc::clone(&clock)));
        state.observe(naming.clone());
        // Distro: peers may send as soon as the handler is set; a member first loads what
        // the others hold, so its registry is whole before it serves a read.
        distro_slot.set(naming.clone());
        let distro_peers: Arc<dyn DistroPeers> =
            Arc::new(GrpcDistroPeers::new(Arc::clone(&transport), Arc::new(raft.clone())));
        let others: Vec<u64> =
            raft.status().members.iter().map(|member| member.node_id).filter(|id| *id != settings.node_id).collect();
        if !others.is_empty() {
            distro_tasks::load(&naming, distro_peers.as_ref(), &others).await;
        }
        servers.push(tokio::spawn(distro_tasks::run(naming.clone(), distro_peers, wait_for_stop(stopped.clone()))));
        naming.add_pusher(Arc::new(connections.clone()));
        let (udp, udp_reader) =
            UdpPusher::bind(settings.bind, Arc::clone(&clock), wait_for_stop(stopped.clone())).await?;
        servers.push(udp_reader);
        tracing::debug!(addr = %udp.local_addr()?, "udp push socket bound");
        naming.add_pusher(Arc::new(udp));
        servers.push(tokio::spawn(registry_tasks::run(naming.clone(), wait_for_stop(stopped.clone()))));
        let health_checks = HealthCheckTask {
            naming: naming.clone(),
            cluster: Arc::new(raft.clone()),
            probe: Arc::new(health_probe::NetProbe::default()),
        };
        servers.push(tokio::spawn(health_checks.run(wait_for_stop(stopped.clone()))));
        let auth = auth_service(settings, &raft, &state, &clock)?;
        if settings.auth.enabled {
            // Before serving: a client that finds the node up finds the administrator made.
            first_admin(auth.as_ref(), settings.auth.admin_password.as_deref().map(str::to_owned), http_addr).await;
        }
        let services = api_grpc::Services {
            config: config.clone(),
            listening: listening.clone(),
            registry: naming.clone(),
            queries: naming.clone(),
            subscriptions: naming.clone(),
            connection_ends: Arc::new(ConnectionApp::new(listening.clone(), naming.clone())),
            auth: auth.clone(),
        };
        let grpc = GrpcApi::new(services, connections, grpc_limits);
        servers.push(tokio::spawn(api_grpc::serve(listeners.grpc, grpc, wait_for_stop(stopped.clone()))));

        let max_body_bytes = (settings.max_content_bytes as u64).saturating_mul(3).saturating_add(BODY_OVERHEAD_BYTES);
        let namespaces = Arc::new(NamespaceApp::new(Arc::new(raft.clone()), state.clone(), Arc::clone(&clock)));
        servers.push(tokio::spawn(purge_history(
            config.clone(),
            settings.history_retention,
            wait_for_stop(stopped.clone()),
        )));
        let api = HttpApi {
            config,
            namespaces,
            registry: naming.clone(),
            queries: naming.clone(),
            subscriptions: naming,
            listening,
            long_polls,
            cluster: Arc::new(raft.clone()),
            http_port: http_addr.port(),
            relay: api_http::Relay::default(),
            max_body_bytes,
            auth,
        };
        let http_limits = ServerLimits {
            timeouts: Timeouts { header: settings.http_header_timeout, idle: settings.http_idle_timeout },
            max_connections: settings.max_http_connections,
        };
        servers.push(tokio::spawn(api_http::serve(listeners.http, api, http_limits, wait_for_stop(stopped))));

        tracing::info!(http = %http_addr, grpc = %grpc_addr, cluster = %cluster_addr, "nacosd is serving");
        Ok(Self { kv, raft, stop, servers, http_addr, grpc_addr, cluster_addr })
    }

    /// Serves until `shutdown` resolves, then stops: no new connections, in-flight requests
    /// finish (for at most a few seconds), raft stops, storage is flushed.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        shutdown.await;
        self.shutdown().await
    }

    pub async fn shutdown(self) -> anyhow::Result<()> {
        tracing::info!("shutting down");
        let _ = self.stop.send(true);
        let drained = tokio::time::timeout(DRAIN_TIMEOUT, futures_join_all(self.servers)).await;
        if drained.is_err() {
            tracing::warn!("in-flight requests did not finish in time; stopping anyway");
        }
        self.raft.shutdown().await;
        let kv = Arc::clone(&self.kv);
        tokio::task::spawn_blocking(move || kv.flush()).await??;
        tracing::info!("storage flushed; bye");
        Ok(())
    }
}

/// Where peers reach this node's HTTP API: the advertised host, the bound HTTP port.
fn http_advertised(settings: &Settings, listeners: &Listeners) -> anyhow::Result<String> {
    let port = listeners.http.local_addr()?.port();
    let host = settings.advertise_addr.host();
    Ok(if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") })
}

/// Waits for the first leader. A one-node cluster elects itself at once, so a wait there
/// means something is wrong; a cluster needs a majority of its members up, which may take
/// as long as the operator takes to start them, so it waits on and says why.
async fn wait_for_leader(raft: &RaftNode, clustered: bool) -> anyhow::Result<u64> {
    if !clustered {
        return Ok(raft.wait_for_leader(LEADER_TIMEOUT).await?);
    }
    loop {
        match raft.wait_for_leader(LEADER_TIMEOUT).await {
            Ok(leader) => return Ok(leader),
            Err(_) => tracing::warn!(
                "no raft leader yet: waiting for a majority of the members to be up and reachable (or to be admitted)"
            ),
        }
    }
}

/// Marks `data_dir` as this cluster's, or refuses one that belongs to another cluster: its
/// raft state would make this node vote in a cluster that is not its own.
fn claim_data_dir(data_dir: &std::path::Path, cluster_id: &str) -> anyhow::Result<()> {
    std::fs::create_dir_all(data_dir)
        .map_err(|err| anyhow::format_err!("cannot create data directory {}: {err}", data_dir.display()))?;
    let marker = data_dir.join(CLUSTER_ID_FILE);
    match std::fs::read_to_string(&marker) {
        Ok(found) if found.trim() == cluster_id => Ok(()),
        Ok(found) => anyhow::bail!(
            "data directory {} belongs to cluster {:?}, not {cluster_id:?}; start with --cluster-id {:?} or use another data directory",
            data_dir.display(),
            found.trim(),
            found.trim()
        ),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => std::fs::write(&marker, format!("{cluster_id}\n"))
            .map_err(|err| anyhow::format_err!("cannot write {}: {err}", marker.display())),
        Err(err) => anyhow::bail!("cannot read {}: {err}", marker.display()),
    }
}

/// Drops config history older than `retention`, hourly (the service proposes the purge only
/// on the leader, so a cluster purges once).
async fn purge_history(config: Arc<ConfigApp>, retention: Duration, stop: impl Future<Output = ()>) {
    let mut hourly = tokio::time::interval(HISTORY_PURGE_EVERY);
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = hourly.tick() => {
                if let Err(err) = config.purge_history(retention).await {
                    tracing::warn!(cause = %err, "config history purge failed; will retry");
                }
            }
            _ = &mut stop => return,
        }
    }
}

async fn futures_join_all(handles: Vec<JoinHandle<()>>) {
    for handle in handles {
        let _ = handle.await;
    }
}

async fn wait_for_stop(mut stopped: watch::Receiver<bool>) {
    // An error means the sender is gone, which also means "stop".
    let _ = stopped.wait_for(|stop| *stop).await;
}

/// The auth service: bcrypt for passwords, Nacos's JWT for tokens. With auth off no token
/// is ever checked; a codec on a throwaway secret issues nothing.
fn auth_service(
    settings: &Settings,
    raft: &RaftNode,
    state: &AppliedState,
    clock: &Arc<dyn Clock>,
) -> anyhow::Result<Arc<dyn AuthService>> {
    let tokens: Arc<dyn TokenCodec> = match settings.auth.token_secret.as_deref() {
        Some(secret) if settings.auth.enabled => Arc::new(auth_crypto::JwtCodec::new(secret)?),
        _ => Arc::new(NoTokens),
    };
    let auth_settings = ports::auth::AuthSettings {
        enabled: settings.auth.enabled,
        token_ttl_seconds: settings.auth.token_ttl_seconds,
    };
    Ok(Arc::new(AuthApp::new(
        Arc::new(raft.clone()),
        state.clone(),
        Arc::clone(clock),
        Arc::new(auth_crypto::Bcrypt::default()),
        tokens,
        auth_settings,
    )))
}

/// With auth off nothing is signed or verified.
struct NoTokens;

impl TokenCodec for NoTokens {
    fn issue(&self, _: &str, _: u64) -> String {
        ports::auth::AUTH_DISABLED_TOKEN.to_owned()
    }

    fn verify(&self, _: &str, _: u64) -> Result<(String, u64), ports::auth::TokenError> {
        Err(ports::auth::TokenError::Malformed)
    }
}

/// With auth on and no administrator yet: creates one from `--auth-admin-password`, or
/// says how to. Several nodes may try at once; raft lets one win.
async fn first_admin(auth: &dyn AuthService, password: Option<String>, http_addr: SocketAddr) {
    if !auth.admin_missing() {
        return;
    }
    match password {
        Some(password) => match auth.init_admin(Some(password)).await {
            Ok((username, _)) => tracing::info!(username, "the administrator was created from --auth-admin-password"),
            Err(ports::auth::AuthFailure::Rejected(domain::Rejection::AdminExists)) => {}
            Err(err) => tracing::error!(cause = %err, "the administrator could not be created"),
        },
        None => tracing::warn!(
            "auth is on and there is no administrator yet: set its password once with \
             `curl -X POST http://{http_addr}/nacos/v1/auth/users/admin -d password=...` \
             (user `nacos`), or start with --auth-admin-password"
        ),
    }
}
