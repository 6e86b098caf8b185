//! HTTP connection limits on a real `nacosd`: silent, slow-loris and idle keep-alive
//! connections are closed; over the connection cap a client reads 503; HTTP/1.1 without
//! `Host` is refused; client mistakes stay out of the warn and error log.
//!
//! The timing rules themselves are tested in paused time next to the server
//! (`api-http/src/server/activity.rs`); here short settings check the wiring, with
//! deadlines that only bound how long a failure takes to show.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use tests::Nacosd;

/// Longest a connection the server should close may take to be seen closed.
const CLOSE_DEADLINE: Duration = Duration::from_secs(15);

fn node(extra: &[&str]) -> (tempfile::TempDir, Nacosd) {
    let dir = tempfile::tempdir().unwrap();
    let node = Nacosd::start_with(&dir.path().join("node"), extra);
    (dir, node)
}

fn connect(node: &Nacosd) -> TcpStream {
    let stream = TcpStream::connect(node.http_addr()).unwrap();
    stream.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    stream
}

/// Reads until the server closes the connection; everything it sent, and how long it took.
fn read_until_closed(stream: &mut TcpStream) -> (String, Duration) {
    let started = Instant::now();
    let mut received = Vec::new();
    let mut chunk = [0_u8; 4096];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => return (String::from_utf8_lossy(&received).into_owned(), started.elapsed()),
            Ok(read) => received.extend_from_slice(&chunk[..read]),
            Err(err) if matches!(err.kind(), std::io::ErrorKind::ConnectionReset) => {
                return (String::from_utf8_lossy(&received).into_owned(), started.elapsed());
            }
            Err(_) => assert!(
                started.elapsed() < CLOSE_DEADLINE,
                "the server kept the connection open after: {}",
                String::from_utf8_lossy(&received)
            ),
        }
    }
}

