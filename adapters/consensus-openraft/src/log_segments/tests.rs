use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use openraft::{CommittedLeaderId, EntryPayload, LogId};

use super::{SegmentLog, FILE_HEADER};
use crate::log_entries::{LogEntries, LogError};
use crate::record::LogRecord;
use crate::types::Entry;

fn entry(term: u64, index: u64) -> Entry {
    let command = domain::Command::Namespace(domain::namespace::NamespaceCommand::Delete { id: format!("ns-{index}") });
    Entry {
        log_id: LogId::new(CommittedLeaderId::new(term, 0), index),
        payload: EntryPayload::Normal(LogRecord::from(&command)),
    }
}

fn entries(term: u64, indexes: std::ops::Range<u64>) -> Vec<Entry> {
    indexes.map(|index| entry(term, index)).collect()
}

/// `(term, index)` of every entry in `[start, end)`.
fn ids(log: &SegmentLog, start: u64, end: Option<u64>) -> Vec<(u64, u64)> {
    log.read(start, end).unwrap().iter().map(|entry| (entry.log_id.leader_id.term, entry.log_id.index)).collect()
}

fn span(term: u64, indexes: std::ops::Range<u64>) -> Vec<(u64, u64)> {
    indexes.map(|index| (term, index)).collect()
}

fn segment_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|dirent| dirent.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "log"))
        .collect();
    files.sort();
    files
}

/// Small segments, so that a few entries span several.
fn small(dir: &Path) -> SegmentLog {
    SegmentLog::open_with(dir, 600).unwrap()
}

#[test]
fn entries_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let log = small(dir.path());
    assert_eq!(log.last().unwrap(), None);
    log.append(&entries(1, 0..10)).unwrap();
    log.append(&entries(1, 10..25)).unwrap();
    assert!(segment_files(dir.path()).len() > 2, "small segments roll over");
    assert_eq!(ids(&log, 0, None), span(1, 0..25));
    assert_eq!(ids(&log, 7, Some(12)), span(1, 7..12));
    drop(log);

    let log = small(dir.path());
    assert_eq!(ids(&log, 0, None), span(1, 0..25));
    assert_eq!(log.last().unwrap().map(|id| id.index), Some(24));
    assert_eq!(log.read(3, Some(4)).unwrap()[0].payload, entry(1, 3).payload, "payloads come back whole");
}

#[test]
fn truncate_removes_entries_for_good() {
    let dir = tempfile::tempdir().unwrap();
    let log = small(dir.path());
    log.append(&entries(1, 0..30)).unwrap();
    log.truncate(12).unwrap();
    assert_eq!(ids(&log, 0, None), span(1, 0..12));
    assert_eq!(log.last().unwrap().map(|id| id.index), Some(11));
    log.append(&entries(2, 12..15)).unwrap();
    drop(log);

    let log = small(dir.path());
    let mut expected = span(1, 0..12);
    expected.extend(span(2, 12..15));
    assert_eq!(ids(&log, 0, None), expected, "truncated entries do not come back");
}

#[test]
fn an_append_over_stored_entries_replaces_them() {
    let dir = tempfile::tempdir().unwrap();
    let log = small(dir.path());
    log.append(&entries(1, 0..10)).unwrap();
    log.append(&entries(3, 6..8)).unwrap();
    let mut expected = span(1, 0..6);
    expected.extend(span(3, 6..8));
    assert_eq!(ids(&log, 0, None), expected);
    drop(log);
    assert_eq!(ids(&small(dir.path()), 0, None), expected);
}

#[test]
fn purge_drops_whole_segments_and_keeps_the_newest() {
    let dir = tempfile::tempdir().unwrap();
    let log = small(dir.path());
    log.append(&entries(1, 0..40)).unwrap();
    let before = segment_files(dir.path()).len();
    log.purge(25).unwrap();
    let after = segment_files(dir.path()).len();
    assert!(after < before, "segments at or below the purge go ({before} -> {after})");
    assert_eq!(ids(&log, 26, None), span(1, 26..40));

    log.purge(39).unwrap();
    assert_eq!(segment_files(dir.path()).len(), 1, "the newest segment stays to be appended to");
    log.append(&entries(1, 40..42)).unwrap();
    drop(log);
    assert_eq!(ids(&small(dir.path()), 40, None), span(1, 40..42));
}

