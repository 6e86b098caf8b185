//! `ServerCheckRequest`: the first call of a Java/Go/Python client, the last of the Rust
//! SDK's handshake. Answers the connection id; needs no registration.

use std::net::SocketAddr;

use proto::nacos::Payload;
use serde_json::json;

use crate::wire::{self, code};
use crate::GrpcApi;

pub(super) fn handle(api: &GrpcApi, remote: Option<SocketAddr>) -> Payload {
    let Some(remote) = remote else {
        return wire::error_response(code::SERVER_ERROR, "the transport has no peer address");
    };
    let id = api.connections.id_for(remote);
    wire::success("ServerCheckResponse", json!({ "connectionId": id.as_str(), "supportAbilityNegotiation": true }))
}
