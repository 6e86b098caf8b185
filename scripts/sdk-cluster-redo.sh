#!/usr/bin/env bash
# The Python 3.x SDK's redo against a three-node cluster (tests/sdk/python-cluster): its
# node killed, a registrar registers again elsewhere and a subscriber never sees the
# instance gone. Uses the shared conformance suite's virtualenv (nacos-sdk-python 3.x).
#   scripts/sdk-cluster-redo.sh [path/to/nacosd]      (default: target/debug/nacosd)
set -euo pipefail
cd "$(dirname "$0")/.."
SUITE="$PWD/../shared/conformance"
export NACOSD_BIN=$(readlink -f "${1:-target/debug/nacosd}")
[ -x "$NACOSD_BIN" ] || { echo "sdk-cluster-redo: $NACOSD_BIN is missing; run cargo build -p app first" >&2; exit 1; }
VENV=$("$SUITE/setup.sh")
WORK=$(mktemp -d /tmp/nacosd-py-cluster-XXXXXX)
export CLUSTER_DIR="$WORK/cluster"
# HTTP ports 16848, 16858, 16868 (+1000, +1001): below the ephemeral range, so a killed
# node's port is not taken by an outgoing connection while it is down.
export CLUSTER_BASE_PORT=${CLUSTER_BASE_PORT:-16848}
trap 'scripts/cluster.sh down 3 >/dev/null 2>&1 || true' EXIT
scripts/cluster.sh up 3 >/dev/null
echo "== Python 3.x SDK redo across a three-node cluster (logs in $CLUSTER_DIR)"
"$VENV/bin/python" -u tests/sdk/python-cluster/redo_across_nodes.py
