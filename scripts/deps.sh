#!/usr/bin/env bash
# Installs everything the project needs, idempotently: each step first checks whether its tool is
# already there. Sourced by scripts/start and scripts/test; safe to run on its own.
set -euo pipefail

log() { printf '\033[1;34m[deps]\033[0m %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

APT_UPDATED=0
apt_install() {
  if [ "$APT_UPDATED" -eq 0 ]; then
    log "apt-get update"
    as_root apt-get update -qq
    APT_UPDATED=1
  fi
  log "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

# Real Redis 7.0 is the reference the differential tests compare against.
command -v redis-server >/dev/null 2>&1 || apt_install redis-server
command -v redis-cli >/dev/null 2>&1 || apt_install redis-tools
command -v redis-benchmark >/dev/null 2>&1 || apt_install redis-tools

# The engine must build for the browser target as well as the host.
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  log "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi
if ! cargo fmt --version >/dev/null 2>&1; then
  log "rustup component add rustfmt"
  rustup component add rustfmt
fi

# redis-py, for the client-library test of the native server.
if ! python3 -c 'import redis' >/dev/null 2>&1; then
  log "pip install redis"
  python3 -m pip install --quiet --disable-pip-version-check redis
fi
