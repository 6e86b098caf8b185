//! The cluster endpoints: Java's `Member` shape (what the nacos-k8s operator reads), with
//! our raft fields, in the v1 and v2 envelopes.

use ports::cluster::{ClusterStatus, MemberStatus, RaftRole};
use serde_json::Value;
use warp::http::StatusCode;

use super::Mocks;

fn three_nodes() -> Mocks {
    let member = |node_id, port, role, silence_ms| MemberStatus {
        node_id,
        cluster_addr: format!("127.0.0.1:{port}"),
        role,
        last_log_index: Some(40 + node_id),
        silence_ms,
        // Node 3 has told its HTTP address; node 1 not yet.
        http_addr: (node_id == 3).then(|| "127.0.0.1:7777".to_owned()),
    };
    let status = ClusterStatus {
        self_id: 2,
        leader: Some(3),
        term: 7,
        members: vec![
            member(1, 9839, RaftRole::Follower, Some(9_000)),
            member(2, 9859, RaftRole::Follower, Some(0)),
            member(3, 9869, RaftRole::Leader, Some(300)),
        ],
    };
    let mut mocks = Mocks::default();
    mocks.cluster.expect_status().returning(move || status.clone());
    mocks
}

async fn get(path: &str) -> (StatusCode, Value) {
    let response = warp::test::request().path(path).reply(&three_nodes().api().routes()).await;
    (response.status(), serde_json::from_slice(response.body()).unwrap())
}

#[tokio::test]
async fn v1_nodes_lists_every_member_sorted_with_one_leader_and_raft_fields() {
    let (status, body) = get("/nacos/v1/core/cluster/nodes").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["code"], 200);
    let nodes = body["data"].as_array().unwrap();
    let addresses: Vec<&str> = nodes.iter().map(|n| n["address"].as_str().unwrap()).collect();
    // A peer's HTTP port is the one it told, or else Nacos's offset from its cluster
    // port; this node's is its own.
    assert_eq!(addresses, ["127.0.0.1:7777", "127.0.0.1:8838", "127.0.0.1:8848"]);
    let states: Vec<&str> = nodes.iter().map(|n| n["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["UP", "SUSPICIOUS", "UP"]);
    for node in nodes {
        let group = &node["extendInfo"]["raftMetaData"]["metaDataMap"]["naming_persistent_service_v2"];
        assert_eq!(group["leader"], "127.0.0.1:9869");
        assert_eq!(group["term"], 7);
        assert_eq!(node["term"], 7);
    }
    let leader = nodes.iter().find(|n| n["nodeId"] == 3).unwrap();
    assert_eq!(leader["raftRole"], "leader");
    assert_eq!(leader["lastLogIndex"], 43);
    assert_eq!(leader["lastContact"], 300);
    assert_eq!(leader["clusterAddr"], "127.0.0.1:9869");
    assert_eq!(leader["extendInfo"]["raftPort"], "9869");

    let (_, filtered) = get("/nacos/v1/core/cluster/nodes?keyword=127.0.0.1:77").await;
    assert_eq!(filtered["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn self_and_health_answer_in_both_envelopes() {
    let (_, own) = get("/nacos/v1/core/cluster/self").await;
    assert_eq!(own["data"]["nodeId"], 2);
    assert_eq!(own["data"]["state"], "UP");
    let (_, own) = get("/nacos/v2/core/cluster/node/self").await;
    assert_eq!((own["code"].clone(), own["data"]["nodeId"].clone()), (0.into(), 2.into()));
    assert_eq!(get("/nacos/v1/core/cluster/health").await.1["data"], "UP");
    assert_eq!(get("/nacos/v2/core/cluster/node/self/health").await.1["data"], "UP");
    let (_, simple) = get("/nacos/v1/core/cluster/simple/nodes").await;
    assert_eq!(simple["data"].as_array().unwrap().len(), 2, "the suspicious member is left out");
}

#[tokio::test]
async fn v2_list_filters_by_state_and_refuses_an_unknown_one() {
    let (_, up) = get("/nacos/v2/core/cluster/node/list?state=up").await;
    assert_eq!(up["data"].as_array().unwrap().len(), 2);
    let (status, refused) = get("/nacos/v2/core/cluster/node/list?state=sleepy").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(refused["code"], 23000);
    assert_eq!(refused["message"], "Illegal state: sleepy");
}
