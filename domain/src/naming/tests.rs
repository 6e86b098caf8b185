use std::collections::BTreeMap;

use super::*;
use crate::config::ConnectionId;
use crate::{Command, Millis, Outcome, Rejection, State};

fn key(name: &str) -> ServiceKey {
    ServiceKey::parse(None, None, Some(name)).unwrap()
}

fn draft(ip: &str, port: i64) -> InstanceDraft {
    InstanceDraft { ip: Some(ip.to_owned()), port: Some(port), ..InstanceDraft::default() }
}

fn instance(_service: &ServiceKey, ip: &str, port: i64) -> Instance {
    draft(ip, port).validate().unwrap()
}

fn conn(id: &str) -> Owner {
    Owner::Connection(ConnectionId::new(id))
}

fn beats(ip: &str, port: u16) -> Owner {
    Owner::Beats { ip: ip.to_owned(), port }
}

/// The addresses in `service`, sorted (the registry keeps no order).
fn addrs(registry: &EphemeralRegistry, service: &ServiceKey) -> Vec<(String, u16)> {
    let mut addrs: Vec<(String, u16)> = registry.instances(service).map(|i| (i.ip.clone(), i.port)).collect();
    addrs.sort();
    addrs
}

#[test]
fn service_keys_accept_plain_and_grouped_names() {
    let plain = ServiceKey::parse(Some(""), Some("G"), Some("svc")).unwrap();
    assert_eq!(plain.grouped_name(), "G@@svc");
    assert!(plain.namespace.is_public());
    let grouped = ServiceKey::parse(None, None, Some("G@@svc")).unwrap();
    assert_eq!(grouped, plain);
    assert_eq!(key("svc").group.as_str(), DEFAULT_GROUP);
    assert_eq!(ServiceKey::parse(None, Some("G"), Some("G@@svc")).unwrap(), plain);
}

#[test]
fn service_keys_refuse_bad_names() {
    assert_eq!(ServiceKey::parse(None, None, None), Err(NamingError::Missing("serviceName")));
    assert_eq!(ServiceKey::parse(None, None, Some("  ")), Err(NamingError::Missing("serviceName")));
    assert!(matches!(ServiceKey::parse(None, None, Some("@@svc")), Err(NamingError::Invalid { .. })));
    assert!(matches!(ServiceKey::parse(None, None, Some("a b")), Err(NamingError::Invalid { .. })));
    assert!(matches!(ServiceKey::parse(None, None, Some("a/b")), Err(NamingError::Invalid { .. })));
    assert!(matches!(ServiceKey::parse(None, None, Some("G@@a@@b")), Err(NamingError::Invalid { .. })));
    assert!(matches!(ServiceKey::parse(None, Some("H"), Some("G@@svc")), Err(NamingError::GroupMismatch { .. })));
    assert!(matches!(ServiceKey::parse(Some("bad ns"), None, Some("svc")), Err(NamingError::Invalid { .. })));
    assert!(ServiceKey::parse(None, None, Some("providers:com.example.Api:1.0.0:")).is_ok());
}

#[test]
fn instances_get_defaults_and_a_generated_id() {
    let service = ServiceKey::parse(None, Some("G"), Some("svc")).unwrap();
    let instance = instance(&service, "10.0.0.1", 8080);
    assert_eq!(instance.id(&service), "10.0.0.1#8080#DEFAULT#G@@svc");
    assert_eq!(instance.weight.value(), 1.0);
    assert!(instance.healthy && instance.enabled && instance.ephemeral);
    assert_eq!(instance.cluster.as_str(), DEFAULT_CLUSTER);
    let named = InstanceDraft { instance_id: Some("mine".into()), ..draft("host-a.example", 1) };
    assert_eq!(named.validate().unwrap().id(&service), "mine");
}

