#!/usr/bin/env bash
# Installs what the playground's build and browser tests need, idempotently: each step first
# checks whether its tool is already there at the right version. Safe to run on its own or to
# source from another script.
#   - the wasm32-unknown-unknown target
#   - trunk 0.21.14 (0.22 needs a newer rustc than the project's)
#   - wasm-bindgen-cli at the version of the `wasm-bindgen` crate in Cargo.lock
#   - npm packages from package.json: binaryen (wasm-opt 132; Debian's is too old for this rustc)
#     and playwright-core (drives the system Chromium; never downloads a browser)
#   - Debian's chromium and chromium-driver (headless browser tests)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

wlog() { printf '\033[1;34m[web-deps]\033[0m %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

TRUNK_VERSION=0.21.14
# The CLI must match the crate exactly; Cargo.toml pins the crate with `=`.
WASM_BINDGEN_VERSION="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)"
if [ -z "$WASM_BINDGEN_VERSION" ]; then
  echo "web-deps: no wasm-bindgen in Cargo.lock" >&2
  exit 1
fi
export PATH="$HOME/.cargo/bin:$PWD/node_modules/.bin:$PATH"

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  wlog "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

if ! { command -v trunk >/dev/null 2>&1 && trunk --version | grep -q " $TRUNK_VERSION\$"; }; then
  wlog "cargo install trunk $TRUNK_VERSION"
  cargo install trunk --version "$TRUNK_VERSION" --locked
fi

# With --locked, wasm-bindgen-cli 0.2.130 fails on a missing webpki-roots version.
if ! { command -v wasm-bindgen >/dev/null 2>&1 &&
       wasm-bindgen --version | grep -q " $WASM_BINDGEN_VERSION\$" &&
       command -v wasm-bindgen-test-runner >/dev/null 2>&1; }; then
  wlog "cargo install wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

if ! { [ -x node_modules/.bin/wasm-opt ] && [ -f node_modules/playwright-core/package.json ]; }; then
  if ! command -v npm >/dev/null 2>&1; then
    wlog "apt-get install nodejs npm"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq nodejs npm >/dev/null
  fi
  if [ -f package-lock.json ]; then
    wlog "npm ci"
    npm ci --no-audit --no-fund --loglevel=error
  else
    wlog "npm install"
    npm install --no-audit --no-fund --loglevel=error
  fi
fi

if ! { command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; }; then
  wlog "apt-get install chromium chromium-driver"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium chromium-driver >/dev/null
fi
