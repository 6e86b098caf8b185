//! `nacosd-bench`: drives a running nacosd with a closed loop of N connections for D
//! seconds and reports throughput, latency percentiles and the server's CPU per operation.
//!
//! `--limit` also runs the same load against a bare hyper server (HTTP), or the bare
//! tonic-generated services on hyper's HTTP/2 as nacosd serves them (gRPC), started inside this tool and answering the very bytes nacosd answered, and reports our
//! throughput as a percentage of it: the ratio to track, since absolute figures on shared
//! machines drift.

mod baseline;
mod driver;
mod fanout;
mod grpc;
mod http;
mod naming_fanout;
mod report;
mod scale;

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Parser, ValueEnum};

use crate::report::{Measurement, PeakSampler, ProcStats};

/// Load scenarios against a running nacosd.
#[derive(Debug, Parser)]
#[command(name = "nacosd-bench", version, about)]
struct Args {
    /// What to run.
    #[arg(long, value_enum)]
    scenario: Scenario,
    /// The server's HTTP address; gRPC is HTTP + 1000 unless --grpc-port is given. Several,
    /// comma-separated (a cluster's members): the throughput scenarios spread their
    /// connections over them in turn; the others use the first.
    #[arg(long, default_value = "127.0.0.1:8848", value_delimiter = ',', required = true)]
    target: Vec<SocketAddr>,
    #[arg(long)]
    grpc_port: Option<u16>,
    /// Concurrent connections, each a closed loop.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Measured seconds.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Unmeasured seconds before.
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    /// The server's pid, for its CPU seconds and RSS (read from /proc).
    #[arg(long)]
    server_pid: Option<u32>,
    /// Also measure a bare server answering the same bytes, and report the ratio.
    #[arg(long)]
    limit: bool,
    /// scale-instances: instances each connection registers (one per service).
    #[arg(long, default_value_t = 100)]
    instances_per_connection: usize,
    /// scale-configs: how many configs to publish.
    #[arg(long, default_value_t = 10_000)]
    configs: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Log in as this user first and carry the token on every request (auth on).
    #[arg(long, requires = "password")]
    username: Option<String>,
    #[arg(long)]
    password: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    /// GET /nacos/v1/cs/configs of one small config.
    ConfigGetHttp,
    /// POST /nacos/v1/cs/configs, a new content each time.
    ConfigPublishHttp,
    /// ConfigQueryRequest over the Nacos gRPC protocol.
    ConfigQueryGrpc,
    /// ConfigPublishRequest over the Nacos gRPC protocol.
    ConfigPublishGrpc,
    /// --connections gRPC listeners on one config; latency from an HTTP publish to each
    /// push (and, as "all", to the last one).
    ConfigPushFanout,
    /// POST /nacos/v1/ns/instance, each connection re-registering its own instances.
    NamingRegisterHttp,
    /// GET /nacos/v1/ns/instance/list of a 100-instance service.
    NamingListHttp,
    /// InstanceRequest over gRPC, each connection registering its own instances.
    NamingRegisterGrpc,
    /// ServiceQueryRequest of a 100-instance service over gRPC.
    NamingQueryGrpc,
    /// SubscribeServiceRequest of a 100-instance service over gRPC (plus the push each
    /// subscribe earns).
    NamingSubscribeGrpc,
    /// --connections gRPC subscribers of one service; latency from an HTTP registration
    /// to each push that shows it (and to the last one).
    NamingSubscribeFanout,
    /// --connections gRPC clients registering --instances-per-connection instances each:
    /// load time and server RSS per instance.
    ScaleInstances,
    /// --configs configs published over HTTP: load time and server RSS per config.
    ScaleConfigs,
}

impl Scenario {
    /// The HTTP op of an HTTP throughput scenario.
    fn http_op(self) -> Option<http::Op> {
        match self {
            Self::ConfigGetHttp => Some(http::Op::Get),
            Self::ConfigPublishHttp => Some(http::Op::Publish),
            Self::NamingRegisterHttp => Some(http::Op::NamingRegister),
            Self::NamingListHttp => Some(http::Op::NamingList),
            _ => None,
        }
    }

    /// The gRPC op of a gRPC throughput scenario.
    fn grpc_op(self) -> Option<grpc::Op> {
        match self {
            Self::ConfigQueryGrpc => Some(grpc::Op::Query),
            Self::ConfigPublishGrpc => Some(grpc::Op::Publish),
            Self::NamingRegisterGrpc => Some(grpc::Op::NamingRegister),
            Self::NamingQueryGrpc => Some(grpc::Op::NamingQuery),
            Self::NamingSubscribeGrpc => Some(grpc::Op::NamingSubscribe),
            _ => None,
        }
    }
}

/// How long and how hard to push.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Load {
    pub(crate) connections: usize,
    pub(crate) warmup: Duration,
    pub(crate) duration: Duration,
}

