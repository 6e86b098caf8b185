//! The cluster endpoints (`/nacos/v1/core/cluster/*`, `/nacos/v2/core/cluster/node/*`) in
//! Java Nacos's `Member` shape, which the nacos-k8s operator and consoles read: it waits for
//! every node `UP` and for one `naming_persistent_service_v2` leader in
//! `extendInfo.raftMetaData`. Each member also says what Java's does not: `nodeId`,
//! `raftRole`, `term`, `lastLogIndex`, `lastContact` and its `clusterAddr`.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use domain::cluster::{http_port_of, MemberState, PeerAddr};
use ports::cluster::{ClusterError, ClusterStatus, MemberStatus};
use serde_json::{json, Value};
use warp::http::StatusCode;
use warp::reply::Response;
use warp::{Filter, Reply};

use crate::params::Params;
use crate::HttpApi;

/// The raft groups Java Nacos reports; ours is one log for all, so each names its leader.
const RAFT_GROUPS: [&str; 2] = ["naming_persistent_service_v2", "nacos_config"];
const VERSION: &str = env!("CARGO_PKG_VERSION");

pub(crate) fn routes(api: Arc<HttpApi>) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    let checked = crate::access::checked_params(&api);
    let api = warp::any().map(move || Arc::clone(&api));
    let v1 = warp::path!("nacos" / "v1" / "core" / "cluster" / ..)
        .and(warp::path::tail())
        .map(|tail: warp::path::Tail| (1, tail.as_str().to_owned()));
    let v2 = warp::path!("nacos" / "v2" / "core" / "cluster" / ..)
        .and(warp::path::tail())
        .map(|tail: warp::path::Tail| (2, tail.as_str().to_owned()));
    // 3.x's admin paths answer as v2 (the same envelope).
    let v3 = warp::path!("nacos" / "v3" / "admin" / "core" / "cluster" / ..)
        .and(warp::path::tail())
        .map(|tail: warp::path::Tail| (2, tail.as_str().to_owned()));
    let reads = v1.or(v2).unify().or(v3).unify().and(warp::get()).and(api.clone()).and(checked.clone()).and_then(
        |(version, tail): (u8, String), api: Arc<HttpApi>, params: Params| async move {
            answer(version, &tail, &api, &params).ok_or_else(warp::reject::not_found)
        },
    );
    let remove = warp::path!("nacos" / "v2" / "core" / "cluster" / "node")
        .and(warp::delete())
        .and(api)
        .and(checked.clone())
        .and_then(
            |api: Arc<HttpApi>, params: Params| async move { Ok::<_, warp::Rejection>(remove(&api, &params).await) },
        );
    reads.or(remove).unify()
}

/// `DELETE /nacos/v2/core/cluster/node?nodeId=N` (ours: Java has no working removal):
/// removes a member by id, to shrink the cluster or before replacing a lost node.
async fn remove(api: &HttpApi, params: &Params) -> Response {
    let node_id = match params.get("nodeId").map(str::parse::<u64>) {
        Some(Ok(id)) => id,
        _ => return v2_error(StatusCode::BAD_REQUEST, 10000, "nodeId must be a node id (a number)"),
    };
    match api.cluster.remove_member(node_id).await {
        Ok(()) => warp::reply::json(&json!({ "code": 0, "message": "success", "data": true })).into_response(),
        Err(ClusterError::Refused(reason)) => v2_error(StatusCode::BAD_REQUEST, 10000, &reason),
        Err(err @ ClusterError::Unavailable(_)) => v2_error(StatusCode::SERVICE_UNAVAILABLE, 30000, &err.to_string()),
    }
}

fn v2_error(status: StatusCode, code: u32, message: &str) -> Response {
    let body = json!({ "code": code, "message": message, "data": null });
    warp::reply::with_status(warp::reply::json(&body), status).into_response()
}