#[test]
fn a_log_restarts_after_a_gap() {
    let dir = tempfile::tempdir().unwrap();
    let log = small(dir.path());
    log.append(&entries(1, 0..5)).unwrap();
    log.purge(4).unwrap();
    // A snapshot up to 99 was installed: the log carries on from 100.
    log.append(&entries(2, 100..103)).unwrap();
    assert_eq!(ids(&log, 100, None), span(2, 100..103));
    assert_eq!(log.last().unwrap().map(|id| id.index), Some(102));
    drop(log);
    let log = small(dir.path());
    assert_eq!(ids(&log, 100, None), span(2, 100..103));
    assert_eq!(ids(&log, 5, Some(100)), vec![]);
}

/// Every state a crash could leave the last append in, in a segment that grew as it was
/// appended to and in one made ahead full of zeros: cut short at every byte, or with its
/// first bytes (down to the whole header) not on disk. The entries before it stay, the torn
/// one goes, and the log takes appends again.
#[test]
fn a_torn_tail_is_cut_off_at_open() {
    let dir = tempfile::tempdir().unwrap();
    // One segment for every entry, and spares small enough to be made at each of the many
    // opens below.
    let open = || SegmentLog::open_with(dir.path(), 64 * 1024).unwrap();
    let log = open();
    log.append(&entries(1, 0..3)).unwrap();
    log.append(&entries(1, 3..4)).unwrap();
    let (last_start, end) = {
        let segments = log.read_segments();
        (segments[0].record(3).unwrap().0, segments[0].len())
    };
    drop(log);
    let file = segment_files(dir.path()).pop().unwrap();
    let whole = fs::read(&file).unwrap()[..end as usize].to_vec();
    let zeroed = |bytes: &[u8]| {
        let mut padded = bytes.to_vec();
        padded.resize(end as usize + 4096, 0);
        padded
    };

    let mut damaged: Vec<(String, Vec<u8>)> = Vec::new();
    for cut in last_start..end {
        damaged.push((format!("cut at byte {cut}"), whole[..cut as usize].to_vec()));
        damaged.push((format!("cut at byte {cut}, zeros after"), zeroed(&whole[..cut as usize])));
    }
    for missing in 1..=super::RECORD_HEADER as u64 {
        let mut bytes = whole.clone();
        bytes[last_start as usize..(last_start + missing) as usize].fill(0);
        damaged.push((format!("first {missing} bytes missing"), zeroed(&bytes)));
    }
    for (what, bytes) in damaged {
        fs::write(&file, &bytes).unwrap();
        let log = open();
        assert_eq!(ids(&log, 0, None), span(1, 0..3), "{what}");
        let left = fs::read(&file).unwrap();
        assert!(left[last_start as usize..].iter().all(|byte| *byte == 0), "{what}: the torn bytes are gone");
        log.append(&entries(2, 3..5)).unwrap();
        let mut expected = span(1, 0..3);
        expected.extend(span(2, 3..5));
        assert_eq!(ids(&log, 0, None), expected, "{what}");
        drop(log);
        assert_eq!(ids(&open(), 0, None), expected, "{what}, reopened");
    }
}

#[test]
fn zeros_after_the_last_record_end_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let log = SegmentLog::open(dir.path()).unwrap();
    log.append(&entries(1, 0..3)).unwrap();
    drop(log);
    let file = segment_files(dir.path()).pop().unwrap();
    let size = fs::metadata(&file).unwrap().len();
    OpenOptions::new().append(true).open(&file).unwrap().write_all(&[0u8; 4101]).unwrap();
    let log = SegmentLog::open(dir.path()).unwrap();
    assert_eq!(ids(&log, 0, None), span(1, 0..3));
    assert_eq!(fs::metadata(&file).unwrap().len(), size + 4101, "zeros are room to append, not damage");
}

