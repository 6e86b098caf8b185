#!/usr/bin/env bash
# Tests scripts/prereqs.sh's libclang detection against fake directory trees: it must find
# the names bindgen loads and nothing else (LLVM's libclang-cpp.so.N is not libclang; a
# machine that had only that once passed the check and then failed deep in the build).
set -euo pipefail
cd "$(dirname "$0")"
PREREQS_LIB=1 source ./prereqs.sh

failures=0
expect() { # expect found|missing FILE...
  local want=$1; shift
  local root
  root=$(mktemp -d /tmp/nacosd-prereqs-XXXXXX)
  local f
  for f in "$@"; do mkdir -p "$root/$(dirname "$f")"; : >"$root/$f"; done
  local got=missing
  LIBCLANG_PATH='' have_libclang "$root" && got=found
  if [ "$got" != "$want" ]; then
    echo "FAIL: with [$*] expected $want, got $got" >&2
    failures=$((failures + 1))
  fi
  rm -rf "$root"
}

expect missing
expect missing usr/lib/llvm-14/lib/libclang-cpp.so.14
expect missing usr/lib/x86_64-linux-gnu/libclang-cpp.so.14 usr/lib/llvm-14/lib/libclang-cpp.so
expect missing usr/lib/llvm-14/lib/libclangBasic.a usr/lib/llvm-14/lib/libclang.a
expect found usr/lib/llvm-14/lib/libclang.so
expect found usr/lib/llvm-14/lib/libclang-cpp.so.14 usr/lib/llvm-14/lib/libclang-14.so
expect found usr/lib/x86_64-linux-gnu/libclang-14.so.14.0.6
expect found usr/lib/x86_64-linux-gnu/libclang.so.1
expect found usr/lib/llvm-16/lib/libclang-16.so

# LIBCLANG_PATH is honoured.
root=$(mktemp -d /tmp/nacosd-prereqs-XXXXXX)
mkdir -p "$root/opt/llvm"; : >"$root/opt/llvm/libclang.so"
if ! LIBCLANG_PATH=/opt/llvm have_libclang "$root"; then
  echo "FAIL: LIBCLANG_PATH=/opt/llvm/libclang.so not found" >&2
  failures=$((failures + 1))
fi
rm -rf "$root"

total=10
echo "prereqs detection: $((total - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
