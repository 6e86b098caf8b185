//! A cluster of real `nacosd` processes on loopback: node `i` (0-based) has id `i + 1`,
//! its own ports and data directory; all are founding members.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::process::{free_port_list, Nacosd};

/// How often cluster state is polled while a test waits for it.
const POLL: Duration = Duration::from_millis(50);

pub struct Cluster {
    pub nodes: Vec<Nacosd>,
    _dir: tempfile::TempDir,
}

impl Cluster {
    /// Starts `n` founding members together and waits until each serves (which needs a
    /// leader). `extra` goes to every node.
    pub fn start(n: usize, extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let ports = free_port_list(3 * n);
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
        Self { nodes, _dir: dir }
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
