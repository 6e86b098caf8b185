//! The Nacos gRPC protocol spoken by hand with a raw tonic client: handshake, errors,
//! pushes and what a dropped connection releases.

use std::time::{Duration, Instant};

use proto::nacos::bi_request_stream_client::BiRequestStreamClient;
use proto::nacos::request_client::RequestClient;
use proto::nacos::{Metadata, Payload};
use serde_json::{json, Value};
use tests::Nacosd;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;

pub(crate) fn payload(kind: &str, body: &Value) -> Payload {
    raw_payload(kind, serde_json::to_vec(body).unwrap())
}

fn raw_payload(kind: &str, body: Vec<u8>) -> Payload {
    Payload {
        metadata: Some(Metadata {
            r#type: kind.to_owned(),
            client_ip: "127.9.8.107".to_owned(),
            headers: Default::default(),
        }),
        body: Some(prost_types::Any { type_url: String::new(), value: body }),
    }
}

fn parse(payload: &Payload) -> (String, Value) {
    let kind = payload.metadata.as_ref().unwrap().r#type.clone();
    let body = serde_json::from_slice(&payload.body.as_ref().unwrap().value).unwrap();
    (kind, body)
}

pub(crate) async fn unary(channel: &Channel, request: Payload) -> (String, Value) {
    let reply = RequestClient::new(channel.clone()).request(request).await.unwrap().into_inner();
    parse(&reply)
}

/// A connected client: its channel, the sending half of its stream, and what the server
/// pushes on it.
pub(crate) struct RawClient {
    pub(crate) channel: Channel,
    pub(crate) outbound: mpsc::Sender<Payload>,
    pub(crate) inbound: tonic::Streaming<Payload>,
}

impl RawClient {
    pub(crate) async fn connect(node: &Nacosd) -> Self {
        Self::connect_with_labels(node, json!({})).await
    }

    /// A config connection whose set-up carries `extra` labels besides Nacos's own.
    pub(crate) async fn connect_with_labels(node: &Nacosd, extra: Value) -> Self {
        let mut labels = json!({ "source": "sdk", "module": "config" });
        if let (Some(labels), Some(extra)) = (labels.as_object_mut(), extra.as_object()) {
            labels.extend(extra.clone());
        }
        let channel =
            Channel::from_shared(format!("http://127.0.0.1:{}", node.grpc_port)).unwrap().connect().await.unwrap();
        let (outbound, rx) = mpsc::channel(16);
        let setup = json!({
            "clientVersion": "raw-test:1.0",
            "labels": labels,
            "abilityTable": {},
            "tenant": "",
            "module": "internal",
            "headers": {},
        });
        outbound.send(payload("ConnectionSetupRequest", &setup)).await.unwrap();
        let inbound = BiRequestStreamClient::new(channel.clone())
            .request_bi_stream(ReceiverStream::new(rx))
            .await
            .unwrap()
            .into_inner();
        let mut client = Self { channel, outbound, inbound };
        let (kind, body) = client.next_push().await;
        assert_eq!(kind, "SetupAckRequest", "a client that sends abilityTable is acknowledged");
        assert!(body["abilityTable"].is_object());
        client
    }

    pub(crate) async fn next_push(&mut self) -> (String, Value) {
        let message =
            tokio::time::timeout(Duration::from_secs(5), self.inbound.message()).await.expect("no push in time");
        parse(&message.unwrap().unwrap())
    }
}

pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

fn listener_count(node: &Nacosd, data_id: &str) -> u64 {
    let text = node
        .http()
        .get(node.url("/nacos/v1/cs/configs/listener"))
        .query(&[("dataId", data_id), ("group", "DEFAULT_GROUP")])
        .send()
        .unwrap()
        .text()
        .unwrap();
    let body: Value = serde_json::from_str(&text).unwrap();
    body["listenerCount"].as_u64().unwrap()
}

