//! Settings: command-line flags, then `NACOSD_*` environment variables, then an optional
//! TOML file (`--config`), then defaults, in that order of precedence.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use clap::Parser;
use serde::Deserialize;

use domain::cluster::{Members, PeerAddr};

use crate::storage::Engine;

const DEFAULT_HTTP_PORT: u16 = 8848;
/// Nacos clients derive the gRPC port as HTTP + 1000 and the cluster port as HTTP + 1001.
const GRPC_PORT_OFFSET: u16 = 1000;
const CLUSTER_PORT_OFFSET: u16 = domain::cluster::CLUSTER_PORT_OFFSET;
const DEFAULT_MAX_CONTENT_BYTES: usize = domain::config::DEFAULT_MAX_CONTENT_BYTES;
const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
const DEFAULT_MAX_LISTENERS: usize = 10_000;
/// The storage engine's memory (RocksDB's memtables and block cache, sled's cache) in MiB:
/// small, so that a small node stays small. Since the raft log moved to its own files the
/// memtables hold only state rows, and 3 MiB ones cost publishes little (p99 within a
/// millisecond or two of 12 MiB ones, BENCHMARKS.md); larger budgets mostly buy read
/// caching, which nacosd needs little of (configs and instances are served from memory).
const DEFAULT_STORAGE_MEMORY_MB: u64 = 8;
const MIN_STORAGE_MEMORY_MB: u64 = 8;
const MAX_STORAGE_MEMORY_MB: u64 = 1 << 20;
/// Tomcat's (Java Nacos's server) default `maxConnections`.
const DEFAULT_MAX_HTTP_CONNECTIONS: usize = 8_192;
/// A snapshot is the whole state, so how often one is taken trades the work of writing it
/// against the log kept (and replayed at start-up) between two.
const DEFAULT_RAFT_SNAPSHOT_LOGS: u64 = 10_000;
/// Openraft keeps 1,000 entries behind a snapshot for lagging followers; fewer between
/// snapshots would purge nothing.
const MIN_RAFT_SNAPSHOT_LOGS: u64 = 1_000;
const DEFAULT_HTTP_HEADER_TIMEOUT_SECONDS: u64 = 10;
const DEFAULT_HTTP_IDLE_TIMEOUT_SECONDS: u64 = 60;
/// Java Nacos's `token.expire.seconds` default.
const DEFAULT_AUTH_TOKEN_TTL_SECONDS: u64 = 18_000;

/// nacosd: a Nacos-compatible config center and service registry.
///
/// Started with no arguments it is a one-node cluster serving HTTP on 8848, client gRPC on
/// 9848 and cluster gRPC on 9849, with its data in ./nacos_data.
#[derive(Debug, Clone, Default, Parser)]
#[command(name = "nacosd", version, about, long_about = None)]
pub struct Cli {
    /// TOML file with any of the settings below (keys in kebab-case, e.g. `http-port = 8848`).
    #[arg(long, env = "NACOSD_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// HTTP port (Nacos Open API) [default: 8848].
    #[arg(long, env = "NACOSD_HTTP_PORT")]
    pub http_port: Option<u16>,

    /// Client gRPC port (Nacos 2.x SDKs) [default: http-port + 1000].
    #[arg(long, env = "NACOSD_GRPC_PORT")]
    pub grpc_port: Option<u16>,

    /// Cluster gRPC port (raft and peer sync) [default: http-port + 1001].
    #[arg(long, env = "NACOSD_CLUSTER_PORT")]
    pub cluster_port: Option<u16>,

    /// Address to listen on [default: 0.0.0.0].
    #[arg(long, env = "NACOSD_BIND")]
    pub bind: Option<IpAddr>,

    /// Address peers reach this node at, host:port of the cluster port
    /// [default: 127.0.0.1:<cluster-port> when bound to all interfaces, else bind:cluster-port].
    #[arg(long, env = "NACOSD_ADVERTISE_ADDR")]
    pub advertise_addr: Option<String>,

    /// Local address this node's calls to peers leave from, for hosts with several
    /// addresses where peers or firewalls admit one [default: chosen by the OS].
    #[arg(long, env = "NACOSD_PEER_SOURCE_IP")]
    pub peer_source_ip: Option<IpAddr>,

