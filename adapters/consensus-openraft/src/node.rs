//! A running raft node: start-up, the consensus port, shutdown.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use domain::cluster::{Members, PeerAddr};
use domain::{Command, Verdict};
use openraft::{BasicNode, ServerState, SnapshotPolicy};
use ports::applied::AppliedState;
use ports::cluster::{ClusterError, ClusterStatus, ClusterView, MemberStatus, RaftRole, Responsible};
use ports::consensus::{ConsensusError, ConsensusLog};
use ports::kv::KvStore;
use ports::peer::PeerTransport;

use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::batcher::{self, Proposal};
use crate::contacts::{self, Contacts, Ping};
use crate::forward::Forwarder;
use crate::joining;
use crate::membership::{Admin, AdminReply, AdminRequest};
use crate::network::NetworkFactory;
use crate::prompt_election;
use crate::rpc::RaftRpcServer;
use crate::state_machine::StateMachine;
use crate::types::{NodeId, Raft};
use crate::LogStore;

/// How this node takes part in raft.
#[derive(Debug, Clone)]
pub struct RaftSettings {
    pub node_id: NodeId,
    /// The founding members (this node among them), used only by a node with no raft
    /// state: every founding node initialises the same membership, which openraft allows.
    /// A node with state resumes with the membership it has, whatever this says.
    pub members: Members,
    /// This node's cluster address, as peers reach it.
    pub advertise_addr: PeerAddr,
    /// Where this node serves HTTP, as peers reach it (told to them in probes).
    pub http_addr: String,
    /// A member to ask for admission, for a node that starts with no state and joins an
    /// existing cluster instead of founding one with `members`.
    pub join: Option<PeerAddr>,
    pub heartbeat: Duration,
    pub election_timeout_min: Duration,
    pub election_timeout_max: Duration,
    /// Build a snapshot (and purge the log) after this many entries.
    pub snapshot_after_logs: u64,
    /// Keep snapshots as files here; `None` keeps them in the KV store.
    pub snapshot_dir: Option<std::path::PathBuf>,
    /// Keep the raft log's entries in segment files here; `None` keeps them in the KV store.
    pub log_dir: Option<std::path::PathBuf>,
}

/// Why the raft node could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("invalid raft settings: {0}")]
    Settings(String),
    #[error("raft storage could not be read: {0}")]
    Storage(String),
    #[error("raft failed to start: {0}")]
    Raft(String),
    #[error("no raft leader was elected within {0:?}")]
    NoLeader(Duration),
}

/// A started raft node; implements [`ConsensusLog`].
#[derive(Clone)]
pub struct RaftNode {
    raft: Raft,
    node_id: NodeId,
    /// Proposals for the batcher task, which turns concurrent ones into one entry.
    http_addr: String,
    proposals: mpsc::Sender<Proposal>,
    /// Membership changes and read barriers, through the leader.
    admin: Admin,
    /// The prober, the batcher and its rounds: ended and waited for at shutdown.
    tasks: TaskTracker,
    stop: CancellationToken,
}

