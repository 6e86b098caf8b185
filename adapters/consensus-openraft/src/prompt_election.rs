//! Prompt elections: a follower whose leader has been silent for the whole leader lease
//! stands for election at once, instead of waiting out another random timeout.
//!
//! openraft's election timer fires at a random point in `[min, max]` after the last word
//! from the leader, but a voter refuses every candidate until its leader lease (in openraft
//! 0.9, the election timeout's maximum) has run out since it last heard the leader. A
//! candidate whose timer fires early is refused and draws another timeout, so after a
//! leader died an election took one to two timeouts (1.0 to 1.25 s measured with 300-600
//! ms). This task watches the silence and asks for an election just after the lease has
//! run out; each member waits a different extra delay ([`stand_after`]), so two followers
//! rarely stand together, and if they do openraft's own timers settle it as before.
//!
//! While the leader lives its heartbeats (every 100 ms) keep the silence far below the
//! lease, so the task never acts; it changes only how soon a dead leader is replaced.

use std::time::Duration;

use openraft::ServerState;
use tokio_util::sync::CancellationToken;

use crate::types::{NodeId, Raft};

/// How often the silence is looked at.
const CHECK_EVERY: Duration = Duration::from_millis(20);

/// How long a follower must have heard nothing from its leader before it stands: the
/// lease, plus a delay of its own between 20 and 100 ms by node id, so that members stand
/// one after another rather than together.
pub(crate) fn stand_after(lease: Duration, node_id: NodeId) -> Duration {
    lease + Duration::from_millis(20 + node_id.wrapping_mul(37) % 81)
}

/// Stands for election once per term when this member is a follower and its leader has
/// been silent longer than [`stand_after`].
pub(crate) async fn run(raft: Raft, node_id: NodeId, lease: Duration, stop: CancellationToken) {
    let patience = stand_after(lease, node_id);
    let mut ticker = tokio::time::interval(CHECK_EVERY);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut stood_in_term = None;
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = ticker.tick() => {}
        }
        let (state, term) = {
            let metrics = raft.metrics();
            let metrics = metrics.borrow();
            (metrics.state, metrics.current_term)
        };
        if state != ServerState::Follower || stood_in_term == Some(term) {
            continue;
        }
        // `None` until this member has heard a leader or voted: a cluster still forming
        // elects by openraft's timers alone.
        let silence = raft.with_raft_state(|state| state.vote_last_modified().map(|at| at.elapsed())).await;
        let Ok(Some(silence)) = silence else { continue };
        if silence > patience {
            tracing::info!(
                node_id,
                term,
                silent_ms = silence.as_millis() as u64,
                "the leader is silent past its lease: standing for election"
            );
            stood_in_term = Some(term);
            if raft.trigger().elect().await.is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_stand_just_after_the_lease_each_at_its_own_time() {
        let lease = Duration::from_millis(600);
        let delays: Vec<Duration> = (1..=5).map(|id| stand_after(lease, id) - lease).collect();
        for delay in &delays {
            assert!((Duration::from_millis(20)..=Duration::from_millis(100)).contains(delay), "{delay:?}");
        }
        let mut distinct = delays.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), delays.len(), "a 5-node cluster's members stand at different times: {delays:?}");
        // Well before two election timeouts (1.2 s) even with the longest delay.
        assert!(stand_after(lease, u64::MAX) < Duration::from_millis(750));
    }
}
