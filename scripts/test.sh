#!/usr/bin/env bash
# Runs every test of the project, after installing what it needs.
# Usage: bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

# Property tests run at least this many cases each (override for longer runs).
export QUICKCHECK_TESTS="${QUICKCHECK_TESTS:-1000}"

echo "== unit, property, codec and doc tests (all workspace crates)"
cargo test --workspace --all-targets
cargo test --workspace --doc

echo "== examples (the main job and the core demo)"
cargo run -q -p crdt-sync --example multi_leader
cargo run -q -p crdt-core --example three_replicas

echo "== crdt-wasm in Node (wasm32 build, wasm-bindgen, node --test; docs/WASM.md)"
# Installs the wasm32 target and the matching wasm-bindgen-cli on first use.
bash scripts/wasm.sh all
