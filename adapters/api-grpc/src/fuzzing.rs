//! Entry points for fuzzers: a client's gRPC payload, from the raw protobuf bytes of a
//! `Payload` message to the JSON body handlers decode. Runs under `cargo fuzz` (the `fuzz/`
//! crate) and under proptest in `wire`'s tests.

use prost::Message;
use proto::nacos::Payload;

use crate::wire::Incoming;

/// The bytes of one `Payload` message: decoded, read, its body decoded as its handler
/// decodes it, and checked as far as the handler checks before calling a service.
pub fn payload(bytes: &[u8]) {
    let Ok(payload) = Payload::decode(bytes) else { return };
    incoming(payload);
}

/// A decoded payload, read as a request.
pub(crate) fn incoming(payload: Payload) {
    if let Ok(incoming) = Incoming::parse(payload) {
        crate::handlers::read_routed(&incoming);
        let _ = incoming.decode::<serde_json::Map<String, serde_json::Value>>();
        let _ = incoming.header("app");
        let _ = incoming.value();
    }
}

#[cfg(test)]
mod tests {
    use prost::Message;
    use proto::nacos::{Metadata, Payload};

    /// Real requests, one of each type, as the fuzzers' seed corpus: with
    /// `NACOSD_FUZZ_SEEDS=DIR` they are written there (`scripts/fuzz.sh`).
    #[test]
    fn real_payloads_are_read_and_seed_the_fuzzers() {
        let requests = [
            ("ConfigQueryRequest", r#"{"dataId":"a.yaml","group":"G","tenant":"","headers":{"app":"x"}}"#),
            ("ConfigPublishRequest", r#"{"dataId":"a.yaml","group":"G","content":"k: v","casMd5":""}"#),
            (
                "ConfigBatchListenRequest",
                r#"{"listen":true,"configListenContexts":[{"dataId":"a","group":"G","md5":"","tenant":""}]}"#,
            ),
            (
                "InstanceRequest",
                r#"{"namespace":"public","serviceName":"svc","groupName":"G","type":"registerInstance","instance":{"ip":"127.0.0.1","port":80,"weight":1.0,"metadata":{"k":"v"}}}"#,
            ),
            (
                "SubscribeServiceRequest",
                r#"{"namespace":"public","serviceName":"svc","groupName":"G","clusters":"","subscribe":true}"#,
            ),
            ("ServiceListRequest", r#"{"namespace":"public","groupName":"G","pageNo":1,"pageSize":10}"#),
            (
                "ConfigFuzzyWatchRequest",
                r#"{"groupKeyPattern":"public>>G>>a*","receivedGroupKeys":["a+G+public"],"watchType":"WATCH","initializing":true}"#,
            ),
            (
                "NamingFuzzyWatchRequest",
                r#"{"namespace":"public","groupKeyPattern":"public>>G>>s*","receivedGroupKeys":[],"watchType":"WATCH","initializing":true}"#,
            ),
        ];
        for (i, (kind, body)) in requests.iter().enumerate() {
            let payload = Payload {
                metadata: Some(Metadata {
                    r#type: (*kind).to_owned(),
                    client_ip: "127.0.0.1".to_owned(),
                    headers: Default::default(),
                }),
                body: Some(prost_types::Any { type_url: String::new(), value: body.as_bytes().to_vec() }),
            };
            let bytes = payload.encode_to_vec();
            assert!(crate::wire::Incoming::parse(Payload::decode(&bytes[..]).unwrap()).is_ok(), "{kind}");
            if let Ok(dir) = std::env::var("NACOSD_FUZZ_SEEDS") {
                let dir = std::path::Path::new(&dir).join("grpc_payload");
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(dir.join(format!("request-{i}")), &bytes).unwrap();
            }
        }
    }
}
