//! The KV conformance suite: one set of checks that every [`KvStore`] must pass.
//!
//! Store crates run it with [`kv_conformance_suite!`](crate::kv_conformance_suite), which
//! expands to one `#[test]` per check so failures are named.

use std::path::Path;
use std::sync::Arc;
use std::thread;

use crate::kv::{Durability, KeyRange, KvError, KvStore, WriteBatch};

/// Opens the store under test; every call opens the same data (after the previous handle
/// is dropped), which is how "reopen" is tested.
pub type Open<'a> = &'a dyn Fn() -> Box<dyn KvStore>;

fn put(store: &dyn KvStore, key: &[u8], value: &[u8]) {
    let mut batch = WriteBatch::new();
    batch.put(key, value);
    store.write(batch, Durability::Sync).unwrap();
}

fn keys(pairs: &[(Vec<u8>, Vec<u8>)]) -> Vec<Vec<u8>> {
    pairs.iter().map(|(key, _)| key.clone()).collect()
}

pub fn get_put_delete(open: Open<'_>) {
    let store = open();
    assert_eq!(store.get(b"missing").unwrap(), None);
    put(&*store, b"k", b"v1");
    assert_eq!(store.get(b"k").unwrap().as_deref(), Some(&b"v1"[..]));
    put(&*store, b"k", b"v2");
    assert_eq!(store.get(b"k").unwrap().as_deref(), Some(&b"v2"[..]));
    let mut batch = WriteBatch::new();
    batch.delete(b"k".as_slice());
    store.write(batch, Durability::Buffered).unwrap();
    assert_eq!(store.get(b"k").unwrap(), None);
}

pub fn scans_are_ordered_by_unsigned_bytes(open: Open<'_>) {
    let store = open();
    for key in [&b"b"[..], b"a", b"\xff", b"a\x00", b"\x00", b"ab", b"\x80"] {
        put(&*store, key, key);
    }
    let all = store.scan(&KeyRange::all()).unwrap();
    let expected: Vec<Vec<u8>> =
        [&b"\x00"[..], b"a", b"a\x00", b"ab", b"b", b"\x80", b"\xff"].iter().map(|k| k.to_vec()).collect();
    assert_eq!(keys(&all), expected);
    assert_eq!(
        keys(&store.scan(&KeyRange::prefix(b"a")).unwrap()),
        vec![b"a".to_vec(), b"a\x00".to_vec(), b"ab".to_vec()]
    );
    assert_eq!(
        keys(&store.scan(&KeyRange::new(b"a\x00".to_vec(), b"b".to_vec())).unwrap()),
        vec![b"a\x00".to_vec(), b"ab".to_vec()]
    );
    assert_eq!(store.last(&KeyRange::prefix(b"a")).unwrap().map(|(k, _)| k), Some(b"ab".to_vec()));
    assert_eq!(store.last(&KeyRange::all()).unwrap().map(|(k, _)| k), Some(b"\xff".to_vec()));
    assert_eq!(store.last(&KeyRange::prefix(b"zz")).unwrap(), None);
    assert_eq!(keys(&store.scan(&KeyRange::prefix(b"\xff")).unwrap()), vec![b"\xff".to_vec()]);
}

pub fn big_endian_numbers_sort_numerically(open: Open<'_>) {
    let store = open();
    for index in [300u64, 2, 70_000, 1, u64::MAX] {
        let mut key = b"log/".to_vec();
        key.extend_from_slice(&index.to_be_bytes());
        put(&*store, &key, &index.to_be_bytes());
    }
    let values: Vec<u64> = store
        .scan(&KeyRange::prefix(b"log/"))
        .unwrap()
        .into_iter()
        .map(|(_, v)| u64::from_be_bytes(v.try_into().unwrap()))
        .collect();
    assert_eq!(values, vec![1, 2, 300, 70_000, u64::MAX]);
}

pub fn empty_and_odd_keys(open: Open<'_>) {
    let store = open();
    put(&*store, b"", b"empty key");
    put(&*store, b"\x00\x00", b"");
    put(&*store, "ключ/配置".as_bytes(), b"\x00\xff binary");
    assert_eq!(store.get(b"").unwrap().as_deref(), Some(&b"empty key"[..]));
    assert_eq!(store.get(b"\x00\x00").unwrap().as_deref(), Some(&b""[..]), "an empty value is not a missing one");
    assert_eq!(store.get("ключ/配置".as_bytes()).unwrap().as_deref(), Some(&b"\x00\xff binary"[..]));
    assert_eq!(store.scan(&KeyRange::all()).unwrap()[0].0, b"".to_vec());
}

