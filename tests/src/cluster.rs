//! A cluster of real `nacosd` processes on loopback: node `i` (0-based) has id `i + 1`,
//! its own ports and data directory; all are founding members. A cluster started with
//! [`Cluster::start_partitionable`] reaches each member's cluster port through a
//! [`LinkProxy`], so a test can cut members apart.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::process::{free_nacos_ports, free_port_list, Nacosd};
use crate::proxy::{source_ip, LinkProxy};

/// How often cluster state is polled while a test waits for it.
const POLL: Duration = Duration::from_millis(50);

pub struct Cluster {
    pub nodes: Vec<Nacosd>,
    /// In front of each member's cluster port, when partitionable.
    proxies: Vec<LinkProxy>,
    dir: tempfile::TempDir,
}

impl Cluster {
    /// Starts `n` founding members together and waits until each serves (which needs a
    /// leader). `extra` goes to every node.
    pub fn start(n: usize, extra: &[&str]) -> Self {
        Self::start_with(n, extra, false)
    }

    /// As [`Self::start`], with members reaching each other through proxies that
    /// [`Self::isolate`] cuts.
    pub fn start_partitionable(n: usize, extra: &[&str]) -> Self {
        Self::start_with(n, extra, true)
    }

    fn start_with(n: usize, extra: &[&str], partitionable: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        // Nacos's port offsets, so that SDKs given only HTTP addresses find the gRPC ports.
        let ports: Vec<u16> = (0..n).flat_map(|_| free_nacos_ports()).collect();
        let proxies: Vec<LinkProxy> = match partitionable {
            true => free_port_list(n)
                .into_iter()
                .enumerate()
                .map(|(i, port)| LinkProxy::start(port, ([127, 0, 0, 1], ports[3 * i + 2]).into()))
                .collect(),
            false => Vec::new(),
        };
        let peer_port = |i: usize| proxies.get(i).map_or(ports[3 * i + 2], |proxy| proxy.port);
        let members: Vec<String> = (0..n).map(|i| format!("{}=127.0.0.1:{}", i + 1, peer_port(i))).collect();
        let members = members.join(",");
        let mut nodes: Vec<Nacosd> = (0..n)
            .map(|i| {
                let mut args =
                    vec!["--node-id".to_owned(), (i + 1).to_string(), "--members".to_owned(), members.clone()];
                if partitionable {
                    let id = (i + 1) as u64;
                    args.extend(["--peer-source-ip".to_owned(), source_ip(id).to_string()]);
                }
                args.extend(extra.iter().map(|arg| (*arg).to_owned()));
                let node_ports = [ports[3 * i], ports[3 * i + 1], ports[3 * i + 2]];
                Nacosd::prepare(&dir.path().join(format!("node{}", i + 1)), node_ports, args)
            })
            .collect();
        for node in &mut nodes {
            node.launch();
        }
        for node in &mut nodes {
            if let Err(log) = node.wait_ready() {
                panic!("a member exited during start-up; log:\n{log}");
            }
        }
        Self { nodes, proxies, dir }
    }

    /// Where the other members reach node `index`: its cluster port, or its proxy's.
    pub fn peer_addr(&self, index: usize) -> String {
        let port = self.proxies.get(index).map_or(self.nodes[index].cluster_port, |proxy| proxy.port);
        format!("127.0.0.1:{port}")
    }

    /// Cuts node `index` off from every other member, both ways.
    pub fn isolate(&self, index: usize) {
        assert!(!self.proxies.is_empty(), "start the cluster with start_partitionable");
        for other in (0..self.nodes.len()).filter(|&other| other != index) {
            self.proxies[other].cut(source_ip(index as u64 + 1));
            self.proxies[index].cut(source_ip(other as u64 + 1));
        }
    }

