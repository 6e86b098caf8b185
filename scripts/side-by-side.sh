#!/usr/bin/env bash
# nacosd against r-nacos, same load generator, same machine: each scenario in rounds of
# A B A B A B (nacosd first), every run on a fresh server and data directory, on loopback.
# Prints one line per run and a table of the ratios (nacosd / r-nacos) per round.
#
#   RNACOS_BIN=/path/to/rnacos scripts/side-by-side.sh [rounds]
#
# r-nacos is built from its public source, outside this repository, for example:
#   git clone --depth 1 --branch v0.8.5 https://github.com/nacos-group/r-nacos /tmp/r-nacos
#   (cd /tmp/r-nacos && cargo build --release)   # then RNACOS_BIN=/tmp/r-nacos/target/release/rnacos
#
# NACOSD_BIN and BENCH_BIN default to this checkout's release build (built if missing).
# SCENARIOS limits the run (default: all four below).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
: "${RNACOS_BIN:?set RNACOS_BIN to an r-nacos release binary (see the top of this script)}"
if [ -z "${NACOSD_BIN:-}" ] || [ -z "${BENCH_BIN:-}" ]; then
  scripts/prereqs.sh
  cargo build --release --locked -p app -p bench
fi
NACOSD_BIN=${NACOSD_BIN:-target/release/nacosd}
BENCH_BIN=${BENCH_BIN:-target/release/nacosd-bench}
SCENARIOS=${SCENARIOS:-"config-publish-http config-publish-grpc scale-configs scale-instances"}
PORT=${BENCH_HTTP_PORT:-38848}
WORK=$(mktemp -d /tmp/side-by-side-XXXXXX)
RESULTS="$WORK/results.jsonl"
PID=
stop_server() { [ -n "$PID" ] && { kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; }; PID=; }
trap stop_server EXIT

# start_server nacosd|rnacos: a fresh one-node server on loopback, ready when its config
# API answers.
start_server() {
  stop_server
  local data="$WORK/data-$1"
  rm -rf "$data"
  case $1 in
    nacosd)
      "$NACOSD_BIN" --http-port "$PORT" --bind 127.0.0.1 --data-dir "$data" --log-level warn >"$WORK/$1.log" 2>&1 &
      ;;
    rnacos)
      RNACOS_HTTP_PORT=$PORT RNACOS_SDK_HOST=127.0.0.1 RNACOS_CONSOLE_HOST=127.0.0.1 RNACOS_DATA_DIR=$data \
        RUST_LOG=warn "$RNACOS_BIN" >"$WORK/$1.log" 2>&1 &
      ;;
  esac
  PID=$!
  for _ in $(seq 1 300); do
    curl -fsS "http://127.0.0.1:$PORT/nacos/v1/cs/configs?dataId=probe&group=probe" >/dev/null 2>&1 && return 0
    curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/nacos/v1/cs/configs?dataId=probe&group=probe" 2>/dev/null |
      grep -q 404 && return 0
    sleep 0.1
  done
  echo "side-by-side: $1 did not start; see $WORK/$1.log" >&2
  exit 1
}

run() {
  local server=$1 scenario=$2
  local args=(--scenario "$scenario" --target "127.0.0.1:$PORT" --server-pid "$PID" --json)
  case $scenario in
    scale-instances) args+=(--connections 1000 --instances-per-connection 100) ;;
    scale-configs) args+=(--connections 64 --configs 10000) ;;
    *) args+=(--connections 64 --duration 10 --warmup 2) ;;
  esac
  "$BENCH_BIN" "${args[@]}" | while read -r line; do
    echo "{\"server\":\"$server\",\"round\":$round,\"result\":$line}"
  done | tee -a "$RESULTS"
}

# The disk's own floor for a synced write, where the data directories are: a publish is
# answered after one, so no p99 can beat this (r-nacos does not sync each write).
scripts/fsync-floor.py 10 "$WORK"

for scenario in $SCENARIOS; do
  for round in $(seq 1 "$ROUNDS"); do
    for server in nacosd rnacos; do
      start_server "$server"
      run "$server" "$scenario"
      stop_server
    done
  done
done

python3 - "$RESULTS" <<'EOF'
import json, sys
runs = [json.loads(line) for line in open(sys.argv[1])]
def pick(server, scenario, rnd):
    for run in runs:
        if run["server"] == server and run["round"] == rnd and run["result"]["scenario"] == scenario:
            return run["result"]
def figures(result):
    if "ours" in result:
        return {
            "ops/s": result["ours"]["ops_per_sec"],
            "p99 ms": result["ours"]["p99_us"] / 1000,
            "worst 1s p99 ms": max(result["ours"]["p99_us_by_second"] or [0]) / 1000,
            "cpu us/op": result["server_cpu_us_per_op"],
            "peak RSS MiB": (result["server_peak_rss_bytes"] or 0) / 2**20,
            "peak anon MiB": (result["server_peak_anon_bytes"] or 0) / 2**20,
        }
    return {
        "items/s": result["per_second"],
        "p99 ms": result["p99_us"] / 1000,
        "RSS after MiB": (result["rss_after_bytes"] or 0) / 2**20,
        "bytes/item": result["growth_bytes_per_item"],
    }
scenarios = []
for run in runs:
    if run["result"]["scenario"] not in scenarios:
        scenarios.append(run["result"]["scenario"])
rounds = sorted({run["round"] for run in runs})
for scenario in scenarios:
    print(f"\n{scenario}: nacosd / r-nacos per round (lower is better except rates)")
    names = None
    for rnd in rounds:
        ours, theirs = pick("nacosd", scenario, rnd), pick("rnacos", scenario, rnd)
        if not ours or not theirs:
            continue
        a, b = figures(ours), figures(theirs)
        if names is None:
            names = list(a)
            print("round  " + "  ".join(f"{n:>28}" for n in names))
        cells = []
        for n in names:
            x, y = a[n], b[n]
            if x is None or y is None:
                cells.append(f"{'-':>28}")
                continue
            ratio = x / y if y else float("inf")
            cells.append(f"{x:>10.1f} / {y:>8.1f} = {ratio:4.2f}")
        print(f"{rnd:>5}  " + "  ".join(cells))
EOF
echo "side-by-side: raw results in $RESULTS"