pub fn batches_apply_every_op_in_order(open: Open<'_>) {
    let store = open();
    for i in 0..10u8 {
        put(&*store, &[b'r', i], b"old");
    }
    let mut batch = WriteBatch::new();
    batch
        .put(b"x".as_slice(), b"1".as_slice())
        .delete(b"x".as_slice())
        .put(b"y".as_slice(), b"2".as_slice())
        .delete_range(KeyRange::new(vec![b'r', 2], vec![b'r', 8]))
        .put(vec![b'r', 5], b"new".as_slice());
    store.write(batch, Durability::Sync).unwrap();
    assert_eq!(store.get(b"x").unwrap(), None, "a later delete wins over an earlier put");
    assert_eq!(store.get(b"y").unwrap().as_deref(), Some(&b"2"[..]));
    let left: Vec<u8> = store.scan(&KeyRange::prefix(b"r")).unwrap().iter().map(|(k, _)| k[1]).collect();
    assert_eq!(left, vec![0, 1, 5, 8, 9], "a put after a range delete survives it");
    assert_eq!(store.get(&[b'r', 5]).unwrap().as_deref(), Some(&b"new"[..]));
    store.write(WriteBatch::new(), Durability::Sync).unwrap();
}

pub fn reopen_keeps_data(open: Open<'_>) {
    {
        let store = open();
        put(&*store, b"synced", b"1");
        let mut batch = WriteBatch::new();
        batch.put(b"buffered".as_slice(), b"2".as_slice());
        store.write(batch, Durability::Buffered).unwrap();
        store.flush().unwrap();
    }
    let store = open();
    assert_eq!(store.get(b"synced").unwrap().as_deref(), Some(&b"1"[..]));
    assert_eq!(store.get(b"buffered").unwrap().as_deref(), Some(&b"2"[..]));
}

pub fn ten_megabyte_values(open: Open<'_>) {
    let value: Vec<u8> = (0..10 * 1024 * 1024).map(|i: u32| (i % 251) as u8).collect();
    {
        let store = open();
        put(&*store, b"big", &value);
        assert_eq!(store.get(b"big").unwrap().as_deref(), Some(value.as_slice()));
    }
    assert_eq!(open().get(b"big").unwrap().as_deref(), Some(value.as_slice()));
}

pub fn snapshots_do_not_see_later_writes(open: Open<'_>) {
    let store = open();
    put(&*store, b"s/1", b"a");
    put(&*store, b"s/2", b"b");
    let snapshot = store.snapshot().unwrap();
    put(&*store, b"s/1", b"changed");
    put(&*store, b"s/3", b"new");
    let mut batch = WriteBatch::new();
    batch.delete(b"s/2".as_slice());
    store.write(batch, Durability::Sync).unwrap();

    assert_eq!(snapshot.get(b"s/1").unwrap().as_deref(), Some(&b"a"[..]));
    assert_eq!(snapshot.get(b"s/2").unwrap().as_deref(), Some(&b"b"[..]));
    assert_eq!(snapshot.get(b"s/3").unwrap(), None);
    assert_eq!(keys(&snapshot.scan(&KeyRange::prefix(b"s/")).unwrap()), vec![b"s/1".to_vec(), b"s/2".to_vec()]);

    let mut visited = Vec::new();
    snapshot
        .visit(&KeyRange::prefix(b"s/"), &mut |key, value| {
            visited.push((key.to_vec(), value.to_vec()));
            Ok(())
        })
        .unwrap();
    assert_eq!(visited, vec![(b"s/1".to_vec(), b"a".to_vec()), (b"s/2".to_vec(), b"b".to_vec())]);
}

/// `visit` hands over the pairs of its range in key order and stops at the visitor's first
/// error, answering it.
pub fn visits_stop_at_the_first_error(open: Open<'_>) {
    let store = open();
    for key in [b"v/1", b"v/2", b"v/3", b"w/1"] {
        put(&*store, key, b"x");
    }
    let snapshot = store.snapshot().unwrap();
    let mut seen = Vec::new();
    let result = snapshot.visit(&KeyRange::prefix(b"v/"), &mut |key, _| {
        seen.push(key.to_vec());
        if key == b"v/2" {
            return Err(KvError::Closed);
        }
        Ok(())
    });
    assert!(matches!(result, Err(KvError::Closed)), "{result:?}");
    assert_eq!(seen, vec![b"v/1".to_vec(), b"v/2".to_vec()]);
}

/// Writers commit pairs of keys in one batch while readers scan: a scan must never see half
/// a batch, and no write may be lost.
pub fn concurrent_writers_and_consistent_scans(open: Open<'_>) {
    let store: Arc<dyn KvStore> = Arc::from(open());
    let writers: Vec<_> = (0..4u8)
        .map(|writer| {
            let store = Arc::clone(&store);
            thread::spawn(move || {
                for i in 0..200u16 {
                    let mut batch = WriteBatch::new();
                    let mut suffix = vec![writer];
                    suffix.extend_from_slice(&i.to_be_bytes());
                    batch.put([b"a/".as_slice(), &suffix].concat(), b"1".as_slice());
                    batch.put([b"b/".as_slice(), &suffix].concat(), b"1".as_slice());
                    store.write(batch, Durability::Buffered).unwrap();
                }
            })
        })
        .collect();
    let reader = {
        let store = Arc::clone(&store);
        thread::spawn(move || {
            for _ in 0..50 {
                let all = store.scan(&KeyRange::all()).unwrap();
                let a = all.iter().filter(|(k, _)| k.starts_with(b"a/")).count();
                let b = all.iter().filter(|(k, _)| k.starts_with(b"b/")).count();
                assert_eq!(a, b, "a scan saw half of a batch");
            }
        })
    };
    for writer in writers {
        writer.join().unwrap();
    }
    reader.join().unwrap();
    assert_eq!(store.scan(&KeyRange::prefix(b"a/")).unwrap().len(), 800);
    assert_eq!(store.scan(&KeyRange::prefix(b"b/")).unwrap().len(), 800);
}