/// Once a spare is ready, a new segment is made of it: full size from the start, so that
/// appends change no file metadata; older segments end in zeros and open as they were.
#[test]
fn segments_are_made_ahead_full_of_zeros() {
    let dir = tempfile::tempdir().unwrap();
    let log = small(dir.path());
    let wait_for_spare = || {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !super::spare::ready(dir.path()) {
            assert!(std::time::Instant::now() < deadline, "no spare segment was made");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    };
    wait_for_spare();
    log.append(&entries(1, 0..1)).unwrap();
    let preallocated = super::FILE_HEADER + 600 + 600 / 8;
    let first = segment_files(dir.path()).pop().unwrap();
    assert_eq!(fs::metadata(&first).unwrap().len(), preallocated);
    for index in 1..30 {
        wait_for_spare();
        log.append(&entries(1, index..index + 1)).unwrap();
    }
    let files = segment_files(dir.path());
    assert!(files.len() > 2);
    for file in &files {
        // At least: the entry that crosses a segment's end may take it further.
        assert!(fs::metadata(file).unwrap().len() >= preallocated, "{}", file.display());
    }
    drop(log);
    assert_eq!(ids(&small(dir.path()), 0, None), span(1, 0..30));
}

/// Writes 20 entries into small segments, flips byte `at` of the oldest one, and answers
/// what opening the log again says.
fn open_with_oldest_damaged_at(at: usize) -> String {
    let dir = tempfile::tempdir().unwrap();
    let log = small(dir.path());
    log.append(&entries(1, 0..20)).unwrap();
    drop(log);
    let oldest = segment_files(dir.path()).remove(0);
    let mut bytes = fs::read(&oldest).unwrap();
    bytes[at] ^= 0xff;
    fs::write(&oldest, &bytes).unwrap();
    match SegmentLog::open_with(dir.path(), 600) {
        Err(LogError::Damaged { path, what }) => {
            assert!(path.ends_with(".log"), "{path}");
            what
        }
        Err(other) => panic!("expected damage, got {other}"),
        Ok(_) => panic!("a damaged segment was opened"),
    }
}

#[test]
fn a_zeroed_record_before_the_newest_segment_refuses_to_open() {
    let dir = tempfile::tempdir().unwrap();
    let log = small(dir.path());
    log.append(&entries(1, 0..20)).unwrap();
    let second = {
        let segments = log.read_segments();
        segments[0].record(segments[0].first + 1).unwrap()
    };
    drop(log);
    let oldest = segment_files(dir.path()).remove(0);
    let mut bytes = fs::read(&oldest).unwrap();
    bytes[second.0 as usize..second.1 as usize].fill(0);
    fs::write(&oldest, &bytes).unwrap();
    match SegmentLog::open_with(dir.path(), 600) {
        Err(LogError::Damaged { what, .. }) => assert!(what.contains("records after them"), "{what}"),
        Err(other) => panic!("expected damage, got {other}"),
        Ok(_) => panic!("a segment with a zeroed record was opened"),
    }
}

#[test]
fn damage_before_the_newest_segment_refuses_to_open() {
    let what = open_with_oldest_damaged_at(FILE_HEADER as usize + 20);
    assert!(what.contains("checksum"), "{what}");
}

#[test]
fn a_file_that_is_not_a_segment_is_refused() {
    let what = open_with_oldest_damaged_at(0);
    assert!(what.contains("not a raft log segment"), "{what}");
}

#[test]
fn a_segment_created_but_never_written_opens_empty() {
    let dir = tempfile::tempdir().unwrap();
    let log = SegmentLog::open(dir.path()).unwrap();
    log.append(&entries(1, 0..2)).unwrap();
    drop(log);
    // A crash between creating the next segment and writing its header.
    fs::write(dir.path().join(format!("{:020}.log", 2)), b"").unwrap();
    let log = SegmentLog::open(dir.path()).unwrap();
    assert_eq!(ids(&log, 0, None), span(1, 0..2));
    log.append(&entries(1, 2..4)).unwrap();
    drop(log);
    assert_eq!(ids(&SegmentLog::open(dir.path()).unwrap(), 0, None), span(1, 0..4));
}

#[test]
fn other_files_in_the_directory_are_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("notes.txt"), b"hello").unwrap();
    fs::write(dir.path().join("12.log"), b"not twenty digits").unwrap();
    let log = SegmentLog::open(dir.path()).unwrap();
    log.append(&entries(1, 0..2)).unwrap();
    assert_eq!(ids(&log, 0, None), span(1, 0..2));
    assert!(dir.path().join("notes.txt").exists());
}