#[test]
fn invalid_instances_are_refused() {
    let cases: Vec<(InstanceDraft, &str)> = vec![
        (InstanceDraft { ip: None, ..draft("", 1) }, "ip"),
        (draft("not an ip", 1), "ip"),
        (draft("999.1.1.1", 1), "ip"),
        (draft("10.0.0.1", -1), "port"),
        (draft("10.0.0.1", 70_000), "port"),
        (InstanceDraft { port: None, ..draft("10.0.0.1", 1) }, "port"),
        (InstanceDraft { weight: Some(10_000.5), ..draft("10.0.0.1", 1) }, "weight"),
        (InstanceDraft { weight: Some(-1.0), ..draft("10.0.0.1", 1) }, "weight"),
        (InstanceDraft { weight: Some(f64::NAN), ..draft("10.0.0.1", 1) }, "weight"),
        (InstanceDraft { cluster: Some("a_b".into()), ..draft("10.0.0.1", 1) }, "clusterName"),
    ];
    for (draft, what) in cases {
        assert!(draft.validate().is_err(), "{what}: {draft:?} was accepted");
    }
    assert!(draft("::1", 1).validate().is_ok());
}

#[test]
fn heartbeat_metadata_must_be_consistent() {
    let with = |pairs: &[(&str, &str)]| InstanceDraft {
        metadata: pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        ..draft("10.0.0.1", 1)
    };
    let ok = with(&[("preserved.heart.beat.interval", "1000"), ("preserved.heart.beat.timeout", "3000")]);
    let times = ok.validate().unwrap().heartbeat();
    assert_eq!((times.interval, times.timeout, times.delete_after), (1000, 3000, 30_000));
    let bad = with(&[("preserved.heart.beat.interval", "20000")]);
    assert_eq!(bad.validate(), Err(NamingError::HeartbeatTimes));
    assert!(with(&[("preserved.heart.beat.timeout", "soon")]).validate().is_err());
    assert!(with(&[("preserved.instance.id.generator", "uuid")]).validate().is_err());
}

#[test]
fn registering_the_same_address_replaces_and_others_add() {
    let service = key("svc");
    let mut registry = EphemeralRegistry::default();
    assert!(registry.register(conn("c1"), &service, instance(&service, "10.0.0.1", 1), Millis(1)));
    assert!(registry.register(conn("c1"), &service, instance(&service, "10.0.0.2", 1), Millis(1)));
    assert!(!registry.register(conn("c1"), &service, instance(&service, "10.0.0.2", 1), Millis(2)));
    let mut heavier = instance(&service, "10.0.0.2", 1);
    heavier.weight = Weight::new(3.0).unwrap();
    assert!(registry.register(conn("c1"), &service, heavier, Millis(3)));
    assert_eq!(addrs(&registry, &service), vec![("10.0.0.1".into(), 1), ("10.0.0.2".into(), 1)]);
    assert_eq!(registry.instances(&service).nth(1).unwrap().weight.value(), 3.0);
}

#[test]
fn deregister_removes_only_that_address() {
    let service = key("svc");
    let mut registry = EphemeralRegistry::default();
    registry.register(conn("c1"), &service, instance(&service, "10.0.0.1", 1), Millis(1));
    registry.register(conn("c1"), &service, instance(&service, "10.0.0.2", 1), Millis(1));
    assert!(registry.deregister(&service, "10.0.0.1", 1, &ClusterName::default()));
    assert!(!registry.deregister(&service, "10.0.0.1", 1, &ClusterName::default()));
    assert_eq!(addrs(&registry, &service), vec![("10.0.0.2".into(), 1)]);
    assert!(registry.deregister(&service, "10.0.0.2", 1, &ClusterName::default()));
    assert!(!registry.has_instances(&service));
    assert_eq!(registry.owner_count(), 0, "an owner with nothing left is forgotten");
}

#[test]
fn every_instance_stays_reachable_by_address_through_removals() {
    // Removing from the middle moves the last entry into the hole: it must still be found.
    let service = key("svc");
    let mut registry = EphemeralRegistry::default();
    for port in 1..=200 {
        registry.register(conn("c1"), &service, instance(&service, "10.0.0.1", port), Millis(1));
    }
    for port in (1..=200).step_by(3) {
        assert!(registry.deregister(&service, "10.0.0.1", port as u16, &ClusterName::default()));
    }
    let left: Vec<u16> = (1..=200).filter(|port| (port - 1) % 3 != 0).collect();
    assert_eq!(addrs(&registry, &service), left.iter().map(|&port| ("10.0.0.1".to_owned(), port)).collect::<Vec<_>>());
    for &port in &left {
        let outcome = registry.beat(&service, "10.0.0.1", port, &ClusterName::default(), Millis(2));
        assert!(matches!(outcome, BeatOutcome::Alive { .. }), "port {port} lost");
    }
    assert_eq!(registry.client_gone(&conn("c1")), vec![service.clone()]);
    assert!(!registry.has_instances(&service));
}

