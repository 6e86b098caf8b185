//! The openraft type configuration and error aliases.

use crate::record::{ApplyResult, LogRecord};

openraft::declare_raft_types!(
    /// nacosd's raft: our versioned log records, node ids as `u64`, nodes addressed by their
    /// cluster gRPC address (`BasicNode::addr`).
    pub TypeConfig:
        D = LogRecord,
        R = ApplyResult,
        SnapshotData = crate::snapshot_data::SnapshotData,
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
