use std::sync::Arc;

use domain::config::{ConfigCommand, ConfigKey, ConfigLimits, PublishConfig, PublishParams};
use domain::{Command, Millis, Rejection};

use domain::paging::PageRequest;

use super::*;
use crate::applied::AppliedState;
use crate::clock::MockClock;
use crate::config::history::MockHistoryStore;
use crate::consensus::{ConsensusError, MockConsensusLog};

fn publish(content: &str) -> PublishConfig {
    let params = PublishParams {
        data_id: Some("app.yaml"),
        group: Some("DEFAULT_GROUP"),
        content: Some(content),
        ..Default::default()
    };
    PublishConfig::parse(&params, ConfigLimits::default()).unwrap()
}

fn clock_at(now: u64) -> Arc<MockClock> {
    let mut clock = MockClock::new();
    clock.expect_now().return_const(Millis(now));
    Arc::new(clock)
}

/// A consensus mock that applies what it is given to `state`, as a one-node raft would.
fn applying_consensus(state: AppliedState, times: usize) -> MockConsensusLog {
    let mut consensus = MockConsensusLog::new();
    consensus.expect_propose().times(times).returning(move |command| Ok(state.apply(&command).verdict()));
    consensus
}

#[tokio::test]
async fn a_publish_proposes_exactly_one_stamped_command() {
    let state = AppliedState::new();
    let mut consensus = MockConsensusLog::new();
    let expected = Command::Config(ConfigCommand::Publish { publish: publish("a: 1"), now: Millis(42) });
    let applier = state.clone();
    consensus
        .expect_propose()
        .withf(move |command| *command == expected)
        .times(1)
        .returning(move |command| Ok(applier.apply(&command).verdict()));
    let service = ConfigApp::new(Arc::new(consensus), state, clock_at(42), ConfigLimits::default(), no_history());

    service.publish(publish("a: 1")).await.unwrap();

    let stored = service.get(&publish("x").key).unwrap();
    assert_eq!(stored.content, "a: 1");
    assert_eq!(stored.last_modified, Millis(42));
}

#[tokio::test]
async fn a_failed_proposal_is_an_error_and_changes_nothing() {
    let state = AppliedState::new();
    let mut consensus = MockConsensusLog::new();
    consensus.expect_propose().times(1).returning(|_| Err(ConsensusError::NoLeader));
    let service =
        ConfigApp::new(Arc::new(consensus), state.clone(), clock_at(1), ConfigLimits::default(), no_history());

    let err = service.publish(publish("a: 1")).await.unwrap_err();

    assert!(matches!(err, ConfigServiceError::Unavailable(ConsensusError::NoLeader)));
    assert_eq!(state.config_count(), 0);
}

#[tokio::test]
async fn a_cas_rejection_reaches_the_caller() {
    let state = AppliedState::new();
    let service = ConfigApp::new(
        Arc::new(applying_consensus(state.clone(), 2)),
        state,
        clock_at(1),
        ConfigLimits::default(),
        no_history(),
    );
    service.publish(publish("v1")).await.unwrap();

    let stale = PublishConfig { cas_md5: Some("0".repeat(32)), ..publish("v2") };
    let err = service.publish(stale).await.unwrap_err();

    assert!(matches!(err, ConfigServiceError::Rejected(Rejection::CasMismatch)));
    assert_eq!(service.get(&publish("x").key).unwrap().content, "v1");
}

#[tokio::test]
async fn content_over_the_service_limit_is_refused_before_raft() {
    let state = AppliedState::new();
    let consensus = MockConsensusLog::new(); // Any call would panic: none is expected.
    let limits = ConfigLimits { max_content_bytes: 4 };
    let service = ConfigApp::new(Arc::new(consensus), state, clock_at(1), limits, no_history());

    let err = service.publish(publish("too long")).await.unwrap_err();

    assert!(matches!(err, ConfigServiceError::Invalid(_)));
}

#[tokio::test]
async fn remove_proposes_a_removal() {
    let state = AppliedState::new();
    let service = ConfigApp::new(
        Arc::new(applying_consensus(state.clone(), 2)),
        state,
        clock_at(5),
        ConfigLimits::default(),
        no_history(),
    );
    service.publish(publish("v1")).await.unwrap();
    let key: ConfigKey = publish("x").key;

    service.remove(key.clone()).await.unwrap();

    assert!(service.get(&key).is_none());
}

/// A history store for tests that read no history.
fn no_history() -> Arc<dyn HistoryStore> {
    let mut store = MockHistoryStore::new();
    store.expect_load().returning(|_| Ok(Vec::new()));
    Arc::new(store)
}

#[tokio::test]
async fn history_pages_come_from_the_store_by_the_indexed_ids() {
    let state = AppliedState::new();
    let mut store = MockHistoryStore::new();
    // The store's index lists records 2, 1, 0; a page of two, newest first, loads 2 and 1.
    store.expect_ids_of().times(1).returning(|_| Ok(vec![2, 1, 0]));
    store.expect_load().withf(|ids| ids == [2, 1]).times(1).returning(|_| Ok(Vec::new()));
    // "previous" of 2 is 1.
    store.expect_previous_id().withf(|_, id| *id == 2).times(1).returning(|_, _| Ok(Some(1)));
    store
        .expect_load()
        .withf(|ids| ids == [1])
        .times(1)
        .returning(|_| Err(HistoryStoreError { what: "record 1".into(), cause: "disk on fire".into() }));
    // An id the store does not hold is no record.
    store.expect_load().withf(|ids| ids == [99]).times(1).returning(|_| Ok(Vec::new()));
    let service = ConfigApp::new(
        Arc::new(applying_consensus(state.clone(), 3)),
        state,
        clock_at(1),
        ConfigLimits::default(),
        Arc::new(store),
    );
    for content in ["v1", "v2", "v3"] {
        service.publish(publish(content)).await.unwrap();
    }
    let key = publish("x").key;
    let page = service.history(&key, PageRequest::new(Some(1), Some(2), 100)).unwrap();
    assert_eq!((page.total, page.pages), (3, 2));
    let failed = service.history_previous(&key, 2);
    assert!(
        matches!(&failed, Err(ConfigServiceError::Storage(HistoryStoreError { what, .. })) if what == "record 1"),
        "a storage failure is an error, never \"not found\": {failed:?}"
    );
    assert!(service.history_record(99).unwrap().is_none());
}
