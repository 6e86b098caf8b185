//! A bounded black-box fuzzer: random and malformed HTTP and gRPC traffic at a real
//! `nacosd`, a fixed number of times from a fixed seed (`NACOSD_FUZZ_SEED` picks another,
//! `NACOSD_FUZZ_ROUNDS` scales the counts), then the checks that matter: the same process
//! still answers liveness, its log holds no panic, and the data seeded before reads back
//! identical.
//!
//! Random values come from alphabets that cannot spell the seeded names, so whatever the
//! fuzzer publishes or deletes, it cannot legitimately touch the seeded data.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use proto::nacos::bi_request_stream_client::BiRequestStreamClient;
use proto::nacos::request_client::RequestClient;
use proto::nacos::{Metadata, Payload};
use serde_json::Value;
use tests::Nacosd;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;

use crate::t70_grpc_protocol::{payload, runtime, RawClient};

const HTTP_REQUESTS: u64 = 1_500;
const RAW_GRPC_CONNECTIONS: u64 = 60;
const GRPC_CALLS: u64 = 600;
const SEED_CONTENT: &str = "seeded: true\nname: 种子 🌱\n";
const SEED_METADATA: &str = r#"{"zone":"seed-zone","version":"1.2.3"}"#;

/// xorshift64*: small, fast, and the same sequence for the same seed everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// Fewer than `max` random bytes.
    fn bytes(&mut self, max: u64) -> Vec<u8> {
        let len = self.below(max);
        (0..len).map(|_| self.next() as u8).collect()
    }

    /// A parameter value: plain, numeric, JSON-ish, percent garbage, long, unicode or raw
    /// bytes. Never contains `-`, so never a seeded name.
    fn value(&mut self) -> String {
        match self.below(12) {
            0 => String::new(),
            9 => format!("{}", self.below(70_000)),
            10 => format!("127.0.{}.{}", self.below(3), self.below(256)),
            1 => format!("{}", self.next() as i64),
            2 => format!("{}.{}", self.below(20_000), self.below(100)),
            3 => (*self.pick(&["true", "false", "NaN", "inf", "null", "DEFAULT_GROUP", "public", "%", "%zz", "+"]))
                .to_owned(),
            4 => r#"{"k":"v","n":1,"a":[],"o":{}}"#.to_owned(),
            5 => "x".repeat(self.below(3_000) as usize),
            6 => "名字é\u{1F600}".repeat(self.below(5) as usize + 1),
            7 => self.bytes(24).iter().map(|byte| format!("%{byte:02X}")).collect(),
            _ => (0..self.below(12) + 1).map(|_| (b'a' + self.below(26) as u8) as char).collect(),
        }
    }
}