impl RaftNode {
    /// Opens the raft store on `kv`, loads the applied state into `state`, and starts raft.
    /// A node with no raft state initialises itself as a one-member cluster; a node with
    /// state resumes from it.
    pub async fn start(
        settings: RaftSettings,
        kv: Arc<dyn KvStore>,
        state: AppliedState,
        transport: Arc<dyn PeerTransport>,
    ) -> Result<Self, StartError> {
        let config = openraft::Config {
            cluster_name: "nacosd".to_owned(),
            heartbeat_interval: millis(settings.heartbeat),
            election_timeout_min: millis(settings.election_timeout_min),
            election_timeout_max: millis(settings.election_timeout_max),
            snapshot_policy: SnapshotPolicy::LogsSinceLast(settings.snapshot_after_logs),
            max_in_snapshot_log_to_keep: 1000,
            ..Default::default()
        }
        .validate()
        .map_err(|err| StartError::Settings(err.to_string()))?;

        let log_store = match &settings.log_dir {
            Some(dir) => {
                LogStore::in_files(Arc::clone(&kv), dir).map_err(|err| StartError::Storage(err.to_string()))?
            }
            None => LogStore::new(Arc::clone(&kv)),
        };
        let mut state_machine = StateMachine::open(kv, state).map_err(|err| StartError::Storage(err.to_string()))?;
        if let Some(dir) = &settings.snapshot_dir {
            state_machine = state_machine.keep_snapshots_in(dir).map_err(|err| StartError::Storage(err.to_string()))?;
        }
        let contacts = Contacts::default();
        let network = NetworkFactory::new(Arc::clone(&transport), contacts.clone());
        let raft = Raft::new(settings.node_id, Arc::new(config), network, log_store, state_machine)
            .await
            .map_err(|err| StartError::Raft(err.to_string()))?;

        let initialized = raft.is_initialized().await.map_err(|err| StartError::Raft(err.to_string()))?;
        let (tasks, stop) = (TaskTracker::new(), CancellationToken::new());
        let admin = Admin {
            raft: raft.clone(),
            node_id: settings.node_id,
            transport: Arc::clone(&transport),
            contacts: contacts.clone(),
        };
        let advertised = settings.advertise_addr.as_str().to_owned();
        if let (false, Some(seed)) = (initialized, &settings.join) {
            tracing::info!(node_id = settings.node_id, seed = %seed, "joining a cluster");
            tasks.spawn(joining::join(admin.clone(), seed.as_str().to_owned(), advertised, stop.clone()));
        } else if !initialized {
            settings
                .members
                .admit_self(settings.node_id, &settings.advertise_addr)
                .map_err(|err| StartError::Settings(format!("cannot found a cluster: {err}")))?;
            let members: BTreeMap<NodeId, BasicNode> =
                settings.members.iter().map(|(id, addr)| (id, BasicNode { addr: addr.as_str().to_owned() })).collect();
            tracing::info!(node_id = settings.node_id, members = ?members.keys(), "initialising a new raft cluster");
            raft.initialize(members).await.map_err(|err| StartError::Raft(err.to_string()))?;
        } else {
            tracing::info!(node_id = settings.node_id, "resuming with the raft state on disk");
            tasks.spawn(joining::keep_address(admin.clone(), advertised, stop.clone()));
        }
        let (proposals, queue) = mpsc::channel(batcher::QUEUE);
        tasks.spawn(contacts::probe(
            raft.clone(),
            Ping { node_id: settings.node_id, http_addr: settings.http_addr.clone() },
            Arc::clone(&transport),
            contacts.clone(),
            stop.clone(),
        ));
        // openraft 0.9's leader lease is the election timeout's maximum.
        let lease = settings.election_timeout_max;
        tasks.spawn(prompt_election::run(raft.clone(), settings.node_id, lease, stop.clone()));
        let forwarder = Forwarder { raft: raft.clone(), node_id: settings.node_id, transport };
        tasks.spawn(batcher::run(forwarder, queue, tasks.clone(), stop.clone()));
        Ok(Self { raft, node_id: settings.node_id, http_addr: settings.http_addr, proposals, admin, tasks, stop })
    }

    /// Waits until some node leads (this one, on a single-node cluster).
    pub async fn wait_for_leader(&self, timeout: Duration) -> Result<NodeId, StartError> {
        let metrics = self
            .raft
            .wait(Some(timeout))
            .metrics(|metrics| metrics.current_leader.is_some(), "a leader is known")
            .await
            .map_err(|_| StartError::NoLeader(timeout))?;
        metrics.current_leader.ok_or(StartError::NoLeader(timeout))
    }

    /// The handler peers' raft RPCs are given to.
    pub fn rpc_handler(&self) -> RaftRpcServer {
        RaftRpcServer::new(self.raft.clone(), self.admin.clone(), self.http_addr.clone())
    }

    /// Stops raft; the stores are flushed by their owner afterwards.
    /// Proposals still in their round are answered "shutting down" by raft; the batcher
    /// then stops and its tasks are waited for.
    pub async fn shutdown(&self) {
        if let Err(err) = self.raft.shutdown().await {
            tracing::warn!(cause = %err, "raft did not shut down cleanly");
        }
        self.stop.cancel();
        self.tasks.close();
        if tokio::time::timeout(Duration::from_secs(2), self.tasks.wait()).await.is_err() {
            tracing::warn!(left = self.tasks.len(), "raft proposal tasks did not end in time");
        }
    }
}