#[test]
fn handshake_errors_push_and_release() {
    let dir = tempfile::tempdir().unwrap();
    let node = Nacosd::start(&dir.path().join("node"));
    let runtime = runtime();

    let channel = runtime.block_on(async {
        let channel =
            Channel::from_shared(format!("http://127.0.0.1:{}", node.grpc_port)).unwrap().connect().await.unwrap();
        // Before set-up: ServerCheck works, anything else asks the client to reconnect.
        let (kind, body) = unary(&channel, payload("ServerCheckRequest", &json!({}))).await;
        assert_eq!(kind, "ServerCheckResponse");
        assert_eq!((body["resultCode"].as_i64(), body["success"].as_bool()), (Some(200), Some(true)));
        assert!(!body["connectionId"].as_str().unwrap().is_empty());
        let (kind, body) = unary(&channel, payload("ConfigQueryRequest", &json!({"dataId": "d", "group": "g"}))).await;
        assert_eq!((kind.as_str(), body["errorCode"].as_i64()), ("ErrorResponse", Some(301)));
        // An unknown type is refused as unknown (302) before any talk of registering.
        let (kind, body) = unary(&channel, payload("NoSuchRequest", &json!({}))).await;
        assert_eq!((kind.as_str(), body["errorCode"].as_i64()), ("ErrorResponse", Some(302)));
        channel
    });
    drop(channel);

    let mut client = runtime.block_on(RawClient::connect(&node));
    runtime.block_on(async {
        let (kind, body) = unary(&client.channel, payload("HealthCheckRequest", &json!({}))).await;
        assert_eq!((kind.as_str(), body["resultCode"].as_i64()), ("HealthCheckResponse", Some(200)));

        // Unknown types and broken bodies get error responses; the connection lives on.
        let (kind, body) = unary(&client.channel, payload("NoSuchRequest", &json!({}))).await;
        assert_eq!((kind.as_str(), body["errorCode"].as_i64()), ("ErrorResponse", Some(302)));
        let (kind, body) = unary(&client.channel, raw_payload("ConfigQueryRequest", b"{not json".to_vec())).await;
        assert_eq!((kind.as_str(), body["resultCode"].as_i64()), ("ErrorResponse", Some(500)));
        let (kind, body) =
            unary(&client.channel, payload("ConfigQueryRequest", &json!({"dataId": "a b", "group": "g"}))).await;
        assert_eq!((kind.as_str(), body["errorCode"].as_i64()), ("ConfigQueryResponse", Some(400)));
        let (kind, body) =
            unary(&client.channel, payload("ConfigQueryRequest", &json!({"dataId": "nothing", "group": "g"}))).await;
        assert_eq!((kind.as_str(), body["errorCode"].as_i64()), ("ConfigQueryResponse", Some(300)));
        assert!(body["md5"].is_string() && body["contentType"].is_string(), "SDKs need md5 and contentType: {body}");

        // Listen with the "public" spelling; the push must echo it.
        let listen = json!({
            "listen": true,
            "configListenContexts": [{ "dataId": "pushed", "group": "DEFAULT_GROUP", "tenant": "public", "md5": "" }],
        });
        let (kind, body) = unary(&client.channel, payload("ConfigBatchListenRequest", &listen)).await;
        assert_eq!(kind, "ConfigChangeBatchListenResponse");
        assert_eq!(body["changedConfigs"], json!([]), "an absent config matches md5 \"\"");
    });
    assert_eq!(listener_count(&node, "pushed"), 1);
    let by_ip = node
        .http()
        .get(node.url("/nacos/v1/cs/listener"))
        .query(&[("ip", "127.9.8.107")])
        .send()
        .unwrap()
        .text()
        .unwrap();
    let by_ip: Value = serde_json::from_str(&by_ip).unwrap();
    assert_eq!(by_ip["lisentersGroupkeyStatus"]["pushed+DEFAULT_GROUP+public"], "", "listened keys of one client ip");

    let form = [("dataId", "pushed"), ("group", "DEFAULT_GROUP"), ("content", "hello")];
    node.http().post(node.url("/nacos/v1/cs/configs")).form(&form).send().unwrap();
    runtime.block_on(async {
        let (kind, body) = client.next_push().await;
        assert_eq!(kind, "ConfigChangeNotifyRequest");
        assert_eq!(
            (body["dataId"].as_str(), body["group"].as_str(), body["tenant"].as_str()),
            (Some("pushed"), Some("DEFAULT_GROUP"), Some("public"))
        );
        let ack = json!({ "requestId": body["requestId"], "resultCode": 200, "errorCode": 0 });
        client.outbound.send(payload("ConfigChangeNotifyResponse", &ack)).await.unwrap();
    });

    // Dropping the connection releases its listeners.
    drop(client);
    let deadline = Instant::now() + Duration::from_secs(5);
    while listener_count(&node, "pushed") != 0 {
        assert!(Instant::now() < deadline, "a closed connection still listens");
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(runtime);
}

#[test]
fn oversized_frames_are_refused_without_harming_others() {
    let dir = tempfile::tempdir().unwrap();
    let node = Nacosd::start_with(&dir.path().join("node"), &["--max-content-bytes", "1024"]);
    let runtime = runtime();
    runtime.block_on(async {
        let client = RawClient::connect(&node).await;
        let huge = json!({ "dataId": "d", "group": "g", "content": "x".repeat(4 * 1024 * 1024) });
        let refused = RequestClient::new(client.channel.clone()).request(payload("ConfigPublishRequest", &huge)).await;
        assert!(refused.is_err(), "a 4 MiB frame passed a ~70 KiB limit");

        let other = RawClient::connect(&node).await;
        let (kind, body) = unary(&other.channel, payload("HealthCheckRequest", &json!({}))).await;
        assert_eq!((kind.as_str(), body["resultCode"].as_i64()), ("HealthCheckResponse", Some(200)));
        let too_big = json!({ "dataId": "d", "group": "DEFAULT_GROUP", "content": "y".repeat(2000) });
        let (kind, body) = unary(&other.channel, payload("ConfigPublishRequest", &too_big)).await;
        assert_eq!((kind.as_str(), body["errorCode"].as_i64()), ("ConfigPublishResponse", Some(400)));
    });
}

#[test]
fn connection_and_listener_limits_answer_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--max-connections", "1", "--max-listeners-per-connection", "2"];
    let node = Nacosd::start_with(&dir.path().join("node"), &args);
    let runtime = runtime();
    runtime.block_on(async {
        let first = RawClient::connect(&node).await;
        let listen = |keys: &[&str]| {
            let contexts: Vec<Value> = keys
                .iter()
                .map(|key| json!({ "dataId": key, "group": "DEFAULT_GROUP", "tenant": "", "md5": "" }))
                .collect();
            payload("ConfigBatchListenRequest", &json!({ "listen": true, "configListenContexts": contexts }))
        };
        let (_, body) = unary(&first.channel, listen(&["a", "b"])).await;
        assert_eq!(body["resultCode"], 200);
        let (_, body) = unary(&first.channel, listen(&["c"])).await;
        assert_eq!(body["errorCode"], 503, "a third listened key is over the limit: {body}");
        assert!(body["message"].as_str().unwrap().contains("limit"));

        // A second connection is refused at set-up: its stream ends with an error and it
        // stays unregistered.
        let channel =
            Channel::from_shared(format!("http://127.0.0.1:{}", node.grpc_port)).unwrap().connect().await.unwrap();
        let (outbound, rx) = mpsc::channel(4);
        outbound.send(payload("ConnectionSetupRequest", &json!({ "labels": {} }))).await.unwrap();
        let mut inbound = BiRequestStreamClient::new(channel.clone())
            .request_bi_stream(ReceiverStream::new(rx))
            .await
            .unwrap()
            .into_inner();
        let ended =
            tokio::time::timeout(Duration::from_secs(5), inbound.message()).await.expect("the refused stream hung");
        let status = ended.expect_err("the refused stream should end with an error");
        assert_eq!(status.code(), tonic::Code::ResourceExhausted);
        let (kind, body) = unary(&channel, payload("HealthCheckRequest", &json!({}))).await;
        assert_eq!((kind.as_str(), body["errorCode"].as_i64()), ("ErrorResponse", Some(301)));

        // The first connection is unharmed.
        let (_, body) = unary(&first.channel, payload("HealthCheckRequest", &json!({}))).await;
        assert_eq!(body["resultCode"], 200);
    });
}