const PATHS: &[&str] = &[
    "/nacos/v1/cs/configs",
    "/nacos/v1/cs/configs/listener",
    "/nacos/v1/cs/history",
    "/nacos/v1/cs/history/previous",
    "/nacos/v1/cs/history/configs",
    "/nacos/v2/cs/config",
    "/nacos/v1/console/namespaces",
    "/nacos/v1/ns/instance",
    "/nacos/v1/ns/instance/list",
    "/nacos/v1/ns/instance/beat",
    "/nacos/v1/ns/service",
    "/nacos/v1/ns/service/list",
    "/nacos/v2/ns/instance",
    "/nacos/v2/ns/instance/list",
    "/nacos/v1/ns/operator/metrics",
    "/nacos/v1/auth/login",
    "/nacos/v1/console/health/liveness",
    "/nacos/%ff%00/..",
    "/",
];
const METHODS: &[&str] = &["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "BREW", "G\u{0}T"];
const NAMES: &[&str] = &[
    "dataId",
    "group",
    "tenant",
    "content",
    "type",
    "desc",
    "config_tags",
    "casMd5",
    "beta_ips",
    "show",
    "search",
    "pageNo",
    "pageSize",
    "nid",
    "serviceName",
    "groupName",
    "namespaceId",
    "ip",
    "port",
    "weight",
    "healthy",
    "enabled",
    "ephemeral",
    "clusterName",
    "clusters",
    "metadata",
    "beat",
    "healthyOnly",
    "udpPort",
    "customNamespaceId",
    "namespaceName",
    "protectThreshold",
    "selector",
    "username",
    "password",
];

fn form(rng: &mut Rng) -> String {
    (0..rng.below(8)).map(|_| format!("{}={}", rng.pick(NAMES), rng.value())).collect::<Vec<_>>().join("&")
}

/// Requests with the parameters their route needs, plausibly filled, plus a random extra:
/// these get past the first check and reach the services.
const TEMPLATES: &[(&str, &str, &[&str])] = &[
    ("POST", "/nacos/v1/cs/configs", &["dataId", "group", "content"]),
    ("GET", "/nacos/v1/cs/configs", &["dataId", "group"]),
    ("DELETE", "/nacos/v1/cs/configs", &["dataId", "group"]),
    ("POST", "/nacos/v2/cs/config", &["dataId", "group", "content", "namespaceId"]),
    ("GET", "/nacos/v1/cs/history", &["dataId", "group", "search"]),
    ("POST", "/nacos/v1/ns/instance", &["serviceName", "ip", "port", "metadata"]),
    ("PUT", "/nacos/v1/ns/instance", &["serviceName", "ip", "port", "weight"]),
    ("DELETE", "/nacos/v1/ns/instance", &["serviceName", "ip", "port"]),
    ("GET", "/nacos/v1/ns/instance/list", &["serviceName", "clusters"]),
    ("PUT", "/nacos/v1/ns/instance/beat", &["serviceName", "beat"]),
    ("POST", "/nacos/v1/ns/service", &["serviceName", "protectThreshold", "metadata"]),
    ("GET", "/nacos/v1/ns/service/list", &["pageNo", "pageSize"]),
    ("POST", "/nacos/v1/console/namespaces", &["customNamespaceId", "namespaceName"]),
];

/// A plausible value for a parameter, mutated now and then.
fn plausible(rng: &mut Rng, name: &str) -> String {
    if rng.below(6) == 0 {
        return rng.value();
    }
    let word = |rng: &mut Rng| (0..rng.below(10) + 1).map(|_| (b'a' + rng.below(26) as u8) as char).collect::<String>();
    match name {
        "ip" => format!("127.0.{}.{}", rng.below(2), rng.below(256)),
        "port" | "pageNo" | "pageSize" => format!("{}", rng.below(70_000)),
        "weight" | "protectThreshold" => format!("{}.{}", rng.below(3), rng.below(10)),
        "metadata" => format!(r#"{{"{}":"{}"}}"#, word(rng), word(rng)),
        "beat" => {
            format!(r#"{{"ip":"127.0.0.{}","port":{},"serviceName":"{}"}}"#, rng.below(256), rng.below(9), word(rng))
        }
        "search" => (*rng.pick(&["accurate", "blur"])).to_owned(),
        _ => word(rng),
    }
}

/// `raw` with everything but letters, digits and `.-_` percent-encoded.
fn percent_encoded(raw: &str) -> String {
    raw.bytes()
        .map(|byte| match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'_' => char::from(byte).to_string(),
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

/// One HTTP request, well-formed or broken in one of the ways real clients break them, and
/// whether it is whole (a broken one is followed by the end of input, so the server does
/// not wait for the rest).
fn http_request(rng: &mut Rng) -> (Vec<u8>, bool) {
    let templated = rng.below(2) == 0;
    let (method, path, query) = if templated {
        let (method, path, names) = *rng.pick(TEMPLATES);
        let mut pairs: Vec<String> =
            names.iter().map(|name| format!("{name}={}", percent_encoded(&plausible(rng, name)))).collect();
        if rng.below(2) == 0 {
            pairs.push(format!("{}={}", rng.pick(NAMES), rng.value()));
        }
        (method, path, pairs.join("&"))
    } else {
        (*rng.pick(METHODS), *rng.pick(PATHS), form(rng))
    };
    let body = match rng.below(4) {
        _ if templated => Vec::new(),
        0 => rng.bytes(300),
        _ => form(rng).into_bytes(),
    };
    let head = format!("{method} {path}?{query} HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n");
    let form_type = "Content-Type: application/x-www-form-urlencoded\r\n";
    let mut request = Vec::new();
    let whole = match rng.below(10) {
        // Well-formed, with a body.
        0..=3 => {
            request.extend(format!("{head}{form_type}Content-Length: {}\r\n\r\n", body.len()).into_bytes());
            request.extend(&body);
            true
        }
        // Chunked, with random chunk sizes and extensions (NUL and 0xFF among them), and
        // sometimes no last chunk.
        4 => {
            request.extend(format!("{head}{form_type}Transfer-Encoding: chunked\r\n\r\n").into_bytes());
            for chunk in body.chunks(rng.below(40) as usize + 1) {
                if rng.below(3) == 0 {
                    request.extend(format!("{:x};ext=", chunk.len()).into_bytes());
                    request.extend([0, 0xFF]);
                    request.extend(b"\r\n");
                } else {
                    request.extend(format!("{:x}\r\n", chunk.len()).into_bytes());
                }
                request.extend(chunk);
                request.extend(b"\r\n");
            }
            let last = rng.below(2) == 0;
            if last {
                request.extend(b"0\r\n\r\n");
            }
            last
        }
        // A lying Content-Length, either way.
        5 => {
            let longer = rng.below(2) == 0;
            let declared = if longer { body.len() + 1 + rng.below(100) as usize } else { 0 };
            request.extend(format!("{head}Content-Length: {declared}\r\n\r\n").into_bytes());
            request.extend(&body);
            !longer
        }
        // Broken heads: truncated, binary, oversized, or without a Host.
        6 => {
            request.extend(&format!("{head}{form_type}").into_bytes()[..rng.below(head.len() as u64) as usize]);
            false
        }
        7 => {
            request.extend(rng.bytes(200));
            false
        }
        8 => {
            request.extend(format!("GET /{} HTTP/1.1\r\nHost: fuzz\r\n\r\n", "a".repeat(70_000)).into_bytes());
            true
        }
        _ => {
            request.extend(format!("{method} {path}?{query} HTTP/1.1\r\nX-Nul: a\u{0}b\r\n\r\n").into_bytes());
            true
        }
    };
    (request, whole)
}

/// Sends `request` on a fresh connection and reads what comes back for a short while. A
/// whole request is not followed by the end of input: the server takes that for a client
/// that has gone (as it must, for long polls) and would drop the request.
fn send_raw(addr: &str, request: &[u8], whole: bool) -> Option<u16> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_millis(300))).ok()?;
    let _ = stream.write_all(request);
    if !whole {
        let _ = stream.shutdown(std::net::Shutdown::Write);
    }
    let mut answer = [0_u8; 64];
    let read = stream.read(&mut answer).ok()?;
    let status = std::str::from_utf8(&answer[..read]).ok()?.split(' ').nth(1)?;
    status.parse().ok()
}

/// A random gRPC request of a known type, with a random body.
fn grpc_call(rng: &mut Rng) -> Payload {
    let kinds = [
        "ConfigQueryRequest",
        "ConfigPublishRequest",
        "ConfigRemoveRequest",
        "ConfigBatchListenRequest",
        "InstanceRequest",
        "BatchInstanceRequest",
        "PersistentInstanceRequest",
        "SubscribeServiceRequest",
        "ServiceQueryRequest",
        "ServiceListRequest",
        "HealthCheckRequest",
        "ServerCheckRequest",
        "NoSuchRequest",
        "",
    ];
    let fields = [
        "dataId",
        "group",
        "tenant",
        "content",
        "casMd5",
        "type",
        "namespace",
        "serviceName",
        "groupName",
        "clusters",
        "healthyOnly",
        "subscribe",
        "pageNo",
        "pageSize",
        "configListenContexts",
        "listen",
        "instance",
        "instances",
        "ip",
        "port",
        "weight",
        "ephemeral",
        "metadata",
        "clusterName",
        "headers",
    ];
    let kind = *rng.pick(&kinds);
    let body = match rng.below(6) {
        0 => rng.bytes(80),
        1 => b"[1,2,3]".to_vec(),
        _ => {
            let mut object = serde_json::Map::new();
            for _ in 0..rng.below(8) {
                let value = match rng.below(6) {
                    0 => Value::from(rng.next() as i64),
                    1 => Value::Bool(rng.below(2) == 0),
                    2 => Value::Null,
                    3 => serde_json::json!([{ "dataId": rng.value(), "group": rng.value(), "md5": rng.value() }]),
                    4 => {
                        serde_json::json!({ "ip": rng.value(), "port": rng.next() as i64, "metadata": { "k": rng.value() } })
                    }
                    _ => Value::String(rng.value()),
                };
                object.insert((*rng.pick(&fields)).to_owned(), value);
            }
            if rng.below(2) == 0 {
                object.insert(
                    "type".to_owned(),
                    Value::from(*rng.pick(&["registerInstance", "deregisterInstance", "batchRegisterInstance", "x"])),
                );
            }
            serde_json::to_vec(&object).unwrap()
        }
    };
    Payload {
        metadata: Some(Metadata { r#type: kind.to_owned(), client_ip: rng.value(), headers: Default::default() }),
        body: Some(prost_types::Any { type_url: String::new(), value: body }),
    }
}

fn seed(node: &Nacosd) {
    let form = [("dataId", "seed-config"), ("group", "SEED_GROUP"), ("content", SEED_CONTENT)];
    let published = node.http().post(node.url("/nacos/v1/cs/configs")).form(&form).send().unwrap();
    assert_eq!(published.text().unwrap(), "true");
    let instance = [
        ("serviceName", "seed-service"),
        ("ip", "127.0.0.42"),
        ("port", "4242"),
        ("ephemeral", "false"),
        ("metadata", SEED_METADATA),
    ];
    let registered = node.http().post(node.url("/nacos/v1/ns/instance")).form(&instance).send().unwrap();
    assert_eq!(registered.text().unwrap(), "ok");
}

fn seeded_config(node: &Nacosd) -> String {
    let query = [("dataId", "seed-config"), ("group", "SEED_GROUP")];
    node.http().get(node.url("/nacos/v1/cs/configs")).query(&query).send().unwrap().text().unwrap()
}

fn seeded_hosts(node: &Nacosd) -> Value {
    let query = [("serviceName", "seed-service")];
    let text = node.http().get(node.url("/nacos/v1/ns/instance/list")).query(&query).send().unwrap().text().unwrap();
    let list: Value = serde_json::from_str(&text).unwrap();
    let mut hosts = list["hosts"].clone();
    for host in hosts.as_array_mut().unwrap() {
        host.as_object_mut().unwrap().remove("lastBeat");
    }
    hosts
}

#[test]
fn random_and_malformed_traffic_leaves_the_node_up_and_the_data_intact() {
    let seed_value = std::env::var("NACOSD_FUZZ_SEED").ok().and_then(|raw| raw.parse().ok()).unwrap_or(0x5EED_CAFE_u64);
    let rounds = std::env::var("NACOSD_FUZZ_ROUNDS").ok().and_then(|raw| raw.parse().ok()).unwrap_or(1_u64);
    eprintln!("black-box fuzz: seed {seed_value:#x}, rounds {rounds}");
    let mut rng = Rng(seed_value | 1);
    let dir = tempfile::tempdir().unwrap();
    let node = Nacosd::start(&dir.path().join("node"));
    let pid = node.pid();
    seed(&node);
    let (config_before, hosts_before) = (seeded_config(&node), seeded_hosts(&node));
    assert_eq!(config_before, SEED_CONTENT);

    let mut statuses = std::collections::BTreeMap::<u16, u64>::new();
    for _ in 0..HTTP_REQUESTS * rounds {
        let (request, whole) = http_request(&mut rng);
        if let Some(status) = send_raw(&node.http_addr(), &request, whole) {
            *statuses.entry(status).or_default() += 1;
        }
    }
    eprintln!("HTTP answers by status: {statuses:?}");

    let grpc_addr = format!("127.0.0.1:{}", node.grpc_port);
    for _ in 0..RAW_GRPC_CONNECTIONS * rounds {
        // Raw bytes at the gRPC port: with and without the HTTP/2 preface.
        let mut garbage = if rng.below(2) == 0 { b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec() } else { Vec::new() };
        garbage.extend(rng.bytes(400));
        send_raw(&grpc_addr, &garbage, false);
    }
    let calls = runtime().block_on(async {
        let client = RawClient::connect(&node).await;
        let mut answered = 0_u64;
        for _ in 0..GRPC_CALLS * rounds {
            let call = grpc_call(&mut rng);
            let mut requests = RequestClient::new(client.channel.clone());
            let reply = tokio::time::timeout(Duration::from_secs(5), requests.request(call)).await;
            if matches!(reply, Ok(Ok(_))) {
                answered += 1;
            }
            // Garbage on the bi-stream too, now and then.
            if rng.below(10) == 0 {
                let _ = client.outbound.send(grpc_call(&mut rng)).await;
            }
        }
        // A stream whose first message is not a set-up.
        if let Ok(channel) = Channel::from_shared(format!("http://{grpc_addr}")).unwrap().connect().await {
            let (tx, rx) = tokio::sync::mpsc::channel(4);
            let _ = tx.send(payload("InstanceRequest", &serde_json::json!({}))).await;
            let _ = BiRequestStreamClient::new(channel).request_bi_stream(ReceiverStream::new(rx)).await;
        }
        answered
    });
    eprintln!("gRPC calls answered: {calls} of {}", GRPC_CALLS * rounds);
    assert!(calls > 0, "no gRPC call was answered at all");

    assert!(node.answers_liveness_within(Duration::from_secs(10)), "liveness does not answer after the fuzzing");
    assert_eq!(node.pid(), pid);
    let log = node.log();
    assert!(!log.contains("panicked"), "the server panicked:\n{log}");
    assert_eq!(seeded_config(&node), config_before, "the seeded config changed");
    assert_eq!(seeded_hosts(&node), hosts_before, "the seeded instance changed");
}
