//! A cluster of real `nacosd` processes on loopback: node `i` (0-based) has id `i + 1`,
//! its own ports and data directory; all are founding members.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::process::{free_nacos_ports, Nacosd};

/// How often cluster state is polled while a test waits for it.
const POLL: Duration = Duration::from_millis(50);

pub struct Cluster {
    pub nodes: Vec<Nacosd>,
    dir: tempfile::TempDir,
}

impl Cluster {
    /// Starts `n` founding members together and waits until each serves (which needs a
    /// leader). `extra` goes to every node.
    pub fn start(n: usize, extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        // Nacos's port offsets, so that SDKs given only HTTP addresses find the gRPC ports.
        let ports: Vec<u16> = (0..n).flat_map(|_| free_nacos_ports()).collect();
        let members: Vec<String> = (0..n).map(|i| format!("{}=127.0.0.1:{}", i + 1, ports[3 * i + 2])).collect();
        let members = members.join(",");
        let mut nodes: Vec<Nacosd> = (0..n)
            .map(|i| {
                let mut args =
                    vec!["--node-id".to_owned(), (i + 1).to_string(), "--members".to_owned(), members.clone()];
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
        Self { nodes, dir }
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

    /// The running node that says it leads, if exactly one does.
    pub fn leader(&self) -> Option<usize> {
        let leaders: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| self.own_status(i).is_some_and(|status| status["raftRole"] == "leader"))
            .collect();
        (leaders.len() == 1).then(|| leaders[0])
    }

    /// Waits until one running node leads and every running node names it; its index.
    pub fn wait_for_leader(&self, within: Duration) -> usize {
        let deadline = Instant::now() + within;
        loop {
            if let Some(leader) = self.leader() {
                let leader_addr = format!("127.0.0.1:{}", self.nodes[leader].cluster_port);
                let agreed = (0..self.nodes.len()).filter(|&i| self.nodes[i].is_running()).all(|i| {
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
