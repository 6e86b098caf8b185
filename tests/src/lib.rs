//! The black-box test harness: start real `nacosd` processes, talk to them over real
//! sockets, kill them, restart them.

#![allow(clippy::unwrap_used, reason = "test harness: a failed unwrap is a failed test")]

pub mod cluster;
pub mod process;
pub mod proxy;

pub use cluster::Cluster;
pub use process::Nacosd;

/// How many times the fault tests repeat their faults: `NACOSD_SOAK_ROUNDS` (default 1, as
/// CI runs them); a soak run sets more.
pub fn soak_rounds() -> usize {
    std::env::var("NACOSD_SOAK_ROUNDS").ok().and_then(|raw| raw.parse().ok()).filter(|n| *n > 0).unwrap_or(1)
}
