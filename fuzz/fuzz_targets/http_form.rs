//! An HTTP form request: the bytes up to the first newline are the query string, the rest
//! the body.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|byte| *byte == b'\n').unwrap_or(data.len());
    let (query, body) = data.split_at(split);
    api_http::fuzzing::form_request(query, body.get(1..).unwrap_or_default());
});
