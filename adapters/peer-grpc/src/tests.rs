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
    let server = tokio::spawn(serve(listener, Arc::new(handler), Arc::default(), identity("c1", None), async move {
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
    let server = tokio::spawn(serve(
        listener,
        Arc::new(handler),
        Arc::default(),
        identity("prod", Some("s3cret")),
        async move {
            let _ = stopped.await;
        },
    ));

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

#[tokio::test]
async fn distro_messages_cross_the_wire_typed_and_wait_for_the_registry() {
    use domain::config::ConnectionId;
    use domain::naming::distro::{ClientCopy, ServiceSync};
    use domain::naming::{InstanceDraft, Owner, ServiceKey};
    use ports::cluster::{ClusterStatus, MemberStatus, MockClusterView, RaftRole};
    use ports::naming::{DistroPeers, MockDistroHandler};

    use crate::{DistroSlot, GrpcDistroPeers};

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let slot = Arc::new(DistroSlot::default());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(
        listener,
        Arc::new(MockRaftRpcHandler::new()),
        Arc::clone(&slot),
        identity("c1", None),
        async move {
            let _ = stopped.await;
        },
    ));
    let mut cluster = MockClusterView::new();
    let member = |node_id, cluster_addr: &str| MemberStatus {
        node_id,
        cluster_addr: cluster_addr.to_owned(),
        role: RaftRole::Follower,
        last_log_index: None,
        silence_ms: Some(0),
        http_addr: None,
    };
    let status = ClusterStatus {
        self_id: 1,
        leader: Some(1),
        term: 1,
        members: vec![member(1, "127.0.0.1:1"), member(2, &addr)],
    };
    cluster.expect_status().returning(move || status.clone());
    let peers = GrpcDistroPeers::new(Arc::new(GrpcPeerTransport::new(identity("c1", None))), Arc::new(cluster));
    assert_eq!(peers.live_peers(), vec![2]);

    let service = ServiceKey::parse(None, None, Some("orders")).unwrap();
    let draft = InstanceDraft { ip: Some("127.0.0.1".into()), port: Some(80), ..Default::default() };
    let owner = Owner::Connection(ConnectionId::new("c1"));
    let sync =
        ServiceSync { service: service.clone(), clients: vec![(owner.clone(), vec![draft.validate().unwrap()])] };

    // Before the registry is there, a message is refused, not lost silently.
    let early = peers.sync(2, vec![sync.clone()]).await.unwrap_err();
    assert!(matches!(early, PeerError::Unreachable { .. }), "{early:?}");

    let mut handler = MockDistroHandler::new();
    let expected = sync.clone();
    handler
        .expect_on_sync()
        .withf(move |from, syncs| *from == 1 && syncs == std::slice::from_ref(&expected))
        .times(1)
        .return_const(());
    let differ = service.clone();
    handler
        .expect_on_verify()
        .withf(|from, digest| *from == 1 && digest.len() == 1)
        .returning(move |_, _| vec![differ.clone()]);
    let copy = ClientCopy { node: 2, owner, service: service.clone(), instances: sync.clients[0].1.clone() };
    let copies = vec![copy.clone()];
    handler.expect_snapshot().returning(move || copies.clone());
    slot.set(Arc::new(handler));

    peers.sync(2, vec![sync]).await.unwrap();
    assert_eq!(peers.verify(2, vec![(service.clone(), 7)]).await.unwrap(), vec![service]);
    assert_eq!(peers.snapshot(2).await.unwrap(), vec![copy]);

    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}
