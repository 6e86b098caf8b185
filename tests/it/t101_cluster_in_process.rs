//! Three raft members in one process, on the memory store and the memory transport
//! (`peer-mem`), for the faults a process test cannot set up: links that lose calls or
//! are slow, a link cut one way only, a leader cut off again and again. Writes go through
//! every member; afterwards every acknowledged write is on every member, and every member
//! holds the same configs.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use consensus_openraft::{RaftNode, RaftSettings};
use domain::cluster::{Members, PeerAddr};
use domain::config::{ConfigCommand, ConfigKey, ConfigLimits, PublishConfig, PublishParams};
use domain::{Command, Millis, Verdict};
use peer_mem::MemNetwork;
use ports::applied::AppliedState;
use ports::consensus::ConsensusLog;
use ports::kv::KvStore;
use store_mem::MemStore;
use tokio::time::Instant;

const DEADLINE: Duration = Duration::from_secs(20);

struct Member {
    node: RaftNode,
    state: AppliedState,
    addr: String,
}

struct InProcess {
    network: Arc<MemNetwork>,
    members: Vec<Member>,
}

fn addr(id: u64) -> String {
    format!("member-{id}:9849")
}

impl InProcess {
    async fn start(n: u64) -> Self {
        let network = MemNetwork::new();
        let list: Vec<String> = (1..=n).map(|id| format!("{id}={}", addr(id))).collect();
        let members_list = Members::parse(&list.join(",")).unwrap();
        let mut members = Vec::new();
        for id in 1..=n {
            let settings = RaftSettings {
                node_id: id,
                members: members_list.clone(),
                advertise_addr: PeerAddr::parse(&addr(id)).unwrap(),
                http_addr: format!("member-{id}:8848"),
                join: None,
                heartbeat: Duration::from_millis(50),
                election_timeout_min: Duration::from_millis(150),
                election_timeout_max: Duration::from_millis(300),
                snapshot_after_logs: 200,
                snapshot_dir: None,
                log_dir: None,
            };
            let kv: Arc<dyn KvStore> = Arc::new(MemStore::new());
            let state = AppliedState::new();
            let transport = Arc::new(network.transport(&addr(id)));
            let node = RaftNode::start(settings, kv, state.clone(), transport).await.unwrap();
            network.register(&addr(id), Arc::new(node.rpc_handler()));
            members.push(Member { node, state, addr: addr(id) });
        }
        Self { network, members }
    }

    /// The member every member names as leader, once they agree.
    async fn agreed_leader(&self, among: &[usize]) -> usize {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let named: Vec<Option<u64>> = among.iter().map(|&i| self.members[i].node.leader()).collect();
            if let Some(Some(leader)) = named.first().copied() {
                let index = usize::try_from(leader - 1).unwrap();
                if named.iter().all(|n| *n == Some(leader)) && among.contains(&index) {
                    return index;
                }
            }
            assert!(Instant::now() < deadline, "no agreed leader: {named:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Writes `count` configs through member `through`, one at a time; the acknowledged ones.
    async fn write(&self, through: usize, prefix: &str, count: usize) -> Vec<(String, String)> {
        let mut acknowledged = Vec::new();
        for seq in 0..count {
            let (data_id, content) = (format!("{prefix}-{seq}"), format!("{prefix} wrote {seq}"));
            if let Ok(Verdict::Applied) = self.members[through].node.propose(publish(&data_id, &content)).await {
                acknowledged.push((data_id, content));
            }
        }
        acknowledged
    }

    /// Waits until every member holds `written` and all hold the same configs.
    async fn wait_converged(&self, written: &[(String, String)]) {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let holds_all = |member: &Member| {
                written.iter().all(|(data_id, content)| {
                    member.state.config(&key(data_id)).is_some_and(|config| config.content == *content)
                })
            };
            let tables: Vec<BTreeMap<String, String>> = self.members.iter().map(configs).collect();
            if self.members.iter().all(holds_all) && tables.windows(2).all(|pair| pair[0] == pair[1]) {
                return;
            }
            assert!(Instant::now() < deadline, "the members did not converge");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn shutdown(self) {
        for member in &self.members {
            self.network.unregister(&member.addr);
            member.node.shutdown().await;
        }
    }
}

fn key(data_id: &str) -> ConfigKey {
    ConfigKey::parse(None, Some("G"), Some(data_id)).unwrap()
}

fn configs(member: &Member) -> BTreeMap<String, String> {
    member.state.read_with(|state| {
        state.config.iter().map(|(key, config)| (key.to_string(), config.content.to_string())).collect()
    })
}

fn publish(data_id: &str, content: &str) -> Command {
    let params =
        PublishParams { data_id: Some(data_id), group: Some("G"), content: Some(content), ..Default::default() };
    let publish = PublishConfig::parse(&params, ConfigLimits::default()).unwrap();
    Command::Config(ConfigCommand::Publish { publish, now: Millis(1) })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_commit_through_lossy_slow_links_and_every_member_converges() {
    let cluster = InProcess::start(3).await;
    cluster.agreed_leader(&[0, 1, 2]).await;
    cluster.network.set_delay(Duration::from_millis(5));
    // A lost append costs its follower openraft's back-off (500 ms) before the next try,
    // so a write waits for it whenever both followers lost one.
    cluster.network.lose_one_in(10);
    let mut written = Vec::new();
    for through in 0..3 {
        written.extend(cluster.write(through, &format!("lossy{through}"), 20).await);
    }
    cluster.network.lose_one_in(0);
    // Lost calls make some writes fail (their outcome unknown); most go through.
    assert!(written.len() >= 30, "only {} of 60 writes were acknowledged", written.len());
    cluster.wait_converged(&written).await;
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_cut_one_way_stops_neither_writes_nor_the_member_behind_it() {
    let cluster = InProcess::start(3).await;
    let leader = cluster.agreed_leader(&[0, 1, 2]).await;
    let behind = (leader + 1) % 3;
    // The leader still reaches `behind`, which cannot answer it nor call it.
    cluster.network.cut_one_way(&cluster.members[behind].addr, &cluster.members[leader].addr);
    let others: Vec<usize> = (0..3).filter(|&i| i != behind).collect();
    let mut written = Vec::new();
    for &through in &others {
        written.extend(cluster.write(through, &format!("oneway{through}"), 30).await);
    }
    assert_eq!(written.len(), 60, "a majority was reachable: every write should commit");
    cluster.network.heal();
    cluster.wait_converged(&written).await;
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_cut_off_again_and_again_loses_no_acknowledged_write() {
    let cluster = InProcess::start(3).await;
    let mut written = Vec::new();
    let rounds = 4 * tests::soak_rounds();
    for round in 0..rounds {
        let leader = cluster.agreed_leader(&[0, 1, 2]).await;
        cluster.network.isolate(&cluster.members[leader].addr);
        let majority: Vec<usize> = (0..3).filter(|&i| i != leader).collect();
        let new_leader = cluster.agreed_leader(&majority).await;
        assert_ne!(new_leader, leader);
        for &through in &majority {
            written.extend(cluster.write(through, &format!("round{round}-{through}"), 10).await);
        }
        cluster.network.heal();
    }
    assert!(written.len() >= 15 * rounds, "only {} of {} writes were acknowledged", written.len(), 20 * rounds);
    cluster.wait_converged(&written).await;
    cluster.shutdown().await;
}
