#!/usr/bin/env bash
# Runs the engine's wasm32 tests (crates/engine/tests/wasm_scripting.rs) under Node with
# wasm-bindgen-test, then the tests of its Node library (crates/wasm-node/client.test.mjs).
# Installs what is missing first: the wasm32-unknown-unknown target and the wasm-bindgen CLI
# (which provides wasm-bindgen-test-runner) at the version of the wasm-bindgen crate in
# Cargo.lock, since the runner refuses a test built against another version.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v node >/dev/null || { echo "scripts/wasm-engine-test.sh: node is not installed" >&2; exit 1; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi

version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if [ -z "$version" ]; then
  # Not locked yet: let cargo resolve the dev-dependency, then read the version again.
  cargo tree -q -p cachelab-engine --target wasm32-unknown-unknown -e dev >/dev/null
  version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
fi
installed=$(wasm-bindgen-test-runner --version 2>/dev/null | awk '{ print $2 }' || true)
if [ "$installed" != "$version" ]; then
  echo "installing wasm-bindgen-cli $version (found: ${installed:-none})" >&2
  cargo install --locked wasm-bindgen-cli --version "$version"
fi

# Without a browser flag wasm-bindgen-test runs the tests in Node.
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  cargo test -p cachelab-engine --target wasm32-unknown-unknown --test wasm_scripting "$@"

# The engine's Node library (crates/wasm-node/client.mjs), on a debug build of its module: the
# engine's wasm32 build above is reused, so this compiles only the wrapper crate.
cargo build --quiet -p cachelab-wasm-node --target wasm32-unknown-unknown
wasm-bindgen --target nodejs --out-dir target/wasm-node-test \
  target/wasm32-unknown-unknown/debug/cachelab_wasm_node.wasm
CACHELAB_WASM_NODE=target/wasm-node-test node --test crates/wasm-node/client.test.mjs
