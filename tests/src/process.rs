//! A real `nacosd` process on free loopback ports with its own data directory.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// How long a node may take to come up (raft election included).
const START_DEADLINE: Duration = Duration::from_secs(30);
/// SIGTERM must end the process within this, per the shutdown contract.
pub const STOP_DEADLINE: Duration = Duration::from_secs(5);

/// A running (or stopped) nacosd and everything needed to restart it as the same node.
pub struct Nacosd {
    child: Option<Child>,
    data_dir: PathBuf,
    pub http_port: u16,
    pub grpc_port: u16,
    pub cluster_port: u16,
    log_path: PathBuf,
    extra_args: Vec<String>,
    http: reqwest::blocking::Client,
}

impl Nacosd {
    /// Starts a one-node nacosd with data in `data_dir` and waits until it serves.
    pub fn start(data_dir: &Path) -> Self {
        Self::start_with(data_dir, &[])
    }

    pub fn start_with(data_dir: &Path, extra_args: &[&str]) -> Self {
        let extra_args: Vec<String> = extra_args.iter().map(|arg| (*arg).to_owned()).collect();
        let mut node = Self::prepare(data_dir, free_ports(), extra_args);
        // Another process may take a port between our probe and nacosd's bind: pick again.
        for _ in 0..3 {
            match node.try_spawn() {
                Ok(()) => return node,
                Err(log) if log.contains("cannot listen") => {
                    [node.http_port, node.grpc_port, node.cluster_port] = free_ports();
                }
                Err(log) => panic!("nacosd exited during start-up; log:\n{log}"),
            }
        }
        panic!("nacosd found no free ports; log:\n{}", node.log());
    }

    /// A node on `ports` (HTTP, gRPC, cluster), not started yet: see [`Self::launch`].
    pub fn prepare(data_dir: &Path, ports: [u16; 3], extra_args: Vec<String>) -> Self {
        let [http_port, grpc_port, cluster_port] = ports;
        Self {
            child: None,
            data_dir: data_dir.to_owned(),
            http_port,
            grpc_port,
            cluster_port,
            log_path: data_dir.with_extension("log"),
            extra_args,
            http: reqwest::blocking::Client::builder().timeout(Duration::from_secs(30)).build().unwrap(),
        }
    }

    /// Starts the process without waiting for it: cluster members must start together,
    /// since none is ready before a majority is up. Follow with [`Self::wait_ready`].
    pub fn launch(&mut self) {
        assert!(self.child.is_none(), "the node is running");
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log_path).unwrap();
        let child = Command::new(binary())
            .args(["--http-port", &self.http_port.to_string()])
            .args(["--grpc-port", &self.grpc_port.to_string()])
            .args(["--cluster-port", &self.cluster_port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(&self.extra_args)
            .env_remove("NACOSD_CONFIG")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
    }

    /// Whether the process is running (started and not stopped or killed).
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// The extra arguments the node starts with; changed ones apply at the next start.
    pub fn args_mut(&mut self) -> &mut Vec<String> {
        &mut self.extra_args
    }

    /// Moves a stopped node to other ports; it uses them from its next start.
    pub fn set_ports(&mut self, [http_port, grpc_port, cluster_port]: [u16; 3]) {
        assert!(self.child.is_none(), "stop the node before moving it");
        (self.http_port, self.grpc_port, self.cluster_port) = (http_port, grpc_port, cluster_port);
    }

    /// The node's data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// SIGSTOP: the process freezes, its sockets stay open.
    pub fn pause(&self) {
        signal(self.pid(), "-STOP");
    }

    /// SIGCONT after [`Self::pause`].
    pub fn resume(&self) {
        signal(self.pid(), "-CONT");
    }

    /// Starts the process again on the same ports and data.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "stop the node before restarting it");
        self.spawn();
    }

    fn spawn(&mut self) {
        if let Err(log) = self.try_spawn() {
            panic!("nacosd exited during start-up; log:\n{log}");
        }
    }

    /// Starts the process and waits until it is ready; on early exit, its log.
    fn try_spawn(&mut self) -> Result<(), String> {
        self.launch();
        self.wait_ready()
    }

