#!/usr/bin/env bash
# Runs the SDK compatibility suites against fresh nacosd processes:
#   - Python: the legacy HTTP client of nacos-sdk-python (2.x line), with pytest;
#   - Python 3.x: the gRPC client with auth on (its other uses run in the shared conformance
#     suite, scripts/conformance.sh);
#   - Node: the `nacos` npm client, with node's test runner;
# each against auth off and auth on.
#   scripts/sdk-tests.sh [path/to/nacosd]      (default: target/debug/nacosd)
# The Python virtualenv lives under ${XDG_CACHE_HOME:-$HOME/.cache}/nacosd-sdk and is
# reused; the npm packages are installed from the committed lock file.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# Absolute: the suites run from other working directories.
NACOSD_BIN=$(readlink -f "${1:-$ROOT/target/debug/nacosd}")
export NACOSD_BIN
[ -x "$NACOSD_BIN" ] || { echo "sdk-tests: $NACOSD_BIN is missing; run cargo build -p app first" >&2; exit 1; }

NEED_WHO=sdk-tests
source scripts/need.sh
need python3 "python3 python3-venv"
need node "nodejs npm"
need npm "npm"

echo "== SDK suite: Python legacy HTTP client (nacos-sdk-python 2.x)"
VENV=${XDG_CACHE_HOME:-$HOME/.cache}/nacosd-sdk/py-venv
REQS=tests/sdk/python/requirements.txt
if [ ! -x "$VENV/bin/python" ] || ! cmp -s "$REQS" "$VENV/.requirements"; then
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$REQS"
  cp "$REQS" "$VENV/.requirements"
fi
# The client writes snapshots (nacos-data/) into its working directory: give it a scratch one.
SCRATCH=$(mktemp -d /tmp/nacosd-pysdk-XXXXXX)
(cd "$SCRATCH" && "$VENV/bin/python" -m pytest -q -p no:warnings -p no:cacheprovider "$ROOT/tests/sdk/python")
rm -rf "$SCRATCH"

echo "== SDK suite: Python 3.x gRPC client with auth on (the shared conformance suite's virtualenv)"
VENV3=$("$ROOT/../shared/conformance/setup.sh")
"$VENV3/bin/python" tests/sdk/python3/grpc_client_auth.py "$NACOSD_BIN"

echo "== SDK suite: Node (nacos npm client)"
(
  cd tests/sdk/node
  npm ci --no-audit --no-fund --loglevel=error
  npm test
)
