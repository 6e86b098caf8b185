//! The 1.x UDP push: clients that list with `udpPort` get a datagram when the service
//! changes, and answer with an ack. Clients also poll, so a lost datagram costs at most
//! one poll period; pushes are not retried.

use std::future::Future;
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use domain::naming::SubscriberId;
use flate2::write::GzEncoder;
use flate2::Compression;
use ports::clock::Clock;
use ports::naming::{ServicePush, SharedView};
use serde_json::{json, Value};
use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

use crate::naming_wire;

/// Datagrams at least this large are gzip-compressed, as Java Nacos does.
const GZIP_FROM: usize = 1024;
/// Largest ack read.
const ACK_BUFFER: usize = 64 * 1024;

/// Sends service changes to UDP subscribers from one socket, and reads their acks.
#[derive(Clone)]
pub struct UdpPusher {
    socket: Arc<UdpSocket>,
    clock: Arc<dyn Clock>,
}

impl UdpPusher {
    /// Binds the push socket (any free port, as Java Nacos) and starts reading acks until
    /// `stop` resolves; the caller owns the returned reader task.
    pub async fn bind(
        ip: IpAddr,
        clock: Arc<dyn Clock>,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<(Self, JoinHandle<()>)> {
        let socket = Arc::new(UdpSocket::bind(SocketAddr::new(ip, 0)).await?);
        let reader = tokio::spawn(read_acks(Arc::clone(&socket), stop));
        Ok((Self { socket, clock }, reader))
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.socket.local_addr()
    }
}

impl ServicePush for UdpPusher {
    fn push(&self, subscriber: &SubscriberId, view: Arc<SharedView>) {
        let SubscriberId::Udp { ip, port } = subscriber else { return };
        let Ok(ip) = ip.parse::<IpAddr>() else { return };
        let nanos = self.clock.now().as_u64().saturating_mul(1_000_000);
        let datagram = datagram(&naming_wire::service_info_bytes(&view), nanos);
        if let Err(err) = self.socket.try_send_to(&datagram, SocketAddr::new(ip, *port)) {
            tracing::debug!(%ip, port, cause = %err, "udp push not sent");
        }
    }
}

/// `{"type":"dom","data":"<ServiceInfo JSON>","lastRefTime":<nanos>}`, gzipped when large.
fn datagram(service_info: &[u8], nanos: u64) -> Vec<u8> {
    let body = json!({
        "type": "dom",
        "data": String::from_utf8_lossy(service_info),
        "lastRefTime": nanos,
    });
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    if bytes.len() < GZIP_FROM {
        return bytes;
    }
    let mut encoder = GzEncoder::new(Vec::with_capacity(bytes.len() / 4), Compression::fast());
    match encoder.write_all(&bytes).and_then(|()| encoder.finish()) {
        Ok(gzipped) => gzipped,
        Err(_) => bytes,
    }
}

/// Reads client acks (`push-ack`, `dump-ack`, `unknown-ack`) for the log; the push
/// itself is fire-and-forget.
async fn read_acks(socket: Arc<UdpSocket>, stop: impl Future<Output = ()>) {
    let mut buffer = vec![0_u8; ACK_BUFFER];
    tokio::pin!(stop);
    loop {
        let received = tokio::select! {
            received = socket.recv_from(&mut buffer) => received,
            () = &mut stop => return,
        };
        let Ok((len, from)) = received else { return };
        let ack: Option<Value> = serde_json::from_slice(&buffer[..len]).ok();
        let kind = ack.as_ref().and_then(|ack| ack.get("type")).and_then(Value::as_str).unwrap_or("unreadable");
        tracing::debug!(%from, kind, "udp push ack");
    }
}