#[test]
fn batch_replaces_the_owners_set_only() {
    let service = key("svc");
    let mut registry = EphemeralRegistry::default();
    registry.register(conn("other"), &service, instance(&service, "10.0.0.9", 9), Millis(1));
    let batch = vec![instance(&service, "10.0.0.1", 1), instance(&service, "10.0.0.2", 2)];
    assert!(registry.replace_batch(conn("c1"), &service, batch, Millis(1)));
    assert_eq!(registry.instance_count(), 3);
    assert!(registry.replace_batch(conn("c1"), &service, vec![instance(&service, "10.0.0.2", 2)], Millis(2)));
    assert_eq!(addrs(&registry, &service), vec![("10.0.0.2".into(), 2), ("10.0.0.9".into(), 9)]);
    assert!(!registry.replace_batch(conn("c1"), &service, vec![instance(&service, "10.0.0.2", 2)], Millis(3)));
}

#[test]
fn a_closed_connection_takes_its_instances_with_it() {
    let (a, b) = (key("a"), key("b"));
    let mut registry = EphemeralRegistry::default();
    registry.register(conn("c1"), &a, instance(&a, "10.0.0.1", 1), Millis(1));
    registry.register(conn("c1"), &b, instance(&b, "10.0.0.1", 1), Millis(1));
    registry.register(conn("c2"), &b, instance(&b, "10.0.0.2", 1), Millis(1));
    assert_eq!(registry.client_gone(&conn("c1")), vec![a.clone(), b.clone()]);
    assert!(!registry.has_instances(&a));
    assert_eq!(addrs(&registry, &b), vec![("10.0.0.2".into(), 1)]);
    assert!(registry.client_gone(&conn("c1")).is_empty());
}

#[test]
fn a_reregistration_by_another_owner_moves_the_instance() {
    let service = key("svc");
    let mut registry = EphemeralRegistry::default();
    registry.register(conn("old"), &service, instance(&service, "10.0.0.1", 1), Millis(1));
    registry.register(conn("new"), &service, instance(&service, "10.0.0.1", 1), Millis(2));
    assert!(registry.client_gone(&conn("old")).is_empty());
    assert_eq!(registry.instance_count(), 1);
}

#[test]
fn beats_expire_instances_by_their_own_timeouts() {
    let service = key("svc");
    let mut registry = EphemeralRegistry::default();
    let mut quick = instance(&service, "10.0.0.1", 1);
    quick.metadata = Metadata::from(BTreeMap::from([
        ("preserved.heart.beat.interval".to_owned(), "500".to_owned()),
        ("preserved.heart.beat.timeout".to_owned(), "1000".to_owned()),
        ("preserved.ip.delete.timeout".to_owned(), "2000".to_owned()),
    ]));
    registry.register(beats("10.0.0.1", 1), &service, quick, Millis(0));
    registry.register(conn("c"), &service, instance(&service, "10.0.0.2", 2), Millis(0));
    assert!(registry.expire(Millis(1000), |_| false).is_empty(), "at the timeout it is still healthy");
    assert_eq!(registry.expire(Millis(1001), |_| false), vec![service.clone()]);
    assert!(!registry.instances(&service).next().unwrap().healthy);
    assert!(registry.expire(Millis(1500), |_| false).is_empty(), "unhealthy once, pushed once");
    assert_eq!(
        registry.beat(&service, "10.0.0.1", 1, &ClusterName::default(), Millis(1600)),
        BeatOutcome::Alive { interval: 500, changed: true }
    );
    assert!(registry.instances(&service).next().unwrap().healthy);
    assert_eq!(registry.expire(Millis(3601), |_| false), vec![service.clone()]);
    assert_eq!(addrs(&registry, &service), vec![("10.0.0.2".into(), 2)], "connection-owned never expire");
    assert_eq!(registry.beat(&service, "10.0.0.1", 1, &ClusterName::default(), Millis(4000)), BeatOutcome::Unknown);
}

