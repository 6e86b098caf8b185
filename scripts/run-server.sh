#!/usr/bin/env bash
# Builds and runs nacosd (release build, RocksDB storage) with the arguments given.
# With no arguments: a one-node cluster on ports 8848/9848/9849, data in ./nacos_data.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/prereqs.sh
exec cargo run --release --locked -p app --bin nacosd -- "$@"
