//! The black-box test harness: start real `nacosd` processes, talk to them over real
//! sockets, kill them, restart them.

#![allow(clippy::unwrap_used, reason = "test harness: a failed unwrap is a failed test")]

pub mod cluster;
pub mod process;
pub mod proxy;

pub use cluster::Cluster;
pub use process::Nacosd;
