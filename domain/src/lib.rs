//! The pure model and rules of nacosd.
//!
//! Everything here is synchronous and deterministic: no async, no I/O, no clock reads, no
//! logging. Time arrives as an argument ([`Millis`]) and every outcome comes back as data, so
//! each rule is testable with a plain `#[test]` and every raft replica that applies the same
//! command to the same state reaches the same state.
//!
//! Domain types are deliberately not `Serialize`: wire formats and the raft log format are
//! explicit, versioned types owned by the adapters.

pub mod auth;
pub mod cluster;
pub mod command;
pub mod config;
pub mod fuzzy_watch;
pub mod limits;
pub mod namespace;
pub mod naming;
pub mod paging;
pub mod state;
pub mod time;

#[cfg(test)]
mod properties;

pub use command::{Change, Command, Outcome, Rejection, Verdict};
pub use state::State;
pub use time::Millis;
