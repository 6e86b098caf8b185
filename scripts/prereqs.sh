#!/usr/bin/env bash
# Checks (and on Debian, as root, installs) what building and testing nacosd needs beyond
# the Rust toolchain:
#   - libclang, for the bindings of the `rocksdb` crate (bindgen loads it at build time);
#   - protoc, for the gRPC code in proto/;
#   - rustfmt and clippy, when asked with --lint (CI's checks);
#   - curl, which the suites' scripts use to wait for a server.
# Never fails silently deep in a build log: it either fixes the machine or says exactly
# which command to run.
#
# Sourcing this file with PREREQS_LIB=1 defines the functions and does nothing else, so
# that scripts/test-prereqs.sh can run the detection against fake directory trees.
set -euo pipefail

# True when NAME is a file name that bindgen (clang-sys) loads as libclang:
# `libclang.so`, `libclang-N.so` or `libclang.so.N` (N a version such as 14 or 14.0.6).
# `libclang-cpp.so.14`, LLVM's C++ library, is not libclang and does not count.
is_bindgen_libclang() {
  [[ "$1" =~ ^libclang(-[0-9]+(\.[0-9]+)*)?\.so(\.[0-9]+(\.[0-9]+)*)?$ ]]
}

# True when one of the directories given holds a libclang that bindgen loads.
libclang_in_dirs() {
  local dir file
  for dir in "$@"; do
    [ -d "$dir" ] || continue
    for file in "$dir"/libclang*.so*; do
      [ -e "$file" ] || continue
      is_bindgen_libclang "$(basename "$file")" && return 0
    done
  done
  return 1
}

# The directories clang-sys searches on Linux, below ROOT (empty for the real machine):
# LIBCLANG_PATH, the linker cache's directories, LLVM's versioned prefixes and the usual
# library directories.
libclang_search_dirs() {
  local root=${1:-}
  [ -n "${LIBCLANG_PATH:-}" ] && echo "$root$LIBCLANG_PATH"
  if [ -z "$root" ] && command -v ldconfig >/dev/null 2>&1; then
    ldconfig -p 2>/dev/null | awk '/libclang/ { print $NF }' | xargs -r -n1 dirname | sort -u
  fi
  local d
  for d in "$root"/usr/lib/llvm-*/lib "$root"/usr/lib/x86_64-linux-gnu "$root"/usr/lib/aarch64-linux-gnu \
    "$root"/usr/lib64 "$root"/usr/lib "$root"/usr/local/lib; do
    [ -d "$d" ] && echo "$d"
  done
  return 0
}

have_libclang() {
  local dirs
  mapfile -t dirs < <(libclang_search_dirs "${1:-}")
  libclang_in_dirs "${dirs[@]}"
}

[ "${PREREQS_LIB:-}" = 1 ] && return 0

lint=false
[ "${1:-}" = "--lint" ] && lint=true

if ! command -v cargo >/dev/null 2>&1; then
  echo "nacosd: cargo is not installed; install Rust from https://rustup.rs and run this again" >&2
  exit 1
fi

missing=()
have_libclang || missing+=(libclang-dev)
command -v protoc >/dev/null 2>&1 || missing+=(protobuf-compiler)
command -v curl >/dev/null 2>&1 || missing+=(curl)

if [ ${#missing[@]} -gt 0 ]; then
  install_cmd="apt-get update && apt-get install -y ${missing[*]}"
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "nacosd: installing build prerequisites: ${missing[*]}" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
  else
    echo "nacosd: missing build prerequisites: ${missing[*]}" >&2
    echo "nacosd: run this as root, then try again:" >&2
    echo "    $install_cmd" >&2
    exit 1
  fi
  if ! have_libclang; then
    echo "nacosd: libclang-dev is installed but no libclang.so was found where bindgen looks;" >&2
    echo "nacosd: set LIBCLANG_PATH to the directory that holds it" >&2
    exit 1
  fi
fi

if $lint; then
  for component in rustfmt clippy; do
    if ! rustup component list --installed 2>/dev/null | grep -q "^$component"; then
      echo "nacosd: adding the rustup component $component" >&2
      rustup component add "$component" >&2
    fi
  done
fi
