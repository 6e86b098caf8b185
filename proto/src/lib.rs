//! Generated gRPC code: the Nacos client protocol ([`nacos`]) and the nacosd peer protocol
//! ([`peer`]), with the [`codec`] they use. Conversions to and from domain types live in the
//! adapters.

pub mod codec;

/// The Nacos client protocol (no proto package: `/Request/request`).
#[allow(unreachable_pub, nonstandard_style, clippy::all, reason = "generated code")]
pub mod nacos {
    tonic::include_proto!("_");
}

/// The nacosd cluster protocol.
#[allow(unreachable_pub, nonstandard_style, clippy::all, reason = "generated code")]
pub mod peer {
    tonic::include_proto!("nacosd.peer.v1");
}
