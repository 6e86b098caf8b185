//! Every acknowledged write survives `kill -9` and SIGTERM, on whichever engine this build
//! uses (RocksDB by default, sled with `--no-default-features --features sled`).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use reqwest::StatusCode;
use tests::process::STOP_DEADLINE;
use tests::Nacosd;

const CONFIGS: &str = "/nacos/v1/cs/configs";

/// What the server acknowledged: data id -> content, or `None` for an acknowledged delete.
type Acked = BTreeMap<String, Option<String>>;

fn publish(node: &Nacosd, data_id: &str, content: &str) -> bool {
    let form = [("dataId", data_id), ("group", "DEFAULT_GROUP"), ("content", content)];
    match node.http().post(node.url(CONFIGS)).form(&form).send() {
        Ok(response) => response.status() == StatusCode::OK && response.text().is_ok_and(|body| body == "true"),
        Err(_) => false,
    }
}

fn delete(node: &Nacosd, data_id: &str) -> bool {
    let query = [("dataId", data_id), ("group", "DEFAULT_GROUP")];
    node.http().delete(node.url(CONFIGS)).query(&query).send().is_ok_and(|response| response.status() == StatusCode::OK)
}

fn assert_all_present(node: &Nacosd, acked: &Acked) {
    for (data_id, expected) in acked {
        let response = node
            .http()
            .get(node.url(CONFIGS))
            .query(&[("dataId", data_id.as_str()), ("group", "DEFAULT_GROUP")])
            .send()
            .unwrap();
        match expected {
            Some(content) => {
                assert_eq!(response.status(), StatusCode::OK, "acknowledged {data_id} is missing");
                assert_eq!(&response.text().unwrap(), content, "acknowledged {data_id} has other content");
            }
            None => assert_eq!(response.status(), StatusCode::NOT_FOUND, "acknowledged delete of {data_id} came back"),
        }
    }
}

/// Publishes from several threads at once, then deletes some: many writes share fsyncs.
fn write_workload(node: &Nacosd) -> Acked {
    let acked = Mutex::new(Acked::new());
    thread::scope(|scope| {
        for writer in 0..4 {
            let acked = &acked;
            scope.spawn(move || {
                for i in 0..40 {
                    let data_id = format!("w{writer}-c{i}");
                    let content = format!("writer {writer} config {i} ✓");
                    assert!(publish(node, &data_id, &content), "publish {data_id} failed");
                    acked.lock().unwrap().insert(data_id, Some(content));
                }
            });
        }
    });
    let mut acked = acked.into_inner().unwrap();
    for i in (0..40).step_by(5) {
        let data_id = format!("w0-c{i}");
        assert!(delete(node, &data_id));
        acked.insert(data_id, None);
    }
    assert!(publish(node, "w1-c0", "overwritten"));
    acked.insert("w1-c0".to_owned(), Some("overwritten".to_owned()));
    acked
}

#[test]
fn acknowledged_writes_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = Nacosd::start(&dir.path().join("node"));
    let acked = write_workload(&node);

    node.kill9();
    node.restart();
    assert_all_present(&node, &acked);

    // And again, after the restarted node took more writes.
    assert!(publish(&node, "after-restart", "yes"));
    node.kill9();
    node.restart();
    let mut acked = acked;
    acked.insert("after-restart".to_owned(), Some("yes".to_owned()));
    assert_all_present(&node, &acked);
}

#[test]
fn sigterm_exits_cleanly_and_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = Nacosd::start(&dir.path().join("node"));
    let acked = write_workload(&node);

    let (code, took) = node.terminate();
    assert_eq!(code, Some(0), "log:\n{}", node.log());
    assert!(took < STOP_DEADLINE, "shutdown took {took:?}");
    assert!(node.log().contains("storage flushed"), "no clean shutdown in the log:\n{}", node.log());

    node.restart();
    assert_all_present(&node, &acked);
}

/// Writes keep arriving while SIGTERM lands: whatever was answered `true` is kept.
#[test]
fn writes_in_flight_at_sigterm_are_kept_if_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = Nacosd::start(&dir.path().join("node"));
    let url = node.url(CONFIGS);
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(Acked::new()));
    let writers: Vec<_> = (0..3)
        .map(|writer| {
            let (url, stop, acked) = (url.clone(), Arc::clone(&stop), Arc::clone(&acked));
            thread::spawn(move || {
                let client = reqwest::blocking::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) && i < 5_000 {
                    let data_id = format!("f{writer}-{i}");
                    let form = [("dataId", data_id.as_str()), ("group", "DEFAULT_GROUP"), ("content", "in flight")];
                    let ok = client.post(&url).form(&form).send().is_ok_and(|r| r.status() == StatusCode::OK);
                    if ok {
                        acked.lock().unwrap().insert(data_id, Some("in flight".to_owned()));
                    }
                    i += 1;
                }
            })
        })
        .collect();
    // Let the writers get going: poll until some writes are acknowledged.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while acked.lock().unwrap().len() < 30 {
        assert!(std::time::Instant::now() < deadline, "writers made no progress");
        thread::sleep(Duration::from_millis(10));
    }

    let (code, _) = node.terminate();
    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        writer.join().unwrap();
    }
    assert_eq!(code, Some(0), "log:\n{}", node.log());

    node.restart();
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 30);
    assert_all_present(&node, &acked);
}

/// Enough writes for snapshots and log purges: after `kill -9` the node rebuilds the same
/// state from its snapshot and what is left of its log.
#[test]
fn writes_behind_a_snapshot_and_a_purged_log_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("node");
    let mut node = Nacosd::start_with(&data_dir, &["--raft-snapshot-logs", "1000"]);
    let mut acked = Acked::new();
    // One at a time, so that each is an entry of its own: 2,100 entries, two snapshots.
    for i in 0..2_100 {
        let data_id = format!("s{}", i % 300);
        let content = format!("version {i}");
        assert!(publish(&node, &data_id, &content), "publish {data_id} failed");
        acked.insert(data_id, Some(content));
    }
    let snapshots = std::fs::read_dir(&data_dir)
        .unwrap()
        .map(|dirent| dirent.unwrap().path())
        .find(|path| path.to_string_lossy().ends_with("-snapshots"))
        .expect("a snapshot directory");
    assert!(std::fs::read_dir(&snapshots).unwrap().next().is_some(), "a snapshot was built");

    node.kill9();
    node.restart();
    assert_all_present(&node, &acked);
    assert!(publish(&node, "s0", "after the restart"));
    acked.insert("s0".to_owned(), Some("after the restart".to_owned()));
    node.kill9();
    node.restart();
    assert_all_present(&node, &acked);
}
