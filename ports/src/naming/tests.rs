use std::sync::atomic::{AtomicU64, Ordering};

use domain::config::{ConnectionId, Namespace};
use domain::naming::{
    ClusterName, Instance, InstanceAddress, InstanceDraft, Owner, ServiceKey, ServiceView, Subscriber, DEFAULT_GROUP,
};
use domain::paging::PageRequest;

use super::*;
use crate::consensus::MockConsensusLog;

struct StepClock(AtomicU64);

impl Clock for StepClock {
    fn now(&self) -> Millis {
        Millis(self.0.load(Ordering::Relaxed))
    }
}

/// Records every push.
#[derive(Default)]
struct Recorder(Mutex<Vec<(SubscriberId, Arc<SharedView>)>>);

impl ServicePush for Recorder {
    fn push(&self, subscriber: &SubscriberId, view: Arc<SharedView>) {
        self.0.lock().unwrap().push((subscriber.clone(), view));
    }
}

fn app() -> (Arc<NamingApp>, Arc<Recorder>, Arc<StepClock>) {
    let state = AppliedState::new();
    let mut consensus = MockConsensusLog::new();
    let applied = state.clone();
    consensus.expect_propose().returning(move |command| Ok(applied.apply(&command).verdict()));
    let clock = Arc::new(StepClock(AtomicU64::new(1_000)));
    let app = Arc::new(NamingApp::new(Arc::new(consensus), state.clone(), clock.clone()));
    state.observe(app.clone());
    let recorder = Arc::new(Recorder::default());
    app.add_pusher(recorder.clone());
    (app, recorder, clock)
}

fn key(name: &str) -> ServiceKey {
    ServiceKey::parse(None, None, Some(name)).unwrap()
}

fn draft(ip: &str, port: i64) -> InstanceDraft {
    InstanceDraft { ip: Some(ip.to_owned()), port: Some(port), ..InstanceDraft::default() }
}

fn conn(id: &str) -> Owner {
    Owner::Connection(ConnectionId::new(id))
}

fn subscriber() -> Subscriber {
    Subscriber { clusters: String::new(), client_ip: "10.0.0.9".into(), app: String::new() }
}

fn address(ip: &str, port: i64) -> InstanceAddress {
    InstanceAddress::parse(Some(ip), Some(port), None).unwrap()
}

fn hosts(view: &ServiceView) -> Vec<u16> {
    view.hosts.iter().map(|h| h.port).collect()
}

#[test]
fn a_burst_of_registrations_is_one_push_per_subscriber_with_the_latest_view() {
    let (app, pushes, _) = app();
    let service = key("svc");
    let watcher = SubscriberId::Connection(ConnectionId::new("watcher"));
    assert!(app.subscribe(watcher.clone(), &service, subscriber()).hosts.is_empty());
    for port in 1..=1000 {
        app.register_ephemeral(conn("c"), &service, &draft("10.0.0.1", port)).unwrap();
    }
    assert_eq!(app.flush_pushes(), 1, "the burst and the welcome push coalesce");
    let pushed = pushes.0.lock().unwrap();
    assert_eq!(pushed[0].0, watcher);
    assert_eq!(pushed[0].1.hosts.len(), 1000);
    drop(pushed);
    assert_eq!(app.flush_pushes(), 0, "nothing changed since");
}

#[test]
fn views_are_cached_until_a_change_and_ref_times_increase() {
    let (app, _, _) = app();
    let service = key("svc");
    let query = ViewQuery::default();
    app.register_ephemeral(conn("c"), &service, &draft("10.0.0.1", 1)).unwrap();
    let first = app.view(&service, &query);
    assert!(Arc::ptr_eq(&first, &app.view(&service, &query)));
    app.register_ephemeral(conn("c"), &service, &draft("10.0.0.1", 2)).unwrap();
    let second = app.view(&service, &query);
    assert_eq!(hosts(&second), vec![1, 2]);
    assert!(second.last_ref_time > first.last_ref_time, "the clock did not move but the view is newer");
}

#[test]
fn a_closed_connection_removes_its_instances_and_pushes() {
    let (app, pushes, _) = app();
    let service = key("svc");
    app.register_ephemeral(conn("a"), &service, &draft("10.0.0.1", 1)).unwrap();
    app.register_ephemeral(conn("b"), &service, &draft("10.0.0.2", 2)).unwrap();
    app.subscribe(SubscriberId::Connection(ConnectionId::new("w")), &service, subscriber());
    app.flush_pushes();
    app.connection_closed(&ConnectionId::new("a"));
    app.flush_pushes();
    let pushed = pushes.0.lock().unwrap();
    assert_eq!(hosts(&pushed.last().unwrap().1), vec![2]);
}

#[tokio::test]
async fn ephemeral_and_persistent_instances_do_not_mix_in_one_service() {
    let (app, _, _) = app();
    let service = key("svc");
    app.register_persistent(&service, &draft("10.0.0.1", 1)).await.unwrap();
    let err = app.register_ephemeral(conn("c"), &service, &draft("10.0.0.2", 2)).unwrap_err();
    assert!(matches!(err, NamingServiceError::Rejected(Rejection::ServiceIsPersistent(_))), "{err}");
    let other = key("other");
    app.register_ephemeral(conn("c"), &other, &draft("10.0.0.2", 2)).unwrap();
    let err = app.register_persistent(&other, &draft("10.0.0.1", 1)).await.unwrap_err();
    assert!(matches!(err, NamingServiceError::Rejected(Rejection::ServiceIsEphemeral(_))), "{err}");
    let view = app.view(&service, &ViewQuery::default());
    assert!(view.hosts.iter().all(|h: &Instance| !h.ephemeral));
}

