//! Histories, not only final states: clients on every node write and read a few keys while
//! the leader is killed (-9) and restarted; every operation's start, end and result is
//! recorded, and each key's history is checked:
//! - writes and `linearizable=true` reads with stateright's linearizability tester. A write
//!   that failed may or may not have been applied (the client cannot tell): if the
//!   cluster's record of applied writes has its value it stays in flight for ever in the
//!   history, and its client goes on as a new thread; if not, it had no effect and is left
//!   out. A failed read changed nothing and is left out.
//! - every client, local reads included, against the order the cluster applied the writes
//!   in (the config's history, where each update records the content it replaced): what a
//!   client reads or writes never comes before what it read or wrote earlier. With one
//!   total order of writes that every node applies, that is sequential consistency.
//!   (stateright's sequential consistency tester searches every interleaving without
//!   memory; it did not finish on a few hundred operations.)

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;
use stateright::semantics::register::{Register, RegisterOp, RegisterRet};
use stateright::semantics::{ConsistencyTester, LinearizabilityTester};
use tests::{Cluster, Nacosd};

use crate::t100_cluster::DEADLINE;

const CONFIGS: &str = "/nacos/v1/cs/configs";
const KEYS: u64 = 3;

/// One operation as a client saw it.
#[derive(Debug, Clone)]
struct Op {
    client: u64,
    key: u64,
    started: Instant,
    ended: Instant,
    kind: Kind,
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    /// Acknowledged, or failed (`acknowledged: false`: applied or not, unknown).
    Write { value: u64, acknowledged: bool },
    /// Read `value` (0: absent); `linearizable` when asked with `linearizable=true`.
    Read { value: u64, linearizable: bool },
}

#[derive(Clone)]
struct Client {
    id: u64,
    url: String,
    http: reqwest::blocking::Client,
    /// Reads through the read barrier, or this node's local state.
    linearizable: bool,
}

/// Most operations a client records: the testers search every order of overlapping
/// operations without memory, so histories are kept to a few hundred per key.
const MAX_OPS: usize = 80;
/// After this many writes with an unknown outcome a client only reads: each stays in
/// flight for ever in the history, and every one multiplies the orders to search.
const MAX_UNKNOWN_WRITES: usize = 3;
/// A client waits this long after a failure before its next operation, as SDKs do.
const BACK_OFF: Duration = Duration::from_millis(100);

impl Client {
    /// Writes and reads the keys until `stop` or [`MAX_OPS`], in a fixed pattern.
    fn run(&self, stop: &AtomicBool, history: &Mutex<Vec<Op>>) {
        let (mut seq, mut recorded, mut unknown) = (0u64, 0, 0);
        while !stop.load(Ordering::Relaxed) && recorded < MAX_OPS {
            seq += 1;
            let key = (seq / 3 + self.id) % KEYS;
            let started = Instant::now();
            let kind = match seq % 3 {
                0 if unknown < MAX_UNKNOWN_WRITES => self.write(key, self.id * 1_000_000 + seq),
                _ => self.read(key),
            };
            let ended = Instant::now();
            let failed = match &kind {
                None => true,
                Some(Kind::Write { acknowledged, .. }) => !acknowledged,
                Some(Kind::Read { .. }) => false,
            };
            if let Some(kind) = kind {
                unknown += usize::from(failed);
                recorded += 1;
                history.lock().unwrap().push(Op { client: self.id, key, started, ended, kind });
            }
            if failed {
                std::thread::sleep(BACK_OFF);
            }
        }
    }

    fn write(&self, key: u64, value: u64) -> Option<Kind> {
        let form =
            [("dataId", format!("reg-{key}")), ("group", "DEFAULT_GROUP".into()), ("content", format!("v{value}"))];
        let response =
            self.http.post(format!("{}{CONFIGS}", self.url)).timeout(Duration::from_secs(15)).form(&form).send();
        let acknowledged = match response {
            Ok(response) => response.status() == StatusCode::OK && response.text().is_ok_and(|body| body == "true"),
            // Not sent at all: nothing to record.
            Err(err) if err.is_connect() => return None,
            Err(_) => false,
        };
        Some(Kind::Write { value, acknowledged })
    }

    fn read(&self, key: u64) -> Option<Kind> {
        let linearizable = if self.linearizable { "true" } else { "false" };
        let query = [
            ("dataId", format!("reg-{key}")),
            ("group", "DEFAULT_GROUP".into()),
            ("linearizable", linearizable.into()),
        ];
        let response = self.http.get(format!("{}{CONFIGS}", self.url)).query(&query).send().ok()?;
        let value = match response.status() {
            StatusCode::NOT_FOUND => 0,
            StatusCode::OK => response.text().ok()?.strip_prefix('v')?.parse().ok()?,
            _ => return None,
        };
        Some(Kind::Read { value, linearizable: self.linearizable })
    }
}

