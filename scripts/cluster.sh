#!/usr/bin/env bash
# Runs a local N-node nacosd cluster on loopback (release build).
#
#   scripts/cluster.sh up [N]      start N founding members (default 3), wait until each serves
#   scripts/cluster.sh status [N]  each node's id, raft role, term and state
#   scripts/cluster.sh down [N]    stop them (SIGTERM), data kept
#
# Node i (1..N) serves HTTP on 8848 + 10*(i-1), client gRPC on HTTP+1000 and cluster gRPC
# on HTTP+1001, with its data in ./cluster_data/node<i> and its log beside it. Running `up`
# again on the same data restarts the same cluster. NACOSD_BIN picks another binary;
# CLUSTER_DIR another place for the data; CLUSTER_BASE_PORT another first HTTP port;
# extra nacosd flags go in NACOSD_ARGS.
set -euo pipefail
cd "$(dirname "$0")/.."

command="${1:-}"
count="${2:-3}"
dir="${CLUSTER_DIR:-cluster_data}"
base_port="${CLUSTER_BASE_PORT:-8848}"

http_port() { echo $((base_port + 10 * ($1 - 1))); }

members() {
    local list="" i
    for i in $(seq 1 "$count"); do
        list="${list:+$list,}$i=127.0.0.1:$(($(http_port "$i") + 1001))"
    done
    echo "$list"
}

binary() {
    if [[ -n "${NACOSD_BIN:-}" ]]; then
        echo "$NACOSD_BIN"
        return
    fi
    scripts/prereqs.sh >&2
    cargo build --release --locked -p app --bin nacosd >&2
    echo target/release/nacosd
}

up() {
    local bin i port
    bin="$(binary)"
    mkdir -p "$dir"
    for i in $(seq 1 "$count"); do
        if [[ -f "$dir/node$i.pid" ]] && kill -0 "$(cat "$dir/node$i.pid")" 2>/dev/null; then
            echo "node $i is already running (pid $(cat "$dir/node$i.pid"))"
            continue
        fi
        port="$(http_port "$i")"
        # shellcheck disable=SC2086 # NACOSD_ARGS is a list of flags
        "$bin" --node-id "$i" --members "$(members)" --bind 127.0.0.1 --http-port "$port" \
            --data-dir "$dir/node$i" ${NACOSD_ARGS:-} >>"$dir/node$i.log" 2>&1 &
        echo $! >"$dir/node$i.pid"
    done
    for i in $(seq 1 "$count"); do
        port="$(http_port "$i")"
        for _ in $(seq 1 600); do
            if curl -fsS "http://127.0.0.1:$port/nacos/v1/console/health/readiness" >/dev/null 2>&1; then
                break
            fi
            if ! kill -0 "$(cat "$dir/node$i.pid")" 2>/dev/null; then
                echo "node $i exited; its log: $dir/node$i.log" >&2
                tail -n 20 "$dir/node$i.log" >&2
                exit 1
            fi
            sleep 0.1
        done
    done
    status
}

status() {
    local i port
    for i in $(seq 1 "$count"); do
        port="$(http_port "$i")"
        if answer="$(curl -fsS "http://127.0.0.1:$port/nacos/v1/core/cluster/self" 2>/dev/null)"; then
            python3 -c 'import json,sys; d=json.load(sys.stdin)["data"]; print("node %s  http %s  %-9s term %s  %s" % (d["nodeId"], d["address"], d["raftRole"], d["term"], d["state"]))' <<<"$answer"
        else
            echo "node $i  http 127.0.0.1:$port  not answering"
        fi
    done
}

down() {
    local i pid
    for i in $(seq 1 "$count"); do
        [[ -f "$dir/node$i.pid" ]] || continue
        pid="$(cat "$dir/node$i.pid")"
        if kill -TERM "$pid" 2>/dev/null; then
            for _ in $(seq 1 100); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
        fi
        rm -f "$dir/node$i.pid"
        echo "node $i stopped"
    done
}

case "$command" in
    up) up ;;
    status) status ;;
    down) down ;;
    *)
        echo "usage: scripts/cluster.sh up|down|status [N]" >&2
        exit 2
        ;;
esac