    /// Directory for all persistent data [default: ./nacos_data].
    #[arg(long, env = "NACOSD_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// This node's raft id; unique in the cluster and stable across restarts [default: 1].
    #[arg(long, env = "NACOSD_NODE_ID")]
    pub node_id: Option<u64>,

    /// The founding members, `id=host:port,...` (cluster ports), the same on every founding
    /// node; they form the cluster on first start. A node with raft state rejoins with the
    /// membership it has, whatever this says [default: this node alone].
    #[arg(long, env = "NACOSD_MEMBERS")]
    pub members: Option<String>,

    /// A member of an existing cluster (`host:port`, its cluster port) to ask for admission:
    /// a node with no data joins as a learner, catches up, then votes. Ignored once the node
    /// has raft state [default: none].
    #[arg(long, env = "NACOSD_JOIN")]
    pub join: Option<String>,

    /// The cluster's name; a node refuses peers of another cluster, and a data directory
    /// made for one cluster refuses to start in another [default: nacosd].
    #[arg(long, env = "NACOSD_CLUSTER_ID")]
    pub cluster_id: Option<String>,

    /// A secret every peer RPC must carry; peers without it are refused [default: none].
    #[arg(long, env = "NACOSD_CLUSTER_TOKEN", hide_env_values = true)]
    pub cluster_token: Option<String>,

    /// Storage engine: rocksdb, sled or memory [default: rocksdb, or sled in a sled-only build].
    #[arg(long, env = "NACOSD_STORAGE")]
    pub storage: Option<Engine>,

    /// Memory the storage engine may use for write buffers and caches, in MiB (8 or more)
    /// [default: 8].
    #[arg(long, env = "NACOSD_STORAGE_MEMORY_MB")]
    pub storage_memory_mb: Option<u64>,

    /// Largest config content accepted, in bytes [default: 10485760].
    #[arg(long, env = "NACOSD_MAX_CONTENT_BYTES")]
    pub max_content_bytes: Option<usize>,

    /// Most client gRPC connections served at once [default: 10000].
    #[arg(long, env = "NACOSD_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,

    /// Most HTTP connections open at once; a client over it gets 503 [default: 8192].
    #[arg(long, env = "NACOSD_MAX_HTTP_CONNECTIONS")]
    pub max_http_connections: Option<usize>,

    /// Seconds an HTTP client has to send a whole request head, from connecting or from the
    /// first byte of a later request [default: 10].
    #[arg(long, env = "NACOSD_HTTP_HEADER_TIMEOUT_SECONDS")]
    pub http_header_timeout_seconds: Option<u64>,

    /// Seconds a kept-alive HTTP connection may sit idle between requests; a request in
    /// flight (a held long poll) is never idle [default: 60].
    #[arg(long, env = "NACOSD_HTTP_IDLE_TIMEOUT_SECONDS")]
    pub http_idle_timeout_seconds: Option<u64>,

    /// Most configs one client connection may listen to [default: 10000].
    #[arg(long, env = "NACOSD_MAX_LISTENERS_PER_CONNECTION")]
    pub max_listeners_per_connection: Option<usize>,

    /// Seconds a client gRPC connection may stay silent before it is probed, and dropped if
    /// it does not answer [default: 20].
    #[arg(long, env = "NACOSD_CONNECTION_SILENT_SECONDS")]
    pub connection_silent_seconds: Option<u64>,

    /// Days config history is kept [default: 30].
    #[arg(long, env = "NACOSD_HISTORY_RETENTION_DAYS")]
    pub history_retention_days: Option<u64>,

    /// Raft log entries between snapshots (1000 or more) [default: 10000].
    #[arg(long, env = "NACOSD_RAFT_SNAPSHOT_LOGS")]
    pub raft_snapshot_logs: Option<u64>,

    /// Log filter: a level (error, warn, info, debug, trace) or tracing directives [default: info].
    #[arg(long, env = "NACOSD_LOG_LEVEL")]
    pub log_level: Option<String>,

    /// Require users, roles and permissions on every HTTP and gRPC request (as Nacos's
    /// `nacos.core.auth.enabled`); needs --auth-token-secret [default: false].
    #[arg(long, env = "NACOSD_AUTH_ENABLED", num_args = 0..=1, default_missing_value = "true")]
    pub auth_enabled: Option<bool>,

