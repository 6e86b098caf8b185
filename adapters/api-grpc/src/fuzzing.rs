//! Entry points for fuzzers: a client's gRPC payload, from the raw protobuf bytes of a
//! `Payload` message to the JSON body handlers decode. Runs under `cargo fuzz` (the `fuzz/`
//! crate) and under proptest in `wire`'s tests.

use prost::Message;
use proto::nacos::Payload;

use crate::wire::Incoming;

/// The bytes of one `Payload` message: decoded, read, its body decoded as handlers do.
pub fn payload(bytes: &[u8]) {
    let Ok(payload) = Payload::decode(bytes) else { return };
    incoming(payload);
}

/// A decoded payload, read as a request.
pub(crate) fn incoming(payload: Payload) {
    if let Ok(incoming) = Incoming::parse(payload) {
        let _ = incoming.decode::<serde_json::Map<String, serde_json::Value>>();
        let _ = incoming.header("app");
        let _ = incoming.value();
    }
}