/// A connection that stays silent is probed with `ClientDetectionRequest`; one that answers
/// stays, one that does not is dropped with its listeners.
#[test]
fn silent_connections_are_probed_and_dead_ones_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let node = Nacosd::start_with(&dir.path().join("node"), &["--connection-silent-seconds", "1"]);
    let runtime = runtime();
    let listen = json!({
        "listen": true,
        "configListenContexts": [{ "dataId": "watched", "group": "DEFAULT_GROUP", "tenant": "", "md5": "" }],
    });
    let (mut alive, mut dead) = runtime.block_on(async {
        let alive = RawClient::connect(&node).await;
        let dead = RawClient::connect(&node).await;
        for client in [&alive, &dead] {
            let (_, body) = unary(&client.channel, payload("ConfigBatchListenRequest", &listen)).await;
            assert_eq!(body["resultCode"], 200);
        }
        (alive, dead)
    });
    assert_eq!(listener_count(&node, "watched"), 2);

    runtime.block_on(async {
        // The live client answers its probes for a while; the dead one ignores them.
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut answered = 0;
        while answered < 2 {
            assert!(Instant::now() < deadline, "no ClientDetectionRequest arrived");
            let (kind, body) = alive.next_push().await;
            if kind == "ClientDetectionRequest" {
                let ack = json!({ "requestId": body["requestId"], "resultCode": 200, "errorCode": 0 });
                alive.outbound.send(payload("ClientDetectionResponse", &ack)).await.unwrap();
                answered += 1;
            }
        }
        // The dead one saw a probe and then its stream ended.
        let (kind, _) = dead.next_push().await;
        assert_eq!(kind, "ClientDetectionRequest");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let next = tokio::time::timeout_at(deadline.into(), dead.inbound.message()).await;
            match next.expect("the silent connection was not closed in time") {
                Ok(Some(_)) => continue,
                Ok(None) | Err(_) => break,
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(5);
    while listener_count(&node, "watched") != 1 {
        assert!(Instant::now() < deadline, "the dropped connection still listens");
        std::thread::sleep(Duration::from_millis(20));
    }
    drop((alive, dead));
}

/// A transport that never makes a call (no HTTP/2 preface, or a preface and nothing more)
/// is closed once the silent period has passed, and other clients are not disturbed.
#[test]
fn connections_that_never_make_a_call_are_closed() {
    use std::io::{Read, Write};

    let dir = tempfile::tempdir().unwrap();
    let node = Nacosd::start_with(&dir.path().join("node"), &["--connection-silent-seconds", "1"]);
    let connect = || {
        let stream = std::net::TcpStream::connect(("127.0.0.1", node.grpc_port)).unwrap();
        stream.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        stream
    };
    let mut mute = connect();
    let mut preface_only = connect();
    // The client preface, then an empty SETTINGS frame: a valid HTTP/2 start, then nothing.
    preface_only.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00").unwrap();

    let runtime = runtime();
    let client = runtime.block_on(RawClient::connect(&node));
    for (name, stream) in [("mute", &mut mute), ("preface only", &mut preface_only)] {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut buffer = [0u8; 1024];
        loop {
            assert!(Instant::now() < deadline, "the {name} connection is still open");
            match stream.read(&mut buffer) {
                Ok(0) => break,
                Ok(_) => continue,
                Err(err) if matches!(err.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
                Err(_) => break,
            }
        }
    }
    // The well-behaved client, connected all along, still works.
    runtime.block_on(async {
        let (_, body) = unary(&client.channel, payload("HealthCheckRequest", &json!({}))).await;
        assert_eq!(body["resultCode"], 200);
    });
}

/// A client that made unary calls but never set up its stream, then went quiet, has its
/// transport closed once the silent period has passed with no call; one that keeps
/// calling keeps it.
#[test]
fn idle_transports_without_a_set_up_connection_are_closed() {
    use prost::Message;

    let dir = tempfile::tempdir().unwrap();
    let node = Nacosd::start_with(&dir.path().join("node"), &["--connection-silent-seconds", "1"]);
    let runtime = runtime();
    runtime.block_on(async {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", node.grpc_port)).await.unwrap();
        let (mut client, connection) = h2::client::handshake(tcp).await.unwrap();
        let mut connection = tokio::spawn(connection);

        // One ServerCheckRequest, by hand: a gRPC frame is a flag byte, a length, the message.
        let call = |client: &mut h2::client::SendRequest<bytes::Bytes>| {
            let message = payload("ServerCheckRequest", &json!({})).encode_to_vec();
            let mut frame = vec![0u8];
            frame.extend_from_slice(&u32::try_from(message.len()).unwrap().to_be_bytes());
            frame.extend_from_slice(&message);
            let request = http::Request::post(format!("http://127.0.0.1:{}/Request/request", node.grpc_port))
                .header("content-type", "application/grpc")
                .header("te", "trailers")
                .body(())
                .unwrap();
            let (response, mut body) = client.send_request(request, false).unwrap();
            body.send_data(bytes::Bytes::from(frame), true).unwrap();
            response
        };
        let mut keep_calling = tokio::time::interval(Duration::from_millis(300));
        let busy_until = tokio::time::Instant::now() + Duration::from_millis(2500);
        while tokio::time::Instant::now() < busy_until {
            keep_calling.tick().await;
            let client = &mut client;
            let response = call(client).await.expect("a transport in use stays open");
            assert_eq!(response.status(), 200);
            assert!(!connection.is_finished(), "the transport closed while in use");
        }

        // Now quiet: closed by the server within a few silent periods. The client keeps its
        // handle, so the end is the server's doing.
        let closed = tokio::time::timeout(Duration::from_secs(10), &mut connection).await;
        assert!(closed.is_ok(), "the idle transport is still open");
        drop(client);
    });
}