#[test]
fn copies_another_node_is_responsible_for_do_not_expire_here() {
    let service = key("svc");
    let mut registry = EphemeralRegistry::default();
    registry.register(beats("10.0.0.1", 1), &service, instance(&service, "10.0.0.1", 1), Millis(0));
    let far_later = Millis(10 * 60 * 1000);
    assert!(registry.expire(far_later, |owner| *owner == beats("10.0.0.1", 1)).is_empty());
    assert!(registry.instances(&service).next().unwrap().healthy);
    assert_eq!(registry.services_of(&beats("10.0.0.1", 1)).count(), 1);
    assert_eq!(registry.expire(far_later, |_| false), vec![service.clone()]);
    assert!(!registry.has_owner(&beats("10.0.0.1", 1)));
}

#[test]
fn update_patches_an_existing_instance() {
    let service = key("svc");
    let mut registry = EphemeralRegistry::default();
    registry.register(conn("c"), &service, instance(&service, "10.0.0.1", 1), Millis(0));
    let patch = InstancePatch { enabled: Some(false), ..InstancePatch::default() };
    let cluster = ClusterName::default();
    assert_eq!(registry.update(&service, "10.0.0.1", 1, &cluster, |i| patch.apply_to(i)), Ok(Some(true)));
    assert_eq!(registry.update(&service, "10.0.0.9", 1, &cluster, |i| patch.apply_to(i)), Ok(None));
    let bad = InstancePatch { weight: Some(1e9), ..InstancePatch::default() };
    assert!(registry.update(&service, "10.0.0.1", 1, &cluster, |i| bad.apply_to(i)).is_err());
    assert!(!registry.instances(&service).next().unwrap().enabled);
}

fn view(meta: Option<&ServiceMeta>, instances: &[Instance], clusters: &str, healthy_only: bool) -> ServiceView {
    let query = ViewQuery::new(clusters, healthy_only, None);
    compute_view(&key("svc"), meta, instances.iter(), &query, None, Millis(7))
}

#[test]
fn views_filter_by_cluster_enabled_and_health() {
    let service = key("svc");
    let mut a = instance(&service, "10.0.0.1", 1);
    a.cluster = ClusterName::new("c1").unwrap();
    let mut b = instance(&service, "10.0.0.2", 1);
    b.cluster = ClusterName::new("c2").unwrap();
    b.healthy = false;
    let mut c = instance(&service, "10.0.0.3", 1);
    c.enabled = false;
    let all = [a, b, c];
    let ips = |view: &ServiceView| view.hosts.iter().map(|h| h.ip.clone()).collect::<Vec<_>>();
    assert_eq!(ips(&view(None, &all, "", false)), ["10.0.0.1", "10.0.0.2"]);
    assert_eq!(ips(&view(None, &all, "c1", false)), ["10.0.0.1"]);
    assert_eq!(ips(&view(None, &all, "c1, c2", false)), ["10.0.0.1", "10.0.0.2"]);
    assert_eq!(ips(&view(None, &all, "", true)), ["10.0.0.1"]);
    let shown = view(None, &all, "c2", false);
    assert_eq!(shown.clusters, "c2");
    assert_eq!(shown.last_ref_time, Millis(7));
    assert!(!shown.reach_protection_threshold, "no stored metadata, no threshold");
    let reordered = [all[1].clone(), all[0].clone()];
    assert_eq!(view(None, &reordered, "", false).checksum, view(None, &all, "", false).checksum);
    assert_ne!(view(None, &all, "c1", false).checksum, view(None, &all, "", false).checksum);
}

#[test]
fn the_protect_threshold_shows_everything_healthy() {
    let service = key("svc");
    let mut sick = instance(&service, "10.0.0.1", 1);
    sick.healthy = false;
    let well = instance(&service, "10.0.0.2", 1);
    let default_meta = ServiceMeta::default();
    let fired = view(Some(&default_meta), &[sick.clone()], "", false);
    assert!(fired.reach_protection_threshold && fired.hosts[0].healthy);
    let calm = view(Some(&default_meta), &[sick.clone(), well.clone()], "", false);
    assert!(!calm.reach_protection_threshold && !calm.hosts[0].healthy);
    let half = ServiceMeta { protect_threshold: ProtectThreshold::new(0.5).unwrap(), ..ServiceMeta::default() };
    assert!(view(Some(&half), &[sick, well], "", false).reach_protection_threshold);
    assert!(!view(Some(&half), &[], "", false).reach_protection_threshold, "never on an empty list");
    assert!(ProtectThreshold::new(1.5).is_err());
}