    /// The secret access tokens are signed with: base64 of at least 32 bytes (for example
    /// `openssl rand -base64 32`), the same on every node.
    #[arg(long, env = "NACOSD_AUTH_TOKEN_SECRET", hide_env_values = true)]
    pub auth_token_secret: Option<String>,

    /// How long an access token lives, in seconds [default: 18000].
    #[arg(long, env = "NACOSD_AUTH_TOKEN_TTL_SECONDS")]
    pub auth_token_ttl_seconds: Option<u64>,

    /// The password of the first administrator (`nacos`), set at start-up when none exists
    /// yet; otherwise set it once with `POST /nacos/v1/auth/users/admin` [default: none].
    #[arg(long, env = "NACOSD_AUTH_ADMIN_PASSWORD", hide_env_values = true)]
    pub auth_admin_password: Option<String>,
}

/// The same settings as read from a TOML file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileSettings {
    http_port: Option<u16>,
    grpc_port: Option<u16>,
    cluster_port: Option<u16>,
    bind: Option<IpAddr>,
    advertise_addr: Option<String>,
    peer_source_ip: Option<IpAddr>,
    data_dir: Option<PathBuf>,
    node_id: Option<u64>,
    members: Option<String>,
    join: Option<String>,
    cluster_id: Option<String>,
    cluster_token: Option<String>,
    storage: Option<String>,
    storage_memory_mb: Option<u64>,
    max_content_bytes: Option<usize>,
    max_connections: Option<usize>,
    max_listeners_per_connection: Option<usize>,
    max_http_connections: Option<usize>,
    http_header_timeout_seconds: Option<u64>,
    http_idle_timeout_seconds: Option<u64>,
    history_retention_days: Option<u64>,
    raft_snapshot_logs: Option<u64>,
    connection_silent_seconds: Option<u64>,
    log_level: Option<String>,
    auth_enabled: Option<bool>,
    auth_token_secret: Option<String>,
    auth_token_ttl_seconds: Option<u64>,
    auth_admin_password: Option<String>,
}

/// Fully resolved settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub http_port: u16,
    pub grpc_port: u16,
    pub cluster_port: u16,
    pub bind: IpAddr,
    pub advertise_addr: PeerAddr,
    /// Where calls to peers leave from; the OS's choice when `None`.
    pub peer_source_ip: Option<IpAddr>,
    pub data_dir: PathBuf,
    pub node_id: u64,
    /// The founding members; this node alone unless `--members` was given.
    pub members: Members,
    /// A member to ask for admission instead of founding a cluster.
    pub join: Option<PeerAddr>,
    pub cluster_id: String,
    /// Shown as `<set>` in logs, as every secret.
    pub cluster_token: Option<Secret>,
    pub storage: Engine,
    /// The storage engine's memory budget, in bytes.
    pub storage_memory_bytes: usize,
    pub max_content_bytes: usize,
    pub max_connections: usize,
    pub max_listeners_per_connection: usize,
    pub max_http_connections: usize,
    pub http_header_timeout: std::time::Duration,
    pub http_idle_timeout: std::time::Duration,
    pub history_retention: std::time::Duration,
    /// Raft log entries between snapshots.
    pub raft_snapshot_logs: u64,
    pub connection_silent_after: std::time::Duration,
    pub log_level: String,
    pub auth: AuthOptions,
}

/// A secret setting: its value never reaches a log (`Debug` shows `<set>`).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl std::ops::Deref for Secret {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<set>")
    }
}

/// The auth flags as given (the service's own settings are `ports::auth::AuthSettings`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthOptions {
    pub enabled: bool,
    /// The token secret, checked (base64, 32 bytes or more) when auth is on.
    pub token_secret: Option<Secret>,
    pub token_ttl_seconds: u64,
    pub admin_password: Option<Secret>,
}

impl Settings {
    /// Resolves settings from the process's arguments and environment.
    pub fn from_env() -> anyhow::Result<Self> {
        Self::resolve(Cli::parse())
    }

