//! The transport and the server together over a real loopback socket.

#![allow(clippy::unwrap_used, reason = "tests")]

use std::sync::Arc;

use ports::peer::{MockRaftRpcHandler, PeerError, PeerTransport, RaftRpcKind};
use tokio::net::TcpListener;

use crate::{serve, GrpcPeerTransport, PeerIdentity};

fn identity(cluster_id: &str, token: Option<&str>) -> PeerIdentity {
    PeerIdentity { cluster_id: cluster_id.to_owned(), token: token.map(str::to_owned) }
}

#[tokio::test]
async fn raft_rpcs_cross_the_wire_as_opaque_bytes() {
    let mut handler = MockRaftRpcHandler::new();
    handler
        .expect_handle()
        .withf(|kind, payload| *kind == RaftRpcKind::Vote && payload == b"ballot")
        .times(1)
        .returning(|_, _| Ok(b"granted".to_vec()));
    handler
        .expect_handle()
        .withf(|kind, _| *kind == RaftRpcKind::AppendEntries)
        .returning(|_, _| Err(PeerError::Malformed("bad entries".to_owned())));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, Arc::new(handler), identity("c1", None), async move {
        let _ = stopped.await;
    }));

    let transport = GrpcPeerTransport::new(identity("c1", None));
    let reply = transport.raft_rpc(&addr, RaftRpcKind::Vote, b"ballot".to_vec()).await.unwrap();
    assert_eq!(reply, b"granted");
    let err = transport.raft_rpc(&addr, RaftRpcKind::AppendEntries, Vec::new()).await.unwrap_err();
    assert!(matches!(err, PeerError::Malformed(reason) if reason == "bad entries"));

    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_dead_peer_is_unreachable_not_a_hang() {
    // Bind and drop: nothing listens on this port now.
    let addr = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap().to_string();
    let transport = GrpcPeerTransport::new(identity("c1", None));
    let started = std::time::Instant::now();
    let err = transport.raft_rpc(&addr, RaftRpcKind::Vote, Vec::new()).await.unwrap_err();
    assert!(matches!(err, PeerError::Unreachable { .. }), "{err:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[tokio::test]
async fn a_peer_of_another_cluster_or_without_the_token_is_refused_before_raft() {
    let mut handler = MockRaftRpcHandler::new();
    handler.expect_handle().times(1).returning(|_, _| Ok(b"ok".to_vec()));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, Arc::new(handler), identity("prod", Some("s3cret")), async move {
        let _ = stopped.await;
    }));

    for (caller, why) in [
        (identity("prod", None), "token"),
        (identity("prod", Some("s3creT")), "token"),
        (identity("staging", Some("s3cret")), "cluster"),
    ] {
        let err = GrpcPeerTransport::new(caller).raft_rpc(&addr, RaftRpcKind::Vote, Vec::new()).await.unwrap_err();
        assert!(matches!(&err, PeerError::Refused { reason, .. } if reason.contains(why)), "{err:?}");
    }
    // The handler saw only the one call that matched (`times(1)` above).
    let reply = GrpcPeerTransport::new(identity("prod", Some("s3cret")))
        .raft_rpc(&addr, RaftRpcKind::Vote, Vec::new())
        .await
        .unwrap();
    assert_eq!(reply, b"ok");

    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}
