//! The peer transport in memory: nodes of one process reach each other by address through
//! a [`MemNetwork`], whose faults a test sets and changes while the nodes run.
//!
//! Faults, per directed link (`from` -> `to`):
//! - cut: a call fails as unreachable, after the link's delay, as a call to a dead or
//!   partitioned peer does once its timeout passes;
//! - delay: every call waits this long before it is delivered, and its answer as long
//!   again (on tokio's clock, so paused time skips it);
//! - loss: every n-th call is lost: the caller hears that the peer is unreachable, which
//!   is all a real transport can say of a lost request or a lost answer.
//!
//! A call to an address nobody registered (a stopped node) is unreachable too.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use ports::peer::{PeerError, PeerTransport, RaftRpcHandler, RaftRpcKind};

/// The nodes of one test and the links between them.
#[derive(Default)]
pub struct MemNetwork {
    inner: Mutex<Links>,
}

#[derive(Default)]
struct Links {
    handlers: HashMap<String, Arc<dyn RaftRpcHandler>>,
    cut: HashSet<(String, String)>,
    delay: Duration,
    /// Every n-th call is lost; never when 0.
    lose_one_in: u64,
    calls: u64,
}

/// What happens to one call.
enum Fate {
    Deliver(Arc<dyn RaftRpcHandler>, Duration),
    Fail(Duration, &'static str),
}

impl MemNetwork {
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    fn links(&self) -> MutexGuard<'_, Links> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Makes `handler` answer calls to `addr` (a node starting, or restarting).
    pub fn register(&self, addr: &str, handler: Arc<dyn RaftRpcHandler>) {
        self.links().handlers.insert(addr.to_owned(), handler);
    }

    /// Nobody answers at `addr` any more (a node stopped).
    pub fn unregister(&self, addr: &str) {
        self.links().handlers.remove(addr);
    }

    /// The transport the node at `addr` sends with.
    pub fn transport(self: &Arc<Self>, addr: &str) -> MemTransport {
        MemTransport { from: addr.to_owned(), network: Arc::clone(self) }
    }

    /// Cuts every link between `addr` and the other registered nodes, both ways.
    pub fn isolate(&self, addr: &str) {
        let mut links = self.links();
        let others: Vec<String> = links.handlers.keys().filter(|other| *other != addr).cloned().collect();
        for other in others {
            links.cut.insert((addr.to_owned(), other.clone()));
            links.cut.insert((other, addr.to_owned()));
        }
    }

    /// Cuts the link from `from` to `to` only: `to` still reaches `from`.
    pub fn cut_one_way(&self, from: &str, to: &str) {
        self.links().cut.insert((from.to_owned(), to.to_owned()));
    }

    /// Restores every cut link.
    pub fn heal(&self) {
        self.links().cut.clear();
    }

    /// Every call and every answer waits `delay`.
    pub fn set_delay(&self, delay: Duration) {
        self.links().delay = delay;
    }

    /// Every `n`-th call is lost (0: none).
    pub fn lose_one_in(&self, n: u64) {
        self.links().lose_one_in = n;
    }

    fn fate(&self, from: &str, to: &str) -> Fate {
        let mut links = self.links();
        links.calls += 1;
        let delay = links.delay;
        if links.cut.contains(&(from.to_owned(), to.to_owned())) {
            return Fate::Fail(delay, "the link is cut");
        }
        if links.lose_one_in > 0 && links.calls.is_multiple_of(links.lose_one_in) {
            return Fate::Fail(delay, "the call was lost");
        }
        match links.handlers.get(to) {
            Some(handler) => Fate::Deliver(Arc::clone(handler), delay),
            None => Fate::Fail(delay, "nobody listens there"),
        }
    }
}

/// One node's end of a [`MemNetwork`].
pub struct MemTransport {
    from: String,
    network: Arc<MemNetwork>,
}

#[async_trait]
impl PeerTransport for MemTransport {
    async fn raft_rpc(&self, addr: &str, kind: RaftRpcKind, payload: Vec<u8>) -> Result<Vec<u8>, PeerError> {
        let unreachable = |reason: &str| PeerError::Unreachable { addr: addr.to_owned(), reason: reason.to_owned() };
        match self.network.fate(&self.from, addr) {
            Fate::Fail(delay, reason) => {
                tokio::time::sleep(delay).await;
                Err(unreachable(reason))
            }
            Fate::Deliver(handler, delay) => {
                tokio::time::sleep(delay).await;
                let answer = handler.handle(kind, payload).await;
                // A link cut while the call was in flight loses the answer.
                if self.network.links().cut.contains(&(addr.to_owned(), self.from.clone())) {
                    return Err(unreachable("the link was cut before the answer came back"));
                }
                tokio::time::sleep(delay).await;
                answer
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    /// Answers with its own name.
    struct Echo(&'static str);

    #[async_trait]
    impl RaftRpcHandler for Echo {
        async fn handle(&self, _kind: RaftRpcKind, _payload: Vec<u8>) -> Result<Vec<u8>, PeerError> {
            Ok(self.0.as_bytes().to_vec())
        }
    }

    fn network() -> Arc<MemNetwork> {
        let network = MemNetwork::new();
        for name in ["a", "b", "c"] {
            network.register(name, Arc::new(Echo(name)));
        }
        network
    }

    async fn call(network: &Arc<MemNetwork>, from: &str, to: &str) -> Result<String, String> {
        let answer = network.transport(from).raft_rpc(to, RaftRpcKind::Vote, Vec::new()).await;
        answer.map(|bytes| String::from_utf8(bytes).unwrap()).map_err(|err| err.to_string())
    }

    #[tokio::test]
    async fn an_isolated_node_neither_reaches_nor_is_reached_until_healed() {
        let network = network();
        assert_eq!(call(&network, "a", "b").await.as_deref(), Ok("b"));
        network.isolate("a");
        assert!(call(&network, "a", "b").await.is_err());
        assert!(call(&network, "c", "a").await.is_err());
        assert_eq!(call(&network, "b", "c").await.as_deref(), Ok("c"), "the others still talk");
        network.heal();
        assert_eq!(call(&network, "c", "a").await.as_deref(), Ok("a"));
    }

    #[tokio::test]
    async fn a_one_way_cut_loses_the_answer_too() {
        let network = network();
        network.cut_one_way("b", "a");
        assert!(call(&network, "a", "b").await.is_err(), "b's answer cannot come back");
        assert!(call(&network, "b", "a").await.is_err());
        assert_eq!(call(&network, "a", "c").await.as_deref(), Ok("c"));
    }

    #[tokio::test(start_paused = true)]
    async fn delay_holds_the_call_and_the_answer() {
        let network = network();
        network.set_delay(Duration::from_millis(40));
        let started = tokio::time::Instant::now();
        assert_eq!(call(&network, "a", "b").await.as_deref(), Ok("b"));
        assert_eq!(started.elapsed(), Duration::from_millis(80));
    }

    #[tokio::test]
    async fn every_nth_call_is_lost_and_stopped_nodes_are_unreachable() {
        let network = network();
        network.lose_one_in(3);
        let mut answers = Vec::new();
        for _ in 0..6 {
            answers.push(call(&network, "a", "b").await.is_ok());
        }
        assert_eq!(answers, [true, true, false, true, true, false]);
        network.lose_one_in(0);
        network.unregister("b");
        assert!(call(&network, "a", "b").await.unwrap_err().contains("nobody listens"));
    }
}
