//! The raft log as append-only segment files beside the KV store.
//!
//! Why not the store: an entry written into RocksDB is written to its write-ahead log, held
//! in a memtable, flushed to a table file, compacted, and deleted again by a tombstone once a
//! snapshot covers it; each publish's content went through the memtables three times (log
//! entry, config row, history row), and the memtables are most of the memory a busy node
//! uses. Appended to a file, an entry is written once and leaves with its segment.
//!
//! ### Layout
//! `dir/<index of the segment's first entry, 20 digits>.log`: a 20-byte header ([`MAGIC`],
//! then the format version as a little-endian u32), then one record per entry:
//!
//! | bytes | field                                             |
//! |-------|---------------------------------------------------|
//! | 8     | the entry's index, u64 little-endian              |
//! | 4     | payload length `n`, u32 little-endian             |
//! | 4     | CRC-32 of the index, the length and the payload   |
//! | n     | the entry as JSON                                 |
//!
//! Records in a segment have consecutive indexes. Segments do not overlap, but may leave a
//! gap between them (a log emptied by a purge restarts where the snapshot ends). A segment
//! is made ahead of need, full of zeros ([`spare`]), so its records are followed by zeros:
//! an all-zero record header is where the records end.
//!
//! ### Crash safety
//! - `append` returns after `sync_data`; an entry is acknowledged only after that.
//! - A new segment is in place under its name (renamed from a synced spare, or created),
//!   with its header synced and its directory synced, before any entry in it is written; the
//!   one before it was synced whole when it was closed.
//! - At open, a torn or unfinished record at the end of the newest segment (a crash during
//!   an append that was therefore never acknowledged) is cut off. A bad record anywhere else
//!   is damage: the log refuses to open rather than lose entries silently.
//! - `truncate` cuts the segment holding `from`, removes every later one, and syncs both the
//!   file and the directory: removed entries must not come back after a crash, since raft
//!   truncates exactly the entries that conflict with the leader's.
//! - `purge` removes whole segments whose entries are all at or below the purged index. The
//!   caller records the purge (and makes the state it covers durable) first.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use self::spare::Spares;
use crate::durable::sync_dir;
use crate::log_entries::{LogEntries, LogError};
use crate::log_store::encode;
use crate::types::{Entry, LogId};

/// Starts every segment file; 16 bytes.
const MAGIC: &[u8; 16] = b"nacosd-raft-log\n";
const VERSION: u32 = 1;
const FILE_HEADER: u64 = 20;
const RECORD_HEADER: usize = 16;
const EXTENSION: &str = "log";
/// A segment takes no more entries once it is this long: a purge frees disk a segment at a
/// time, and a segment is a few seconds of a busy node's publishes.
const SEGMENT_BYTES: u64 = 8 * 1024 * 1024;

/// The log's segments in `dir`.
pub(crate) struct SegmentLog {
    dir: PathBuf,
    /// Segments by first index. Written only by the log writer thread; its write lock is
    /// held to publish a change (new offsets, a cut, a removal), never across an fsync, so a
    /// reader waits for bookkeeping at most.
    segments: RwLock<Vec<Segment>>,
    /// The first index a read returns: entries below it are purged, even where their
    /// segment is still on disk.
    floor: AtomicU64,
    segment_bytes: u64,
    spares: Spares,
}

/// One segment file.
struct Segment {
    first: u64,
    path: PathBuf,
    file: Arc<File>,
    /// `ends[i]`: where the record of entry `first + i` ends. The first starts after the
    /// file header, every other one where the previous ends.
    ends: Vec<u64>,
}

impl Segment {
    /// The index after this segment's last entry.
    fn next_index(&self) -> u64 {
        self.first + self.ends.len() as u64
    }

    /// Bytes of whole records and header.
    fn len(&self) -> u64 {
        self.ends.last().copied().unwrap_or(FILE_HEADER)
    }

    /// The byte range of entry `index`'s record, if this segment holds it.
    fn record(&self, index: u64) -> Option<(u64, u64)> {
        let at = usize::try_from(index.checked_sub(self.first)?).ok()?;
        let end = *self.ends.get(at)?;
        let start = if at == 0 { FILE_HEADER } else { self.ends[at - 1] };
        Some((start, end))
    }
}

impl SegmentLog {
    /// Opens the log in `dir`, creating the directory if missing; a torn record at the very
    /// end is cut off, any other damage is an error.
    pub(crate) fn open(dir: &Path) -> Result<Self, LogError> {
        Self::open_with(dir, SEGMENT_BYTES)
    }

