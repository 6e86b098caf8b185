//! A running raft node: start-up, the consensus port, shutdown.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use domain::{Command, Verdict};
use openraft::{BasicNode, SnapshotPolicy};
use ports::applied::AppliedState;
use ports::consensus::{ConsensusError, ConsensusLog};
use ports::kv::KvStore;
use ports::peer::PeerTransport;

use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::batcher::{self, Proposal};
use crate::network::NetworkFactory;
use crate::rpc::RaftRpcServer;
use crate::state_machine::StateMachine;
use crate::types::{NodeId, Raft};
use crate::LogStore;

/// How this node takes part in raft.
#[derive(Debug, Clone)]
pub struct RaftSettings {
    pub node_id: NodeId,
    /// The cluster gRPC address peers reach this node at.
    pub advertise_addr: String,
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
    proposals: mpsc::Sender<Proposal>,
    /// The batcher and its rounds: ended and waited for at shutdown.
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
        let network = NetworkFactory::new(transport);
        let raft = Raft::new(settings.node_id, Arc::new(config), network, log_store, state_machine)
            .await
            .map_err(|err| StartError::Raft(err.to_string()))?;

        let initialized = raft.is_initialized().await.map_err(|err| StartError::Raft(err.to_string()))?;
        if !initialized {
            let members = BTreeMap::from([(settings.node_id, BasicNode { addr: settings.advertise_addr.clone() })]);
            tracing::info!(node_id = settings.node_id, "initialising a new one-member raft cluster");
            raft.initialize(members).await.map_err(|err| StartError::Raft(err.to_string()))?;
        }
        let (proposals, queue) = mpsc::channel(batcher::QUEUE);
        let (tasks, stop) = (TaskTracker::new(), CancellationToken::new());
        tasks.spawn(batcher::run(raft.clone(), queue, tasks.clone(), stop.clone()));
        Ok(Self { raft, node_id: settings.node_id, proposals, tasks, stop })
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
        RaftRpcServer::new(self.raft.clone())
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
        answer.await.map_err(|_| ConsensusError::ShuttingDown)?
    }

    fn leader(&self) -> Option<u64> {
        self.raft.metrics().borrow().current_leader
    }

    fn node_id(&self) -> u64 {
        self.node_id
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
