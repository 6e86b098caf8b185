#!/usr/bin/env bash
# Builds nacosd and nacosd-bench in release, starts a fresh one-node nacosd on loopback and
# runs every config scenario against it, with the bare-server limit where it applies.
#   scripts/bench.sh [connections] [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/prereqs.sh
CONNECTIONS=${1:-64}
SECONDS_PER_RUN=${2:-10}
cargo build --release --locked -p app -p bench

PORT=${BENCH_HTTP_PORT:-38848}
WORK=$(mktemp -d /tmp/nacosd-bench-XXXXXX)
target/release/nacosd --http-port "$PORT" --bind 127.0.0.1 --data-dir "$WORK/data" --log-level warn >"$WORK/server.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true; wait $PID 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do
  curl -fsS "http://127.0.0.1:$PORT/nacos/v1/console/health/readiness" >/dev/null 2>&1 && break
  sleep 0.1
done

run() {
  target/release/nacosd-bench --target "127.0.0.1:$PORT" --server-pid "$PID" \
    --connections "$CONNECTIONS" --duration "$SECONDS_PER_RUN" "$@"
}
run --scenario config-get-http --limit
run --scenario config-query-grpc --limit
run --scenario config-publish-http
run --scenario config-publish-grpc
target/release/nacosd-bench --target "127.0.0.1:$PORT" --scenario config-push-fanout --connections 1000 --duration "$SECONDS_PER_RUN"