    fn open_with(dir: &Path, segment_bytes: u64) -> Result<Self, LogError> {
        fs::create_dir_all(dir)?;
        let mut firsts = Vec::new();
        for dirent in fs::read_dir(dir)? {
            let path = dirent?.path();
            if let Some(first) = first_index_of(&path) {
                firsts.push(first);
            }
        }
        firsts.sort_unstable();
        let mut segments: Vec<Segment> = Vec::with_capacity(firsts.len());
        for (i, first) in firsts.iter().enumerate() {
            let newest = i + 1 == firsts.len();
            let segment = load_segment(&segment_path(dir, *first), *first, newest)?;
            if let Some(before) = segments.last() {
                if before.next_index() > segment.first {
                    return Err(damaged(&segment.path, format!("overlaps the segment from index {}", before.first)));
                }
            }
            segments.push(segment);
        }
        // Room for a full segment and the batch that crosses its end.
        let spares = Spares::new(dir, FILE_HEADER + segment_bytes + segment_bytes / 8)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            segments: RwLock::new(segments),
            floor: AtomicU64::new(0),
            segment_bytes,
            spares,
        })
    }

    fn read_segments(&self) -> RwLockReadGuard<'_, Vec<Segment>> {
        // Changes are published whole under the lock: a poisoned one is still consistent.
        self.segments.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write_segments(&self) -> RwLockWriteGuard<'_, Vec<Segment>> {
        self.segments.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts a segment whose first entry will be `first`, synced with its directory before
    /// it is used.
    fn create_segment(&self, first: u64) -> Result<Segment, LogError> {
        let path = segment_path(&self.dir, first);
        let spare = self.spares.take(&path)?;
        let file = OpenOptions::new().read(true).write(true).create(true).truncate(!spare).open(&path)?;
        file.write_all_at(&file_header(), 0)?;
        if spare {
            file.sync_data()?;
        } else {
            // No spare was ready (segments filling faster than spares are written): this one
            // grows as it is appended to, and its syncs cost a journal commit each.
            file.sync_all()?;
            sync_dir(&self.dir)?;
        }
        Ok(Segment { first, path, file: Arc::new(file), ends: Vec::new() })
    }

    /// Removes segment files and syncs the directory, so that none comes back after a crash.
    fn remove_files(&self, paths: &[PathBuf]) -> Result<(), LogError> {
        for path in paths {
            match fs::remove_file(path) {
                Ok(()) => {}
                Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                Err(err) => return Err(err.into()),
            }
        }
        if !paths.is_empty() {
            sync_dir(&self.dir)?;
        }
        Ok(())
    }

    /// Makes the newest segment the one to append `index` to: it is if `index` follows its
    /// last entry and it has room; otherwise a new segment starts at `index` (a full newest
    /// one is synced whole first, an empty one is dropped).
    fn segment_for(&self, index: u64) -> Result<(), LogError> {
        let newest =
            self.read_segments().last().map(|newest| (newest.next_index(), newest.len(), Arc::clone(&newest.file)));
        if let Some((next, len, file)) = newest {
            if next == index && len < self.segment_bytes {
                return Ok(());
            }
            if next == index {
                file.sync_all()?;
            }
        }
        let segment = self.create_segment(index)?;
        let dropped = {
            let mut segments = self.write_segments();
            let empty = segments.last().is_some_and(|newest| newest.ends.is_empty());
            let dropped = if empty { segments.pop().map(|newest| newest.path) } else { None };
            segments.push(segment);
            dropped
        };
        self.remove_files(dropped.as_slice())
    }

    fn read_record(segment: &Segment, index: u64) -> Result<Option<Entry>, LogError> {
        let Some((start, end)) = segment.record(index) else { return Ok(None) };
        let mut record = vec![0; usize::try_from(end - start).map_err(|_| damaged(&segment.path, "record too long"))?];
        segment.file.read_exact_at(&mut record, start)?;
        let payload = record.get(RECORD_HEADER..).ok_or_else(|| damaged(&segment.path, "short record"))?;
        Ok(Some(serde_json::from_slice(payload)?))
    }
}

impl LogEntries for SegmentLog {
    fn append(&self, entries: &[Entry]) -> Result<(), LogError> {
        let mut pending = entries;
        while let Some(head) = pending.first() {
            let index = head.log_id.index;
            if self.read_segments().last().is_some_and(|newest| index < newest.next_index()) {
                self.truncate(index)?;
            }
            self.segment_for(index)?;
            let (file, start, room) = {
                let segments = self.read_segments();
                let newest = segments.last().ok_or_else(|| damaged(&self.dir, "no segment to append to"))?;
                (Arc::clone(&newest.file), newest.len(), self.segment_bytes.saturating_sub(newest.len()))
            };
            // Consecutive entries, as many as fit (at least one); the rest go to the next
            // segment, or start one of their own after a gap.
            let mut buffer = Vec::new();
            let mut ends = Vec::new();
            for (taken, entry) in pending.iter().enumerate() {
                let consecutive = index.checked_add(taken as u64) == Some(entry.log_id.index);
                if taken > 0 && (buffer.len() as u64 >= room || !consecutive) {
                    break;
                }
                write_record(&mut buffer, entry)?;
                ends.push(start + buffer.len() as u64);
            }
            file.write_all_at(&buffer, start)?;
            file.sync_data()?;
            let taken = ends.len();
            if let Some(newest) = self.write_segments().last_mut() {
                newest.ends.extend(ends);
            }
            pending = &pending[taken..];
        }
        Ok(())
    }

