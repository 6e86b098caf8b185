//! Health checks of persistent instances: every [`TICK`], the services this node is
//! responsible for (Distro's rule over the live members) are listed, the instances due are
//! probed, and a health the domain's rule says changed is recorded through raft, so every
//! node applies it and pushes its subscribers. When responsibility moves, the new node
//! starts its own runs; the old one forgets its.

use std::collections::hash_map::RandomState;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::time::Duration;

use domain::naming::health_check::{check_delay, HealthChecks, ProbeResult, ProbeTarget};
use domain::Millis;
use ports::cluster::{ClusterView, Responsible};
use ports::naming::{HealthProbe, NamingApp, RegistryQueries};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;

/// How often due probes are started and the responsible services listed again.
const TICK: Duration = Duration::from_millis(500);
/// Most probes in flight at once: each holds a socket for up to the probe timeout.
const MAX_PROBES_IN_FLIGHT: usize = 256;

/// What the checking needs from the rest of the node.
pub(crate) struct HealthCheckTask {
    pub(crate) naming: Arc<NamingApp>,
    pub(crate) cluster: Arc<dyn ClusterView>,
    pub(crate) probe: Arc<dyn HealthProbe>,
}

impl HealthCheckTask {
    /// Checks until `stop` resolves.
    pub(crate) async fn run(self, stop: impl Future<Output = ()>) {
        let started = Instant::now();
        let now = || Millis(u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX));
        let mut checks = HealthChecks::default();
        let mut probes: JoinSet<(ProbeTarget, ProbeResult)> = JoinSet::new();
        let permits = Arc::new(Semaphore::new(MAX_PROBES_IN_FLIGHT));
        let mut listed: Option<(u64, Vec<u64>, bool)> = None;
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(stop);
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    // The targets are listed again only when the services or the live
                    // members (who is responsible) changed, or the switch flipped.
                    let status = self.cluster.status();
                    let enabled = self.naming.switches().health_check_enabled();
                    let listed_for = (self.naming.persistent_generation(), status.live_peers(), enabled);
                    if listed.as_ref() != Some(&listed_for) {
                        // `healthCheckEnabled` off: nothing is probed, and the runs start
                        // afresh when it is on again.
                        let targets = self.naming.probe_targets(|service| {
                            enabled && status.responsible_for(&service.to_string()) == Responsible::Here
                        });
                        checks.track(targets, now(), || check_delay(random()));
                        listed = Some(listed_for);
                    }
                    for target in checks.due(now()) {
                        let (probe, permits) = (Arc::clone(&self.probe), Arc::clone(&permits));
                        probes.spawn(async move {
                            let _permit = permits.acquire_owned().await;
                            let result = target.checker.judge(probe.probe(&target).await);
                            (target, result)
                        });
                    }
                }
                Some(done) = probes.join_next(), if !probes.is_empty() => {
                    let Ok((target, result)) = done else { continue };
                    let Some(healthy) = self.naming.recorded_health(&target) else { continue };
                    let check_times = self.naming.switches().check_times();
                    let next = check_delay(random());
                    let Some(now_healthy) = checks.record(&target, result, healthy, now(), next, check_times) else {
                        continue;
                    };
                    tracing::info!(
                        service = %target.service, ip = %target.ip, port = target.port,
                        cluster = target.cluster.as_str(), healthy = now_healthy, ?result,
                        "health check changed an instance's health"
                    );
                    let naming = Arc::clone(&self.naming);
                    tokio::spawn(async move {
                        if let Err(err) = naming.record_health(&target, now_healthy).await {
                            tracing::warn!(service = %target.service, ip = %target.ip, cause = %err,
                                "could not record a health check's result; the next probes will try again");
                        }
                    });
                }
                _ = &mut stop => return,
            }
        }
    }
}

/// A random number for spreading probes over time (not for anything secret).
fn random() -> u64 {
    RandomState::new().build_hasher().finish()
}

#[cfg(test)]
mod tests {
    //! The checking in paused time against a real registry service and a scripted probe:
    //! three failed probes turn an instance unhealthy (recorded through raft), three passes
    //! turn it healthy again, and a service another node is responsible for is not probed.
    #![allow(clippy::unwrap_used, reason = "tests")]

    use std::sync::Mutex;

    use async_trait::async_trait;
    use domain::naming::health_check::ProbeObservation;
    use domain::naming::{InstanceDraft, Registrant, ServiceKey};
    use ports::applied::AppliedState;
    use ports::cluster::{ClusterStatus, MemberStatus, MockClusterView, RaftRole};
    use ports::consensus::MockConsensusLog;
    use ports::naming::RegistryService;

    use super::*;
    use crate::paused_clock::TokioClock;

    /// Answers what the test says, and counts probes.
    #[derive(Default)]
    struct Scripted {
        passing: Mutex<bool>,
        probes: Mutex<usize>,
    }

