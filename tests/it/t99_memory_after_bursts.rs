//! A burst of large requests does not raise a node's memory for good: once large configs
//! are deleted, resident memory comes back near where it started.
//!
//! This holds for the default engine, RocksDB. sled keeps recently written pages resident
//! whatever its cache capacity (about 370 MB after the same burst), so on a sled build the
//! test checks only that the node survives the burst; bounding sled's memory is the
//! storage-budget work of the write-path issue.

use std::time::Duration;

use tests::Nacosd;

const CONFIGS: usize = 12;
const CONTENT_BYTES: usize = 8 << 20;
/// What a node may keep after the burst: storage caches and buffers (RocksDB's memtable is
/// 64 MiB), not the 96 MiB of contents it was sent (glibc's default kept about 300 MB here).
const ALLOWED_GROWTH_MB: u64 = 96;

/// Resident memory of a process, in MB, from `/proc`.
fn rss_mb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|line| line.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() / 1024
}

#[test]
fn memory_comes_back_after_a_burst_of_large_configs() {
    let dir = tempfile::tempdir().unwrap();
    let node = Nacosd::start(&dir.path().join("node"));
    let http = reqwest::blocking::Client::builder().timeout(Duration::from_secs(120)).build().unwrap();
    let before = rss_mb(node.pid());
    let content = "x".repeat(CONTENT_BYTES);
    for i in 0..CONFIGS {
        let data_id = format!("big{i}");
        let form = [("dataId", data_id.as_str()), ("group", "G"), ("content", content.as_str())];
        let published = http.post(node.url("/nacos/v1/cs/configs")).form(&form).send().unwrap();
        assert_eq!(published.text().unwrap(), "true");
        let read = http.get(node.url("/nacos/v1/cs/configs")).query(&[("dataId", &data_id), ("group", &"G".into())]);
        assert_eq!(read.send().unwrap().text().unwrap().len(), CONTENT_BYTES);
    }
    for i in 0..CONFIGS {
        let query = [("dataId", format!("big{i}")), ("group", "G".to_owned())];
        let deleted = http.delete(node.url("/nacos/v1/cs/configs")).query(&query).send().unwrap();
        assert_eq!(deleted.text().unwrap(), "true");
    }
    let after = rss_mb(node.pid());
    if node.log().contains("storage: Sled") {
        eprintln!("sled build: {before} MB before, {after} MB after; not bounded on this engine");
        return;
    }
    assert!(
        after <= before + ALLOWED_GROWTH_MB,
        "resident memory went from {before} MB to {after} MB after {CONFIGS} configs of {} MiB came and went",
        CONTENT_BYTES >> 20
    );
}