fn apply(state: &mut State, command: NamingCommand) -> Outcome {
    state.apply(&Command::Naming(command))
}

#[test]
fn persistent_registration_creates_an_implicit_service_that_goes_with_its_last_instance() {
    let service = key("svc");
    let mut state = State::default();
    let outcome = apply(
        &mut state,
        NamingCommand::RegisterInstance {
            service: service.clone(),
            instance: instance(&service, "10.0.0.1", 1),
            now: Millis(5),
        },
    );
    assert!(matches!(outcome, Outcome::Applied(ref changes) if changes.len() == 1));
    let stored = state.naming.get(&service).unwrap();
    assert!(stored.meta.implicit && !stored.meta.ephemeral && !stored.instances[0].ephemeral);
    let again = NamingCommand::RegisterInstance {
        service: service.clone(),
        instance: Instance { ephemeral: false, ..instance(&service, "10.0.0.1", 1) },
        now: Millis(6),
    };
    assert_eq!(apply(&mut state, again), Outcome::Applied(vec![]), "an identical registration changes nothing");
    let deregister = NamingCommand::DeregisterInstance {
        service: service.clone(),
        ip: "10.0.0.1".into(),
        port: 1,
        cluster: ClusterName::default(),
    };
    assert!(matches!(apply(&mut state, deregister.clone()), Outcome::Applied(ref c) if c.len() == 1));
    assert!(state.naming.get(&service).is_none());
    assert_eq!(apply(&mut state, deregister), Outcome::Applied(vec![]), "deregistering an absent instance is fine");
}

#[test]
fn service_api_lifecycle_and_rejections() {
    let service = key("svc");
    let mut state = State::default();
    let meta = ServiceMeta { protect_threshold: ProtectThreshold::new(0.3).unwrap(), ..ServiceMeta::default() };
    let create = NamingCommand::CreateService { service: service.clone(), meta: meta.clone() };
    assert!(matches!(apply(&mut state, create.clone()), Outcome::Applied(_)));
    assert_eq!(apply(&mut state, create), Outcome::Rejected(Rejection::ServiceExists("DEFAULT_GROUP@@svc".into())));
    let register = NamingCommand::RegisterInstance {
        service: service.clone(),
        instance: instance(&service, "10.0.0.1", 1),
        now: Millis(1),
    };
    assert!(matches!(apply(&mut state, register), Outcome::Applied(_)));
    let remove = NamingCommand::RemoveService { service: service.clone() };
    assert_eq!(
        apply(&mut state, remove.clone()),
        Outcome::Rejected(Rejection::ServiceNotEmpty("DEFAULT_GROUP@@svc".into()))
    );
    let deregister = NamingCommand::DeregisterInstance {
        service: service.clone(),
        ip: "10.0.0.1".into(),
        port: 1,
        cluster: ClusterName::default(),
    };
    apply(&mut state, deregister);
    assert!(state.naming.get(&service).is_some(), "an explicitly created service stays when empty");
    let updated = ServiceMeta { metadata: BTreeMap::from([("k".into(), "v".into())]), ..ServiceMeta::default() };
    assert!(matches!(
        apply(&mut state, NamingCommand::UpdateService { service: service.clone(), meta: updated }),
        Outcome::Applied(_)
    ));
    assert_eq!(state.naming.get(&service).unwrap().meta.metadata["k"], "v");
    assert!(matches!(apply(&mut state, remove.clone()), Outcome::Applied(_)));
    assert_eq!(apply(&mut state, remove), Outcome::Rejected(Rejection::ServiceNotFound("DEFAULT_GROUP@@svc".into())));
    let ephemeral = ServiceMeta { ephemeral: true, ..ServiceMeta::default() };
    apply(&mut state, NamingCommand::CreateService { service: service.clone(), meta: ephemeral });
    let register = NamingCommand::RegisterInstance {
        service: service.clone(),
        instance: instance(&service, "10.0.0.1", 1),
        now: Millis(1),
    };
    assert_eq!(
        apply(&mut state, register),
        Outcome::Rejected(Rejection::ServiceIsEphemeral("DEFAULT_GROUP@@svc".into()))
    );
}

