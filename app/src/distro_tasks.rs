//! Distro's timers: the sync round that sends this node's registry changes to every peer,
//! the verify round that renews peers' copies and repairs the ones that differ, the lease
//! sweep that drops copies of silent nodes, and the first load of a starting node.
//!
//! Each peer has a sender of its own that sends in order, so a slow or dead peer delays
//! nobody else and never gets an older state after a newer one; a batch that does not fit
//! its queue is dropped, and the next verify round repairs what it carried.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use domain::cluster::NodeId;
use domain::naming::distro::{ServiceSync, VERIFY_EVERY_MS};
use ports::naming::{DistroPeers, NamingApp};
use tokio::sync::mpsc;
use tokio_util::task::TaskTracker;

/// How often local changes are sent (Java Nacos: 1 s after the first change, 100 ms ticks).
const SYNC_EVERY: Duration = Duration::from_millis(100);
/// Batches waiting for one peer before new ones are dropped (verify repairs them).
const PEER_QUEUE: usize = 64;
/// How long sends in flight may finish at shutdown.
const STOP_WAIT: Duration = Duration::from_secs(1);
/// How long a starting node asks each peer for its snapshot.
const SNAPSHOT_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs the rounds until `stop` resolves.
pub(crate) async fn run(naming: Arc<NamingApp>, peers: Arc<dyn DistroPeers>, stop: impl Future<Output = ()>) {
    let mut sync = tokio::time::interval(SYNC_EVERY);
    sync.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut verify = tokio::time::interval(Duration::from_millis(VERIFY_EVERY_MS));
    verify.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let tasks = TaskTracker::new();
    let mut senders = Senders { peers: Arc::clone(&peers), queues: HashMap::new(), tasks: tasks.clone() };
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = sync.tick() => {
                let live = peers.live_peers();
                if live.is_empty() {
                    // Nobody to tell, so no copies to build (a one-node cluster would make
                    // and drop a copy of every changed service ten times a second).
                    naming.forget_unsent();
                    continue;
                }
                let syncs = naming.take_unsent();
                if !syncs.is_empty() {
                    for peer in live {
                        senders.send(peer, syncs.clone());
                    }
                }
            }
            _ = verify.tick() => {
                for node in naming.expire_copies() {
                    tracing::warn!(node, "a member stopped verifying: its registry copies are dropped");
                }
                let live = peers.live_peers();
                if live.is_empty() {
                    continue;
                }
                let digest = naming.digest();
                for peer in live {
                    let (naming, peers, digest) = (Arc::clone(&naming), Arc::clone(&peers), digest.clone());
                    let resend = senders.queue(peer);
                    tasks.spawn(async move {
                        match peers.verify(peer, digest).await {
                            Ok(differ) if !differ.is_empty() => {
                                tracing::debug!(peer, services = differ.len(), "a peer's copies differ: sending them again");
                                let _ = resend.try_send(naming.native_syncs(differ));
                            }
                            Ok(_) => {}
                            Err(err) => tracing::debug!(peer, cause = %err, "verify failed"),
                        }
                    });
                }
            }
            _ = &mut stop => break,
        }
    }
    // Closing the queues ends each sender after the batch it is sending.
    drop(senders);
    tasks.close();
    if tokio::time::timeout(STOP_WAIT, tasks.wait()).await.is_err() {
        tracing::debug!("distro sends still in flight at shutdown were abandoned");
    }
}

/// One ordered sender per peer.
struct Senders {
    peers: Arc<dyn DistroPeers>,
    queues: HashMap<NodeId, mpsc::Sender<Vec<ServiceSync>>>,
    tasks: TaskTracker,
}

impl Senders {
    fn send(&mut self, peer: NodeId, syncs: Vec<ServiceSync>) {
        if self.queue(peer).try_send(syncs).is_err() {
            tracing::debug!(peer, "a peer's sync queue is full: the next verify repairs it");
        }
    }

    fn queue(&mut self, peer: NodeId) -> mpsc::Sender<Vec<ServiceSync>> {
        let (peers, tasks) = (&self.peers, &self.tasks);
        self.queues
            .entry(peer)
            .or_insert_with(|| {
                let (queue, mut batches) = mpsc::channel::<Vec<ServiceSync>>(PEER_QUEUE);
                let peers = Arc::clone(peers);
                tasks.spawn(async move {
                    while let Some(syncs) = batches.recv().await {
                        if let Err(err) = peers.sync(peer, syncs).await {
                            tracing::debug!(peer, cause = %err, "a sync did not reach a peer");
                        }
                    }
                });
                queue
            })
            .clone()
    }
}

/// A starting member's first registry data: the snapshot of the first of `members` that
/// answers. None answering (a whole cluster starting) leaves nothing to load.
pub(crate) async fn load(naming: &NamingApp, peers: &dyn DistroPeers, members: &[NodeId]) {
    for &peer in members {
        match tokio::time::timeout(SNAPSHOT_TIMEOUT, peers.snapshot(peer)).await {
            Ok(Ok(copies)) => {
                tracing::info!(peer, clients = copies.len(), "registry snapshot loaded from a peer");
                naming.load_copies(copies);
                return;
            }
            Ok(Err(err)) => tracing::debug!(peer, cause = %err, "no registry snapshot from this peer"),
            Err(_) => tracing::debug!(peer, "no registry snapshot from this peer in time"),
        }
    }
    tracing::info!("no peer had a registry snapshot to load");
}

