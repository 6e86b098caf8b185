//! The JSON of an HTTP beat.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| api_http::fuzzing::beat(data));
