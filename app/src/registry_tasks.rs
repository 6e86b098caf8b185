//! The registry's timers: the push round that turns changes into coalesced pushes, and
//! the expiry sweep of HTTP-kept instances.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use ports::naming::NamingApp;

/// How often changed services are pushed to subscribers. Every change waits at most this
/// long, and a burst within it is one push per subscriber (Java Nacos waits 500 ms).
const PUSH_EVERY: Duration = Duration::from_millis(50);
/// How often beat expiry runs; the preserved.* timeouts are in milliseconds, so a fine
/// sweep keeps them honest (Java Nacos sweeps every 5 s).
const EXPIRE_EVERY: Duration = Duration::from_secs(1);

/// Runs both timers until `stop` resolves.
pub(crate) async fn run(naming: Arc<NamingApp>, stop: impl Future<Output = ()>) {
    let mut push = tokio::time::interval(PUSH_EVERY);
    push.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut expire = tokio::time::interval(EXPIRE_EVERY);
    expire.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = push.tick() => {
                let pushed = naming.flush_pushes();
                if pushed > 0 {
                    tracing::debug!(pushed, "service pushes queued");
                }
            }
            _ = expire.tick() => naming.expire(),
            _ = &mut stop => return,
        }
    }
}

#[cfg(test)]
mod tests {
    //! The timers in paused time, on a real registry service: beat expiry turns a silent
    //! instance unhealthy at 15 s and removes it at 30 s, beats keep an instance, and each
    //! change reaches subscribers within one push round.
    #![allow(clippy::unwrap_used, reason = "tests")]

    use std::sync::Mutex;

    use domain::config::ConnectionId;
    use domain::naming::{InstanceAddress, InstanceDraft, Registrant, ServiceKey, Subscriber, SubscriberId, ViewQuery};
    use ports::applied::AppliedState;
    use ports::consensus::MockConsensusLog;
    use ports::naming::{RegistryQueries, RegistryService, ServicePush, SharedView, SubscriptionService};
    use tokio::time::Instant;

    use super::*;
    use crate::paused_clock::TokioClock;

    /// Records when each push was queued, and what it carried.
    #[derive(Default)]
    struct Pushes(Mutex<Vec<(Instant, usize)>>);

    impl ServicePush for Pushes {
        fn push(&self, _: &SubscriberId, view: Arc<SharedView>) {
            self.0.lock().unwrap().push((Instant::now(), view.hosts.len()));
        }
    }

    fn draft(port: i64) -> InstanceDraft {
        InstanceDraft { ip: Some("127.0.0.1".into()), port: Some(port), ..InstanceDraft::default() }
    }

    #[tokio::test(start_paused = true)]
    async fn silent_instances_turn_unhealthy_then_vanish_and_beats_keep_them() {
        let started = Instant::now();
        let naming = Arc::new(NamingApp::new(
            Arc::new(MockConsensusLog::new()),
            AppliedState::new(),
            Arc::new(TokioClock(started)),
        ));
        let pushes = Arc::new(Pushes::default());
        naming.add_pusher(pushes.clone());
        let (quiet, beating) = (
            ServiceKey::parse(None, None, Some("quiet")).unwrap(),
            ServiceKey::parse(None, None, Some("beating")).unwrap(),
        );
        naming.register(Registrant::Http, &quiet, &draft(1)).await.unwrap();
        naming.register(Registrant::Http, &beating, &draft(2)).await.unwrap();
        let watcher = SubscriberId::Connection(ConnectionId::new("w"));
        let subscriber = Subscriber { clusters: String::new(), client_ip: "127.0.0.2".into(), app: String::new() };
        naming.subscribe(watcher, &quiet, subscriber);

        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let timers = tokio::spawn(run(naming.clone(), async move {
            let _ = stopped.await;
        }));
        let host = |service: &ServiceKey| naming.view(service, &ViewQuery::default()).hosts.first().cloned();
        let beat = || naming.beat(&beating, &InstanceAddress::parse(Some("127.0.0.1"), Some(2), None).unwrap(), None);

        let mut unhealthy_at = None;
        let mut gone_at = None;
        while gone_at.is_none() && started.elapsed() < Duration::from_secs(60) {
            tokio::time::sleep(Duration::from_millis(500)).await;
            if started.elapsed().as_millis().is_multiple_of(5_000) {
                assert!(beat().unwrap().known);
            }
            match host(&quiet) {
                Some(instance) if !instance.healthy => {
                    unhealthy_at.get_or_insert(started.elapsed());
                }
                Some(_) => {}
                None => gone_at = Some(started.elapsed()),
            }
        }
        let (unhealthy_at, gone_at) = (unhealthy_at.unwrap(), gone_at.unwrap());
        // Within one sweep (1 s) and one look (0.5 s) of the deadline, never before it.
        let late = EXPIRE_EVERY + Duration::from_millis(500);
        assert!(
            unhealthy_at > Duration::from_secs(15) && unhealthy_at <= Duration::from_secs(15) + late,
            "{unhealthy_at:?}"
        );
        assert!(gone_at > Duration::from_secs(30) && gone_at <= Duration::from_secs(30) + late, "{gone_at:?}");
        assert!(host(&beating).unwrap().healthy, "a beating instance stays healthy");

        let pushes = pushes.0.lock().unwrap().clone();
        let hosts: Vec<usize> = pushes.iter().map(|(_, hosts)| *hosts).collect();
        assert_eq!(hosts, vec![1, 1, 0], "welcome, unhealthy, gone: one push per change");
        let removal_pushed = pushes[2].0 - started;
        assert!(
            removal_pushed > Duration::from_secs(30) && removal_pushed <= gone_at + PUSH_EVERY,
            "the removal is pushed within a round: {removal_pushed:?}"
        );

        stop.send(()).unwrap();
        timers.await.unwrap();
    }
}
