//! `nacosd-bench`: drives a running nacosd with a closed loop of N connections for D
//! seconds and reports throughput, latency percentiles and the server's CPU per operation.
//!
//! `--limit` also runs the same load against a bare hyper (HTTP) or tonic (gRPC) server,
//! started inside this tool and answering the very bytes nacosd answered, and reports our
//! throughput as a percentage of it: the ratio to track, since absolute figures on shared
//! machines drift.

mod baseline;
mod driver;
mod fanout;
mod grpc;
mod http;
mod report;

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Parser, ValueEnum};

use crate::report::{Measurement, ProcStats};

/// Load scenarios against a running nacosd.
#[derive(Debug, Parser)]
#[command(name = "nacosd-bench", version, about)]
struct Args {
    /// What to run.
    #[arg(long, value_enum)]
    scenario: Scenario,
    /// The server's HTTP address; gRPC is HTTP + 1000 unless --grpc-port is given.
    #[arg(long, default_value = "127.0.0.1:8848")]
    target: SocketAddr,
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
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[allow(clippy::enum_variant_names, reason = "naming scenarios come next, the names are the CLI's")]
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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let load = Load {
        connections: args.connections.max(1),
        warmup: Duration::from_secs(args.warmup),
        duration: Duration::from_secs(args.duration.max(1)),
    };
    let grpc_addr = SocketAddr::new(args.target.ip(), args.grpc_port.unwrap_or(args.target.port() + 1000));
    http::seed(args.target).await?;

    if args.scenario == Scenario::ConfigPushFanout {
        let (per_listener, all) = fanout::run(args.target, grpc_addr, load.connections, load.duration).await?;
        let scenario = format!("ConfigPushFanout (per listener; {} listeners)", load.connections);
        report(&Measurement { scenario, load, ours: per_listener, server: None, limit: None }, args.json);
        let scenario = "ConfigPushFanout (publish to last listener)".to_owned();
        report(&Measurement { scenario, load, ours: all, server: None, limit: None }, args.json);
        return Ok(());
    }
    let before = args.server_pid.map(ProcStats::read).transpose()?;
    let measured = match args.scenario {
        Scenario::ConfigGetHttp => http::run(args.target, load, http::Op::Get).await?,
        Scenario::ConfigPublishHttp => http::run(args.target, load, http::Op::Publish).await?,
        Scenario::ConfigQueryGrpc => grpc::run(grpc_addr, load, grpc::Op::Query).await?,
        Scenario::ConfigPublishGrpc => grpc::run(grpc_addr, load, grpc::Op::Publish).await?,
        Scenario::ConfigPushFanout => unreachable!("handled above"),
    };
    let after = args.server_pid.map(ProcStats::read).transpose()?;
    let server = before.zip(after).map(|(before, after)| after.since(&before));

    let limit = if args.limit {
        Some(match args.scenario {
            Scenario::ConfigGetHttp | Scenario::ConfigPublishHttp => {
                let bytes = http::capture(args.target, args.scenario == Scenario::ConfigPublishHttp).await?;
                let addr = baseline::spawn_http(bytes).await?;
                let op = if args.scenario == Scenario::ConfigGetHttp { http::Op::Get } else { http::Op::Publish };
                http::run(addr, load, op).await?
            }
            Scenario::ConfigPushFanout => unreachable!("handled above"),
            Scenario::ConfigQueryGrpc | Scenario::ConfigPublishGrpc => {
                let publish = args.scenario == Scenario::ConfigPublishGrpc;
                let answer = grpc::capture(grpc_addr, publish).await?;
                let addr = baseline::spawn_grpc(answer).await?;
                let op = if publish { grpc::Op::Publish } else { grpc::Op::Query };
                grpc::run(addr, load, op).await?
            }
        })
    } else {
        None
    };

    let measurement = Measurement { scenario: format!("{:?}", args.scenario), load, ours: measured, server, limit };
    report(&measurement, args.json);
    Ok(())
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