#[test]
fn subscribers_are_indexed_both_ways() {
    let (a, b) = (key("a"), key("b"));
    let mut table = SubscriberTable::default();
    let sub =
        |clusters: &str| Subscriber { clusters: clusters.to_owned(), client_ip: "10.0.0.1".into(), app: String::new() };
    let c1 = SubscriberId::Connection(ConnectionId::new("c1"));
    assert!(table.subscribe(c1.clone(), &a, sub(""), Millis(0)));
    assert!(!table.subscribe(c1.clone(), &a, sub(""), Millis(0)), "the same subscription again is not new");
    assert!(table.subscribe(c1.clone(), &a, sub("x"), Millis(0)), "a new cluster filter is");
    table.subscribe(c1.clone(), &b, sub(""), Millis(0));
    let udp = SubscriberId::Udp { ip: "10.0.0.2".into(), port: 5000 };
    table.subscribe(udp.clone(), &a, sub(""), Millis(0));
    assert_eq!(table.count(), 3);
    assert_eq!(table.subscribers(&a).find(|(id, _)| **id == c1).unwrap().1.clusters, "x");
    table.expire_udp(Millis(60_001));
    assert_eq!(table.subscribers(&a).count(), 1, "a UDP subscriber that stopped listing is forgotten");
    table.unsubscribe(&c1, &b);
    assert_eq!(table.subscribers(&b).count(), 0);
    table.drop_subscriber(&c1);
    assert_eq!(table.count(), 0);
}

#[test]
fn the_protect_threshold_counts_enabled_instances_only() {
    let meta = ServiceMeta { protect_threshold: ProtectThreshold::new(0.5).unwrap(), ..ServiceMeta::default() };
    let at = |port: i64, healthy: bool, enabled: bool| {
        InstanceDraft {
            ip: Some("10.0.0.1".into()),
            port: Some(port),
            healthy: Some(healthy),
            enabled: Some(enabled),
            ..InstanceDraft::default()
        }
        .validate()
        .unwrap()
    };
    let (up, down, off) = (at(1, true, true), at(2, false, true), at(3, true, false));
    assert!(protect_threshold_reached(&meta, [&up, &down]), "half healthy is at the threshold");
    assert!(protect_threshold_reached(&meta, [&up, &down, &off]), "a disabled healthy instance does not count");
    assert!(!protect_threshold_reached(&meta, [&up, &up, &down]));
    assert!(!protect_threshold_reached(&meta, [&off]), "no enabled instance: nothing to protect");
}

#[test]
fn a_registration_is_ephemeral_unless_asked_and_owned_by_who_registered_it() {
    let draft = InstanceDraft { ip: Some("10.0.0.1".into()), port: Some(80), ..InstanceDraft::default() };
    let connection = Registrant::Connection(ConnectionId::new("c1"));
    assert_eq!(draft.lifetime(&connection).unwrap(), Lifetime::Ephemeral(Owner::Connection(ConnectionId::new("c1"))));
    assert_eq!(
        draft.lifetime(&Registrant::Http).unwrap(),
        Lifetime::Ephemeral(Owner::Beats { ip: "10.0.0.1".into(), port: 80 })
    );
    let persistent = InstanceDraft { ephemeral: Some(false), ..draft.clone() };
    assert_eq!(persistent.lifetime(&Registrant::Http).unwrap(), Lifetime::Persistent);
    assert_eq!(persistent.lifetime(&connection).unwrap(), Lifetime::Persistent);
    let no_ip = InstanceDraft { ip: None, ..draft };
    assert_eq!(no_ip.lifetime(&Registrant::Http), Err(NamingError::Missing("ip")));
}

