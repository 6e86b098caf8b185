#!/usr/bin/env bash
# Runs every test: the whole workspace and the shared Python conformance suite on the
# default engine (RocksDB), then both again on the sled engine.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/prereqs.sh

echo "== tests, default build (RocksDB)"
cargo test --locked --workspace

scripts/conformance.sh target/debug/nacosd

echo "== tests, sled build"
cargo test --locked --workspace --no-default-features --features sled
scripts/conformance.sh target/debug/nacosd
