use std::sync::Arc;

use domain::config::{
    CloneItem, ConfigKey, ConfigLimits, ImportReport, Namespace, PublishConfig, PublishParams, SameConfigPolicy,
    TransferError,
};
use domain::Millis;

use super::*;
use crate::applied::AppliedState;
use crate::clock::MockClock;
use crate::config::history::MockHistoryStore;
use crate::consensus::MockConsensusLog;

fn config(namespace: &str, data_id: &str, content: &str) -> PublishConfig {
    let params = PublishParams {
        namespace: Some(namespace),
        data_id: Some(data_id),
        group: Some("G"),
        content: Some(content),
        ..Default::default()
    };
    PublishConfig::parse(&params, ConfigLimits::default()).unwrap()
}

fn key(data_id: &str) -> ConfigKey {
    config("", data_id, "x").key
}

/// A config service over a consensus mock that applies every proposal to the state, as a
/// one-node raft would, and counts them.
fn service(state: &AppliedState) -> (ConfigApp, Arc<std::sync::atomic::AtomicUsize>) {
    let proposals = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut consensus = MockConsensusLog::new();
    let (applier, counter) = (state.clone(), Arc::clone(&proposals));
    consensus.expect_propose().returning(move |command| {
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(applier.apply(&command).verdict())
    });
    let mut clock = MockClock::new();
    clock.expect_now().return_const(Millis(1));
    let history = Arc::new(MockHistoryStore::new());
    (ConfigApp::new(Arc::new(consensus), state.clone(), Arc::new(clock), ConfigLimits::default(), history), proposals)
}

async fn seeded(data_ids: &[&str]) -> (AppliedState, ConfigApp, Arc<std::sync::atomic::AtomicUsize>) {
    let state = AppliedState::new();
    let (service, proposals) = service(&state);
    for data_id in data_ids {
        service.publish(config("", data_id, "old")).await.unwrap();
    }
    proposals.store(0, std::sync::atomic::Ordering::SeqCst);
    (state, service, proposals)
}

fn content(service: &ConfigApp, data_id: &str) -> Option<String> {
    service.get(&key(data_id)).map(|config| config.content.clone())
}

#[tokio::test]
async fn abort_with_an_existing_config_publishes_nothing() {
    let (_, service, proposals) = seeded(&["b"]).await;
    let configs = vec![config("", "a", "new"), config("", "b", "new")];
    let report = service.import(configs, SameConfigPolicy::Abort).await.unwrap();
    assert_eq!(report, ImportReport { failed: vec![key("b")], skipped: vec![key("a")], ..ImportReport::default() });
    assert_eq!(proposals.load(std::sync::atomic::Ordering::SeqCst), 0);
    assert_eq!(content(&service, "a"), None);
    assert_eq!(content(&service, "b").as_deref(), Some("old"));
}

#[tokio::test]
async fn skip_and_overwrite_publish_what_their_policy_allows() {
    let (_, service, _) = seeded(&["b"]).await;
    let configs = || vec![config("", "a", "new"), config("", "b", "new")];
    let report = service.import(configs(), SameConfigPolicy::Skip).await.unwrap();
    assert_eq!((report.succeeded, report.skipped), (1, vec![key("b")]));
    assert_eq!(content(&service, "b").as_deref(), Some("old"));

    let report = service.import(configs(), SameConfigPolicy::Overwrite).await.unwrap();
    assert_eq!((report.succeeded, report.skipped.len()), (2, 0));
    assert_eq!(content(&service, "b").as_deref(), Some("new"));
}

#[tokio::test]
async fn an_import_into_a_missing_namespace_is_refused() {
    let (_, service, proposals) = seeded(&[]).await;
    let err = service.import(vec![config("nowhere", "a", "x")], SameConfigPolicy::Overwrite).await.unwrap_err();
    assert!(matches!(err, TransferFailure::Refused(TransferError::NoNamespace(id)) if id == "nowhere"));
    assert_eq!(proposals.load(std::sync::atomic::Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_clone_copies_the_selected_configs_by_id() {
    let (_, service, _) = seeded(&["a", "b"]).await;
    let id = service.get(&key("a")).unwrap().id;
    let items = vec![CloneItem { id, group: None, data_id: Some("a-copy".to_owned()) }];
    let report = service.clone_configs(items, Namespace::public(), SameConfigPolicy::Abort).await.unwrap();
    assert_eq!(report.succeeded, 1);
    assert_eq!(content(&service, "a-copy").as_deref(), Some("old"));

    let unknown = vec![CloneItem { id: 999, group: None, data_id: None }];
    let err = service.clone_configs(unknown, Namespace::public(), SameConfigPolicy::Abort).await.unwrap_err();
    assert!(matches!(err, TransferFailure::Refused(TransferError::NothingSelected)));
}
