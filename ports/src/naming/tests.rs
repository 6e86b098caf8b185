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

/// A registry on node `id` sharing `clock` with its peers.
fn node(id: u64, clock: &Arc<StepClock>) -> Arc<NamingApp> {
    let mut consensus = MockConsensusLog::new();
    consensus.expect_node_id().return_const(id);
    Arc::new(NamingApp::new(Arc::new(consensus), AppliedState::new(), clock.clone()))
}

fn ips(app: &NamingApp, service: &ServiceKey) -> Vec<String> {
    let view = app.view(service, &ViewQuery::default());
    let mut ips: Vec<String> = view.hosts.iter().map(|host| host.ip.clone()).collect();
    ips.sort();
    ips
}

/// One sync round from `from` (node `from_id`) to `to`.
fn sync_round(from: &NamingApp, from_id: u64, to: &NamingApp) {
    to.on_sync(from_id, from.take_unsent());
}

#[tokio::test]
async fn distro_sends_native_changes_and_the_peer_follows_them() {
    let clock = Arc::new(StepClock(AtomicU64::new(1_000)));
    let (a, b) = (node(1, &clock), node(2, &clock));
    let service = key("orders");
    a.register(Registrant::Connection(ConnectionId::new("c1")), &service, &draft("127.0.0.1", 80)).await.unwrap();
    a.register(Registrant::Http, &service, &draft("127.0.0.2", 80)).await.unwrap();
    sync_round(&a, 1, &b);
    assert_eq!(ips(&b, &service), ["127.0.0.1", "127.0.0.2"]);
    // The copies are not the peer's to send on.
    assert!(b.take_unsent().is_empty(), "copies were echoed back");
    assert!(b.digest().is_empty());

    // The connection closes on A; B drops its instance at the next round.
    a.connection_closed(&ConnectionId::new("c1"));
    sync_round(&a, 1, &b);
    assert_eq!(ips(&b, &service), ["127.0.0.2"]);

    // B's own instance in the same service is untouched by A's rounds.
    b.register(Registrant::Connection(ConnectionId::new("b1")), &service, &draft("127.0.0.3", 80)).await.unwrap();
    a.deregister(&service, &address("127.0.0.2", 80), true).await.unwrap();
    sync_round(&a, 1, &b);
    assert_eq!(ips(&b, &service), ["127.0.0.3"]);
    sync_round(&b, 2, &a);
    assert_eq!(ips(&a, &service), ["127.0.0.3"]);
}

#[tokio::test]
async fn a_digest_renews_copies_and_names_the_services_that_differ() {
    let clock = Arc::new(StepClock(AtomicU64::new(1_000)));
    let (a, b) = (node(1, &clock), node(2, &clock));
    let (orders, stock) = (key("orders"), key("stock"));
    a.register(Registrant::Connection(ConnectionId::new("c1")), &orders, &draft("127.0.0.1", 80)).await.unwrap();
    a.register(Registrant::Connection(ConnectionId::new("c1")), &stock, &draft("127.0.0.1", 81)).await.unwrap();
    sync_round(&a, 1, &b);
    assert!(b.on_verify(1, a.digest()).is_empty(), "copies agree");

    // A sync is lost: the digest shows it, and sending the named services again repairs it.
    a.register(Registrant::Connection(ConnectionId::new("c2")), &orders, &draft("127.0.0.2", 80)).await.unwrap();
    let _lost = a.take_unsent();
    let differ = b.on_verify(1, a.digest());
    assert_eq!(differ, vec![orders.clone()]);
    b.on_sync(1, a.native_syncs(differ));
    assert_eq!(ips(&b, &orders), ["127.0.0.1", "127.0.0.2"]);

    // A service A no longer has instances in, but B still holds: dropped on the digest.
    a.connection_closed(&ConnectionId::new("c1"));
    let _lost = a.take_unsent();
    b.on_verify(1, a.digest());
    assert!(ips(&b, &stock).is_empty());
}

