#!/usr/bin/env bash
# Browser tests (issue 13): the example app and openDoc in headless Chromium, driven by
# npm's playwright-core, against real crdt-leader processes (tests/browser/).
#
# Usage: bash scripts/browser.sh
# Installs what is missing (idempotent; seconds when present): Debian's chromium (apt)
# and playwright-core (npm, in target/browser-tools). Needs the example app built by
# `bash scripts/wasm.sh package` (target/wasm/app) and builds crdt-leader (debug) if
# its binary is missing. Screenshots go to target/browser/ (CRDT_BROWSER_OUT).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "browser.sh: $*"; }
die() { echo "browser.sh: error: $*" >&2; exit 1; }
start=$SECONDS

if [ -z "${CHROMIUM:-}" ] && [ ! -x /usr/bin/chromium ]; then
  command -v apt-get >/dev/null || die "no /usr/bin/chromium and no apt-get: install Chromium and set CHROMIUM=/path/to/it"
  log "installing Debian's chromium"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null \
    || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; }
fi
TOOLS=target/browser-tools
if [ ! -f "$TOOLS/node_modules/playwright-core/package.json" ]; then
  log "installing playwright-core"
  mkdir -p "$TOOLS"
  echo '{ "name": "browser-tools", "private": true }' > "$TOOLS/package.json"
  (cd "$TOOLS" && npm install --silent --no-audit --no-fund playwright-core@1.65.2)
fi
[ -f target/wasm/app/index.html ] || die "no example app in target/wasm/app: run bash scripts/wasm.sh package"
BIN="${CARGO_TARGET_DIR:-target}/debug/crdt-leader"
if [ ! -x "$BIN" ]; then
  log "building crdt-leader"
  cargo build -q -p crdt-leader
fi
# node resolves playwright-core from the test files' directory upwards: link it there.
mkdir -p tests/browser/node_modules
ln -sfn "$PWD/$TOOLS/node_modules/playwright-core" tests/browser/node_modules/playwright-core
log "set-up $((SECONDS - start)) s; $("${CHROMIUM:-/usr/bin/chromium}" --version 2>/dev/null | head -n1)"
CRDT_LEADER_BIN="$PWD/$BIN" CRDT_APP_DIR="$PWD/target/wasm/app" \
  CRDT_BROWSER_OUT="${CRDT_BROWSER_OUT:-$PWD/target/browser}" \
  node --test --test-concurrency=1 tests/browser/*.test.mjs
log "done in $((SECONDS - start)) s (screenshots in ${CRDT_BROWSER_OUT:-target/browser})"
