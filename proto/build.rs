//! Generates the Nacos client protocol and the nacosd peer protocol with tonic.
//!
//! Needs `protoc`; `scripts/prereqs.sh` installs it (Debian: `protobuf-compiler`).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    tonic_prost_build::configure()
        .codec_path("crate::codec::LeanCodec")
        .compile_protos(&["proto/nacos_grpc_service.proto", "proto/peer.proto"], &["proto"])?;
    println!("cargo:rerun-if-changed=proto");
    Ok(())
}