fn answer(version: u8, tail: &str, api: &HttpApi, params: &Params) -> Option<Response> {
    let status = api.cluster.status();
    let view = View { status: &status, http_port: api.http_port, now_ms: now_ms() };
    let own = || status.members.iter().find(|member| member.node_id == status.self_id);
    let data = match (version, tail) {
        (1, "self") | (2, "node/self") => own().map_or(Value::Null, |member| view.member(member)),
        (1, "health") | (2, "node/self/health") => json!("UP"),
        (1, "nodes") => {
            let keyword = params.get("keyword").unwrap_or("");
            let mut members: Vec<Value> = view.members().filter(|m| address_matches(m, keyword)).collect();
            members.sort_by(|a, b| a["address"].as_str().cmp(&b["address"].as_str()));
            Value::Array(members)
        }
        (1, "simple/nodes") => {
            Value::Array(view.members().filter(|m| m["state"] == "UP").map(|m| m["address"].clone()).collect())
        }
        (2, "node/list") => {
            let address = params.get("address").unwrap_or("");
            let state = match params.get("state") {
                Some(raw) => match ["UP", "SUSPICIOUS", "DOWN", "STARTING", "ISOLATION"]
                    .into_iter()
                    .find(|known| known.eq_ignore_ascii_case(raw))
                {
                    Some(known) => Some(known),
                    None => return Some(illegal_state(raw)),
                },
                None => None,
            };
            Value::Array(
                view.members()
                    .filter(|m| address_matches(m, address))
                    .filter(|m| state.is_none_or(|state| m["state"] == state))
                    .collect(),
            )
        }
        _ => return None,
    };
    let body = if version == 1 {
        json!({ "code": 200, "message": null, "data": data })
    } else {
        json!({ "code": 0, "message": "success", "data": data })
    };
    Some(warp::reply::json(&body).into_response())
}

/// Java matches an address by prefix (which an exact address also is).
fn address_matches(member: &Value, prefix: &str) -> bool {
    member["address"].as_str().is_some_and(|address| address.starts_with(prefix))
}

fn illegal_state(raw: &str) -> Response {
    v2_error(StatusCode::BAD_REQUEST, 23000, &format!("Illegal state: {raw}"))
}

/// What one request shows: the status read once, so every member agrees with the others.
struct View<'a> {
    status: &'a ClusterStatus,
    /// This node's HTTP port, known for itself; others' are derived from their cluster ports.
    http_port: u16,
    now_ms: u64,
}

impl View<'_> {
    fn members(&self) -> impl Iterator<Item = Value> + '_ {
        self.status.members.iter().map(|member| self.member(member))
    }

    fn member(&self, member: &MemberStatus) -> Value {
        let cluster_addr = PeerAddr::parse(&member.cluster_addr).ok();
        let ip = cluster_addr.as_ref().map_or("", PeerAddr::host).to_owned();
        let raft_port = cluster_addr.as_ref().map_or(0, PeerAddr::port);
        // A peer's HTTP port as its probe said; before the first probe, Nacos's offset.
        let told = member.http_addr.as_deref().and_then(|addr| PeerAddr::parse(addr).ok()).map(|addr| addr.port());
        let port = if member.node_id == self.status.self_id {
            self.http_port
        } else {
            told.unwrap_or_else(|| http_port_of(raft_port))
        };
        let state = MemberState::after_silence(member.silence_ms);
        let leader = self
            .status
            .leader
            .and_then(|leader| self.status.members.iter().find(|m| m.node_id == leader))
            .map(|m| m.cluster_addr.clone());
        let group_members: Vec<&str> = self.status.members.iter().map(|m| m.cluster_addr.as_str()).collect();
        let mut group = json!({ "raftGroupMember": group_members, "term": self.status.term });
        if let Some(leader) = leader {
            group["leader"] = json!(leader);
        }
        let groups: serde_json::Map<String, Value> =
            RAFT_GROUPS.iter().map(|name| ((*name).to_owned(), group.clone())).collect();
        json!({
            "ip": ip,
            "port": port,
            "state": state.as_str(),
            "address": format!("{}:{port}", address_host(&ip)),
            "failAccessCnt": 0,
            "extendInfo": {
                "lastRefreshTime": member.silence_ms.map(|silence| self.now_ms.saturating_sub(silence)),
                "raftMetaData": { "metaDataMap": groups },
                "raftPort": raft_port.to_string(),
                "readyToUpgrade": true,
                "version": VERSION,
            },
            "abilities": {
                "remoteAbility": { "supportRemoteConnection": true, "grpcReportEnabled": true },
                "configAbility": { "supportRemoteMetrics": false },
                "namingAbility": { "supportJraft": true },
            },
            "grpcReportEnabled": true,
            "nodeId": member.node_id,
            "clusterAddr": member.cluster_addr,
            "raftRole": member.role.as_str(),
            "term": self.status.term,
            "lastLogIndex": member.last_log_index,
            "lastContact": member.silence_ms,
        })
    }
}

/// An IPv6 host goes back in brackets in an address.
fn address_host(ip: &str) -> String {
    if ip.contains(':') {
        format!("[{ip}]")
    } else {
        ip.to_owned()
    }
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| u64::try_from(since.as_millis()).unwrap_or(0))
}
