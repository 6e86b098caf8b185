//! A TCP proxy in front of a member's cluster port that a test can cut per sender: network
//! partitions between real processes on loopback, without touching the host's firewall.
//!
//! Each member's calls to peers leave from an address of its own (`--peer-source-ip
//! 127.0.0.<10 + id>`), so the proxy in front of member B knows which member a connection
//! comes from. Cutting A from B drops A's open connections to B and holds new ones
//! silently (connect succeeds, nothing is delivered, as when packets are lost), until the
//! link is healed and they are closed, so the caller reconnects.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;

/// The address member `node_id`'s calls to peers leave from.
pub fn source_ip(node_id: u64) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, u8::try_from(10 + node_id).expect("a small node id")))
}

/// Forwards connections from its port to `target` unless their sender is cut.
pub struct LinkProxy {
    pub port: u16,
    shared: Arc<Shared>,
}

struct Shared {
    target: SocketAddr,
    /// Senders whose traffic is dropped.
    cut: Mutex<HashSet<IpAddr>>,
    /// Open connections: their sender, and the sockets to close when they are cut or healed.
    open: Mutex<Vec<(IpAddr, Vec<TcpStream>)>>,
    closed: AtomicBool,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl LinkProxy {
    /// A proxy on `port` (127.0.0.1) in front of `target`.
    pub fn start(port: u16, target: SocketAddr) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("the proxy's port is free");
        let shared =
            Arc::new(Shared { target, cut: Mutex::default(), open: Mutex::default(), closed: AtomicBool::new(false) });
        let accepting = Arc::clone(&shared);
        thread::spawn(move || {
            for incoming in listener.incoming() {
                if accepting.closed.load(Ordering::SeqCst) {
                    return;
                }
                if let Ok(client) = incoming {
                    accepting.take(client);
                }
            }
        });
        Self { port, shared }
    }

    /// Drops traffic from `sender` until [`Self::heal`].
    pub fn cut(&self, sender: IpAddr) {
        lock(&self.shared.cut).insert(sender);
        self.shared.close_from(sender);
    }

    /// Lets `sender` through again; connections held meanwhile are closed.
    pub fn heal(&self, sender: IpAddr) {
        lock(&self.shared.cut).remove(&sender);
        self.shared.close_from(sender);
    }
}

impl Shared {
    fn take(self: &Arc<Self>, client: TcpStream) {
        let Ok(SocketAddr::V4(from)) = client.peer_addr() else { return };
        let sender = IpAddr::V4(*from.ip());
        let Ok(client_side) = client.try_clone() else { return };
        if lock(&self.cut).contains(&sender) {
            // Held: read and dropped until the link heals and closes it.
            lock(&self.open).push((sender, vec![client_side]));
            thread::spawn(move || drain(client));
            return;
        }
        let Ok(server) = TcpStream::connect(self.target) else { return };
        let (Ok(server_side), Ok(server_reader)) = (server.try_clone(), server.try_clone()) else { return };
        let Ok(client_reader) = client.try_clone() else { return };
        let _ = (client.set_nodelay(true), server.set_nodelay(true));
        lock(&self.open).push((sender, vec![client_side, server_side]));
        let shared = Arc::clone(self);
        thread::spawn(move || shared.pump(sender, client_reader, server));
        let shared = Arc::clone(self);
        thread::spawn(move || shared.pump(sender, server_reader, client));
    }

    /// Copies `from` to `to` while the sender is not cut; closes both at the end.
    fn pump(&self, sender: IpAddr, mut from: TcpStream, mut to: TcpStream) {
        let mut buffer = [0u8; 16 * 1024];
        loop {
            let n = match from.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if lock(&self.cut).contains(&sender) || to.write_all(&buffer[..n]).is_err() {
                break;
            }
        }
        let _ = (from.shutdown(Shutdown::Both), to.shutdown(Shutdown::Both));
    }

    fn close_from(&self, sender: IpAddr) {
        let mut open = lock(&self.open);
        for (_, sockets) in open.iter().filter(|(from, _)| *from == sender) {
            for socket in sockets {
                let _ = socket.shutdown(Shutdown::Both);
            }
        }
        open.retain(|(from, _)| *from != sender);
    }
}

fn drain(mut socket: TcpStream) {
    let mut buffer = [0u8; 4096];
    while matches!(socket.read(&mut buffer), Ok(n) if n > 0) {}
}

impl Drop for LinkProxy {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        for (_, sockets) in lock(&self.shared.open).drain(..) {
            for socket in sockets {
                let _ = socket.shutdown(Shutdown::Both);
            }
        }
    }
}
