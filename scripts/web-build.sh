#!/usr/bin/env bash
# Builds the playground's release site into dist/ (static files: index.html, the wasm, its JS
# glue and the stylesheet). Installs the tools first (scripts/web-deps.sh).
#   WEB_BUILD_PROFILE=dev   builds without optimisation (faster, bigger)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/web-deps.sh
export PATH="$HOME/.cargo/bin:$PWD/node_modules/.bin:$PATH"
if [ "${WEB_BUILD_PROFILE:-release}" = dev ]; then
  trunk build
else
  trunk build --release
fi
ls -l dist
