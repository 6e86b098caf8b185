//! Test kits shared by adapters: the KV conformance suite every store runs.

#![allow(clippy::unwrap_used, reason = "a test kit: a failed unwrap is a failed check")]

pub mod kv;