/// Feeds one key's operations to `tester` in the order they happened. Ends before starts
/// at the same instant would order two operations that may have overlapped; starts come
/// first, which only ever allows more orders.
fn replay<T: ConsistencyTester<u64, Register<u64>>>(tester: &mut T, ops: &[&Op]) {
    enum Event<'a> {
        Start(&'a Op),
        End(&'a Op),
    }
    let mut events: Vec<(Instant, u8, usize, Event<'_>)> = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        events.push((op.started, 0, i, Event::Start(op)));
        if !matches!(op.kind, Kind::Write { acknowledged: false, .. }) {
            events.push((op.ended, 1, i, Event::End(op)));
        }
    }
    events.sort_by_key(|(at, order, i, _)| (*at, *order, *i));
    // A client whose write's outcome is unknown goes on as a new thread: the unknown write
    // stays in flight.
    let mut epoch: BTreeMap<u64, u64> = BTreeMap::new();
    let thread = |epoch: &BTreeMap<u64, u64>, client: u64| client * 1_000 + epoch.get(&client).copied().unwrap_or(0);
    for (_, _, _, event) in events {
        match event {
            Event::Start(op) => {
                let invoked = match op.kind {
                    Kind::Write { value, .. } => RegisterOp::Write(value),
                    Kind::Read { .. } => RegisterOp::Read,
                };
                tester.on_invoke(thread(&epoch, op.client), invoked).unwrap();
                if matches!(op.kind, Kind::Write { acknowledged: false, .. }) {
                    *epoch.entry(op.client).or_default() += 1;
                }
            }
            Event::End(op) => {
                let returned = match op.kind {
                    Kind::Write { .. } => RegisterRet::WriteOk,
                    Kind::Read { value, .. } => RegisterRet::ReadOk(value),
                };
                tester.on_return(thread(&epoch, op.client), returned).unwrap();
            }
        }
    }
}

/// Runs `check` on a thread with a large stack: the testers search recursively, one frame
/// per operation.
fn on_big_stack<R: Send + 'static>(check: impl FnOnce() -> R + Send + 'static) -> R {
    std::thread::Builder::new().stack_size(256 << 20).spawn(check).unwrap().join().unwrap()
}

/// What happens to the leader while the clients run.
#[derive(Debug, Clone, Copy)]
enum Fault {
    /// `kill -9`, then a restart.
    Kill,
    /// Cut off from the other members by the network, then reconnected.
    Partition,
}

#[test]
fn histories_across_a_killed_leader_are_linearizable_and_local_reads_sequential() {
    for _ in 0..tests::soak_rounds() {
        check_histories_across(Fault::Kill);
    }
}

#[test]
fn histories_across_a_partitioned_leader_are_linearizable_and_local_reads_sequential() {
    for _ in 0..tests::soak_rounds() {
        check_histories_across(Fault::Partition);
    }
}

