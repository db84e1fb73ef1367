#!/usr/bin/env bash
# Builds, tests and benchmarks crdt-wasm, the JavaScript bindings (docs/WASM.md).
#
# Usage: bash scripts/wasm.sh COMMAND
#   setup        install the wasm32 target and the matching wasm-bindgen-cli
#                (idempotent; seconds when present, a few minutes the first time)
#   build        release build for wasm32, then wasm-bindgen --target nodejs and web
#   test         Node tests (crdt-wasm/tests/*.test.mjs) against the nodejs build
#   bench [OUT]  Node benchmark; prints a markdown table and writes it to OUT
#                (default target/wasm-bench.md)
#   all          setup, build, test
#
# Everything is written under target/wasm/ (already git-ignored):
#   target/wasm/cargo-{rustup,debian}/   cargo's target dir (one per toolchain)
#   target/wasm/pkg/nodejs/   CommonJS package for Node  (require("./crdt_wasm.js"))
#   target/wasm/pkg/web/      ES module for browsers     (import init from "./crdt_wasm.js")
#
# Environment:
#   WASM_TOOLCHAIN=rustup|debian   force a toolchain (default: rustup, else Debian's)
#   WASM_OPT=1                     (setup, build) install npm's binaryen, run wasm-opt -O3
#   BENCH_SIZES=10000,100000,1000000   OR-Set sizes for `bench` (the default; ~2-3 min)
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=target/wasm
PKG=$OUT/pkg
TOOLS=$OUT/tools
TARGET=wasm32-unknown-unknown
MODE_FILE=$OUT/toolchain
DEBIAN_PKGS=(rustc-web cargo-web rust-web-src rust-web-llvm lld-22)

log() { echo "wasm.sh: $*"; }
die() { echo "wasm.sh: error: $*" >&2; exit 1; }

# The wasm-bindgen version Cargo.lock resolves; the CLI must be exactly this version.
bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock
}

# The cargo that builds (and installs tools) in the given toolchain mode.
cargo_for() {
  if [ "$1" = debian ]; then echo /usr/bin/cargo; else echo cargo; fi
}

setup_toolchain() {
  local want=${WASM_TOOLCHAIN:-}
  if [ "$want" != debian ] && command -v rustup >/dev/null; then
    if rustup target list --installed | grep -qx "$TARGET"; then
      echo rustup > "$MODE_FILE"; return
    fi
    log "installing the $TARGET target with rustup"
    if rustup target add "$TARGET"; then
      echo rustup > "$MODE_FILE"; return
    fi
    [ "$want" = rustup ] && die "rustup target add $TARGET failed"
    log "rustup target add failed; falling back to Debian's rustc-web"
  elif [ "$want" = rustup ]; then
    die "WASM_TOOLCHAIN=rustup but rustup is not installed"
  fi
  local missing=()
  for p in "${DEBIAN_PKGS[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  echo debian > "$MODE_FILE"
}

setup_bindgen() {
  local version have cargo
  version=$(bindgen_version)
  [ -n "$version" ] || die "wasm-bindgen is not in Cargo.lock (run cargo build -p crdt-wasm once)"
  have=$(wasm-bindgen --version 2>/dev/null | awk '{ print $2 }' || true)
  if [ "$have" = "$version" ]; then return; fi
  cargo=$(cargo_for "$(cat "$MODE_FILE")")
  log "installing wasm-bindgen-cli $version (found: ${have:-none}); takes a few minutes"
  # Without --locked: with it the install fails on this project's machines.
  "$cargo" install wasm-bindgen-cli --version "=$version" --force
  command -v wasm-bindgen >/dev/null || die "wasm-bindgen was installed but is not on PATH (add ~/.cargo/bin)"
}

setup_wasm_opt() {
  # Debian's binaryen (108) writes broken modules; npm's is current.
  if [ "${WASM_OPT:-0}" = 1 ] && [ ! -x "$TOOLS/node_modules/.bin/wasm-opt" ]; then
    log "installing binaryen (wasm-opt) from npm into $TOOLS"
    npm install --silent --no-audit --no-fund --prefix "$TOOLS" binaryen >/dev/null
  fi
}

cmd_setup() {
  local start=$SECONDS
  mkdir -p "$OUT"
  command -v node >/dev/null || die "node (>= 20) is required for the tests and the benchmark"
  setup_toolchain
  setup_bindgen
  setup_wasm_opt
  log "setup done ($(cat "$MODE_FILE") toolchain, wasm-bindgen $(bindgen_version), $((SECONDS - start)) s)"
}

cmd_build() {
  cmd_setup # about a second when everything is installed
  local mode wasm start=$SECONDS
  mode=${WASM_TOOLCHAIN:-$(cat "$MODE_FILE")}
  wasm=$OUT/cargo-$mode/$TARGET/release/crdt_wasm.wasm
  # One codegen unit and LTO: a smaller, faster module (the workspace's release profile
  # is left alone; this target dir is separate so the host build is not invalidated).
  export CARGO_TARGET_DIR=$OUT/cargo-$mode CARGO_PROFILE_RELEASE_LTO=true CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1
  log "cargo build --release --target $TARGET ($mode toolchain)"
  if [ "$mode" = debian ]; then
    RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1 \
      CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=/usr/lib/llvm-22/bin/wasm-ld \
      /usr/bin/cargo build -q -p crdt-wasm --release --target "$TARGET" -Zbuild-std=std,panic_abort
  else
    cargo build -q -p crdt-wasm --release --target "$TARGET"
  fi
  rm -rf "$PKG"
  wasm-bindgen --target nodejs --out-dir "$PKG/nodejs" "$wasm"
  wasm-bindgen --target web --out-dir "$PKG/web" "$wasm"
  # Tell Node (and bundlers) which module system each directory uses.
  echo '{ "type": "commonjs" }' > "$PKG/nodejs/package.json"
  echo '{ "type": "module" }' > "$PKG/web/package.json"
  if [ "${WASM_OPT:-0}" = 1 ]; then
    setup_wasm_opt
    for dir in nodejs web; do
      "$TOOLS/node_modules/.bin/wasm-opt" -O3 --enable-bulk-memory --enable-reference-types \
        --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals \
        --enable-multivalue "$PKG/$dir/crdt_wasm_bg.wasm" -o "$PKG/$dir/crdt_wasm_bg.wasm"
    done
  fi
  log "built $PKG/{nodejs,web} ($(wc -c < "$PKG/nodejs/crdt_wasm_bg.wasm") bytes of wasm, $((SECONDS - start)) s)"
}

need_build() {
  [ -f "$PKG/nodejs/crdt_wasm.js" ] || die "no build in $PKG: run bash scripts/wasm.sh build"
}

cmd_test() {
  need_build
  CRDT_WASM_PKG="$PWD/$PKG" node --test crdt-wasm/tests/*.test.mjs
}

cmd_bench() {
  need_build
  local out=${1:-target/wasm-bench.md}
  mkdir -p "$(dirname "$out")"
  CRDT_WASM_PKG="$PWD/$PKG" node crdt-wasm/bench/bench.mjs --out "$out" --sizes "${BENCH_SIZES:-10000,100000,1000000}"
}

case "${1:-}" in
  setup) cmd_setup ;;
  build) cmd_build ;;
  test) cmd_test ;;
  bench) shift; cmd_bench "$@" ;;
  all) cmd_build; cmd_test ;; # build runs setup first
  *) sed -n '2,25p' "$0"; exit 2 ;;
esac
