#!/usr/bin/env bash
# Runs every test: the whole workspace, the shared Python conformance suite (config and
# naming, on one node and on a three-node cluster), the Python 3.x SDK's redo across the
# cluster's nodes, the SDK suites (Python legacy HTTP client, Node client) and the web
# console's browser tests (Chromium) on the default engine (RocksDB), the cargo-fuzz targets
# briefly (scripts/fuzz.sh), then the workspace and the conformance suite again on the sled
# engine.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/prereqs.sh
scripts/test-prereqs.sh

echo "== tests, default build (RocksDB)"
cargo test --locked --workspace

scripts/conformance.sh target/debug/nacosd
CONFORMANCE_NODES=3 scripts/conformance.sh target/debug/nacosd
scripts/sdk-cluster-redo.sh target/debug/nacosd
scripts/sdk-tests.sh target/debug/nacosd
scripts/console-tests.sh target/debug/nacosd
scripts/fuzz.sh

echo "== tests, sled build"
cargo test --locked --workspace --no-default-features --features sled
scripts/conformance.sh target/debug/nacosd