fn check_histories_across(fault: Fault) {
    let mut cluster = match fault {
        Fault::Kill => Cluster::start(3, &[]),
        Fault::Partition => Cluster::start_partitionable(3, &[]),
    };
    let leader = cluster.wait_for_leader(DEADLINE);
    let followers: Vec<usize> = (0..3).filter(|&i| i != leader).collect();
    // Two clients with linearizable reads on every node; one with local reads on each
    // follower (a client whose node is killed or cut off may find it behind afterwards:
    // local reads promise nothing there).
    let mut clients = Vec::new();
    for (index, node) in cluster.nodes.iter().enumerate() {
        let local = followers.contains(&index).then_some(false);
        for linearizable in [true, true].into_iter().chain(local) {
            let id = clients.len() as u64 + 1;
            clients.push(Client { id, url: node.url(""), http: node.http().clone(), linearizable });
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let history = Arc::new(Mutex::new(Vec::new()));
    let running: Vec<_> = clients
        .iter()
        .cloned()
        .map(|client| {
            let (stop, history) = (Arc::clone(&stop), Arc::clone(&history));
            std::thread::spawn(move || client.run(&stop, &history))
        })
        .collect();
    let wait_for_ops = |more: usize| {
        let target = history.lock().unwrap().len() + more;
        let deadline = Instant::now() + DEADLINE;
        while history.lock().unwrap().len() < target {
            assert!(Instant::now() < deadline, "the clients made no progress");
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    wait_for_ops(80);
    match fault {
        Fault::Kill => cluster.nodes[leader].kill9(),
        Fault::Partition => cluster.isolate(leader),
    }
    cluster.wait_for_leader_among(&followers, DEADLINE);
    wait_for_ops(120);
    match fault {
        Fault::Kill => cluster.nodes[leader].restart(),
        Fault::Partition => cluster.reconnect(leader),
    }
    cluster.wait_for_leader(DEADLINE);
    wait_for_ops(40);
    stop.store(true, Ordering::Relaxed);
    for client in running {
        client.join().unwrap();
    }

    let history = std::mem::take(&mut *history.lock().unwrap());
    let unknown = history.iter().filter(|op| matches!(op.kind, Kind::Write { acknowledged: false, .. })).count();
    eprintln!("{fault:?}: {} operations recorded, {unknown} writes with an unknown outcome", history.len());
    for key in 0..KEYS {
        let of_key: Vec<Op> = history.iter().filter(|op| op.key == key).cloned().collect();
        let order = applied_order(&cluster.nodes[leader], key);
        // A write whose outcome is unknown and whose value the cluster never applied had no
        // effect: it leaves the history. Each one left in would stay in flight for ever and
        // multiply the orders the tester searches (a handful made a run search for many
        // minutes); a read of such a value is then caught as the stale read it is.
        let never_applied =
            |op: &Op| matches!(op.kind, Kind::Write { acknowledged: false, value } if !order.contains(&value));
        let linearizable: Vec<Op> = of_key
            .iter()
            .filter(|op| !matches!(op.kind, Kind::Read { linearizable: false, .. }) && !never_applied(op))
            .cloned()
            .collect();
        let dropped = of_key.iter().filter(|op| never_applied(op)).count();
        let started = Instant::now();
        let serial = on_big_stack(move || {
            let mut tester = LinearizabilityTester::new(Register(0u64));
            replay(&mut tester, &linearizable.iter().collect::<Vec<_>>());
            tester.serialized_history().map(|ops| ops.len())
        });
        eprintln!(
            "key {key}: linearizability checked in {:?} ({dropped} never-applied writes left out)",
            started.elapsed()
        );
        assert!(serial.is_some(), "the history of key {key} is not linearizable");

        for client in &clients {
            let own: Vec<&Op> = of_key.iter().filter(|op| op.client == client.id).collect();
            if let Err(problem) = in_applied_order(&own, &order) {
                panic!("client {} (linearizable reads: {}) on key {key}: {problem}", client.id, client.linearizable);
            }
        }
    }
}

/// The values written to `key` in the order the cluster applied them, from the config's
/// history as `node` serves it: an insert records the value it wrote, an update the value
/// it replaced; the value served now is the last.
///
/// `node` may have been restarted and still be catching up, so the history is taken
/// between two linearizable reads of the value (each waits until `node` has applied
/// everything committed when it was asked) that agree: nothing was applied in between.
fn applied_order(node: &Nacosd, key: u64) -> Vec<u64> {
    let data_id = format!("reg-{key}");
    let deadline = Instant::now() + DEADLINE;
    loop {
        let before = read_caught_up(node, &data_id);
        let records = history_of(node, &data_id);
        if read_caught_up(node, &data_id) != before {
            assert!(Instant::now() < deadline, "reg-{key} kept changing after the clients stopped");
            continue;
        }
        let mut order: Vec<u64> = records.iter().filter(|(op, _)| op == "U").map(|(_, value)| *value).collect();
        if order.is_empty() {
            order.extend(records.iter().filter(|(op, _)| op == "I").map(|(_, value)| *value));
        }
        order.extend(before.filter(|now| order.last() != Some(now)));
        return order;
    }
}

/// `data_id`'s value (`None`: absent) once `node` has applied every committed write.
fn read_caught_up(node: &Nacosd, data_id: &str) -> Option<u64> {
    let query = [("dataId", data_id), ("group", "DEFAULT_GROUP"), ("linearizable", "true")];
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Ok(response) = node.http().get(node.url(CONFIGS)).query(&query).send() {
            match response.status() {
                StatusCode::NOT_FOUND => return None,
                StatusCode::OK => return Some(value_of(&response.text().unwrap())),
                _ => {}
            }
        }
        assert!(Instant::now() < deadline, "{data_id}: no linearizable read on the node");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `data_id`'s history records as `node` serves them, oldest first: (opType, value).
fn history_of(node: &Nacosd, data_id: &str) -> Vec<(String, u64)> {
    let query = [("search", "accurate"), ("dataId", data_id), ("group", "DEFAULT_GROUP"), ("pageSize", "500")];
    let body = node.http().get(node.url("/nacos/v1/cs/history")).query(&query).send().unwrap().text().unwrap();
    let body: Value = serde_json::from_str(&body).unwrap();
    let mut records: Vec<(u64, String, u64)> = body["pageItems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            let id = item["id"].as_str().unwrap().parse().unwrap();
            (id, item["opType"].as_str().unwrap().to_owned(), value_of(item["content"].as_str().unwrap()))
        })
        .collect();
    assert!((records.len() as u64) < 500, "more history than one page");
    records.sort_by_key(|(id, _, _)| *id);
    records.into_iter().map(|(_, op, value)| (op, value)).collect()
}

fn value_of(content: &str) -> u64 {
    content.strip_prefix('v').and_then(|n| n.parse::<u64>().ok()).unwrap()
}

/// Checks one client's operations against the applied order of writes: each acknowledged
/// write and each read is at or after the latest position the client saw before it (a read
/// of nothing is before every write).
fn in_applied_order(ops: &[&Op], order: &[u64]) -> Result<(), String> {
    let position = |value: u64| -> Result<Option<usize>, String> {
        match value {
            0 => Ok(None),
            value => order
                .iter()
                .position(|written| *written == value)
                .map(Some)
                .ok_or(format!("v{value} was never applied")),
        }
    };
    let mut seen: Option<usize> = None;
    let mut ops = ops.to_vec();
    ops.sort_by_key(|op| op.started);
    for op in ops {
        let at = match op.kind {
            Kind::Write { acknowledged: false, .. } => continue,
            Kind::Write { value, .. } | Kind::Read { value, .. } => position(value)?,
        };
        if at < seen {
            return Err(format!("{op:?} is at {at:?} in the applied order, before {seen:?} which it saw earlier"));
        }
        seen = at;
    }
    Ok(())
}

/// The checking itself can fail: a read that misses an acknowledged write made before it
/// started is caught, and a write whose outcome is unknown may or may not count.
#[test]
fn the_checker_catches_a_stale_read_and_allows_an_unknown_write_either_way() {
    let at = Instant::now();
    let ms = |n: u64| at + Duration::from_millis(n);
    let op = |client, started, ended, kind| Op { client, key: 0, started: ms(started), ended: ms(ended), kind };
    let written = op(1, 0, 10, Kind::Write { value: 7, acknowledged: true });
    let linearizable = |history: &[Op]| {
        let mut tester = LinearizabilityTester::new(Register(0u64));
        replay(&mut tester, &history.iter().collect::<Vec<_>>());
        tester.is_consistent()
    };
    let read = |value| op(2, 20, 30, Kind::Read { value, linearizable: true });
    assert!(linearizable(&[written.clone(), read(7)]));
    assert!(!linearizable(&[written.clone(), read(0)]), "a stale read passed");

    let unknown = op(1, 40, 50, Kind::Write { value: 8, acknowledged: false });
    let later_read = |value| op(2, 60, 70, Kind::Read { value, linearizable: true });
    let after_unknown = |value| op(1, 80, 90, Kind::Write { value, acknowledged: true });
    for seen in [7, 8] {
        assert!(linearizable(&[written.clone(), unknown.clone(), later_read(seen), after_unknown(9)]), "{seen}");
    }
    assert!(!linearizable(&[written, unknown, later_read(5), after_unknown(9)]), "a value never written passed");
}

/// The order check can fail: a read going back, and a read that misses the client's own
/// write, are caught.
#[test]
fn the_order_check_catches_a_read_going_back_and_a_missed_own_write() {
    let at = Instant::now();
    let op = |n: u64, kind| Op { client: 1, key: 0, started: at + Duration::from_millis(n), ended: at, kind };
    let read = |n, value| op(n, Kind::Read { value, linearizable: false });
    let order = [5, 6, 7];
    assert!(in_applied_order(&[&read(0, 0), &read(1, 5), &read(2, 7)], &order).is_ok());
    assert!(in_applied_order(&[&read(0, 6), &read(1, 5)], &order).is_err(), "a read went back");
    assert!(in_applied_order(&[&read(0, 6), &read(1, 0)], &order).is_err(), "a read of nothing after a value");
    let wrote = op(0, Kind::Write { value: 6, acknowledged: true });
    assert!(in_applied_order(&[&wrote, &read(1, 5)], &order).is_err(), "the client's own write was missed");
    let unknown = op(0, Kind::Write { value: 7, acknowledged: false });
    assert!(in_applied_order(&[&unknown, &read(1, 5)], &order).is_ok(), "an unknown write sets no floor");
    assert!(in_applied_order(&[&read(0, 9)], &order).is_err(), "a value never applied");
}
