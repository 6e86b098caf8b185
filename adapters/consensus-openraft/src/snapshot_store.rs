//! Where the current snapshot is kept: as a file beside the KV store (disk engines), or in
//! the store itself (the in-memory engine, which has no directory).
//!
//! A snapshot is the whole state, history included: tens of megabytes and more. Written
//! through the store it is one synced write that every raft log append queues behind (an
//! 86 MB one took 0.9 s, and publishes with it). As a file, written and synced on the
//! snapshot's own thread, only its meta and file name go through the store.
//!
//! ### Crash safety
//! The file is written under a temporary name, synced, renamed and its directory synced
//! before the store's meta names it; older files are removed only after that. A crash in
//! between leaves an unnamed file, removed with the next snapshot.

use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use ports::kv::{Durability, KvStore, WriteBatch};
use serde::Deserialize;

use crate::durable::sync_dir;
use crate::keys;
use crate::log_store::{encode, read_json};
use crate::snapshot_data::SnapshotData;
use crate::types::{SnapshotMeta, StorageError};

const EXTENSION: &str = "snap";
/// What a snapshot costs in memory while it is written, whatever the state holds.
const WRITE_BUFFER: usize = 256 * 1024;

/// Where snapshots go.
pub(crate) enum SnapshotStore {
    /// In the KV store, meta and data under their own keys.
    InStore,
    /// Files in a directory; the KV store holds the meta and the current file's name.
    Files {
        dir: PathBuf,
        /// Held from writing a file to removing the old ones, and from reading the current
        /// file's name to opening it: a snapshot being built, one being installed and one
        /// being served must not remove each other's file.
        writing: Mutex<()>,
    },
}

/// A stored snapshot's bytes: in memory (in the store), or an open file.
pub(crate) enum Stored {
    Bytes(Vec<u8>),
    File(fs::File),
}

impl Stored {
    /// The bytes for openraft.
    pub(crate) fn into_data(self) -> SnapshotData {
        match self {
            Self::Bytes(bytes) => SnapshotData::buffer(bytes),
            Self::File(file) => SnapshotData::File(tokio::fs::File::from_std(file)),
        }
    }
}

/// A snapshot as stores written before the meta/data split keep it; `data` is the JSON of
/// the state file.
#[derive(Debug, Deserialize)]
struct LegacySnapshot {
    meta: SnapshotMeta,
    data: String,
}

impl SnapshotStore {
    /// Snapshot files in `dir` (created if missing).
    pub(crate) fn files(dir: &Path) -> std::io::Result<Self> {
        fs::create_dir_all(dir)?;
        Ok(Self::Files { dir: dir.to_path_buf(), writing: Mutex::new(()) })
    }

    /// Where a snapshot sent by the leader is written as it arrives: a file in the snapshot
    /// directory, so a large one is never held in memory (its name is removed at once: the
    /// open file is all that is needed, and nothing is left behind by a crash); a buffer
    /// for the in-memory engine.
    pub(crate) fn receiving(&self) -> std::io::Result<SnapshotData> {
        match self {
            Self::InStore => Ok(SnapshotData::buffer(Vec::new())),
            Self::Files { dir, .. } => {
                let path = dir.join(format!("receiving.{EXTENSION}.tmp"));
                let file = fs::OpenOptions::new().read(true).write(true).create(true).truncate(true).open(&path)?;
                // Best effort: where an open file cannot be unlinked, the next snapshot
                // removes it (`remove_all_but`).
                let _ = fs::remove_file(&path);
                Ok(SnapshotData::File(tokio::fs::File::from_std(file)))
            }
        }
    }

    /// Makes what `write` writes the current snapshot, writing `batch` (whatever else must
    /// change with it) in the same synced store write. Answers the snapshot as stored.
    pub(crate) fn save(
        &self,
        kv: &dyn KvStore,
        mut batch: WriteBatch,
        meta: &SnapshotMeta,
        write: &mut dyn FnMut(&mut dyn Write) -> std::io::Result<()>,
    ) -> Result<Stored, StorageError> {
        batch.put(keys::SNAPSHOT_META, encode(meta).map_err(write_snapshot)?);
        batch.delete(keys::LEGACY_SNAPSHOT);
        match self {
            Self::InStore => {
                let mut data = Vec::new();
                write(&mut data).map_err(write_snapshot)?;
                batch.put(keys::SNAPSHOT_DATA, data.clone());
                batch.delete(keys::SNAPSHOT_FILE);
                kv.write(batch, Durability::Sync).map_err(write_snapshot)?;
                Ok(Stored::Bytes(data))
            }
            Self::Files { dir, writing } => {
                let _writing = writing.lock().unwrap_or_else(PoisonError::into_inner);
                let name = file_name(meta);
                write_durably(dir, &name, write).map_err(write_snapshot)?;
                batch.put(keys::SNAPSHOT_FILE, name.as_bytes().to_vec());
                batch.delete(keys::SNAPSHOT_DATA);
                kv.write(batch, Durability::Sync).map_err(write_snapshot)?;
                remove_all_but(dir, &name);
                fs::File::open(dir.join(&name)).map(Stored::File).map_err(write_snapshot)
            }
        }
    }