    /// Fills what `cli` (flags and environment) left unset from its `--config` file, then
    /// from defaults.
    pub fn resolve(cli: Cli) -> anyhow::Result<Self> {
        let file = match &cli.config {
            Some(path) => read_file(path)?,
            None => FileSettings::default(),
        };
        let storage = match (cli.storage, file.storage.as_deref()) {
            (Some(engine), _) => engine,
            (None, Some(raw)) => raw.parse().map_err(|err: String| anyhow::format_err!("{err}"))?,
            (None, None) => Engine::default_for_build(),
        };
        let http_port = cli.http_port.or(file.http_port).unwrap_or(DEFAULT_HTTP_PORT);
        let grpc_port = match cli.grpc_port.or(file.grpc_port) {
            Some(port) => port,
            None => offset(http_port, GRPC_PORT_OFFSET, "grpc-port")?,
        };
        let cluster_port = match cli.cluster_port.or(file.cluster_port) {
            Some(port) => port,
            None => offset(http_port, CLUSTER_PORT_OFFSET, "cluster-port")?,
        };
        let storage_memory_mb = cli.storage_memory_mb.or(file.storage_memory_mb).unwrap_or(DEFAULT_STORAGE_MEMORY_MB);
        if !(MIN_STORAGE_MEMORY_MB..=MAX_STORAGE_MEMORY_MB).contains(&storage_memory_mb) {
            anyhow::bail!(
                "storage-memory-mb must be between {MIN_STORAGE_MEMORY_MB} and {MAX_STORAGE_MEMORY_MB}, not {storage_memory_mb}"
            );
        }
        let raft_snapshot_logs =
            cli.raft_snapshot_logs.or(file.raft_snapshot_logs).unwrap_or(DEFAULT_RAFT_SNAPSHOT_LOGS);
        if raft_snapshot_logs < MIN_RAFT_SNAPSHOT_LOGS {
            anyhow::bail!("raft-snapshot-logs must be {MIN_RAFT_SNAPSHOT_LOGS} or more, not {raft_snapshot_logs}");
        }
        let bind = cli.bind.or(file.bind).unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let node_id = cli.node_id.or(file.node_id).unwrap_or(1);
        let members = match cli.members.or(file.members) {
            Some(raw) => Some(Members::parse(&raw).map_err(|err| anyhow::format_err!("--members: {err}"))?),
            None => None,
        };
        let advertise_addr = match cli.advertise_addr.or(file.advertise_addr) {
            Some(raw) => PeerAddr::parse(&raw).map_err(|err| anyhow::format_err!("--advertise-addr: {err}"))?,
            None => match members.as_ref().and_then(|members| members.get(node_id)) {
                Some(listed) => listed.clone(),
                None => {
                    let host = if bind.is_unspecified() { IpAddr::from([127, 0, 0, 1]) } else { bind };
                    PeerAddr::parse(&std::net::SocketAddr::new(host, cluster_port).to_string())
                        .map_err(|err| anyhow::format_err!("advertise address: {err}"))?
                }
            },
        };
        // Whether this node is among the members, at its address, matters only when it
        // founds the cluster (raft checks it then): a node with state ignores the list.
        let members = members.unwrap_or_else(|| Members::solo(node_id, advertise_addr.clone()));
        let join = match cli.join.or(file.join) {
            Some(_) if members.len() > 1 => {
                anyhow::bail!("give --members to found a cluster or --join to join one, not both")
            }
            Some(raw) => Some(PeerAddr::parse(&raw).map_err(|err| anyhow::format_err!("--join: {err}"))?),
            None => None,
        };
        let cluster_id = cli.cluster_id.or(file.cluster_id).unwrap_or_else(|| "nacosd".to_owned());
        if cluster_id.is_empty() || cluster_id.len() > 128 || cluster_id.chars().any(char::is_control) {
            anyhow::bail!("cluster-id must be 1 to 128 printable characters");
        }
        let cluster_token = cli.cluster_token.or(file.cluster_token).filter(|token| !token.is_empty());
        let auth = AuthOptions {
            enabled: cli.auth_enabled.or(file.auth_enabled).unwrap_or(false),
            token_secret: cli
                .auth_token_secret
                .or(file.auth_token_secret)
                .filter(|secret| !secret.is_empty())
                .map(Secret),
            token_ttl_seconds: cli
                .auth_token_ttl_seconds
                .or(file.auth_token_ttl_seconds)
                .unwrap_or(DEFAULT_AUTH_TOKEN_TTL_SECONDS)
                .max(1),
            admin_password: cli
                .auth_admin_password
                .or(file.auth_admin_password)
                .filter(|pw| !pw.is_empty())
                .map(Secret),
        };
        if auth.enabled {
            let Some(secret) = auth.token_secret.as_deref() else {
                anyhow::bail!(
                    "auth is enabled but no token secret is set: give --auth-token-secret (or NACOSD_AUTH_TOKEN_SECRET) \
                     base64 of at least 32 random bytes, the same on every node, e.g. `openssl rand -base64 32`"
                );
            };
            auth_crypto::JwtCodec::new(secret).map_err(|err| anyhow::format_err!("--auth-token-secret: {err}"))?;
            if (members.len() > 1 || join.is_some()) && cluster_token.is_none() {
                anyhow::bail!(
                    "auth is enabled on a cluster without --cluster-token: peers would call each other \
                     unauthenticated; give every node the same --cluster-token (or NACOSD_CLUSTER_TOKEN)"
                );
            }
            if let Some(password) = auth.admin_password.as_deref() {
                domain::auth::check_password("auth-admin-password", Some(password))
                    .map_err(|err| anyhow::format_err!("--auth-admin-password: {err}"))?;
            }
        }
        Ok(Self {
            http_port,
            grpc_port,
            cluster_port,
            bind,
            advertise_addr,
            peer_source_ip: cli.peer_source_ip.or(file.peer_source_ip),
            data_dir: cli.data_dir.or(file.data_dir).unwrap_or_else(|| PathBuf::from("nacos_data")),
            node_id,
            members,
            join,
            cluster_id,
            cluster_token: cluster_token.map(Secret),
            storage,
            storage_memory_bytes: usize::try_from(storage_memory_mb << 20).unwrap_or(usize::MAX),
            max_content_bytes: cli.max_content_bytes.or(file.max_content_bytes).unwrap_or(DEFAULT_MAX_CONTENT_BYTES),
            max_connections: cli.max_connections.or(file.max_connections).unwrap_or(DEFAULT_MAX_CONNECTIONS),
            max_listeners_per_connection: cli
                .max_listeners_per_connection
                .or(file.max_listeners_per_connection)
                .unwrap_or(DEFAULT_MAX_LISTENERS),
            max_http_connections: cli
                .max_http_connections
                .or(file.max_http_connections)
                .unwrap_or(DEFAULT_MAX_HTTP_CONNECTIONS)
                .max(1),
            http_header_timeout: std::time::Duration::from_secs(
                cli.http_header_timeout_seconds
                    .or(file.http_header_timeout_seconds)
                    .unwrap_or(DEFAULT_HTTP_HEADER_TIMEOUT_SECONDS)
                    .max(1),
            ),
            http_idle_timeout: std::time::Duration::from_secs(
                cli.http_idle_timeout_seconds
                    .or(file.http_idle_timeout_seconds)
                    .unwrap_or(DEFAULT_HTTP_IDLE_TIMEOUT_SECONDS)
                    .max(1),
            ),
            history_retention: std::time::Duration::from_secs(
                cli.history_retention_days.or(file.history_retention_days).unwrap_or(30).saturating_mul(24 * 3600),
            ),
            raft_snapshot_logs,
            connection_silent_after: std::time::Duration::from_secs(
                cli.connection_silent_seconds.or(file.connection_silent_seconds).unwrap_or(20).max(1),
            ),
            log_level: cli.log_level.or(file.log_level).unwrap_or_else(|| "info".to_owned()),
            auth,
        })
    }
}

fn read_file(path: &Path) -> anyhow::Result<FileSettings> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| anyhow::format_err!("cannot read config file {}: {err}", path.display()))?;
    toml::from_str(&text).map_err(|err| anyhow::format_err!("invalid config file {}: {err}", path.display()))
}

fn offset(http_port: u16, by: u16, name: &str) -> anyhow::Result<u16> {
    http_port
        .checked_add(by)
        .ok_or_else(|| anyhow::format_err!("http-port {http_port} + {by} is not a port; set --{name} explicitly"))
}

#[cfg(test)]
mod tests;
