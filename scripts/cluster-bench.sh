#!/usr/bin/env bash
# The cluster's figures with nacosd-bench, on loopback (all nodes share this machine's
# cores, so they are a floor, not what separate machines give):
#   - HTTP publish through the leader, through the followers, and a single node's;
#   - HTTP reads spread over every member, and a single node's;
#   - the write-unavailability window: publishes through the followers while the leader is
#     killed (-9); the longest time without an acknowledged publish, in rounds;
#   - the registry's convergence after a member restarts: how long until the restarted
#     member serves an instance registered on another member before it came back.
#
#   scripts/cluster-bench.sh [rounds]     (default 3 rounds of the failover)
#
# NACOSD_BIN and BENCH_BIN default to this checkout's release build (built if missing).
# Ports start at CLUSTER_BASE_PORT (default 18848), below the kernel's ephemeral range so a
# killed node's port is never taken by an outgoing connection while it is down.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
if [ -z "${NACOSD_BIN:-}" ] || [ -z "${BENCH_BIN:-}" ]; then
  scripts/prereqs.sh
  cargo build --release --locked -p app -p bench
fi
export NACOSD_BIN=${NACOSD_BIN:-target/release/nacosd}
BENCH_BIN=${BENCH_BIN:-target/release/nacosd-bench}
export CLUSTER_BASE_PORT=${CLUSTER_BASE_PORT:-18848}
WORK=$(mktemp -d /tmp/cluster-bench-XXXXXX)
export CLUSTER_DIR="$WORK/cluster"
SINGLE_PID=
cleanup() {
  scripts/cluster.sh down 3 >/dev/null 2>&1 || true
  [ -n "$SINGLE_PID" ] && kill "$SINGLE_PID" 2>/dev/null || true
}
trap cleanup EXIT

http_port() { echo $((CLUSTER_BASE_PORT + 10 * ($1 - 1))); }
addr() { echo "127.0.0.1:$(http_port "$1")"; }
role() { curl -fsS "http://$(addr "$1")/nacos/v1/core/cluster/self" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["raftRole"])' 2>/dev/null || echo down; }
leader() {
  local i
  for _ in $(seq 1 200); do
    for i in 1 2 3; do [ "$(role "$i")" = leader ] && { echo "$i"; return; }; done
    sleep 0.1
  done
  echo "cluster-bench: no leader" >&2; exit 1
}
# bench <label> <scenario> <targets> [extra args]: one line of JSON, labelled.
bench() {
  local label=$1 scenario=$2 targets=$3; shift 3
  "$BENCH_BIN" --scenario "$scenario" --target "$targets" --connections 64 --json "$@" |
    python3 -c "import json,sys
for line in sys.stdin:
    r = json.loads(line)['ours']
    print(json.dumps({'label': '$label', 'ops_per_sec': round(r['ops_per_sec']), 'p50_ms': r['p50_us'] / 1000, 'p99_ms': r['p99_us'] / 1000, 'errors': r['errors'], 'longest_gap_ms': r['longest_gap_ms']}))"
}

# A single node first, on the same ports' neighbourhood.
single_port=$((CLUSTER_BASE_PORT + 100))
"$NACOSD_BIN" --http-port "$single_port" --bind 127.0.0.1 --data-dir "$WORK/single" --log-level warn >"$WORK/single.log" 2>&1 &
SINGLE_PID=$!
for _ in $(seq 1 100); do curl -fsS -o /dev/null "http://127.0.0.1:$single_port/nacos/v1/console/health/readiness" && break; sleep 0.1; done
bench "single node, publish" config-publish-http "127.0.0.1:$single_port"
bench "single node, get" config-get-http "127.0.0.1:$single_port"
kill "$SINGLE_PID"; wait "$SINGLE_PID" 2>/dev/null || true; SINGLE_PID=

scripts/cluster.sh up 3 >/dev/null
l=$(leader); followers=(); for i in 1 2 3; do [ "$i" != "$l" ] && followers+=("$i"); done
bench "3 nodes, publish through the leader" config-publish-http "$(addr "$l")"
bench "3 nodes, publish through the followers" config-publish-http "$(addr "${followers[0]}"),$(addr "${followers[1]}")"
bench "3 nodes, get spread over all" config-get-http "$(addr 1),$(addr 2),$(addr 3)"

for round in $(seq 1 "$ROUNDS"); do
  l=$(leader); followers=(); for i in 1 2 3; do [ "$i" != "$l" ] && followers+=("$i"); done
  # Killed 3 s into a 10 s measured run; restarted after the run.
  ( sleep 5; kill -9 "$(cat "$CLUSTER_DIR/node$l.pid")" ) &
  bench "failover round $round (leader $l killed)" config-publish-http \
    "$(addr "${followers[0]}"),$(addr "${followers[1]}")" --warmup 2 --duration 10
  wait
  scripts/cluster.sh up 3 >/dev/null
done

# Registry convergence after a restart: stop a member, register on another, start it
# again and time until it serves the instance.
for round in $(seq 1 "$ROUNDS"); do
  scripts/cluster.sh down 3 >/dev/null 2>&1 || true
  scripts/cluster.sh up 3 >/dev/null
  pid=$(cat "$CLUSTER_DIR/node3.pid"); kill -TERM "$pid"
  while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
  curl -fsS -X POST "http://$(addr 1)/nacos/v1/ns/instance?serviceName=converge-$round&ip=127.0.0.9&port=80&ephemeral=true" >/dev/null
  started=$(date +%s%N)
  scripts/cluster.sh up 3 >/dev/null
  until curl -fsS "http://$(addr 3)/nacos/v1/ns/instance/list?serviceName=converge-$round" 2>/dev/null | grep -q 127.0.0.9; do
    sleep 0.01
  done
  echo "{\"label\": \"registry converged on a restarted member, round $round\", \"ms_from_start\": $(( ($(date +%s%N) - started) / 1000000 ))}"
done