/// The child half of the crash test: a `Sync` write, then an abort with no flush and no
/// destructor. Called in a child process by [`kv_conformance_suite!`](crate::kv_conformance_suite).
pub fn write_synced_then_abort(store: Box<dyn KvStore>) -> ! {
    for i in 0..100u32 {
        let mut batch = WriteBatch::new();
        batch.put([b"crash/".as_slice(), &i.to_be_bytes()].concat(), i.to_be_bytes().to_vec());
        store.write(batch, Durability::Sync).unwrap();
    }
    std::process::abort()
}

/// The parent half: every write the child was told was durable is there.
pub fn check_synced_writes_survived(store: Box<dyn KvStore>) {
    let survived = store.scan(&KeyRange::prefix(b"crash/")).unwrap();
    assert_eq!(survived.len(), 100, "a write acknowledged as Sync was lost in a crash");
}

/// Runs the current test binary again, filtered to `test_name`, with `dir` in the
/// environment, and waits for it; the child is expected to abort.
pub fn run_crash_child(test_name: &str, dir: &Path) {
    let exe = std::env::current_exe().unwrap();
    let status = std::process::Command::new(exe)
        .args([test_name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CRASH_DIR_ENV, dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(!status.success(), "the crash child should have aborted");
}

/// Set in the crash child: where the store lives.
pub const CRASH_DIR_ENV: &str = "NACOSD_KV_CRASH_DIR";

/// Expands to one `#[test]` per conformance check.
///
/// `open` is an expression of type `impl Fn(&Path) -> Box<dyn KvStore>`; every check gets a
/// fresh temporary directory (stores that keep nothing on disk may ignore it, but must
/// return the same data for the same path within one test).
#[macro_export]
macro_rules! kv_conformance_suite {
    ($open:expr) => {
        mod conformance {
            use super::*;
            use $crate::testkit::kv as suite;

            fn with_store(check: fn(suite::Open<'_>)) {
                let dir = tempfile::tempdir().unwrap();
                let open = || -> Box<dyn $crate::kv::KvStore> { ($open)(dir.path()) };
                check(&open);
            }

            #[test]
            fn get_put_delete() {
                with_store(suite::get_put_delete)
            }
            #[test]
            fn scans_are_ordered_by_unsigned_bytes() {
                with_store(suite::scans_are_ordered_by_unsigned_bytes)
            }
            #[test]
            fn big_endian_numbers_sort_numerically() {
                with_store(suite::big_endian_numbers_sort_numerically)
            }
            #[test]
            fn empty_and_odd_keys() {
                with_store(suite::empty_and_odd_keys)
            }
            #[test]
            fn batches_apply_every_op_in_order() {
                with_store(suite::batches_apply_every_op_in_order)
            }
            #[test]
            fn reopen_keeps_data() {
                with_store(suite::reopen_keeps_data)
            }
            #[test]
            fn ten_megabyte_values() {
                with_store(suite::ten_megabyte_values)
            }
            #[test]
            fn snapshots_do_not_see_later_writes() {
                with_store(suite::snapshots_do_not_see_later_writes)
            }
            #[test]
            fn visits_stop_at_the_first_error() {
                with_store(suite::visits_stop_at_the_first_error)
            }
            #[test]
            fn concurrent_writers_and_consistent_scans() {
                with_store(suite::concurrent_writers_and_consistent_scans)
            }
        }
    };
    ($open:expr, crash_safe) => {
        $crate::kv_conformance_suite!($open);

        mod crash {
            use super::*;
            use $crate::testkit::kv as suite;

            /// A process that aborts right after `Sync` writes loses none of them.
            #[test]
            fn sync_writes_survive_a_crash() {
                if let Some(dir) = std::env::var_os(suite::CRASH_DIR_ENV) {
                    suite::write_synced_then_abort(($open)(std::path::Path::new(&dir)));
                }
                let dir = tempfile::tempdir().unwrap();
                let name = module_path!().split_once("::").map_or("", |(_, rest)| rest).to_owned();
                suite::run_crash_child(&format!("{name}::sync_writes_survive_a_crash"), dir.path());
                suite::check_synced_writes_survived(($open)(dir.path()));
            }
        }
    };
}
