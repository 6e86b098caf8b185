#!/usr/bin/env bash
# Runs every test: the whole workspace on the default engine (RocksDB), then again with
# the sled engine, so the black-box durability tests run against both.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/prereqs.sh

echo "== tests, default build (RocksDB)"
cargo test --locked --workspace

echo "== tests, sled build"
cargo test --locked --workspace --no-default-features --features sled