#[async_trait]
impl ConsensusLog for RaftNode {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn propose(&self, command: Command) -> Result<Verdict, ConsensusError> {
        let (reply, answer) = oneshot::channel();
        self.proposals.send(Proposal { command, reply }).await.map_err(|_| ConsensusError::ShuttingDown)?;
        match tokio::time::timeout(WRITE_PATIENCE, answer).await {
            Ok(answer) => answer.map_err(|_| ConsensusError::ShuttingDown)?,
            Err(_) => Err(ConsensusError::Timeout),
        }
    }

    async fn ensure_linearizable(&self) -> Result<(), ConsensusError> {
        // The leader confirms it still leads with a round of heartbeats to a majority; cut
        // off from it, that round never ends.
        let asked = tokio::time::timeout(READ_PATIENCE, self.admin.ask(AdminRequest::ReadIndex));
        let index = match asked.await.map_err(|_| ConsensusError::Timeout)?? {
            AdminReply::ReadIndex(index) => index,
            other => return Err(ConsensusError::Failed(Arc::new(Unexpected(format!("{other:?}"))))),
        };
        self.raft
            .wait(Some(READ_PATIENCE))
            .applied_index_at_least(Some(index), "a linearizable read")
            .await
            .map(|_| ())
            .map_err(|err| ConsensusError::Failed(Arc::new(err)))
    }

    fn leader(&self) -> Option<u64> {
        self.raft.metrics().borrow().current_leader
    }

    fn node_id(&self) -> u64 {
        self.node_id
    }
}

#[async_trait]
impl ClusterView for RaftNode {
    fn status(&self) -> ClusterStatus {
        let metrics = self.raft.metrics().borrow().clone();
        let membership = metrics.membership_config.membership();
        let voters: BTreeSet<NodeId> = membership.voter_ids().collect();
        let acknowledged = metrics.replication.as_ref();
        let members = membership
            .nodes()
            .map(|(id, node)| {
                let own = *id == self.node_id;
                let role = if metrics.current_leader == Some(*id) {
                    RaftRole::Leader
                } else if !voters.contains(id) {
                    RaftRole::Learner
                } else if own && metrics.state == ServerState::Candidate {
                    RaftRole::Candidate
                } else {
                    RaftRole::Follower
                };
                let last_log_index = if own {
                    metrics.last_log_index
                } else {
                    acknowledged.and_then(|acked| acked.get(id)).and_then(|log_id| log_id.map(|log_id| log_id.index))
                };
                MemberStatus {
                    node_id: *id,
                    cluster_addr: node.addr.clone(),
                    role,
                    last_log_index,
                    silence_ms: if own { Some(0) } else { self.admin.contacts.silence_ms(*id) },
                    http_addr: if own { Some(self.http_addr.clone()) } else { self.admin.contacts.http_addr(*id) },
                }
            })
            .collect();
        ClusterStatus { self_id: self.node_id, leader: metrics.current_leader, term: metrics.current_term, members }
    }

    fn responsible_for(&self, tag: &str) -> Responsible {
        // A node alone is responsible for everything: no status to build per write.
        if self.raft.metrics().borrow().membership_config.membership().nodes().nth(1).is_none() {
            return Responsible::Here;
        }
        self.status().responsible_for(tag)
    }

    async fn remove_member(&self, node_id: u64) -> Result<(), ClusterError> {
        match self.admin.ask(AdminRequest::Remove { node_id }).await {
            Ok(AdminReply::Done) => Ok(()),
            Ok(AdminReply::Refused(reason)) => Err(ClusterError::Refused(reason)),
            Ok(other) => Err(ClusterError::Unavailable(format!("{other:?}"))),
            Err(err) => Err(ClusterError::Unavailable(err.to_string())),
        }
    }
}

/// The leader answered something no request of this kind gets.
#[derive(Debug, thiserror::Error)]
#[error("unexpected answer from the leader: {0}")]
struct Unexpected(String);

/// How long a linearizable read waits for this node to apply what the leader committed.
const READ_PATIENCE: Duration = Duration::from_secs(10);
/// How long a client's write waits to be committed and applied. A leader cut off from the
/// majority keeps its proposals until it hears of a newer term, which may be never: past
/// this the client is told the outcome is unknown rather than left hanging (Nacos's raft
/// gives up after 5 s; SDKs give up after 3).
const WRITE_PATIENCE: Duration = Duration::from_secs(10);

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