const DATA_ID: &str = "bench.properties";
const GROUP: &str = "BENCH";
const CONTENT: &str = "bench.key=value\nbench.other=42\n";
/// The publish scenarios cycle through this many data ids, so a run writes many configs
/// (and their history) rather than rewriting a handful; the side-by-side runs against
/// r-nacos used the same count.
const PUBLISH_DATA_IDS: u64 = 1000;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let load = Load {
        connections: args.connections.max(1),
        warmup: Duration::from_secs(args.warmup),
        duration: Duration::from_secs(args.duration.max(1)),
    };
    let grpc_addrs: Vec<SocketAddr> = args
        .target
        .iter()
        .map(|http| SocketAddr::new(http.ip(), args.grpc_port.unwrap_or(http.port() + 1000)))
        .collect();
    let (target, grpc_addr) = (args.target[0], grpc_addrs[0]);
    if let (Some(username), Some(password)) = (&args.username, &args.password) {
        http::login(target, username, password).await?;
    }
    http::seed(target).await?;
    http::seed_naming(target).await?;

    match args.scenario {
        Scenario::ConfigPushFanout => {
            let measured = fanout::run(target, grpc_addr, load.connections, load.duration).await?;
            report_fanout("ConfigPushFanout", ("listener", "publish"), load, measured, args.json);
            return Ok(());
        }
        Scenario::NamingSubscribeFanout => {
            let measured = naming_fanout::run(target, grpc_addr, load.connections, load.duration).await?;
            report_fanout("NamingSubscribeFanout", ("subscriber", "register"), load, measured, args.json);
            return Ok(());
        }
        Scenario::ScaleInstances => {
            let per = args.instances_per_connection.max(1);
            let found = scale::instances(target, grpc_addr, load.connections, per, args.server_pid).await?;
            print_scale(&found, args.json);
            return Ok(());
        }
        Scenario::ScaleConfigs => {
            let found = scale::configs(target, args.configs, load.connections, args.server_pid).await?;
            print_scale(&found, args.json);
            return Ok(());
        }
        _ => {}
    }
    let before = args.server_pid.map(ProcStats::read).transpose()?;
    let sampler = args.server_pid.map(PeakSampler::start);
    let measured = match (args.scenario.http_op(), args.scenario.grpc_op()) {
        (Some(op), _) => http::run(&args.target, load, op).await?,
        (None, Some(op)) => grpc::run(&grpc_addrs, load, op).await?,
        (None, None) => anyhow::bail!("{:?} is not a throughput scenario", args.scenario),
    };
    let after = args.server_pid.map(ProcStats::read).transpose()?;
    let peaks = match sampler {
        Some(sampler) => sampler.finish().await,
        None => (0, 0),
    };
    let server = before.zip(after).map(|(before, after)| after.since(&before, peaks));

    // The bare-server limit: the same requests answered with nacosd's own bytes.
    let limit = match (args.limit, args.scenario.http_op(), args.scenario.grpc_op()) {
        (false, _, _) | (true, None, None) => None,
        (true, Some(op), _) => {
            let bytes = http::capture(target, op).await?;
            Some(http::run(&[baseline::spawn_http(bytes).await?], load, op).await?)
        }
        (true, None, Some(op)) => {
            let answer = grpc::capture(grpc_addr, op).await?;
            Some(grpc::run(&[baseline::spawn_grpc(answer).await?], load, op).await?)
        }
    };

    let measurement = Measurement { scenario: format!("{:?}", args.scenario), load, ours: measured, server, limit };
    report(&measurement, args.json);
    Ok(())
}

/// A fan-out's two measurements: to each client's push, and to the last of each round.
/// `names` are what a client is and what starts a round, for the labels.
fn report_fanout(
    scenario: &str,
    names: (&str, &str),
    load: Load,
    measured: (report::Stats, report::Stats),
    json: bool,
) {
    let (client, trigger) = names;
    let (per_client, all) = measured;
    let per = format!("{scenario} (per {client}; {} {client}s)", load.connections);
    report(&Measurement { scenario: per, load, ours: per_client, server: None, limit: None }, json);
    let last = format!("{scenario} ({trigger} to last {client})");
    report(&Measurement { scenario: last, load, ours: all, server: None, limit: None }, json);
}

#[allow(clippy::print_stdout, reason = "printing the report is what the tool is for")]
fn print_scale(found: &scale::ScaleReport, json: bool) {
    if json {
        println!("{}", found.json());
    } else {
        println!("{}", found.table());
    }
}

/// The tool's output: a table for people, JSON for scripts.
#[allow(clippy::print_stdout, reason = "printing the report is what the tool is for")]
fn report(measurement: &Measurement, json: bool) {
    if json {
        println!("{}", measurement.json());
    } else {
        println!("{}", measurement.table());
    }
}
