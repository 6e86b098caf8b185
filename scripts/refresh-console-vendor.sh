#!/usr/bin/env bash
# Refreshes the console's vendored libraries from the npm registry (run by hand; building
# nacosd never needs npm). Each library is kept as its readable ES module with its licence.
#   scripts/refresh-console-vendor.sh
set -euo pipefail
cd "$(dirname "$0")/.."
VENDOR=console/assets/vendor
JS_YAML_VERSION=4.1.0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "js-yaml@$JS_YAML_VERSION" >/dev/null && tar xzf "js-yaml-$JS_YAML_VERSION.tgz")
cp "$work/package/dist/js-yaml.mjs" "$VENDOR/js-yaml.mjs"
cp "$work/package/LICENSE" "$VENDOR/js-yaml.LICENSE"
echo "vendored js-yaml $JS_YAML_VERSION into $VENDOR"
