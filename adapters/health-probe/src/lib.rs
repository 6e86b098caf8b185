//! The registry's health probes over the network (the [`HealthProbe`] port): a TCP connect,
//! or an HTTP/1.1 `GET` whose status line is read. Probes go only to the address and port
//! the domain names (the instance's registered ip), and each ends within the domain's
//! timeout. They report what they saw; what that means for the instance is the domain's
//! rule (`HealthChecker::judge`).

use std::time::Duration;

use async_trait::async_trait;
use domain::naming::health_check::{ProbeObservation, ProbeTarget, PROBE_TIMEOUT_MS};
use domain::naming::HealthChecker;
use ports::naming::HealthProbe;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// Longest status line read from an HTTP check's answer; the rest is never read.
const MAX_STATUS_LINE: usize = 256;

/// Probes with real sockets.
#[derive(Debug, Clone)]
pub struct NetProbe {
    timeout: Duration,
}

impl Default for NetProbe {
    fn default() -> Self {
        Self { timeout: Duration::from_millis(PROBE_TIMEOUT_MS) }
    }
}

#[async_trait]
impl HealthProbe for NetProbe {
    #[tracing::instrument(level = "trace", skip_all, fields(ip = %target.ip, port = target.check_port))]
    async fn probe(&self, target: &ProbeTarget) -> ProbeObservation {
        let connect = timeout(self.timeout, TcpStream::connect((target.ip.as_str(), target.check_port)));
        let stream = match connect.await {
            Ok(Ok(stream)) => stream,
            Ok(Err(_)) => return ProbeObservation::Refused,
            Err(_) => return ProbeObservation::TimedOut,
        };
        let HealthChecker::Http { path, .. } = &target.checker else { return ProbeObservation::Connected };
        match timeout(self.timeout, status_of(stream, http_request(target, path))).await {
            Ok(Some(code)) => ProbeObservation::HttpStatus(code),
            Ok(None) => ProbeObservation::NoAnswer,
            Err(_) => ProbeObservation::TimedOut,
        }
    }
}

fn http_request(target: &ProbeTarget, path: &str) -> String {
    let mut request = format!(
        "GET {path} HTTP/1.1\r\nHost: {}:{}\r\nUser-Agent: Nacos-Server\r\nConnection: close\r\n",
        target.ip, target.check_port
    );
    for (name, value) in target.checker.header_pairs() {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request
}

/// Sends `request` and reads the status code from the answer's first line.
async fn status_of(mut stream: TcpStream, request: String) -> Option<u16> {
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut line = Vec::with_capacity(64);
    let mut buf = [0u8; 64];
    while !line.contains(&b'\n') && line.len() < MAX_STATUS_LINE {
        let read = stream.read(&mut buf).await.ok()?;
        if read == 0 {
            break;
        }
        line.extend_from_slice(&buf[..read]);
    }
    // "HTTP/1.1 200 OK"
    let line = std::str::from_utf8(&line).ok()?;
    let mut parts = line.split_ascii_whitespace();
    parts.next().filter(|version| version.starts_with("HTTP/"))?;
    parts.next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use domain::naming::{ClusterName, ServiceKey};
    use tokio::net::TcpListener;

    use domain::naming::health_check::ProbeResult;

    use super::*;

    fn target(port: u16, checker: HealthChecker) -> ProbeTarget {
        ProbeTarget {
            service: ServiceKey::parse(None, None, Some("probed")).unwrap(),
            ip: "127.0.0.1".into(),
            port,
            cluster: ClusterName::default(),
            check_port: port,
            checker,
        }
    }

    /// What the domain makes of what the probe saw.
    async fn judged(probe: &NetProbe, target: &ProbeTarget) -> ProbeResult {
        target.checker.judge(probe.probe(target).await)
    }

    fn http(expected_code: u16) -> HealthChecker {
        HealthChecker::Http { path: "/up".into(), headers: "X-Probe:yes".into(), expected_code }
    }

    /// Answers each connection with `status`, after checking the request line and header.
    async fn http_server(status: &'static str) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut request = vec![0u8; 1024];
                let read = stream.read(&mut request).await.unwrap();
                let request = String::from_utf8_lossy(&request[..read]).into_owned();
                assert!(request.starts_with("GET /up HTTP/1.1\r\n"), "{request}");
                assert!(request.contains("\r\nX-Probe: yes\r\n"), "{request}");
                let _ = stream.write_all(format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n").as_bytes()).await;
            }
        });
        port
    }

    async fn closed_port() -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap().port()
    }

    #[tokio::test]
    async fn tcp_passes_on_a_listener_and_fails_on_a_closed_port() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        assert_eq!(judged(&NetProbe::default(), &target(port, HealthChecker::Tcp)).await, ProbeResult::Passed);
        let closed = closed_port().await;
        assert_eq!(judged(&NetProbe::default(), &target(closed, HealthChecker::Tcp)).await, ProbeResult::Failed);
    }

    #[tokio::test]
    async fn http_judges_the_status_as_java_does() {
        let probe = NetProbe::default();
        assert_eq!(judged(&probe, &target(http_server("200 OK").await, http(200))).await, ProbeResult::Passed);
        assert_eq!(judged(&probe, &target(http_server("204 No").await, http(204))).await, ProbeResult::Passed);
        assert_eq!(judged(&probe, &target(http_server("503 Busy").await, http(200))).await, ProbeResult::Failed);
        assert_eq!(judged(&probe, &target(http_server("500 Err").await, http(200))).await, ProbeResult::FailedNow);
        assert_eq!(judged(&probe, &target(closed_port().await, http(200))).await, ProbeResult::FailedNow);
    }

    #[tokio::test]
    async fn a_silent_server_fails_within_the_timeout() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let probe = NetProbe { timeout: Duration::from_millis(100) };
        let started = std::time::Instant::now();
        assert_eq!(judged(&probe, &target(port, http(200))).await, ProbeResult::Failed);
        assert!(started.elapsed() < Duration::from_secs(2));
        drop(listener);
    }
}