    #[async_trait]
    impl HealthProbe for Scripted {
        async fn probe(&self, target: &ProbeTarget) -> ProbeObservation {
            assert_eq!(target.ip, "127.0.0.1", "probes only the registered address");
            *self.probes.lock().unwrap() += 1;
            if *self.passing.lock().unwrap() {
                ProbeObservation::Connected
            } else {
                ProbeObservation::Refused
            }
        }
    }

    /// A consensus log that applies every command at once, as a one-node raft does.
    fn applying(state: &AppliedState) -> MockConsensusLog {
        let mut consensus = MockConsensusLog::new();
        let state = state.clone();
        consensus.expect_propose().returning(move |command| Ok(state.apply(&command).verdict()));
        consensus
    }

    /// A cluster where this node (1) is the only member, or where node 2 alone is and is
    /// therefore responsible for everything.
    fn responsible(here: bool) -> MockClusterView {
        let member = |node_id: u64| MemberStatus {
            node_id,
            cluster_addr: format!("127.0.0.1:{node_id}"),
            role: RaftRole::Leader,
            last_log_index: None,
            silence_ms: Some(0),
            http_addr: Some(format!("127.0.0.1:{node_id}")),
        };
        let status =
            ClusterStatus { self_id: 1, leader: None, term: 1, members: vec![member(if here { 1 } else { 2 })] };
        let mut cluster = MockClusterView::new();
        cluster.expect_status().returning(move || status.clone());
        cluster
    }

    async fn registered(here: bool) -> (Arc<NamingApp>, Arc<Scripted>, impl FnOnce()) {
        let state = AppliedState::new();
        let naming =
            Arc::new(NamingApp::new(Arc::new(applying(&state)), state.clone(), Arc::new(TokioClock(Instant::now()))));
        let service = ServiceKey::parse(None, None, Some("checked")).unwrap();
        let draft = InstanceDraft {
            ip: Some("127.0.0.1".into()),
            port: Some(8080),
            ephemeral: Some(false),
            ..InstanceDraft::default()
        };
        naming.register(Registrant::Http, &service, &draft).await.unwrap();
        let probe = Arc::new(Scripted { passing: Mutex::new(true), ..Scripted::default() });
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task =
            HealthCheckTask { naming: naming.clone(), cluster: Arc::new(responsible(here)), probe: probe.clone() };
        tokio::spawn(task.run(async move {
            let _ = stopped.await;
        }));
        (naming, probe, move || drop(stop))
    }

    fn healthy(naming: &NamingApp) -> bool {
        let target = naming.probe_targets(|_| true).remove(0);
        naming.recorded_health(&target).unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn three_failures_mark_unhealthy_and_three_passes_healthy_again() {
        let (naming, probe, stop) = registered(true).await;
        tokio::time::sleep(Duration::from_secs(30)).await;
        assert!(healthy(&naming));
        assert!(*probe.probes.lock().unwrap() >= 30 / 7, "probed every 2-7 s");

        *probe.passing.lock().unwrap() = false;
        let failing_since = Instant::now();
        while healthy(&naming) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let took = failing_since.elapsed();
        assert!(took >= Duration::from_secs(4) && took <= Duration::from_secs(22), "unhealthy after {took:?}");

        *probe.passing.lock().unwrap() = true;
        let passing_since = Instant::now();
        while !healthy(&naming) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let took = passing_since.elapsed();
        assert!(took >= Duration::from_secs(4) && took <= Duration::from_secs(22), "healthy after {took:?}");
        stop();
    }

    #[tokio::test(start_paused = true)]
    async fn a_service_another_node_is_responsible_for_is_not_probed() {
        let (naming, probe, stop) = registered(false).await;
        *probe.passing.lock().unwrap() = false;
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert_eq!(*probe.probes.lock().unwrap(), 0);
        assert!(healthy(&naming));
        stop();
    }

    #[tokio::test(start_paused = true)]
    async fn the_switches_turn_checks_off_and_set_how_many_results_flip_health() {
        let (naming, probe, stop) = registered(true).await;
        naming.set_switch("healthCheckEnabled", "false").await.unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
        let probed = *probe.probes.lock().unwrap();
        *probe.passing.lock().unwrap() = false;
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert_eq!(*probe.probes.lock().unwrap(), probed, "probed with healthCheckEnabled=false");
        assert!(healthy(&naming));

        naming.set_switch("checkTimes", "1").await.unwrap();
        naming.set_switch("healthCheckEnabled", "true").await.unwrap();
        let since = Instant::now();
        while healthy(&naming) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(since.elapsed() <= Duration::from_secs(8), "one failure is enough: {:?}", since.elapsed());
        assert!(naming.set_switch("checkTimes", "0").await.is_err(), "checkTimes below 1 is refused");
        stop();
    }
}