#[test]
fn a_client_leaving_takes_exactly_what_it_owned_from_crowded_services() {
    let mut registry = EphemeralRegistry::default();
    let services: Vec<ServiceKey> = (0..20).map(|s| key(&format!("s{s}"))).collect();
    for client in 0..50 {
        for service in &services {
            let ip = format!("10.0.{}.{}", client / 200, client % 200);
            registry.register(conn(&format!("c{client}")), service, instance(service, &ip, 80), Millis(0));
        }
        // A client with a second instance in one service, to leave with both.
        if client % 7 == 0 {
            let ip = format!("10.1.0.{client}");
            registry.register(conn(&format!("c{client}")), &services[0], instance(&services[0], &ip, 81), Millis(0));
        }
    }
    let count = |registry: &EphemeralRegistry, service: &ServiceKey| registry.instances(service).count();
    assert_eq!(count(&registry, &services[0]), 50 + 8);
    // Leave in an order that moves entries around inside the rosters.
    for client in [0, 49, 13, 14, 7, 25] {
        let changed = registry.client_gone(&conn(&format!("c{client}")));
        assert_eq!(changed.len(), 20);
    }
    assert_eq!(count(&registry, &services[0]), 50 + 8 - 6 - 4, "c0, c7, c14 and c49 had two there");
    assert_eq!(count(&registry, &services[5]), 44);
    // Every remaining instance is still found by address and by owner.
    for client in (0..50).filter(|c| ![0, 49, 13, 14, 7, 25].contains(c)) {
        let ip = format!("10.0.{}.{}", client / 200, client % 200);
        for service in &services {
            assert!(registry.beat(service, &ip, 80, &ClusterName::default(), Millis(1)) != BeatOutcome::Unknown);
        }
    }
    for client in (0..50).filter(|c| ![0, 49, 13, 14, 7, 25].contains(c)) {
        registry.client_gone(&conn(&format!("c{client}")));
    }
    assert_eq!(registry.instance_count(), 0);
    assert_eq!(registry.owner_count(), 0);
    assert!(registry.services().next().is_none(), "empty services are dropped");
}

#[test]
fn metadata_is_limited_to_what_java_nacos_allows_on_every_way_in() {
    let sized = |chars: usize| BTreeMap::from([("k".to_owned(), "v".repeat(chars - 1))]);
    let at_limit = InstanceDraft { metadata: sized(MAX_METADATA_CHARS), ..draft("127.0.0.1", 80) };
    let instance = at_limit.validate().unwrap();
    let over = InstanceDraft { metadata: sized(MAX_METADATA_CHARS + 1), ..draft("127.0.0.1", 80) };
    assert_eq!(over.validate(), Err(NamingError::MetadataTooLong { limit: 1024 }));
    let patch = InstancePatch { metadata: Some(sized(MAX_METADATA_CHARS + 1)), ..InstancePatch::default() };
    assert_eq!(patch.apply_to(&instance), Err(NamingError::MetadataTooLong { limit: 1024 }));
    // Characters, not bytes; blank keys and values do not count.
    let wide = BTreeMap::from([("k".to_owned(), "é".repeat(1023)), (" ".to_owned(), "  ".to_owned())]);
    assert!(check_metadata_size(&wide).is_ok());
    assert!(check_metadata_size(&BTreeMap::from([("x".repeat(8 << 20), String::new())])).is_err());
    assert_eq!(
        NamingError::MetadataTooLong { limit: 1024 }.to_string(),
        "Param 'Metadata' is illegal, the param length should not exceed 1024."
    );
}

/// Java Nacos's `ParamCheckRule` lengths for naming fields, at the boundary.
#[test]
fn naming_lengths_follow_nacos_parameter_checks() {
    use crate::limits::{MAX_CLUSTER_LEN, MAX_GROUP_LEN, MAX_IP_LEN, MAX_NAMESPACE_ID_LEN, MAX_SERVICE_NAME_LEN};
    let with_cluster = |len: usize| InstanceDraft { cluster: Some("c".repeat(len)), ..draft("10.0.0.1", 1) };
    assert!(with_cluster(MAX_CLUSTER_LEN).validate().is_ok());
    assert_eq!(
        with_cluster(MAX_CLUSTER_LEN + 1).validate(),
        Err(NamingError::TooLong { param: "clusterName", limit: 64 })
    );
    let host = |len: usize| {
        let mut host = "h.".repeat(len).split_off(len);
        host.replace_range(len - 1.., "h");
        host
    };
    assert!(draft(&host(MAX_IP_LEN), 1).validate().is_ok());
    assert_eq!(draft(&host(MAX_IP_LEN + 1), 1).validate(), Err(NamingError::TooLong { param: "ip", limit: 128 }));
    let name = |len: usize| "s".repeat(len);
    assert!(ServiceKey::parse(None, None, Some(&name(MAX_SERVICE_NAME_LEN))).is_ok());
    assert_eq!(
        ServiceKey::parse(None, None, Some(&name(MAX_SERVICE_NAME_LEN + 1))),
        Err(NamingError::TooLong { param: "serviceName", limit: 512 })
    );
    assert_eq!(
        ServiceKey::parse(None, Some(&"g".repeat(MAX_GROUP_LEN + 1)), Some("s")),
        Err(NamingError::TooLong { param: "groupName", limit: 128 })
    );
    assert_eq!(
        ServiceKey::parse(Some(&"n".repeat(MAX_NAMESPACE_ID_LEN + 1)), None, Some("s")),
        Err(NamingError::TooLong { param: "namespaceId", limit: 64 })
    );
    assert!(ClusterName::restore(&"c".repeat(100)).is_ok(), "stored names are read back without the limit");
    assert!(ServiceName::restore(&"s".repeat(600)).is_ok());
}