    /// The current snapshot's meta and bytes, wherever and in whichever form it was kept.
    pub(crate) fn load(&self, kv: &dyn KvStore) -> Result<Option<(SnapshotMeta, Stored)>, StorageError> {
        let _writing = match self {
            Self::Files { writing, .. } => Some(writing.lock().unwrap_or_else(PoisonError::into_inner)),
            Self::InStore => None,
        };
        let meta: Option<SnapshotMeta> = read_json(kv, keys::SNAPSHOT_META).map_err(read_snapshot)?;
        if let Some(meta) = meta {
            let stored = match kv.get(keys::SNAPSHOT_FILE).map_err(read_snapshot)? {
                Some(name) => {
                    let Self::Files { dir, .. } = self else {
                        return Err(read_snapshot(std::io::Error::other("a snapshot file but no snapshot directory")));
                    };
                    let name = String::from_utf8_lossy(&name).into_owned();
                    Stored::File(fs::File::open(dir.join(name)).map_err(read_snapshot)?)
                }
                None => Stored::Bytes(kv.get(keys::SNAPSHOT_DATA).map_err(read_snapshot)?.unwrap_or_default()),
            };
            return Ok(Some((meta, stored)));
        }
        let legacy: Option<LegacySnapshot> = read_json(kv, keys::LEGACY_SNAPSHOT).map_err(read_snapshot)?;
        Ok(legacy.map(|stored| (stored.meta, Stored::Bytes(stored.data.into_bytes()))))
    }
}

/// Snapshot ids are `term-index-seq`, digits and dashes: safe as file names.
fn file_name(meta: &SnapshotMeta) -> String {
    let id: String = meta.snapshot_id.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
    format!("{id}.{EXTENSION}")
}

fn write_durably(
    dir: &Path,
    name: &str,
    write: &mut dyn FnMut(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let temporary = dir.join(format!("{name}.tmp"));
    let mut file = BufWriter::with_capacity(WRITE_BUFFER, PacedSync::new(fs::File::create(&temporary)?));
    write(&mut file)?;
    let file = file.into_inner().map_err(std::io::IntoInnerError::into_error)?.file;
    file.sync_all()?;
    drop(file);
    fs::rename(&temporary, dir.join(name))?;
    sync_dir(dir)
}

/// A file synced every [`SYNC_EVERY`] bytes as it is written.
///
/// A snapshot is tens of megabytes. Left to one fsync at the end, its pages sit dirty until
/// then, and on ext4 (ordered data) the journal commit of a raft append's fsync meanwhile
/// has to write them out first: the append, and every publish behind it, waits hundreds of
/// milliseconds. Synced as it goes, at most a few megabytes are ever pending.
struct PacedSync {
    file: fs::File,
    unsynced: usize,
}

const SYNC_EVERY: usize = 4 << 20;

impl PacedSync {
    fn new(file: fs::File) -> Self {
        Self { file, unsynced: 0 }
    }
}

impl Write for PacedSync {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let written = self.file.write(buf)?;
        self.unsynced += written;
        if self.unsynced >= SYNC_EVERY {
            self.file.sync_data()?;
            self.unsynced = 0;
        }
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// Removes every snapshot file (and leftover temporary) but `keep`. Best effort: a file
/// that cannot be removed now is removed with a later snapshot.
fn remove_all_but(dir: &Path, keep: &str) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let ours = name.ends_with(&format!(".{EXTENSION}")) || name.ends_with(&format!(".{EXTENSION}.tmp"));
        if ours && name != keep {
            if let Err(err) = fs::remove_file(entry.path()) {
                tracing::warn!(file = %name, cause = %err, "could not remove an old snapshot file");
            }
        }
    }
}

fn write_snapshot(err: impl std::error::Error + 'static) -> StorageError {
    StorageError::IO { source: openraft::StorageIOError::write_snapshot(None, &err) }
}

fn read_snapshot(err: impl std::error::Error + 'static) -> StorageError {
    StorageError::IO { source: openraft::StorageIOError::read_snapshot(None, &err) }
}
