#!/usr/bin/env bash
# Runs every test of the project, after installing what it needs.
# Usage: bash scripts/test.sh
#   FUZZ_SECONDS=N   seconds per fuzz target (default 60; 0 skips the fuzz stage)
#   SIM_SEEDS=N SIM_EVENTS=N   simulator budget (defaults 2000 seeds, 10M events)
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

# Property tests run at least this many cases each (override for longer runs).
export QUICKCHECK_TESTS="${QUICKCHECK_TESTS:-1000}"

echo "== unit, property, codec and doc tests (all workspace crates)"
cargo test --workspace --all-targets
cargo test --workspace --doc

echo "== deterministic fault simulator (>= 2000 seeds and 10M events, release; docs/TESTING.md)"
# SIM_SEEDS / SIM_EVENTS raise the budget for a longer pre-release run.
cargo run -q --release -p tests --bin sim -- --seeds "${SIM_SEEDS:-2000}" --events "${SIM_EVENTS:-10000000}"
echo "== simulator self-test (planted bugs must each be caught within 200 seeds)"
cargo test -q -p tests --features sabotage --test sabotage --release

echo "== examples (the main job and the core demo)"
cargo run -q -p crdt-sync --example multi_leader
cargo run -q -p crdt-core --example three_replicas

echo "== crdt-wasm in Node (wasm32 build, wasm-bindgen, node --test; docs/WASM.md)"
# Installs the wasm32 target and the matching wasm-bindgen-cli on first use.
bash scripts/wasm.sh all

echo "== fuzzing (each cargo-fuzz target for ${FUZZ_SECONDS:-60}s; fails on any crash)"
bash scripts/fuzz.sh
