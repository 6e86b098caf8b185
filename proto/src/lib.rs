//! Generated gRPC code only: the Nacos client protocol ([`nacos`]) and the nacosd peer
//! protocol ([`peer`]). Conversions to and from domain types live in the adapters.

#![allow(unreachable_pub, nonstandard_style, clippy::all, reason = "generated code")]

/// The Nacos client protocol (no proto package: `/Request/request`).
pub mod nacos {
    tonic::include_proto!("_");
}

/// The nacosd cluster protocol.
pub mod peer {
    tonic::include_proto!("nacosd.peer.v1");
}
