#!/usr/bin/env bash
# Tests the playground: the model's unit tests (native), the browser tests (wasm-bindgen-test in
# headless Chromium), then the end-to-end tests (Playwright driving the built site in headless
# Chromium). Installs what is missing first (scripts/web-deps.sh) and builds the release site
# into dist/ (scripts/web-build.sh) unless WEB_TEST_DIST=keep and dist/ already holds a build.
# Prints how long each part took.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/web-deps.sh
export PATH="$HOME/.cargo/bin:$PWD/node_modules/.bin:$PATH"

step() { printf '\n\033[1;32m==> %s\033[0m\n' "$*"; }
timings=()
timed() {
  local label="$1"
  shift
  local start=$SECONDS
  "$@"
  timings+=("$(printf '%-44s %4ds' "$label" $((SECONDS - start)))")
}

step "playground model (native unit tests)"
timed "model unit tests (native)" cargo test -p cachelab-web --lib --quiet

step "browser tests (wasm-bindgen-test, headless Chromium)"
# wasm-bindgen-test-runner finds chromedriver on PATH and reads ./webdriver.json (Chromium's
# path and headless flags).
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
timed "browser tests (wasm-bindgen-test)" \
  cargo test -p cachelab-web --target wasm32-unknown-unknown --test browser

if [ "${WEB_TEST_DIST:-}" = keep ] && ls dist/*.wasm >/dev/null 2>&1; then
  step "end-to-end tests use the existing dist/"
else
  step "release build of the site (dist/)"
  timed "release build (trunk build --release)" scripts/web-build.sh
fi

step "end-to-end tests (Playwright, headless Chromium)"
timed "end-to-end tests (node --test tests/e2e/)" node --test tests/e2e/

step "timings"
printf '  %s\n' "${timings[@]}"
