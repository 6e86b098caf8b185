//! Test kits shared by adapters: the KV conformance suite every store runs.

pub mod kv;
