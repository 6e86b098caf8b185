//! Membership with real processes: grow 3 -> 5 and shrink back under writes, a node moved
//! to new ports keeps its id and data, a wiped node rejoins under its id and catches up by
//! snapshot, a linearizable read on a follower sees a write made through another node.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::Value;
use tests::process::free_ports;
use tests::Cluster;

use crate::t100_cluster::{check_outcomes, publish, read, start_writers, wait_converged, Acks, Outcomes, DEADLINE};

fn voters(members: &[Value]) -> usize {
    members.iter().filter(|m| m["raftRole"] == "leader" || m["raftRole"] == "follower").count()
}

fn remove(cluster: &Cluster, through: usize, node_id: u64) -> (StatusCode, String) {
    let node = &cluster.nodes[through];
    let response = node
        .http()
        .delete(node.url("/nacos/v2/core/cluster/node"))
        .query(&[("nodeId", node_id.to_string())])
        .send()
        .unwrap();
    (response.status(), response.text().unwrap())
}

#[test]
fn grow_to_five_and_shrink_to_three_under_writes() {
    let mut cluster = Cluster::start(3, &[]);
    let leader = cluster.wait_for_leader(DEADLINE);
    let (stop, acks) = (Arc::new(AtomicBool::new(false)), Acks::default());
    let writers = start_writers(&cluster, &[0, 1, 2], &stop, &acks);
    acks.wait_for(20);

    // Two new nodes join through different members and become voters.
    let fourth = cluster.add_joining(cluster.other_than(leader), &[]);
    let fifth = cluster.add_joining(leader, &[]);
    for index in [fourth, fifth] {
        cluster.nodes[index].wait_ready().unwrap();
    }
    cluster.wait_for_members(leader, DEADLINE, |members| members.len() == 5 && voters(members) == 5);
    acks.wait_for(20);

    // Shrink: remove the two through a follower; they leave the membership.
    let follower = (0..3).find(|&i| i != leader).unwrap();
    for node_id in [5, 4] {
        let (status, body) = remove(&cluster, follower, node_id);
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    cluster.wait_for_members(leader, DEADLINE, |members| members.len() == 3 && voters(members) == 3);
    for index in [fourth, fifth] {
        cluster.nodes[index].terminate();
    }
    acks.wait_for(20);
    stop.store(true, Ordering::Relaxed);
    let outcomes: Vec<Outcomes> = writers.into_iter().map(|writer| writer.join().unwrap()).collect();
    check_outcomes(&cluster, &outcomes);

    // Refusals: an unknown id, and the answer's shape.
    let (status, body) = remove(&cluster, leader, 42);
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("node 42 is not a member"), "{body}");
    let (status, _) = remove(&cluster, leader, 0x7fff_ffff_ffff_ffff + 1);
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[test]
fn a_node_moved_to_new_ports_keeps_its_id_and_its_data() {
    let mut cluster = Cluster::start(3, &[]);
    let leader = cluster.wait_for_leader(DEADLINE);
    let moved = cluster.other_than(leader);
    publish(&cluster.nodes[leader], "before-move", "kept").unwrap();
    wait_converged(&cluster, &BTreeMap::from([("before-move".to_owned(), Some("kept".to_owned()))]));

    cluster.nodes[moved].terminate();
    let ports = free_ports();
    cluster.nodes[moved].set_ports(ports);
    cluster.nodes[moved].args_mut().extend(["--advertise-addr".to_owned(), format!("127.0.0.1:{}", ports[2])]);
    cluster.nodes[moved].restart();

    let node_id = (moved + 1) as u64;
    let new_addr = format!("127.0.0.1:{}", ports[2]);
    cluster.wait_for_members(leader, DEADLINE, |members| {
        members.len() == 3
            && members
                .iter()
                .any(|m| m["nodeId"] == node_id && m["clusterAddr"] == new_addr.as_str() && m["state"] == "UP")
    });
    assert_eq!(read(&cluster.nodes[moved], "before-move").map(|(content, _)| content).as_deref(), Some("kept"));
    publish(&cluster.nodes[leader], "after-move", "reached").unwrap();
    wait_converged(&cluster, &BTreeMap::from([("after-move".to_owned(), Some("reached".to_owned()))]));
}

#[test]
fn a_wiped_node_rejoins_under_its_id_and_catches_up_by_snapshot() {
    let mut cluster = Cluster::start(3, &["--raft-snapshot-logs", "1000"]);
    let leader = cluster.wait_for_leader(DEADLINE);
    let wiped = cluster.other_than(leader);
    cluster.nodes[wiped].kill9();
    std::fs::remove_dir_all(cluster.nodes[wiped].data_dir()).unwrap();

    // Enough entries (one per sequential write) that the log the node would need is purged.
    let mut expected = BTreeMap::new();
    for seq in 0..2_300 {
        let data_id = format!("while-away-{}", seq % 50);
        let content = format!("version {seq}");
        publish(&cluster.nodes[leader], &data_id, &content).unwrap();
        expected.insert(data_id, Some(content));
    }

    let seed = format!("127.0.0.1:{}", cluster.nodes[leader].cluster_port);
    let args = cluster.nodes[wiped].args_mut();
    let members_at = args.iter().position(|arg| arg == "--members").unwrap();
    args.drain(members_at..members_at + 2);
    args.extend(["--join".to_owned(), seed]);
    cluster.nodes[wiped].restart();
    let node_id = (wiped + 1) as u64;
    cluster.wait_for_members(leader, DEADLINE, |members| {
        members.len() == 3 && voters(members) == 3 && members.iter().any(|m| m["nodeId"] == node_id)
    });
    wait_converged(&cluster, &expected);
    let log = cluster.nodes[wiped].log();
    assert!(log.contains("installed a raft snapshot"), "the wiped node did not install a snapshot:\n{log}");
    // Nobody's raft stopped on the way (openraft's leader panicked on a member whose log
    // went backwards, before loosen-follower-log-revert).
    for node in &cluster.nodes {
        assert!(!node.log().contains("panicked"), "a raft core panicked:\n{}", node.log());
    }
}

#[test]
fn a_linearizable_read_on_a_follower_sees_a_write_made_elsewhere() {
    let cluster = Cluster::start(3, &[]);
    let leader = cluster.wait_for_leader(DEADLINE);
    let follower = cluster.other_than(leader);
    for seq in 0..50 {
        let content = format!("v{seq}");
        publish(&cluster.nodes[leader], "fresh", &content).unwrap();
        let node = &cluster.nodes[follower];
        for path in ["/nacos/v1/cs/configs", "/nacos/v2/cs/config"] {
            let response = node
                .http()
                .get(node.url(path))
                .query(&[("dataId", "fresh"), ("group", "DEFAULT_GROUP"), ("linearizable", "true")])
                .send()
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            let body = response.text().unwrap();
            assert!(body == content || body.contains(&format!("\"{content}\"")), "{path}: {body} is not {content}");
        }
    }
    assert_eq!(read(&cluster.nodes[follower], "fresh").map(|(content, _)| content).as_deref(), Some("v49"));
}

#[test]
fn a_node_that_claims_a_live_member_s_id_is_refused_and_changes_nothing() {
    let cluster = Cluster::start(3, &[]);
    let leader = cluster.wait_for_leader(DEADLINE);
    let taken = cluster.other_than(leader);
    let taken_id = (taken + 1) as u64;
    let taken_addr = format!("127.0.0.1:{}", cluster.nodes[taken].cluster_port);
    // A fourth process with that member's id, at its own address, asking to join.
    let dir = tempfile::tempdir().unwrap();
    let seed = format!("127.0.0.1:{}", cluster.nodes[leader].cluster_port);
    let args = vec!["--node-id".to_owned(), taken_id.to_string(), "--join".to_owned(), seed];
    let mut impostor = tests::Nacosd::prepare(&dir.path().join("impostor"), tests::process::free_nacos_ports(), args);
    impostor.launch();
    let deadline = std::time::Instant::now() + DEADLINE;
    while !impostor.log().contains("is taken by the member at") {
        assert!(std::time::Instant::now() < deadline, "no refusal:\n{}", impostor.log());
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let members = cluster.members_seen_by(leader);
    assert_eq!(members.len(), 3, "{members:#?}");
    let holder = members.iter().find(|m| m["nodeId"] == taken_id).unwrap();
    assert_eq!(holder["clusterAddr"], taken_addr.as_str());
    assert_eq!(holder["raftRole"], "follower");
}
