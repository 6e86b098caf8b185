//! A clock for tests in paused time: epoch milliseconds that follow tokio's clock.
#![allow(clippy::unwrap_used, reason = "tests")]

use domain::Millis;
use ports::clock::Clock;
use tokio::time::Instant;

pub(crate) struct TokioClock(pub(crate) Instant);

impl Clock for TokioClock {
    fn now(&self) -> Millis {
        Millis(1_700_000_000_000 + u64::try_from(self.0.elapsed().as_millis()).unwrap())
    }
}