#[cfg(test)]
mod tests {
    //! The rounds in paused time against a mock of the peers: a change goes out within a
    //! sync round, a digest goes out every verify period, a service a peer reports as
    //! different is sent again, and copies of a silent node go once its lease is over.
    #![allow(clippy::unwrap_used, reason = "tests")]

    use std::sync::Mutex;

    use domain::config::ConnectionId;
    use domain::naming::distro::LEASE_MS;
    use domain::naming::{InstanceDraft, Owner, Registrant, ServiceKey, ViewQuery};
    use ports::applied::AppliedState;
    use ports::consensus::MockConsensusLog;
    use ports::naming::{DistroHandler, MockDistroPeers, RegistryQueries, RegistryService};
    use tokio::time::Instant;

    use super::*;
    use crate::paused_clock::TokioClock;

    #[tokio::test(start_paused = true)]
    async fn changes_go_out_within_a_round_digests_every_period_and_silent_copies_expire() {
        let started = Instant::now();
        let mut consensus = MockConsensusLog::new();
        consensus.expect_node_id().return_const(1_u64);
        let naming = Arc::new(NamingApp::new(Arc::new(consensus), AppliedState::new(), Arc::new(TokioClock(started))));
        let service = ServiceKey::parse(None, None, Some("orders")).unwrap();

        let synced: Arc<Mutex<Vec<(Duration, usize)>>> = Arc::default();
        let verified: Arc<Mutex<Vec<Duration>>> = Arc::default();
        let mut peers = MockDistroPeers::new();
        peers.expect_live_peers().returning(|| vec![2]);
        let record = Arc::clone(&synced);
        peers.expect_sync().returning(move |to, syncs| {
            assert_eq!(to, 2);
            record.lock().unwrap().push((started.elapsed(), syncs.iter().map(|sync| sync.clients.len()).sum()));
            Ok(())
        });
        let record = Arc::clone(&verified);
        let differ = service.clone();
        peers.expect_verify().returning(move |_, _| {
            record.lock().unwrap().push(started.elapsed());
            Ok(vec![differ.clone()])
        });

        // Copies from node 3, which will fall silent.
        let draft = |ip: &str| InstanceDraft { ip: Some(ip.into()), port: Some(80), ..Default::default() };
        let copy = ServiceSync {
            service: service.clone(),
            clients: vec![(Owner::Connection(ConnectionId::new("x")), vec![draft("127.0.0.3").validate().unwrap()])],
        };
        naming.on_sync(3, vec![copy]);

        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let rounds = tokio::spawn(run(naming.clone(), Arc::new(peers), async move {
            let _ = stopped.await;
        }));
        tokio::time::sleep(Duration::from_millis(1_000)).await;
        let connection = Registrant::Connection(ConnectionId::new("c"));
        naming.register(connection, &service, &draft("127.0.0.1")).await.unwrap();
        tokio::time::sleep(Duration::from_millis(LEASE_MS + 6_000)).await;
        stop.send(()).unwrap();
        rounds.await.unwrap();

        let synced = synced.lock().unwrap().clone();
        // The first sync that carried the registration (earlier ones answered a verify).
        let (first_at, _) = synced.iter().find(|(_, clients)| *clients > 0).copied().unwrap();
        assert!(
            first_at >= Duration::from_millis(1_000) && first_at <= Duration::from_millis(1_000) + SYNC_EVERY,
            "{synced:?}"
        );
        let verified = verified.lock().unwrap().clone();
        let period = Duration::from_millis(VERIFY_EVERY_MS);
        assert!(verified.windows(2).all(|pair| pair[1] - pair[0] == period), "{verified:?}");
        assert!(verified.len() >= 5, "{verified:?}");
        // Each verify named the service as different: it went out again after each.
        assert!(synced.len() > verified.len(), "{synced:?}");

        // Node 3 never verified: its copy went at the first sweep past its lease.
        let hosts: Vec<String> =
            naming.view(&service, &ViewQuery::default()).hosts.iter().map(|h| h.ip.clone()).collect();
        assert_eq!(hosts, ["127.0.0.1"]);
    }

    #[tokio::test(start_paused = true)]
    async fn with_no_peer_nothing_is_sent_and_changes_are_not_kept() {
        let started = Instant::now();
        let mut consensus = MockConsensusLog::new();
        consensus.expect_node_id().return_const(1_u64);
        let naming = Arc::new(NamingApp::new(Arc::new(consensus), AppliedState::new(), Arc::new(TokioClock(started))));
        let service = ServiceKey::parse(None, None, Some("orders")).unwrap();
        let mut peers = MockDistroPeers::new();
        peers.expect_live_peers().returning(Vec::new);
        // No `sync` nor `verify` expected: the mock panics if either is called.

        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let rounds = tokio::spawn(run(naming.clone(), Arc::new(peers), async move {
            let _ = stopped.await;
        }));
        let draft = InstanceDraft { ip: Some("127.0.0.1".into()), port: Some(80), ..Default::default() };
        naming.register(Registrant::Connection(ConnectionId::new("c")), &service, &draft).await.unwrap();
        tokio::time::sleep(Duration::from_millis(VERIFY_EVERY_MS * 2)).await;
        stop.send(()).unwrap();
        rounds.await.unwrap();
        assert!(naming.take_unsent().is_empty(), "the change was kept for peers that do not exist");
    }
}
