//! The `nacosd` binary: settings, logging, signals; everything else is `app::Node`.

use app::{Listeners, Node, Settings};

fn main() -> anyhow::Result<()> {
    // Before the runtime: its threads are the first to allocate.
    app::allocator::tune();
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(serve())
}

async fn serve() -> anyhow::Result<()> {
    let settings = Settings::from_env()?;
    app::telemetry::init(&settings.log_level)?;
    tracing::info!(?settings, version = env!("CARGO_PKG_VERSION"), "starting nacosd");

    let listeners = Listeners::bind(&settings).await?;
    let node = Node::start(&settings, listeners).await?;
    node.run_until(shutdown_signal()).await
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C).
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(err) => {
                tracing::warn!(cause = %err, "cannot listen for SIGTERM; only Ctrl-C stops nacosd");
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
    tracing::info!("signal received");
}