#[tokio::test]
async fn copies_from_a_silent_node_go_after_the_lease_and_only_then() {
    use domain::naming::distro::LEASE_MS;
    let clock = Arc::new(StepClock(AtomicU64::new(1_000)));
    let (a, b, c) = (node(1, &clock), node(2, &clock), node(3, &clock));
    let service = key("orders");
    a.register(Registrant::Connection(ConnectionId::new("c1")), &service, &draft("127.0.0.1", 80)).await.unwrap();
    c.register(Registrant::Connection(ConnectionId::new("x1")), &service, &draft("127.0.0.3", 80)).await.unwrap();
    sync_round(&a, 1, &b);
    sync_round(&c, 3, &b);

    // A falls silent; C keeps verifying.
    clock.0.fetch_add(LEASE_MS, Ordering::Relaxed);
    b.on_verify(3, c.digest());
    assert!(b.expire_copies().is_empty(), "at the lease's end the copies still count");
    assert_eq!(ips(&b, &service), ["127.0.0.1", "127.0.0.3"]);
    clock.0.fetch_add(1, Ordering::Relaxed);
    assert_eq!(b.expire_copies(), vec![1]);
    assert_eq!(ips(&b, &service), ["127.0.0.3"]);

    // A starting node loads a snapshot from a peer: every copy, with its responsible node.
    let d = node(4, &clock);
    d.load_copies(b.snapshot());
    assert_eq!(ips(&d, &service), ["127.0.0.3"]);
    assert!(d.take_unsent().is_empty() && d.digest().is_empty(), "loaded copies are not native");
}

#[tokio::test]
async fn beat_expiry_leaves_copies_to_the_node_responsible_for_them() {
    let clock = Arc::new(StepClock(AtomicU64::new(1_000)));
    let (a, b) = (node(1, &clock), node(2, &clock));
    let service = key("orders");
    a.register(Registrant::Http, &service, &draft("127.0.0.1", 80)).await.unwrap();
    sync_round(&a, 1, &b);
    clock.0.fetch_add(60_000, Ordering::Relaxed);
    b.expire();
    assert_eq!(ips(&b, &service), ["127.0.0.1"], "B expired a copy A is responsible for");
    a.expire();
    assert!(ips(&a, &service).is_empty());
    sync_round(&a, 1, &b);
    assert!(ips(&b, &service).is_empty());
}

#[tokio::test]
async fn a_node_that_gets_an_http_client_s_beats_adopts_it_and_keeps_it_past_the_old_node_s_lease() {
    use domain::naming::distro::LEASE_MS;
    let clock = Arc::new(StepClock(AtomicU64::new(1_000)));
    let (a, b) = (node(1, &clock), node(2, &clock));
    let service = key("orders");
    a.register(Registrant::Http, &service, &draft("127.0.0.1", 80)).await.unwrap();
    sync_round(&a, 1, &b);

    // A dies; the beats now reach B (routed there): B adopts the client.
    clock.0.fetch_add(3_000, Ordering::Relaxed);
    assert!(b.beat(&service, &address("127.0.0.1", 80), None).unwrap().known);
    let sent = b.take_unsent();
    assert_eq!(sent.len(), 1, "the adopted client goes out as B's");
    assert_eq!(b.digest().len(), 1);
    clock.0.fetch_add(LEASE_MS + 1, Ordering::Relaxed);
    b.beat(&service, &address("127.0.0.1", 80), None).unwrap();
    assert!(b.expire_copies().contains(&1));
    assert_eq!(ips(&b, &service), ["127.0.0.1"], "a beating instance went with its old node");
}

#[tokio::test]
async fn a_relayed_registration_is_read_at_once_where_it_arrived_and_the_owner_s_sync_rules() {
    let clock = Arc::new(StepClock(AtomicU64::new(1_000)));
    let (owner, entry) = (node(1, &clock), node(2, &clock));
    let service = key("orders");
    // Node 2 passed the registration to node 1, which took it; node 2 mirrors it.
    owner.register(Registrant::Http, &service, &draft("127.0.0.1", 80)).await.unwrap();
    entry.record_relayed(1, &service, &draft("127.0.0.1", 80)).unwrap();
    assert_eq!(ips(&entry, &service), ["127.0.0.1"]);
    assert!(entry.take_unsent().is_empty() && entry.digest().is_empty(), "the mirror is node 1's copy");
    // Node 1's sync confirms it; its digest agrees with the copy.
    sync_round(&owner, 1, &entry);
    assert!(entry.on_verify(1, owner.digest()).is_empty());
    // A client node 2 itself handles is never demoted to a copy by a mirror.
    entry.register(Registrant::Http, &service, &draft("127.0.0.2", 80)).await.unwrap();
    entry.record_relayed(1, &service, &draft("127.0.0.2", 80)).unwrap();
    assert_eq!(entry.digest().len(), 1);
}