#[test]
fn silent_half_sent_and_idle_connections_are_closed() {
    let (_dir, node) = node(&["--http-header-timeout-seconds", "1", "--http-idle-timeout-seconds", "2"]);

    let mut silent = connect(&node);
    let (_, waited) = read_until_closed(&mut silent);
    assert!(waited >= Duration::from_millis(500), "closed after {waited:?}, before the timeout");

    let mut loris = connect(&node);
    loris.write_all(b"GET /nacos/v1/console/health/liveness HTTP/1.1\r\nHost: x\r\n").unwrap();
    for _ in 0..3 {
        // Trickling header bytes does not buy time.
        std::thread::sleep(Duration::from_millis(300));
        let _ = loris.write_all(b"X-Slow: 1\r\n");
    }
    read_until_closed(&mut loris);

    let mut idle = connect(&node);
    idle.write_all(b"GET /nacos/v1/console/health/liveness HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let (answer, waited) = read_until_closed(&mut idle);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(waited >= Duration::from_millis(1500), "idle keep-alive closed after {waited:?}, before its timeout");

    // Client mistakes: a 4xx, broken framing, a reset mid-request.
    let missing = node.http().get(node.url("/nacos/v1/cs/configs?dataId=d")).send().unwrap();
    assert_eq!(missing.status(), reqwest::StatusCode::BAD_REQUEST);
    let mut garbage = connect(&node);
    garbage.write_all(b"\x00\xff NOT HTTP\r\n\r\n").unwrap();
    let (answer, _) = read_until_closed(&mut garbage);
    assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 400"), "{answer}");
    let mut broken = connect(&node);
    broken
        .write_all(b"POST /nacos/v1/cs/configs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
        .unwrap();
    read_until_closed(&mut broken);

    let log = node.log();
    assert!(!log.contains(" WARN ") && !log.contains(" ERROR "), "client timeouts are not warnings:\n{log}");
}

#[test]
fn over_the_connection_cap_a_client_reads_503_and_the_cap_frees_up() {
    let (_dir, node) = node(&["--max-http-connections", "2", "--http-header-timeout-seconds", "2"]);
    let held: Vec<TcpStream> = (0..2).map(|_| connect(&node)).collect();
    // The two held sockets may not have been accepted yet when the third arrives: retry
    // until the cap is seen.
    let deadline = Instant::now() + CLOSE_DEADLINE;
    loop {
        let mut third = connect(&node);
        let _ = third.write_all(b"GET /nacos/v1/console/health/liveness HTTP/1.1\r\nHost: x\r\n\r\n");
        let (answer, _) = read_until_closed(&mut third);
        if answer.starts_with("HTTP/1.1 503") {
            assert!(answer.contains("too many connections"), "{answer}");
            break;
        }
        assert!(Instant::now() < deadline, "never refused at the cap: {answer}");
    }
    drop(held);
    assert!(node.answers_liveness_within(CLOSE_DEADLINE), "the cap never freed up");
}

#[test]
fn http_1_1_without_host_is_refused_and_1_0_is_served() {
    let (_dir, node) = node(&[]);
    let mut no_host = connect(&node);
    no_host.write_all(b"GET /nacos/v1/console/health/liveness HTTP/1.1\r\nConnection: close\r\n\r\n").unwrap();
    let (answer, _) = read_until_closed(&mut no_host);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");

    let mut old = connect(&node);
    old.write_all(b"GET /nacos/v1/console/health/liveness HTTP/1.0\r\n\r\n").unwrap();
    let (answer, _) = read_until_closed(&mut old);
    assert!(answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200"), "{answer}");
}

/// Chunk extensions are ignored, as RFC 9112 lets a server do, whatever bytes they hold;
/// their total size is bounded (16 KiB, hyper's limit), so they cannot be used to make the
/// server buffer without end.
#[test]
fn chunk_extensions_are_ignored_and_bounded() {
    let (_dir, node) = node(&[]);
    let body = b"dataId=ext&group=G&content=v";
    let chunked = |extension: &[u8]| {
        let mut request = b"POST /nacos/v1/cs/configs HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n"
            .to_vec();
        request.extend(format!("{:x}", body.len()).into_bytes());
        request.extend(extension);
        request.extend(b"\r\n");
        request.extend(body);
        request.extend(b"\r\n0\r\n\r\n");
        let mut stream = connect(&node);
        stream.write_all(&request).unwrap();
        read_until_closed(&mut stream).0
    };
    let odd = chunked(b";a=\x00\xff");
    assert!(odd.starts_with("HTTP/1.1 200"), "{odd}");
    let huge = chunked(format!(";{}", "x".repeat(20_000)).as_bytes());
    assert!(huge.starts_with("HTTP/1.1 400"), "{huge}");
}

/// A body over the limit is refused with a 413 that the client gets to read: the server
/// reads the rest of the body (up to 2 MiB) before answering and closing. Answering and
/// closing with the body unread would make the kernel reset the connection, and the
/// client would see a broken pipe instead of the answer. Declared and streamed lengths.
#[test]
fn an_oversized_body_is_read_and_answered_413() {
    let (_dir, node) = node(&["--max-content-bytes", "4096"]);
    let body = format!("dataId=big&group=G&content={}", "z".repeat(1024 * 1024));
    let declared = format!(
        "POST /nacos/v1/cs/configs HTTP/1.1\r\nHost: x\r\n\
Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut streamed = b"POST /nacos/v1/cs/configs HTTP/1.1\r\nHost: x\r\n\
Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n"
        .to_vec();
    for piece in body.as_bytes().chunks(64 * 1024) {
        streamed.extend(format!("{:x}\r\n", piece.len()).into_bytes());
        streamed.extend(piece);
        streamed.extend(b"\r\n");
    }
    streamed.extend(b"0\r\n\r\n");

    for request in [declared.into_bytes(), streamed] {
        let mut stream = connect(&node);
        let (first, rest) = request.split_at(128 * 1024);
        stream.write_all(first).unwrap();
        // No answer while the body is still coming (the read times out after 200 ms).
        let mut early = [0_u8; 64];
        match stream.read(&mut early) {
            Err(err) if matches!(err.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            other => {
                panic!("the server answered before reading the body: {other:?} {:?}", String::from_utf8_lossy(&early))
            }
        }
        let sent = stream.write_all(rest);
        assert!(sent.is_ok(), "the server stopped reading the body: {sent:?}");
        let (answer, _) = read_until_closed(&mut stream);
        assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
        assert!(answer.contains("connection: close"), "{answer}");
    }
    let missing = node.http().get(node.url("/nacos/v1/cs/configs?dataId=big&group=G")).send().unwrap();
    assert_eq!(missing.status(), reqwest::StatusCode::NOT_FOUND);
}