    /// Undoes [`Self::isolate`].
    pub fn reconnect(&self, index: usize) {
        for other in (0..self.nodes.len()).filter(|&other| other != index) {
            self.proxies[other].heal(source_ip(index as u64 + 1));
            self.proxies[index].heal(source_ip(other as u64 + 1));
        }
    }

    /// Starts a node with the next id that joins through node `seed`, without waiting for
    /// it (it serves once admitted); its index.
    pub fn add_joining(&mut self, seed: usize, extra: &[&str]) -> usize {
        let index = self.nodes.len();
        let ports = free_nacos_ports();
        let seed_addr = format!("127.0.0.1:{}", self.nodes[seed].cluster_port);
        let mut args = vec!["--node-id".to_owned(), (index + 1).to_string(), "--join".to_owned(), seed_addr];
        args.extend(extra.iter().map(|arg| (*arg).to_owned()));
        let mut node = Nacosd::prepare(&self.dir.path().join(format!("node{}", index + 1)), ports, args);
        node.launch();
        self.nodes.push(node);
        index
    }

    /// The members as node `index` lists them (`/nacos/v1/core/cluster/nodes`).
    pub fn members_seen_by(&self, index: usize) -> Vec<Value> {
        let node = &self.nodes[index];
        let Ok(response) = node.http().get(node.url("/nacos/v1/core/cluster/nodes")).send() else {
            return Vec::new();
        };
        let body: Value = serde_json::from_str(&response.text().unwrap_or_default()).unwrap_or_default();
        body["data"].as_array().cloned().unwrap_or_default()
    }

    /// Polls node `index`'s member list until `check` holds.
    pub fn wait_for_members(&self, index: usize, within: Duration, check: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + within;
        loop {
            let members = self.members_seen_by(index);
            if check(&members) {
                return members;
            }
            assert!(Instant::now() < deadline, "members as node {} sees them: {members:#?}", index + 1);
            std::thread::sleep(POLL);
        }
    }

    /// This node's `Member` as `/nacos/v1/core/cluster/self` shows it; `None` if it does
    /// not answer.
    pub fn own_status(&self, index: usize) -> Option<Value> {
        let node = &self.nodes[index];
        if !node.is_running() {
            return None;
        }
        let response =
            node.http().get(node.url("/nacos/v1/core/cluster/self")).timeout(Duration::from_secs(2)).send().ok()?;
        let body: Value = serde_json::from_str(&response.text().ok()?).ok()?;
        Some(body["data"].clone())
    }

    /// Waits until one running node leads and every running node names it; its index.
    pub fn wait_for_leader(&self, within: Duration) -> usize {
        let running: Vec<usize> = (0..self.nodes.len()).filter(|&i| self.nodes[i].is_running()).collect();
        self.wait_for_leader_among(&running, within)
    }

    /// Waits until one of `among` leads and all of them name it; its index. The others
    /// are not asked (a member cut off may still think it leads).
    pub fn wait_for_leader_among(&self, among: &[usize], within: Duration) -> usize {
        let deadline = Instant::now() + within;
        loop {
            let leaders: Vec<usize> = among
                .iter()
                .copied()
                .filter(|&i| self.own_status(i).is_some_and(|status| status["raftRole"] == "leader"))
                .collect();
            if let [leader] = leaders[..] {
                let leader_addr = self.peer_addr(leader);
                let agreed = among.iter().all(|&i| {
                    self.own_status(i).is_some_and(|status| {
                        status["extendInfo"]["raftMetaData"]["metaDataMap"]["nacos_config"]["leader"] == leader_addr
                    })
                });
                if agreed {
                    return leader;
                }
            }
            assert!(Instant::now() < deadline, "no agreed leader within {within:?}");
            std::thread::sleep(POLL);
        }
    }

    /// An index of a running node that is not `not`.
    pub fn other_than(&self, not: usize) -> usize {
        (0..self.nodes.len()).find(|&i| i != not && self.nodes[i].is_running()).unwrap()
    }
}
