//! The protobuf bytes of a gRPC Payload message.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| api_grpc::fuzzing::payload(data));
