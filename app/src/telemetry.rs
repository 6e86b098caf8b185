//! Logging: human-readable lines on stderr, filtered by `--log-level` (or `RUST_LOG`).

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. `level` is a level (`info`) or a full filter directive
/// (`info,openraft=warn`); `RUST_LOG`, when set, wins.
pub fn init(level: &str) -> anyhow::Result<()> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(directives) if !directives.is_empty() => EnvFilter::try_new(directives)?,
        // openraft logs every vote and election at info, warp every request: keep both to
        // warnings so `info` stays readable in production. openraft's replication repeats
        // an error twice a second for as long as a member is down; the member probe says
        // once when a member becomes unreachable and once when it is back.
        _ => EnvFilter::try_new(format!(
            "{level},openraft=warn,openraft::replication=off,openraft::engine::handler::replication_handler=error,warp=warn"
        ))?,
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init()
        .map_err(|err| anyhow::format_err!("logging is already set up: {err}"))
}
