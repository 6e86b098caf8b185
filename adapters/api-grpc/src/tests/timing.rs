//! The connection registry's timing rules in paused time: the silent-connection probe and
//! drop, push retries with back-off, and shutdown ending every task.

use std::time::Duration;

use domain::config::ConfigKey;
use ports::listen::ClientChannel;
use serde_json::{json, Value};

use super::{answer, Client, Mocks};
use crate::connections::{Outgoing, PUSH_ACK_TIMEOUT, PUSH_ATTEMPTS};

/// The next server request on the client's stream: its type and body.
async fn next_request(client: &mut Client) -> (String, Value) {
    let message: Outgoing = client.inbox.recv().await.expect("the stream is open");
    answer(*message.expect("a request, not a close"))
}

fn key() -> ConfigKey {
    ConfigKey::parse(None, Some("G"), Some("d")).unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_silent_connection_is_probed_and_dropped_when_it_does_not_answer() {
    let mut client = Mocks::default().client();
    let idle = Duration::from_secs(20);
    client.api.connections.eject_silent(idle);
    assert!(client.inbox.try_recv().is_err(), "an active connection is not probed");

    tokio::time::advance(idle).await;
    client.api.connections.eject_silent(idle);
    let (kind, _) = next_request(&mut client).await;
    assert_eq!(kind, "ClientDetectionRequest");
    client.api.connections.eject_silent(idle);
    tokio::task::yield_now().await;
    assert!(client.inbox.try_recv().is_err(), "one probe at a time");

    let started = tokio::time::Instant::now();
    let closed = client.inbox.recv().await.unwrap();
    assert!(closed.is_err(), "no answer: the stream is closed with an error status");
    assert_eq!(started.elapsed(), PUSH_ACK_TIMEOUT, "dropped when the probe times out, not before");
}

#[tokio::test(start_paused = true)]
async fn an_answered_probe_keeps_the_connection() {
    let mut client = Mocks::default().client();
    let idle = Duration::from_secs(20);
    tokio::time::advance(idle).await;
    client.api.connections.eject_silent(idle);
    let (_, probe) = next_request(&mut client).await;
    client.api.connections.answer(probe["requestId"].as_str().unwrap(), json!({ "resultCode": 200 }));
    tokio::time::sleep(PUSH_ACK_TIMEOUT * 2).await;
    assert!(client.inbox.try_recv().is_err(), "nothing more: neither a close nor another probe");
    client.api.connections.eject_silent(idle);
    assert!(client.inbox.try_recv().is_err(), "the answer counted as activity");
}

#[tokio::test(start_paused = true)]
async fn an_unacknowledged_push_is_retried_with_growing_pauses_then_given_up() {
    let mut client = Mocks::default().client();
    client.api.connections.notify_config_changed(&client.connection.id, "dev", &key());
    let started = tokio::time::Instant::now();
    let mut sent_at = Vec::new();
    for _ in 0..PUSH_ATTEMPTS {
        let (kind, body) = next_request(&mut client).await;
        assert_eq!((kind.as_str(), body["tenant"].as_str()), ("ConfigChangeNotifyRequest", Some("dev")));
        sent_at.push(started.elapsed());
    }
    // Each attempt waits for its ack, then 500 ms more per attempt made.
    let expected: Vec<Duration> = (0..PUSH_ATTEMPTS)
        .map(|attempt| {
            let pauses: u64 = (1..=u64::from(attempt)).map(|n| 500 * n).sum();
            PUSH_ACK_TIMEOUT * attempt + Duration::from_millis(pauses)
        })
        .collect();
    assert_eq!(sent_at, expected);
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert!(client.inbox.try_recv().is_err(), "given up after {PUSH_ATTEMPTS} attempts");
    assert_eq!(client.api.connections.task_count(), 0, "the push task has ended");
}

#[tokio::test(start_paused = true)]
async fn an_acknowledged_push_is_sent_once() {
    let mut client = Mocks::default().client();
    client.api.connections.notify_config_changed(&client.connection.id, "", &key());
    let (_, body) = next_request(&mut client).await;
    client.api.connections.answer(body["requestId"].as_str().unwrap(), json!({ "resultCode": 200 }));
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert!(client.inbox.try_recv().is_err());
}

#[tokio::test(start_paused = true)]
async fn shutdown_ends_pushes_still_waiting() {
    let mut client = Mocks::default().client();
    client.api.connections.notify_config_changed(&client.connection.id, "", &key());
    next_request(&mut client).await;
    assert_eq!(client.api.connections.task_count(), 1);
    let started = tokio::time::Instant::now();
    client.api.connections.shutdown().await;
    assert_eq!(client.api.connections.task_count(), 0);
    assert!(started.elapsed() < PUSH_ACK_TIMEOUT, "cancelled, not waited out");
}
