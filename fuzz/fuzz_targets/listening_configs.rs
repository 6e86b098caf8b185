//! A long poll's Listening-Configs value.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| api_http::fuzzing::listening_configs(data));