    fn read(&self, start: u64, end: Option<u64>) -> Result<Vec<Entry>, LogError> {
        let start = start.max(self.floor.load(Ordering::Acquire));
        let segments = self.read_segments();
        let mut entries = Vec::new();
        // The first segment that may hold `start`: the last one starting at or before it.
        let from = segments.partition_point(|segment| segment.first <= start).saturating_sub(1);
        for segment in &segments[from..] {
            if end.is_some_and(|end| segment.first >= end) {
                break;
            }
            let last = end.unwrap_or(u64::MAX).min(segment.next_index());
            for index in start.max(segment.first)..last {
                if let Some(entry) = Self::read_record(segment, index)? {
                    entries.push(entry);
                }
            }
        }
        Ok(entries)
    }

    fn last(&self) -> Result<Option<LogId>, LogError> {
        let segments = self.read_segments();
        // The newest segment holding anything (an emptied one may follow it).
        let Some(segment) = segments.iter().rev().find(|segment| !segment.ends.is_empty()) else { return Ok(None) };
        Ok(Self::read_record(segment, segment.next_index() - 1)?.map(|entry| entry.log_id))
    }

    fn truncate(&self, from: u64) -> Result<(), LogError> {
        // Readers stop seeing the entries first; the files change after, outside the lock.
        let (removed, cut) = {
            let mut segments = self.write_segments();
            let keep = segments.partition_point(|segment| segment.first < from);
            let removed: Vec<PathBuf> = segments.drain(keep..).map(|segment| segment.path).collect();
            let cut = match segments.last_mut() {
                Some(segment) if segment.next_index() > from => {
                    segment.ends.truncate(usize::try_from(from - segment.first).unwrap_or(usize::MAX));
                    Some((Arc::clone(&segment.file), segment.len()))
                }
                _ => None,
            };
            (removed, cut)
        };
        if let Some((file, len)) = cut {
            file.set_len(len)?;
            file.sync_all()?;
        }
        self.remove_files(&removed)
    }

    fn purge(&self, upto: u64) -> Result<(), LogError> {
        self.floor.fetch_max(upto.saturating_add(1), Ordering::AcqRel);
        let removed: Vec<PathBuf> = {
            let mut segments = self.write_segments();
            // Whole segments at or below `upto`; the newest stays, to be appended to.
            let whole = segments.iter().take_while(|segment| segment.next_index() <= upto.saturating_add(1)).count();
            let whole = whole.min(segments.len().saturating_sub(1));
            segments.drain(..whole).map(|segment| segment.path).collect()
        };
        self.remove_files(&removed)
    }
}