#[tokio::test]
async fn persistent_changes_applied_by_raft_reach_subscribers() {
    let (app, pushes, _) = app();
    let service = key("svc");
    app.subscribe(SubscriberId::Connection(ConnectionId::new("w")), &service, subscriber());
    app.flush_pushes();
    app.register_persistent(&service, &draft("10.0.0.1", 1)).await.unwrap();
    assert_eq!(app.flush_pushes(), 1);
    assert_eq!(hosts(&pushes.0.lock().unwrap().last().unwrap().1), vec![1]);
    app.set_health(&service, &address("10.0.0.1", 1), false).await.unwrap();
    assert_eq!(app.flush_pushes(), 1);
    assert!(!app.instance(&service, "10.0.0.1", 1, None).unwrap().healthy);
}

#[test]
fn light_beats_for_unknown_instances_ask_for_registration_and_full_beats_register() {
    let (app, _, clock) = app();
    let service = key("svc");
    let cluster = ClusterName::default();
    let reply = app.beat(&service, &address("10.0.0.1", 1), None).unwrap();
    assert!(!reply.known);
    let reply = app.beat(&service, &address("10.0.0.1", 1), Some(draft("10.0.0.1", 1))).unwrap();
    assert!(reply.known && reply.interval == 5_000);
    assert!(app.instance(&service, "10.0.0.1", 1, Some(cluster.clone())).is_some());
    clock.0.store(1_000 + 31_000, Ordering::Relaxed);
    app.expire();
    assert!(app.instance(&service, "10.0.0.1", 1, Some(cluster)).is_none(), "no beats for 31 s: removed");
}

#[test]
fn service_lists_merge_both_kinds_and_page() {
    let (app, _, _) = app();
    for name in ["c", "a", "b"] {
        app.register_ephemeral(conn("x"), &key(name), &draft("10.0.0.1", 1)).unwrap();
    }
    let page =
        app.services(&Namespace::public(), Some(DEFAULT_GROUP.to_owned()), "", PageRequest::new(None, Some(2), 20));
    assert_eq!(page.total, 3);
    let names: Vec<&str> = page.items.iter().map(|s| s.service.name.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(app.metrics().instance_count, 3);
}

#[tokio::test]
async fn http_registrations_are_ephemeral_and_beat_kept_unless_asked_otherwise() {
    let (app, _, _) = app();
    let (beaten, stored) = (key("beaten"), key("stored"));
    app.register(Registrant::Http, &beaten, &draft("10.0.0.1", 1)).await.unwrap();
    let persistent = InstanceDraft { ephemeral: Some(false), ..draft("10.0.0.1", 1) };
    app.register(Registrant::Http, &stored, &persistent).await.unwrap();
    assert!(app.view(&beaten, &ViewQuery::default()).hosts[0].ephemeral);
    assert!(!app.view(&stored, &ViewQuery::default()).hosts[0].ephemeral);
    assert!(app.beat(&beaten, &address("10.0.0.1", 1), None).unwrap().known, "kept by beats from its address");
    app.deregister(&stored, &address("10.0.0.1", 1), false).await.unwrap();
    assert!(app.view(&stored, &ViewQuery::default()).hosts.is_empty());
}

#[test]
fn the_summary_flags_the_protect_threshold_as_views_apply_it() {
    let (app, _, _) = app();
    let service = key("svc");
    let up = draft("10.0.0.1", 1);
    let down = InstanceDraft { healthy: Some(false), ..draft("10.0.0.2", 2) };
    let off = InstanceDraft { enabled: Some(false), ..draft("10.0.0.3", 3) };
    let meta = ServiceMeta {
        protect_threshold: domain::naming::ProtectThreshold::new(0.5).unwrap(),
        ephemeral: true,
        ..ServiceMeta::default()
    };
    futures_lite_block_on(app.create_service(&service, meta)).unwrap();
    app.register_batch(&ConnectionId::new("c"), &service, &[up, down, off]).unwrap();
    let summary = app.service(&service).unwrap();
    let view = app.view(&service, &ViewQuery::default());
    assert!(view.reach_protection_threshold, "one of two enabled hosts is healthy");
    assert!(summary.protect_triggered, "the console flag agrees with the view, ignoring the disabled host");
}

fn futures_lite_block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(future)
}

#[test]
fn when_every_client_leaves_a_subscriber_gets_one_push_per_service_per_round() {
    let (app, pushes, _) = app();
    let services: Vec<ServiceKey> = (0..10).map(|n| key(&format!("s{n}"))).collect();
    for client in 0..200 {
        for service in &services {
            app.register_ephemeral(conn(&format!("c{client}")), service, &draft("127.0.0.1", client + 1)).unwrap();
        }
    }
    let watcher = SubscriberId::Connection(ConnectionId::new("watcher"));
    for service in &services {
        app.subscribe(watcher.clone(), service, subscriber());
    }
    app.flush_pushes();
    pushes.0.lock().unwrap().clear();
    for client in 0..200 {
        app.connection_closed(&ConnectionId::new(format!("c{client}")));
    }
    assert_eq!(app.flush_pushes(), 10, "one push per service, not one per departed client");
    let pushed = pushes.0.lock().unwrap();
    assert!(pushed.iter().all(|(id, view)| *id == watcher && view.hosts.is_empty()), "each shows the empty service");
}
