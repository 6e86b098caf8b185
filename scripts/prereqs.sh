#!/usr/bin/env bash
# Checks (and on Debian, as root, installs) what building nacosd needs beyond Rust:
#   - libclang, for the bindings of the `rocksdb` crate (bindgen);
#   - protoc, for the gRPC code in proto/.
# Never fails silently deep in a build log: it either fixes the machine or says exactly
# which command to run.
set -euo pipefail

missing=()
have_libclang() {
  ldconfig -p 2>/dev/null | grep -q 'libclang[-.0-9]*\.so' && return 0
  compgen -G '/usr/lib/llvm-*/lib/libclang*.so*' >/dev/null && return 0
  [ -n "${LIBCLANG_PATH:-}" ] && compgen -G "${LIBCLANG_PATH}/libclang*.so*" >/dev/null
}
have_libclang || missing+=(libclang-dev)
command -v protoc >/dev/null 2>&1 || missing+=(protobuf-compiler)

if ! command -v cargo >/dev/null 2>&1; then
  echo "nacosd: cargo is not installed; install Rust from https://rustup.rs and run this again" >&2
  exit 1
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

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
