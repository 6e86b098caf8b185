#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for FUZZ_SECONDS seconds each (default 20), from
# seeds that the unit tests write (real requests, raft records and snapshots, so the seeds
# follow the formats), and fails on the first crash. Longer by hand:
#   FUZZ_SECONDS=600 scripts/fuzz.sh            # or one target:
#   cargo fuzz run --fuzz-dir fuzz -s none -O raft_snapshot -- -dict=fuzz/nacos.dict
#
# The targets are built without a sanitizer (`-s none`): the code under test has no
# `unsafe`, the machine's one toolchain is stable, and what is looked for is panics.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-20}"
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install --locked cargo-fuzz
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "== fuzz seeds"
NACOSD_FUZZ_SEEDS="$work/seeds" cargo test --locked -q -p api-http -p api-grpc -p consensus-openraft \
    seed_the_fuzzers >/dev/null

echo "== fuzz targets (${seconds}s each)"
for target in $(cargo fuzz list --fuzz-dir fuzz); do
    mkdir -p "$work/corpus/$target" "$work/seeds/$target"
    log="$work/$target.log"
    if ! cargo fuzz run --fuzz-dir fuzz -s none -O "$target" "$work/corpus/$target" "$work/seeds/$target" -- \
        -max_total_time="$seconds" -dict=fuzz/nacos.dict -print_final_stats=1 >"$log" 2>&1; then
        tail -n 60 "$log"
        echo "fuzz target $target failed; the input is in fuzz/artifacts/$target/" >&2
        exit 1
    fi
    runs="$(grep -o '^Done [0-9]* runs' "$log" | grep -o '[0-9]*' || echo '?')"
    cover="$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 || true)"
    echo "$target: $runs inputs, no crash ($cover)"
done
