//! The openraft type configuration and error aliases.

use std::io::Cursor;

use crate::record::{ApplyResult, LogRecord};

openraft::declare_raft_types!(
    /// nacosd's raft: our versioned log records, node ids as `u64`, nodes addressed by their
    /// cluster gRPC address (`BasicNode::addr`).
    pub TypeConfig:
        D = LogRecord,
        R = ApplyResult,
);

pub(crate) type NodeId = u64;
pub(crate) type Node = openraft::BasicNode;
pub(crate) type StorageError = openraft::StorageError<NodeId>;
pub(crate) type Entry = openraft::Entry<TypeConfig>;
pub(crate) type LogId = openraft::LogId<NodeId>;
pub(crate) type StoredMembership = openraft::StoredMembership<NodeId, Node>;
pub(crate) type SnapshotMeta = openraft::SnapshotMeta<NodeId, Node>;
pub(crate) type Snapshot = openraft::Snapshot<TypeConfig>;
pub(crate) type Raft = openraft::Raft<TypeConfig>;

/// Keeps `Cursor` in scope for the macro's default `SnapshotData` type.
pub(crate) type SnapshotData = Cursor<Vec<u8>>;