/// A recorded sync: pattern, changes, initializing.
type RecordedSync = (String, Vec<(String, FuzzyChange)>, bool);

/// Records the fuzzy watch deliveries.
#[derive(Default)]
struct FuzzyRecorder {
    syncs: Mutex<Vec<RecordedSync>>,
    notices: Mutex<Vec<(String, String, FuzzyChange)>>,
}

impl ServicePush for FuzzyRecorder {
    fn push(&self, _: &SubscriberId, _: Arc<SharedView>) {}

    fn fuzzy_watch_sync(&self, _: &ConnectionId, pattern: &str, changes: Vec<(String, FuzzyChange)>, init: bool) {
        self.syncs.lock().unwrap().push((pattern.to_owned(), changes, init));
    }

    fn fuzzy_watch_changed(&self, connection: &ConnectionId, service_key: &str, change: FuzzyChange) {
        self.notices.lock().unwrap().push((connection.as_str().to_owned(), service_key.to_owned(), change));
    }
}

#[tokio::test]
async fn fuzzy_watchers_hear_of_matching_services_that_come_and_go() {
    let (app, _, _) = app();
    let fuzzy = Arc::new(FuzzyRecorder::default());
    app.add_pusher(fuzzy.clone());
    app.register_ephemeral(conn("c"), &key("order-api"), &draft("10.0.0.1", 1)).unwrap();
    app.register_ephemeral(conn("c"), &key("user-api"), &draft("10.0.0.1", 1)).unwrap();
    app.flush_pushes();
    let watcher = ConnectionId::new("w");
    let received: BTreeSet<String> = ["public@@DEFAULT_GROUP@@order-old".to_owned()].into();
    app.fuzzy_watch(&watcher, "public>>DEFAULT_GROUP>>order-*", &received, true).unwrap();
    let added = ("public@@DEFAULT_GROUP@@order-api".to_owned(), FuzzyChange::Added);
    let gone = ("public@@DEFAULT_GROUP@@order-old".to_owned(), FuzzyChange::Removed);
    assert_eq!(*fuzzy.syncs.lock().unwrap(), [("public>>DEFAULT_GROUP>>order-*".to_owned(), vec![added, gone], true)]);

    // A new matching service (ephemeral, then one created through raft), a second instance
    // (no notice), one that does not match (none), then both gone.
    app.register_ephemeral(conn("c"), &key("order-web"), &draft("10.0.0.1", 1)).unwrap();
    app.register_ephemeral(conn("c"), &key("order-web"), &draft("10.0.0.2", 1)).unwrap();
    app.register_ephemeral(conn("c"), &key("user-web"), &draft("10.0.0.1", 1)).unwrap();
    app.create_service(&key("order-db"), ServiceMeta::default()).await.unwrap();
    app.flush_pushes();
    app.connection_closed(&ConnectionId::new("c"));
    app.remove_service(&key("order-db")).await.unwrap();
    app.flush_pushes();
    let notice = |name: &str, change| ("w".to_owned(), format!("public@@DEFAULT_GROUP@@{name}"), change);
    let mut notices = fuzzy.notices.lock().unwrap().clone();
    notices.sort_by(|a, b| a.1.cmp(&b.1));
    assert_eq!(
        notices,
        [
            notice("order-api", FuzzyChange::Removed),
            notice("order-db", FuzzyChange::Added),
            notice("order-db", FuzzyChange::Removed),
            notice("order-web", FuzzyChange::Added),
            notice("order-web", FuzzyChange::Removed),
        ]
    );

    // Cancelled, or the watcher's connection closed: nothing more.
    app.fuzzy_cancel(&watcher, "public>>DEFAULT_GROUP>>order-*").unwrap();
    app.register_ephemeral(conn("d"), &key("order-new"), &draft("10.0.0.1", 1)).unwrap();
    app.fuzzy_watch(&ConnectionId::new("x"), "public>>*>>*", &BTreeSet::new(), false).unwrap();
    app.connection_closed(&ConnectionId::new("x"));
    app.register_ephemeral(conn("d"), &key("other"), &draft("10.0.0.1", 1)).unwrap();
    app.flush_pushes();
    assert_eq!(fuzzy.notices.lock().unwrap().len(), 5);
    let bad = app.fuzzy_watch(&watcher, "public>>only-two", &BTreeSet::new(), true);
    assert!(matches!(bad, Err(FuzzyWatchError::Invalid { .. })));
}
