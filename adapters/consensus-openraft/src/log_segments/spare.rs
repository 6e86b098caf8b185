//! Segment files made ahead of need: written full of zeros and synced, on a thread of their
//! own, so that a new segment is a rename away.
//!
//! Why: `fdatasync` of a file that grew must commit the file system's journal (its size and
//! block map changed), and on ext4 (ordered data) that commit first writes out every other
//! file's newly allocated dirty data: RocksDB's flushes, a snapshot being written. Appends
//! then waited 100-500 ms now and then. Overwriting blocks that are already allocated and
//! within the file's size changes no metadata, and the sync writes only the log's own pages
//! (measured beside a 4 MiB-a-time writer: worst sync 17-24 ms against 75-140 ms growing).

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::durable::sync_dir;

/// A spare being written.
const PARTIAL: &str = "spare-segment.partial";
/// A spare ready to be taken: full size, zeroed, synced.
const READY: &str = "spare-segment";
const ZEROS: usize = 1024 * 1024;

/// The spare segment of one log directory.
pub(super) struct Spares {
    dir: PathBuf,
    /// Bytes each spare holds.
    size: u64,
    /// A spare is being written: at most one at a time.
    preparing: Arc<AtomicBool>,
}

impl Spares {
    /// Spares of `size` bytes in `dir`; what an earlier run left is discarded (it may be
    /// unfinished) and a fresh one is started.
    pub(super) fn new(dir: &Path, size: u64) -> io::Result<Self> {
        for name in [PARTIAL, READY] {
            match fs::remove_file(dir.join(name)) {
                Err(err) if err.kind() != io::ErrorKind::NotFound => return Err(err),
                _ => {}
            }
        }
        let spares = Self { dir: dir.to_path_buf(), size, preparing: Arc::new(AtomicBool::new(false)) };
        spares.prepare();
        Ok(spares)
    }

    /// Moves the ready spare to `path` (durably) and starts the next; `false` if none is
    /// ready yet, and the caller makes the segment itself.
    pub(super) fn take(&self, path: &Path) -> io::Result<bool> {
        match fs::rename(self.dir.join(READY), path) {
            Ok(()) => {
                sync_dir(&self.dir)?;
                self.prepare();
                Ok(true)
            }
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(err) => Err(err),
        }
    }

    /// Starts writing a spare unless one is being written.
    fn prepare(&self) {
        if self.preparing.swap(true, Ordering::AcqRel) {
            return;
        }
        let (dir, size, preparing) = (self.dir.clone(), self.size, Arc::clone(&self.preparing));
        let spawned = std::thread::Builder::new().name("raft-log-spare".to_owned()).spawn(move || loop {
            if !dir.join(READY).exists() {
                if let Err(err) = make(&dir, size) {
                    // Segments are then made when needed, without their space written ahead.
                    tracing::warn!(dir = %dir.display(), cause = %err, "could not prepare a spare raft log segment");
                    preparing.store(false, Ordering::Release);
                    return;
                }
            }
            preparing.store(false, Ordering::Release);
            // A take while this one was finishing found `preparing` set and left the next
            // spare to this thread, unless another thread has started since.
            if dir.join(READY).exists() || preparing.swap(true, Ordering::AcqRel) {
                return;
            }
        });
        if spawned.is_err() {
            self.preparing.store(false, Ordering::Release);
        }
    }
}

/// Writes a spare under its partial name, syncs it, and renames it ready.
///
/// Each megabyte is synced as it is written. A spare is made every 8 MiB of log, every
/// second or two under sustained publishing; written whole and synced once, its ~9 MiB
/// reached the disk as one burst, and an append's `fdatasync` (whose cache flush waits for
/// whatever the device is writing) waited behind it.
fn make(dir: &Path, size: u64) -> io::Result<()> {
    let partial = dir.join(PARTIAL);
    let mut file = OpenOptions::new().write(true).create(true).truncate(true).open(&partial)?;
    let zeros = vec![0u8; ZEROS];
    let mut left = size;
    while left > 0 {
        let chunk = usize::try_from(left).map_or(ZEROS, |left| left.min(ZEROS));
        file.write_all(&zeros[..chunk])?;
        file.sync_data()?;
        left -= chunk as u64;
    }
    file.sync_all()?;
    fs::rename(&partial, dir.join(READY))?;
    sync_dir(dir)
}

/// Whether a spare is ready (tests wait for one).
#[cfg(test)]
pub(super) fn ready(dir: &Path) -> bool {
    dir.join(READY).exists()
}
