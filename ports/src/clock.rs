//! The clock port: the only way the core learns the time.

use std::time::{SystemTime, UNIX_EPOCH};

use domain::Millis;

/// Where "now" comes from. Tests pass a fixed clock; the server passes [`SystemClock`].
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
pub trait Clock: Send + Sync {
    fn now(&self) -> Millis;
}

/// Wall-clock time.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Millis {
        // A clock before 1970 is a broken host; report the epoch rather than panic.
        let millis = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_millis());
        Millis(u64::try_from(millis).unwrap_or(u64::MAX))
    }
}
