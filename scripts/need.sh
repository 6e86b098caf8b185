# Sourced by the test scripts: `need COMMAND "DEBIAN PACKAGES"` installs the packages with
# apt when COMMAND is missing and the script runs as root, else says the apt line and exits.
# The caller sets NEED_WHO to name itself in messages.
need() {
  command -v "$1" >/dev/null 2>&1 && return 0
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "${NEED_WHO:-need}: installing $2" >&2
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $2 >&2
  else
    echo "${NEED_WHO:-need}: $1 is needed; as root: apt-get install -y $2" >&2
    exit 1
  fi
}
