//! The KV port: an ordered key-value store with atomic batches and explicit durability.
//!
//! The raft log, the raft vote and the applied state machine all persist through this one
//! port, so every engine that implements it is a complete raft store.

use std::error::Error as StdError;
use std::fmt;
use std::ops::Bound;

/// How durable a write must be when [`KvStore::write`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// On stable storage (fsync'd / WAL synced) before `write` returns. Raft's `append` and
    /// `save_vote` use this: they promise openraft the data survives power loss.
    Sync,
    /// Handed to the engine; survives process exit once a later `Sync` write or
    /// [`KvStore::flush`] completes. Used for state the raft log can rebuild.
    Buffered,
}

/// One change in a [`WriteBatch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOp {
    Put {
        key: Vec<u8>,
        value: Vec<u8>,
    },
    Delete {
        key: Vec<u8>,
    },
    /// Deletes every key in the range.
    DeleteRange(KeyRange),
}

/// Changes applied all together or not at all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteBatch {
    ops: Vec<WriteOp>,
}

impl WriteBatch {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn put(&mut self, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) -> &mut Self {
        self.ops.push(WriteOp::Put { key: key.into(), value: value.into() });
        self
    }

    pub fn delete(&mut self, key: impl Into<Vec<u8>>) -> &mut Self {
        self.ops.push(WriteOp::Delete { key: key.into() });
        self
    }

    pub fn delete_range(&mut self, range: KeyRange) -> &mut Self {
        self.ops.push(WriteOp::DeleteRange(range));
        self
    }

    /// Adds an op as it is (used to merge batches).
    pub fn push(&mut self, op: WriteOp) -> &mut Self {
        self.ops.push(op);
        self
    }

    pub fn ops(&self) -> &[WriteOp] {
        &self.ops
    }

    pub fn into_ops(self) -> Vec<WriteOp> {
        self.ops
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

/// A half-open key range `[start, end)`; `end: None` means "to the last key".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRange {
    pub start: Vec<u8>,
    pub end: Option<Vec<u8>>,
}

impl KeyRange {
    pub fn new(start: impl Into<Vec<u8>>, end: impl Into<Vec<u8>>) -> Self {
        Self { start: start.into(), end: Some(end.into()) }
    }

    /// Every key that starts with `prefix`.
    pub fn prefix(prefix: &[u8]) -> Self {
        Self { start: prefix.to_vec(), end: prefix_successor(prefix) }
    }

    pub fn all() -> Self {
        Self { start: Vec::new(), end: None }
    }

    /// The range as bounds, for an engine's own range scan.
    pub fn bounds(&self) -> (Bound<&[u8]>, Bound<&[u8]>) {
        (Bound::Included(self.start.as_slice()), self.end.as_deref().map_or(Bound::Unbounded, Bound::Excluded))
    }

    pub fn contains(&self, key: &[u8]) -> bool {
        key >= self.start.as_slice() && self.end.as_ref().is_none_or(|end| key < end.as_slice())
    }
}

/// The smallest key greater than every key with this prefix; `None` if there is none
/// (the prefix is empty or all `0xff`).
fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// A key and its value.
pub type KvPair = (Vec<u8>, Vec<u8>);

/// An ordered key-value store.
///
/// ### To ensure correctness
/// - `write` applies a batch atomically: after a crash either every op is visible or none.
/// - A batch written with [`Durability::Sync`] is on stable storage when `write` returns, and
///   so is every batch written before it.
/// - `scan` and `last` read one consistent point in time, even while writers run.
/// - Keys compare as unsigned bytes; the empty key is a valid key.
pub trait KvStore: Send + Sync + 'static {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, KvError>;

    fn write(&self, batch: WriteBatch, durability: Durability) -> Result<(), KvError>;

    /// Every pair in `range`, in key order, from one point-in-time view.
    fn scan(&self, range: &KeyRange) -> Result<Vec<KvPair>, KvError>;

    /// The pair with the greatest key in `range`.
    fn last(&self, range: &KeyRange) -> Result<Option<KvPair>, KvError>;

    /// A consistent read-only view: later writes are not visible through it.
    fn snapshot(&self) -> Result<Box<dyn KvSnapshot + '_>, KvError>;

    /// Makes every write so far durable (used at shutdown and after buffered writes).
    fn flush(&self) -> Result<(), KvError>;

    /// Which engine this is, for logs and the health endpoint.
    fn engine(&self) -> &'static str;
}

/// What [`KvSnapshot::visit`] hands each pair to.
pub type Visitor<'a> = &'a mut dyn FnMut(&[u8], &[u8]) -> Result<(), KvError>;

/// A point-in-time view of a [`KvStore`].
pub trait KvSnapshot {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, KvError>;
    fn scan(&self, range: &KeyRange) -> Result<Vec<KvPair>, KvError>;

    /// Hands every pair in `range` to `visit`, in key order, stopping at its first error.
    /// Unlike [`scan`](Self::scan) it need not hold the range in memory: a snapshot of
    /// the whole state streams through it. Engines that can iterate a view override this.
    fn visit(&self, range: &KeyRange, visit: Visitor<'_>) -> Result<(), KvError> {
        for (key, value) in self.scan(range)? {
            visit(&key, &value)?;
        }
        Ok(())
    }
}

/// A storage failure. The engine's own error is boxed so no engine type leaks through.
#[derive(Debug, thiserror::Error)]
pub enum KvError {
    #[error("storage engine error: {0}")]
    Backend(#[source] Box<dyn StdError + Send + Sync>),
    #[error("storage is closed")]
    Closed,
}

impl KvError {
    pub fn backend(err: impl StdError + Send + Sync + 'static) -> Self {
        Self::Backend(Box::new(err))
    }
}

impl fmt::Display for Durability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Sync => "sync",
            Self::Buffered => "buffered",
        })
    }
}