    /// Waits until the launched process serves; on early exit, its log.
    pub fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + START_DEADLINE;
        loop {
            if self.child.as_mut().unwrap().try_wait().unwrap().is_some() {
                self.child = None;
                return Err(self.log());
            }
            let ready = self.http.get(self.url("/nacos/v1/console/health/readiness")).send();
            if ready.is_ok_and(|response| response.status().is_success()) {
                return Ok(());
            }
            assert!(Instant::now() < deadline, "nacosd did not become ready; log:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `host:port` of the HTTP API, as SDKs are configured.
    pub fn http_addr(&self) -> String {
        format!("127.0.0.1:{}", self.http_port)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.http_port)
    }

    /// Polls liveness until it answers 200, for at most `within`; whether it did.
    pub fn answers_liveness_within(&self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        loop {
            let live = self.http.get(self.url("/nacos/v1/console/health/liveness")).send();
            if live.is_ok_and(|response| response.status().is_success()) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn http(&self) -> &reqwest::blocking::Client {
        &self.http
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// `kill -9`: no shutdown code runs.
    pub fn kill9(&mut self) {
        let mut child = self.child.take().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// SIGTERM, then waits for the exit; returns the exit code and how long it took.
    pub fn terminate(&mut self) -> (Option<i32>, Duration) {
        let mut child = self.child.take().unwrap();
        let started = Instant::now();
        let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
        assert!(status.success(), "could not signal nacosd");
        let deadline = started + STOP_DEADLINE * 2;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return (status.code(), started.elapsed());
            }
            if Instant::now() > deadline {
                child.kill().unwrap();
                panic!("nacosd ignored SIGTERM; log:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Nacosd {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn signal(pid: u32, signal: &str) {
    let status = Command::new("kill").args([signal, &pid.to_string()]).status().unwrap();
    assert!(status.success(), "could not signal nacosd");
}

/// Three distinct ports free right now.
pub fn free_ports() -> [u16; 3] {
    let ports = free_port_list(3);
    [ports[0], ports[1], ports[2]]
}

/// An HTTP port whose gRPC and cluster ports at Nacos's offsets (+1000, +1001) are free
/// too, as SDKs that derive the gRPC port from the server address need. HTTP ports are even
/// numbers in 10000..11000, so no triple's ports fall on another's (the others land in
/// 11000..12001, where nothing else is picked).
pub fn free_nacos_ports() -> [u16; 3] {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let start = spread(500);
    loop {
        let port = 10_000 + 2 * u16::try_from((start + NEXT.fetch_add(1, Ordering::Relaxed)) % 500).unwrap();
        let free = |port: u16| TcpListener::bind(("127.0.0.1", port)).ok();
        if let (Some(_http), Some(_grpc), Some(_cluster)) = (free(port), free(port + 1000), free(port + 1001)) {
            return [port, port + 1000, port + 1001];
        }
    }
}

/// `n` distinct ports free right now.
pub fn free_port_list(n: usize) -> Vec<u16> {
    (0..n).map(|_| pick_port()).collect()
}

/// A port free now, from 12100 up to the kernel's range of ephemeral ports. A port the OS
/// hands out for `bind(0)` is one it also picks as the source port of outgoing connections
/// (peers retrying a killed node, clients, SDKs): such a connection can take a killed
/// node's port before it restarts on it. Below the range, only a listener can hold one.
fn pick_port() -> u16 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let ephemeral_from: u32 = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse().ok())
        .unwrap_or(32768);
    let (low, high) = (12_100_u32, ephemeral_from.max(13_000));
    let span = high - low;
    let start = spread(span);
    loop {
        let port = u16::try_from(low + (start + NEXT.fetch_add(1, Ordering::Relaxed)) % span).unwrap();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Where this process starts walking a range of `span` ports, so that test processes
/// running at once start far apart.
fn spread(span: u32) -> u32 {
    std::process::id().wrapping_mul(7919) % span
}

/// The `nacosd` built alongside this test binary (`target/<profile>/nacosd`), or `NACOSD_BIN`.
pub fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("NACOSD_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/it-<hash> -> target/<profile>/nacosd
    let profile_dir = exe.parent().and_then(Path::parent).unwrap();
    let path = profile_dir.join("nacosd");
    assert!(
        path.exists(),
        "{} does not exist: run the tests with `cargo test --workspace` (which builds nacosd) or set NACOSD_BIN",
        path.display()
    );
    path
}