/// Reads one segment file's records. A torn tail is cut off if this is the `newest`
/// segment, and is damage otherwise.
fn load_segment(path: &Path, first: u64, newest: bool) -> Result<Segment, LogError> {
    let file = OpenOptions::new().read(true).write(true).open(path)?;
    let size = file.metadata()?.len();
    let mut reader = BufReader::with_capacity(64 * 1024, &file);
    let mut header = [0u8; FILE_HEADER as usize];
    let whole_header = size >= FILE_HEADER && reader.read_exact(&mut header).is_ok();
    if !whole_header {
        if !newest {
            return Err(damaged(path, "shorter than its header"));
        }
        // Created but never written to: write its header again.
        file.set_len(0)?;
        file.write_all_at(&file_header(), 0)?;
        file.sync_all()?;
        return Ok(Segment { first, path: path.to_path_buf(), file: Arc::new(file), ends: Vec::new() });
    }
    if &header[..16] != MAGIC {
        return Err(damaged(path, "not a raft log segment"));
    }
    let version = u32::from_le_bytes([header[16], header[17], header[18], header[19]]);
    if version != VERSION {
        return Err(damaged(path, format!("format version {version}, this nacosd reads {VERSION}")));
    }
    let mut ends = Vec::new();
    let mut at = FILE_HEADER;
    let mut record = [0u8; RECORD_HEADER];
    let mut payload = Vec::new();
    let torn = loop {
        if at == size {
            break None;
        }
        let header = &mut record[..usize::try_from(size - at).map_or(RECORD_HEADER, |left| left.min(RECORD_HEADER))];
        reader.read_exact(header)?;
        if header.iter().all(|byte| *byte == 0) {
            // The zeros a segment is made of: the records end here.
            break None;
        }
        if header.len() < RECORD_HEADER {
            break Some("a record header cut short");
        }
        let index = u64::from_le_bytes(record[0..8].try_into().unwrap_or_default());
        let length = u32::from_le_bytes(record[8..12].try_into().unwrap_or_default());
        let crc = u32::from_le_bytes(record[12..16].try_into().unwrap_or_default());
        let end = at + RECORD_HEADER as u64 + u64::from(length);
        if end > size {
            break Some("a record cut short");
        }
        payload.resize(length as usize, 0);
        reader.read_exact(&mut payload)?;
        if checksum(&record[0..8], length, &payload) != crc {
            break Some("a record whose checksum does not match");
        }
        let expected = first + ends.len() as u64;
        if index != expected {
            return Err(damaged(path, format!("entry {index} where {expected} belongs")));
        }
        ends.push(end);
        at = end;
    };
    if let Some(what) = torn {
        if !newest {
            return Err(damaged(path, format!("{what} at byte {at}")));
        }
        // The append it belongs to never returned: nobody was told it is stored.
        tracing::warn!(path = %path.display(), at, cut = size - at, "cutting off {what} at the end of the raft log");
        file.set_len(at)?;
        file.sync_all()?;
    } else if !zeros_from(&mut reader, at, size)? {
        if !newest {
            // A zeroed block among records that were synced whole: the ones after it
            // would be lost without a word.
            return Err(damaged(path, format!("zeros at byte {at} with records after them")));
        }
        // Zeros where the records end, but not after them: an unfinished append whose
        // first bytes did not reach the disk. Gone too, or it would be read as damage once
        // this segment is no longer the newest.
        tracing::warn!(path = %path.display(), at, cut = size - at, "cutting off an unfinished append at the end of the raft log");
        file.set_len(at)?;
        file.sync_all()?;
    }
    Ok(Segment { first, path: path.to_path_buf(), file: Arc::new(file), ends })
}

/// Whether every byte the reader has left (it is at `at` of `size`) is zero. The zero header
/// that ended the records was read already; the rest of the file follows it.
fn zeros_from(reader: &mut impl Read, at: u64, size: u64) -> io::Result<bool> {
    let mut left = size.saturating_sub(at).saturating_sub(RECORD_HEADER as u64);
    let mut chunk = vec![0u8; 64 * 1024];
    while left > 0 {
        let take = usize::try_from(left).map_or(chunk.len(), |left| left.min(chunk.len()));
        reader.read_exact(&mut chunk[..take])?;
        if chunk[..take].iter().any(|byte| *byte != 0) {
            return Ok(false);
        }
        left -= take as u64;
    }
    Ok(true)
}

fn file_header() -> Vec<u8> {
    let mut header = Vec::with_capacity(FILE_HEADER as usize);
    header.extend_from_slice(MAGIC);
    header.extend_from_slice(&VERSION.to_le_bytes());
    header
}

/// Appends `entry`'s record to `buffer`.
fn write_record(buffer: &mut Vec<u8>, entry: &Entry) -> Result<(), LogError> {
    let payload = encode(entry)?;
    let length =
        u32::try_from(payload.len()).map_err(|_| LogError::Io(io::Error::other("a raft log entry over 4 GiB")))?;
    let index = entry.log_id.index.to_le_bytes();
    buffer.extend_from_slice(&index);
    buffer.extend_from_slice(&length.to_le_bytes());
    buffer.extend_from_slice(&checksum(&index, length, &payload).to_le_bytes());
    buffer.extend_from_slice(&payload);
    Ok(())
}

fn checksum(index: &[u8], length: u32, payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(index);
    hasher.update(&length.to_le_bytes());
    hasher.update(payload);
    hasher.finalize()
}

fn segment_path(dir: &Path, first: u64) -> PathBuf {
    dir.join(format!("{first:020}.{EXTENSION}"))
}

/// The first index a segment file's name gives, if it is a segment file.
fn first_index_of(path: &Path) -> Option<u64> {
    if path.extension()? != EXTENSION {
        return None;
    }
    let stem = path.file_stem()?.to_str()?;
    if stem.len() != 20 || !stem.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    stem.parse().ok()
}

fn damaged(path: &Path, what: impl Into<String>) -> LogError {
    LogError::Damaged { path: path.display().to_string(), what: what.into() }
}

mod spare;
#[cfg(test)]
mod tests;
