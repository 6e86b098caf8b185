//! The HTTP long poll of 1.x clients (`POST /nacos/v1/cs/configs/listener`) on a real node.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use tests::Nacosd;

const LISTENER: &str = "/nacos/v1/cs/configs/listener";

/// Publishes and answers the md5 the server reports for the content.
fn publish(node: &Nacosd, data_id: &str, content: &str) -> String {
    let form = [("dataId", data_id), ("group", "DEFAULT_GROUP"), ("content", content)];
    assert_eq!(node.http().post(node.url("/nacos/v1/cs/configs")).form(&form).send().unwrap().text().unwrap(), "true");
    let response = node
        .http()
        .get(node.url("/nacos/v1/cs/configs"))
        .query(&[("dataId", data_id), ("group", "DEFAULT_GROUP")])
        .send()
        .unwrap();
    response.headers()["content-md5"].to_str().unwrap().to_owned()
}

/// Polls `records` (dataId, md5) with the given hold; answers the decoded changed keys and
/// how long the server held the request.
fn poll(node: &Nacosd, records: &[(&str, &str)], timeout_ms: Option<u64>) -> (Vec<String>, Duration) {
    let listening: String =
        records.iter().map(|(data_id, md5)| format!("{data_id}\u{2}DEFAULT_GROUP\u{2}{md5}\u{1}")).collect();
    let mut request = node.http().post(node.url(LISTENER)).form(&[("Listening-Configs", listening.as_str())]);
    if let Some(timeout) = timeout_ms {
        request = request.header("Long-Pulling-Timeout", timeout.to_string());
    }
    let started = Instant::now();
    let response = request.send().unwrap();
    let held = started.elapsed();
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.text().unwrap();
    let decoded = percent_decode(body.trim_end());
    let keys = decoded
        .split('\u{1}')
        .filter(|line| !line.is_empty())
        .map(|line| line.split('\u{2}').next().unwrap().to_owned())
        .collect();
    (keys, held)
}

/// How many listeners the server lists on a config (long polls and gRPC alike).
fn listener_count(node: &Nacosd, data_id: &str) -> u64 {
    let response =
        node.http().get(node.url(LISTENER)).query(&[("dataId", data_id), ("group", "DEFAULT_GROUP")]).send().unwrap();
    let body: serde_json::Value = serde_json::from_str(&response.text().unwrap()).unwrap();
    body["listenerCount"].as_u64().unwrap()
}

/// Form decoding, as clients apply it to the answer.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            byte => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn a_stale_md5_answers_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let node = Nacosd::start(&dir.path().join("node"));
    let md5 = publish(&node, "fresh", "v1");
    publish(&node, "stale", "v1");

    let (changed, held) = poll(&node, &[("fresh", &md5), ("stale", "0123")], Some(30_000));
    assert_eq!(changed, vec!["stale".to_owned()]);
    assert!(held < Duration::from_secs(2), "held {held:?} although a key was stale");

    // Without Long-Pulling-Timeout it is a probe: no hold even when nothing changed.
    let (changed, held) = poll(&node, &[("fresh", &md5)], None);
    assert!(changed.is_empty());
    assert!(held < Duration::from_secs(2));
}

#[test]
fn a_change_during_the_hold_returns_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let node = Nacosd::start(&dir.path().join("node"));
    let md5 = publish(&node, "watched", "v1");
    let other_md5 = publish(&node, "untouched", "v1");

    std::thread::scope(|scope| {
        let polling =
            scope.spawn(|| poll(&node, &[("watched", &md5), ("untouched", &other_md5), ("not-yet", "")], Some(30_000)));
        // The poll must be hanging before the change: wait until the server lists it.
        let deadline = Instant::now() + Duration::from_secs(10);
        while listener_count(&node, "watched") == 0 {
            assert!(Instant::now() < deadline, "the server never listed the poll");
            assert!(!polling.is_finished(), "the poll returned before any change");
            std::thread::sleep(Duration::from_millis(5));
        }
        let changed_at = Instant::now();
        publish(&node, "watched", "v2");
        let (changed, _) = polling.join().unwrap();
        assert_eq!(changed, vec!["watched".to_owned()]);
        assert!(changed_at.elapsed() < Duration::from_secs(1), "woke {:?} after the change", changed_at.elapsed());
    });
}

#[test]
fn no_change_answers_empty_after_the_hold() {
    let dir = tempfile::tempdir().unwrap();
    let node = Nacosd::start(&dir.path().join("node"));
    let md5 = publish(&node, "steady", "v1");
    // Nacos holds max(10 s, timeout - 0.5 s).
    let (changed, held) = poll(&node, &[("steady", &md5)], Some(10_000));
    assert!(changed.is_empty());
    assert!(held >= Duration::from_millis(9_500) && held < Duration::from_secs(15), "held {held:?}");
}

#[test]
fn malformed_listening_configs_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let node = Nacosd::start(&dir.path().join("node"));
    for bad in ["no-separators\u{1}", "a b\u{2}DEFAULT_GROUP\u{2}\u{1}"] {
        let response = node.http().post(node.url(LISTENER)).form(&[("Listening-Configs", bad)]).send().unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad:?}");
    }
    let response = node.http().post(node.url(LISTENER)).send().unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().unwrap().contains("Listening-Configs"));
}

#[test]
fn the_listener_query_lists_a_waiting_poll_and_forgets_it_when_answered() {
    let dir = tempfile::tempdir().unwrap();
    let node = Nacosd::start(&dir.path().join("node"));
    let md5 = publish(&node, "listed", "v1");
    std::thread::scope(|scope| {
        let polling = scope.spawn(|| poll(&node, &[("listed", &md5)], Some(30_000)));
        let deadline = Instant::now() + Duration::from_secs(10);
        while listener_count(&node, "listed") == 0 {
            assert!(Instant::now() < deadline, "the server never listed the poll");
            std::thread::sleep(Duration::from_millis(5));
        }
        let response = node
            .http()
            .get(node.url(LISTENER))
            .query(&[("dataId", "listed"), ("group", "DEFAULT_GROUP")])
            .send()
            .unwrap();
        let body: serde_json::Value = serde_json::from_str(&response.text().unwrap()).unwrap();
        assert_eq!(body["lisentersGroupkeyStatus"]["127.0.0.1"], md5.as_str(), "{body}");
        publish(&node, "listed", "v2");
        assert_eq!(polling.join().unwrap().0, vec!["listed".to_owned()]);
    });
    assert_eq!(listener_count(&node, "listed"), 0, "an answered poll is no longer listed");
}
