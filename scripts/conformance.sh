#!/usr/bin/env bash
# Runs the shared Python conformance suite (the real nacos-sdk-python 3.x client, plus
# plain HTTP) against a fresh nacosd, for the capabilities nacosd has so far.
#   scripts/conformance.sh [path/to/nacosd]      (default: target/debug/nacosd)
# Cases run: all of them (config cfg_* and naming ns_*); CONFORMANCE_CASES narrows it.
# CONFORMANCE_NODES=3 runs the suite against the second node of a fresh three-node
# cluster (scripts/cluster.sh) instead: writes go through a follower or the leader as
# the election fell, and everything must behave as on one node.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SUITE="$ROOT/../shared/conformance"
BIN=${1:-$ROOT/target/debug/nacosd}
CASES=${CONFORMANCE_CASES:-*}
NODES=${CONFORMANCE_NODES:-1}

if [ ! -x "$SUITE/run.sh" ]; then
  echo "conformance: no suite at $SUITE (it comes with the shared/ folder beside this repo)" >&2
  exit 1
fi
if ! command -v python3 >/dev/null 2>&1 || ! python3 -m venv --help >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "conformance: installing python3-venv" >&2
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >&2
  else
    echo "conformance: python3 with venv is needed; as root: apt-get install -y python3 python3-venv" >&2
    exit 1
  fi
fi
[ -x "$BIN" ] || { echo "conformance: $BIN is missing; run cargo build -p app first" >&2; exit 1; }

# A free HTTP port whose gRPC (+1000) and cluster (+1001) ports are free too.
pick_port() {
  python3 - <<'PY'
import socket, random
def free(p):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); return True
    except OSError:
        return False
    finally:
        s.close()
nodes = int(__import__("os").environ.get("NODES", "1"))
for _ in range(200):
    p = random.randint(20000, 30000)
    if all(free(p + 10 * i + d) for i in range(nodes) for d in (0, 1000, 1001)):
        print(p); break
PY
}
PORT=$(NODES=$NODES pick_port)
WORK=$(mktemp -d /tmp/nacosd-conformance-XXXXXX)
if [ "$NODES" -gt 1 ]; then
  export NACOSD_BIN="$BIN" CLUSTER_DIR="$WORK/cluster" CLUSTER_BASE_PORT="$PORT"
  trap 'scripts/cluster.sh down "$NODES" >/dev/null' EXIT
  scripts/cluster.sh up "$NODES"
  PORT=$((PORT + 10))
  echo "== conformance suite ($CASES) against node 2 of $NODES on $PORT (logs in $CLUSTER_DIR)"
  "$SUITE/run.sh" --http-port "$PORT" --only "$CASES"
  exit 0
fi
"$BIN" --http-port "$PORT" --bind 127.0.0.1 --data-dir "$WORK/data" >"$WORK/server.log" 2>&1 &
PID=$!
cleanup() { kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; }
trap cleanup EXIT

for _ in $(seq 1 300); do
  if curl -fsS "http://127.0.0.1:$PORT/nacos/v1/console/health/readiness" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$PID" 2>/dev/null; then echo "conformance: nacosd died at start-up:" >&2; cat "$WORK/server.log" >&2; exit 1; fi
  sleep 0.1
done

echo "== conformance suite ($CASES) against nacosd on $PORT (log $WORK/server.log)"
"$SUITE/run.sh" --http-port "$PORT" --only "$CASES"