#[test]
fn label_expressions_parse_as_java_reads_them_and_bad_ones_are_refused() {
    let labels =
        parse_label_expression(" CONSUMER.label.zone = PROVIDER.label.zone & CONSUMER.label.env=PROVIDER.label.env ");
    assert_eq!(labels.unwrap(), ["zone", "env"]);
    assert_eq!(parse_label_expression("  ").unwrap(), Vec::<String>::new());
    for bad in [
        "zone",
        "CONSUMER.label.zone = PROVIDER.label.env",
        "CONSUMER.label.zone == PROVIDER.label.zone",
        "CONSUMER.label. = PROVIDER.label.",
        "PROVIDER.label.zone = CONSUMER.label.zone",
        "CONSUMER.label.zone = PROVIDER.label.zone &",
    ] {
        assert!(parse_label_expression(bad).is_err(), "{bad}");
        assert!(Selector::from_parts(Some("label"), Some(bad)).is_err(), "{bad}");
        assert!(Selector::restore(Some("label"), Some(bad)).is_ok(), "storage reads it back: {bad}");
    }
}

#[test]
fn a_label_selector_shows_a_consumer_the_providers_that_share_its_labels() {
    let provider = |ip: &str, zone: Option<&str>| {
        let metadata = zone.map(|zone| [("zone".to_owned(), zone.to_owned())].into()).unwrap_or_default();
        InstanceDraft { ip: Some(ip.into()), port: Some(80), metadata, ..InstanceDraft::default() }.validate().unwrap()
    };
    let hosts = [provider("127.0.0.1", Some("a")), provider("127.0.0.2", Some("b")), provider("127.0.0.3", None)];
    let selector = Selector::from_parts(Some("label"), Some("CONSUMER.label.zone = PROVIDER.label.zone")).unwrap();
    let meta = ServiceMeta { selector, ..ServiceMeta::default() };
    let ips = |consumer: Option<BTreeMap<String, String>>| -> Vec<String> {
        let query = ViewQuery::new("", false, Some("127.9.9.9"));
        let view = compute_view(&key("svc"), Some(&meta), hosts.iter(), &query, consumer.as_ref(), Millis(1));
        view.hosts.iter().map(|h| h.ip.clone()).collect()
    };
    assert_eq!(ips(Some([("zone".to_owned(), "a".to_owned())].into())), ["127.0.0.1"]);
    assert_eq!(ips(Some([("zone".to_owned(), "c".to_owned())].into())), Vec::<String>::new());
    assert_eq!(
        ips(Some(BTreeMap::new())),
        ["127.0.0.1", "127.0.0.2", "127.0.0.3"],
        "a consumer without the label sees all"
    );
    assert_eq!(ips(None), ["127.0.0.1", "127.0.0.2", "127.0.0.3"], "no consumer known: no selection");
}

#[test]
fn a_consumer_s_labels_are_its_own_instances_metadata_the_first_value_winning() {
    let at = |ip: &str, zone: &str| {
        let metadata = [("zone".to_owned(), zone.to_owned())].into();
        InstanceDraft { ip: Some(ip.into()), port: Some(80), metadata, ..InstanceDraft::default() }.validate().unwrap()
    };
    let instances = [at("127.0.0.2", "b"), at("127.0.0.1", "a"), at("127.0.0.1", "c")];
    assert_eq!(consumer_labels("127.0.0.1", &instances), BTreeMap::from([("zone".to_owned(), "a".to_owned())]));
    assert!(consumer_labels("127.0.0.9", &instances).is_empty());
}
