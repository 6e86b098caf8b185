//! A raft log record, as read from disk or sent by a leader.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| consensus_openraft::fuzzing::log_record(data));
