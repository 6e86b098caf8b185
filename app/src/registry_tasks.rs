//! The registry's timers: the push round that turns changes into coalesced pushes, and
//! the expiry sweep of HTTP-kept instances.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use ports::naming::NamingApp;

/// How often changed services are pushed to subscribers. Every change waits at most this
/// long, and a burst within it is one push per subscriber (Java Nacos waits 500 ms).
const PUSH_EVERY: Duration = Duration::from_millis(50);
/// How often beat expiry runs; the preserved.* timeouts are in milliseconds, so a fine
/// sweep keeps them honest (Java Nacos sweeps every 5 s).
const EXPIRE_EVERY: Duration = Duration::from_secs(1);

/// Runs both timers until `stop` resolves.
pub(crate) async fn run(naming: Arc<NamingApp>, stop: impl Future<Output = ()>) {
    let mut push = tokio::time::interval(PUSH_EVERY);
    push.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut expire = tokio::time::interval(EXPIRE_EVERY);
    expire.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = push.tick() => {
                let pushed = naming.flush_pushes();
                if pushed > 0 {
                    tracing::debug!(pushed, "service pushes queued");
                }
            }
            _ = expire.tick() => naming.expire(),
            _ = &mut stop => return,
        }
    }
}
