#!/usr/bin/env bash
# Runs the web console's browser tests (tests/console): Debian's Chromium driven by
# playwright-core against fresh nacosd processes, with a Rust nacos-sdk agent for the
# journey's registered instance. Screenshots of every page land in target/console-screenshots.
#   scripts/console-tests.sh [path/to/nacosd]      (default: target/debug/nacosd)
# Chromium comes from Debian (apt-get install chromium, as root); playwright-core from the
# committed npm lock file. No browser is downloaded by a test tool.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
NACOSD_BIN=$(readlink -f "${1:-$ROOT/target/debug/nacosd}")
export NACOSD_BIN
[ -x "$NACOSD_BIN" ] || { echo "console-tests: $NACOSD_BIN is missing; run cargo build -p app first" >&2; exit 1; }

NEED_WHO=console-tests
source scripts/need.sh
need node "nodejs npm"
need npm "npm"
need chromium "chromium"
CHROMIUM_BIN=$(command -v chromium)
export CHROMIUM_BIN

echo "== console: the SDK agent (a Rust nacos-sdk client)"
cargo build --locked -p tests --example sdk_agent
SDK_AGENT_BIN=$ROOT/target/debug/examples/sdk_agent
export SDK_AGENT_BIN

echo "== console: browser tests (Chromium $("$CHROMIUM_BIN" --version 2>/dev/null | awk '{print $2}'))"
cd tests/console
npm ci --no-audit --no-fund --loglevel=error
npm test
echo "console screenshots: $ROOT/target/console-screenshots"
