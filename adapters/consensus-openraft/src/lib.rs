//! The consensus port on openraft 0.9.
//!
//! The raft log, the vote and the state machine are implemented once, over the KV port
//! ([`log_store::LogStore`], [`state_machine::StateMachine`]), so every storage engine is a
//! complete raft store; given a directory, the log keeps its entries in segment files there
//! instead (`log_segments.rs`), and snapshots are files too. Raft RPCs are encoded here and carried as bytes by whatever
//! [`ports::peer::PeerTransport`] the node was given.

#![allow(clippy::result_large_err, reason = "openraft's trait methods return its large StorageError; we follow them")]

mod auth_record;
mod batcher;
mod contacts;
mod durable;
mod forward;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
mod held_entries;
mod history_rows;
mod joining;
mod keys;
mod leader;
mod log_entries;
mod log_segments;
mod log_store;
mod log_writer;
mod membership;
mod naming_record;
mod network;
mod node;
mod prompt_election;
mod record;
mod row_record;
mod rpc;
mod snapshot_data;
mod snapshot_format;
mod snapshot_store;
mod state_machine;
mod state_rows;
mod types;

pub use history_rows::HistoryRows;
pub use log_store::LogStore;
pub use network::NetworkFactory;
pub use node::{RaftNode, RaftSettings, StartError};
pub use rpc::RaftRpcServer;
pub use snapshot_data::SnapshotData;
pub use state_machine::StateMachine;
pub use types::TypeConfig;

#[cfg(test)]
mod tests;
