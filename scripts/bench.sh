#!/usr/bin/env bash
# Builds nacosd and nacosd-bench in release, starts a fresh one-node nacosd on loopback and
# runs every scenario against it (the bare-server limit where it applies), then the scale
# scenarios, each on a fresh node so its RSS figures are its own.
#   scripts/bench.sh [connections] [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/prereqs.sh
CONNECTIONS=${1:-64}
SECONDS_PER_RUN=${2:-10}
cargo build --release --locked -p app -p bench

PORT=${BENCH_HTTP_PORT:-38848}
WORK=$(mktemp -d /tmp/nacosd-bench-XXXXXX)
PID=
stop_node() { [ -n "$PID" ] && { kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; }; PID=; }
trap stop_node EXIT
start_node() {
  stop_node
  rm -rf "$WORK/data"
  target/release/nacosd --http-port "$PORT" --bind 127.0.0.1 --data-dir "$WORK/data" --log-level warn >"$WORK/server.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 300); do
    curl -fsS "http://127.0.0.1:$PORT/nacos/v1/console/health/readiness" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "bench: nacosd did not start; see $WORK/server.log" >&2
  exit 1
}
# run_with CONNECTIONS ARGS...: one scenario against the running node.
run_with() {
  local connections=$1
  shift
  target/release/nacosd-bench --target "127.0.0.1:$PORT" --server-pid "$PID" \
    --connections "$connections" --duration "$SECONDS_PER_RUN" "$@"
}
run() { run_with "$CONNECTIONS" "$@"; }

start_node
run --scenario config-get-http --limit
run --scenario config-query-grpc --limit
run --scenario config-publish-http
run --scenario config-publish-grpc
run --scenario naming-register-http
run --scenario naming-list-http --limit
run --scenario naming-register-grpc
run --scenario naming-query-grpc --limit
run --scenario naming-subscribe-grpc
run_with 1000 --scenario config-push-fanout
run_with 1000 --scenario naming-subscribe-fanout

start_node
run_with 1000 --scenario scale-instances --instances-per-connection 100
start_node
run --scenario scale-configs --configs 10000
