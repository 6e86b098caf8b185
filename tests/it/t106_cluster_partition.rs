//! A leader cut off from the other members by the network (TCP proxies between real
//! processes), while clients write through every node, the cut-off one included.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use tests::Cluster;

use crate::t100_cluster::{
    check_outcomes, read, start_writers, wait_for_progress, Acks, Outcomes, DEADLINE, ELECTION_BOUND,
};

#[test]
fn a_partitioned_leader_is_replaced_and_no_acknowledged_write_is_lost() {
    let cluster = Cluster::start_partitionable(3, &[]);
    let leader = cluster.wait_for_leader(DEADLINE);
    let majority: Vec<usize> = (0..3).filter(|&i| i != leader).collect();
    let (stop, acks) = (Arc::new(AtomicBool::new(false)), Acks::default());
    let writers = start_writers(&cluster, &[0, 1, 2], &stop, &acks);
    acks.wait_for(30);

    let cut_at = Instant::now();
    cluster.isolate(leader);
    let new_leader = cluster.wait_for_leader_among(&majority, DEADLINE);
    let election = cut_at.elapsed();
    eprintln!("new leader after the leader was cut off in {election:?}");
    assert_ne!(new_leader, leader);
    // Cut off, the old leader hears nothing for an election timeout before the others
    // stand: one timeout more than after a kill.
    assert!(election < ELECTION_BOUND, "a new leader took {election:?}");
    wait_for_progress(&cluster.nodes[majority[0]], "during-partition");
    wait_for_progress(&cluster.nodes[majority[1]], "during-partition-2");
    acks.wait_for(30);
    // The cut-off node cannot commit: a write through it is not acknowledged.
    let through_cut_off = crate::t100_cluster::publish(&cluster.nodes[leader], "through-the-cut-off-node", "x");
    eprintln!("a write through the cut-off node: {through_cut_off:?}");
    assert!(through_cut_off.is_err(), "a write through the minority was acknowledged");

    cluster.reconnect(leader);
    assert_eq!(cluster.wait_for_leader(DEADLINE), new_leader, "the old leader follows once it hears the new term");
    stop.store(true, Ordering::Relaxed);
    let outcomes: Vec<Outcomes> = writers.into_iter().map(|writer| writer.join().unwrap()).collect();
    check_outcomes(&cluster, &outcomes);
    let caught_up = read(&cluster.nodes[leader], "during-partition").map(|(content, _)| content);
    assert_eq!(caught_up.as_deref(), Some("progress"), "the healed node has the majority's writes");
}
