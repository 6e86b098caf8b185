//! The HTTP long poll in paused time: it registers through the listen service as a
//! listener of its own, is held for what the client asked, wakes on a change, and is
//! forgotten when it ends.

use std::time::Duration;

use domain::config::{ConfigKey, ListenContext, ListenerId};
use ports::listen::LongPollWaker;
use tokio::time::Instant;
use warp::http::StatusCode;

use super::Mocks;
use crate::LongPolls;

fn context() -> ListenContext {
    let key = ConfigKey::parse(None, Some("G"), Some("app.yaml")).unwrap();
    ListenContext { key, tenant_as_sent: String::new(), md5: "m1".to_owned() }
}

fn poll_request(timeout_ms: u64) -> warp::test::RequestBuilder {
    warp::test::request()
        .method("POST")
        .path("/nacos/v1/cs/configs/listener")
        .header("Long-Pulling-Timeout", timeout_ms.to_string())
        .header("content-type", "application/x-www-form-urlencoded")
        .body("Listening-Configs=app.yaml%02G%02m1%01")
}

/// A listen service that holds one poll's registration and forgets it once; after each
/// wake-up it answers the next of `stale_after_wakes`.
fn listening(stale_after_wakes: Vec<Vec<ListenContext>>) -> Mocks {
    let mut mocks = Mocks::default();
    mocks
        .listening
        .expect_listen()
        .withf(|listener, _, _, contexts| matches!(listener, ListenerId::LongPoll(_)) && contexts == [context()])
        .times(1)
        .returning(|_, _, _, _| Ok(Vec::new()));
    let mut answers = stale_after_wakes.into_iter();
    let times = answers.len();
    mocks.listening.expect_stale().times(times).returning(move |_| answers.next().unwrap());
    mocks
        .listening
        .expect_forget()
        .withf(|listener| matches!(listener, ListenerId::LongPoll(_)))
        .times(1)
        .return_const(());
    mocks
}

#[tokio::test(start_paused = true)]
async fn an_unchanged_poll_is_held_for_the_asked_time_less_half_a_second() {
    let routes = listening(Vec::new()).api().routes();
    let started = Instant::now();
    let response = poll_request(30_000).reply(&routes).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.body().as_ref(), b"");
    assert_eq!(started.elapsed(), Duration::from_millis(29_500));
}

#[tokio::test(start_paused = true)]
async fn holds_stay_within_nacos_bounds() {
    for (asked, held) in [(1_000, 10_000), (600_000, 120_000)] {
        let routes = listening(Vec::new()).api().routes();
        let started = Instant::now();
        poll_request(asked).reply(&routes).await;
        assert_eq!(started.elapsed(), Duration::from_millis(held), "asked {asked} ms");
    }
}

#[tokio::test(start_paused = true)]
async fn a_change_wakes_the_poll_at_once_with_what_is_stale() {
    let long_polls = LongPolls::new();
    let routes = listening(vec![vec![context()]]).api_with(long_polls.clone()).routes();
    let started = Instant::now();
    let request = tokio::spawn(async move { poll_request(30_000).reply(&routes).await });
    // Wait, in paused time, until the poll is registered; then wake it as a change would.
    while long_polls.waiting() == 0 {
        tokio::task::yield_now().await;
    }
    tokio::time::advance(Duration::from_secs(3)).await;
    long_polls.wake(0);
    let response = request.await.unwrap();
    assert_eq!(response.body().as_ref(), b"app.yaml%02G%01\n");
    assert_eq!(started.elapsed(), Duration::from_secs(3), "answered on the change, not at the hold's end");
    assert_eq!(long_polls.waiting(), 0, "an answered poll leaves nothing behind");
}

#[tokio::test(start_paused = true)]
async fn a_wake_up_that_finds_nothing_stale_keeps_the_poll_held() {
    let long_polls = LongPolls::new();
    let routes = listening(vec![Vec::new(), vec![context()]]).api_with(long_polls.clone()).routes();
    let started = Instant::now();
    let request = tokio::spawn(async move { poll_request(30_000).reply(&routes).await });
    while long_polls.waiting() == 0 {
        tokio::task::yield_now().await;
    }
    // The notice of a change the client already had: nothing is stale, the poll holds on.
    long_polls.wake(0);
    tokio::time::advance(Duration::from_secs(5)).await;
    assert!(!request.is_finished(), "a wake-up with nothing stale ended the poll");
    long_polls.wake(0);
    let response = request.await.unwrap();
    assert_eq!(response.body().as_ref(), b"app.yaml%02G%01\n");
    assert_eq!(started.elapsed(), Duration::from_secs(5));
}

#[tokio::test]
async fn a_poll_with_stale_keys_answers_at_once_and_registers_nothing_for_long() {
    let mut mocks = Mocks::default();
    mocks.listening.expect_listen().times(1).returning(|_, _, _, contexts| Ok(contexts.to_vec()));
    mocks.listening.expect_forget().times(1).return_const(());
    let response = poll_request(30_000).reply(&mocks.api().routes()).await;
    assert_eq!(response.body().as_ref(), b"app.yaml%02G%01\n");
}
