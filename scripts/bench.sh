#!/usr/bin/env bash
# Regenerates BENCHMARKS.md and the wire plots (docs/bench/wire_mesh.svg,
# docs/bench/wire_tree.svg) on this machine. Benchmarks run on demand, never in CI's
# test command (CI only compiles them: `cargo bench -p crdt-bench --no-run`).
#
# Usage: bash scripts/bench.sh [--quick] [--criterion] [--only STAGE[,STAGE...]]
#   (default)    the table binary (ours vs crdts vs ahash; warm-up, repetitions,
#                median), the wire experiment, a hub with 16 to 1,024 peers (about a
#                minute), the crdt-wasm benchmark in Node, and
#                the load benchmark (crdt-leader over HTTP vs redis-server): about
#                9 minutes on 2 cores, plus a first release build of crdt-leader
#   --quick      smoke run: fewer repetitions, 1e4 and 1e5 elements only, shorter
#                load phases (writes BENCHMARKS.md all the same: do not commit its
#                figures)
#   --criterion  also the full criterion suite (`cargo bench -p crdt-bench`,
#                reports in target/criterion/): about 15 more minutes
#   --only S,..  run only these stages (micro, wire, hub, wasm, load, docs, retire); the others' sections
#                say they were not measured (a partial file: do not commit it)
# The load stage needs redis-server (Debian package); as root it is installed with
# apt-get when missing.
# Everything but the load stage runs under `nice -n 10`.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=""
criterion=0
only=""
for a in "$@"; do
  case "$a" in
    --quick) quick="--quick" ;;
    --criterion) criterion=1 ;;
    --only=*) only="${a#--only=}" ;;
    --only) expect_only=1; continue ;;
    *)
      if [ "${expect_only:-0}" = 1 ]; then
        only="$a"
      else
        echo "unknown option: $a" >&2; exit 2
      fi ;;
  esac
  expect_only=0
done
if [ "${expect_only:-0}" = 1 ]; then echo "--only needs a list of stages" >&2; exit 2; fi
for s in ${only//,/ }; do
  case "$s" in
    micro|wire|hub|wasm|load|docs|retire) ;;
    *) echo "unknown stage: $s (micro, wire, hub, wasm, load, docs, retire)" >&2; exit 2 ;;
  esac
done
# Whether stage $1 runs in this invocation.
want() { [ -z "$only" ] || [[ ",$only," == *",$1,"* ]]; }
skipped() { echo "Not measured in this run (\`--only $only\`)."; }

start=$(date +%s)
# The tree as measured, before this run writes its own outputs.
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=""
if [ -n "$(git status --porcelain 2>/dev/null)" ]; then dirty=" plus uncommitted changes"; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "== building (release)"
if want load; then
  # The load benchmark starts crdt-leader processes (found beside its own binary).
  cargo build -q --release -p crdt-bench --bins -p crdt-leader
else
  cargo build -q --release -p crdt-bench --bins
fi
if want retire; then
  cargo build -q --release -p tests --example retirement_figure
fi
: > "$tmp/targets_micro.md"
: > "$tmp/targets_wire.md"
: > "$tmp/targets_hub.md"
: > "$tmp/targets_load.md"
: > "$tmp/targets_retire.md"

if want micro; then
  echo "== micro-benchmarks: ours vs crdts vs ahash (bench_table)"
  nice -n 10 ./target/release/bench_table $quick --targets "$tmp/targets_micro.md" > "$tmp/micro.md"
else
  skipped > "$tmp/micro.md"
fi

if want wire; then
  echo "== wire experiment (wire) and plots"
  nice -n 10 ./target/release/wire --svg-dir docs/bench --targets "$tmp/targets_wire.md" > "$tmp/wire.md"
else
  skipped > "$tmp/wire.md"
fi

if want hub; then
  echo "== hundreds of peers: a hub relaying for 16 to 1,024 spokes (hub)"
  nice -n 10 ./target/release/hub $quick --targets "$tmp/targets_hub.md" > "$tmp/hub.md"
else
  skipped > "$tmp/hub.md"
fi

wasm_ok=0
if want wasm; then
  echo "== the same operations through crdt-wasm in Node (scripts/wasm.sh bench)"
  wasm_sizes="10000,100000,1000000"
  if [ -n "$quick" ]; then wasm_sizes="10000,100000"; fi
  if BENCH_SIZES="$wasm_sizes" nice -n 10 bash scripts/wasm.sh bench "$tmp/wasm.md" > "$tmp/wasm.log" 2>&1; then
    wasm_ok=1
  else
    echo "   crdt-wasm benchmark failed (the end of its log below); the report says so"
    tail -n 20 "$tmp/wasm.log"
  fi
fi

load_ok=0
if want load; then
  echo "== load: crdt-leader over HTTP vs redis-server, appendfsync always (load)"
  if ! command -v redis-server > /dev/null && [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
    echo "   installing redis-server (Debian package)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server; } \
      > "$tmp/apt.log" 2>&1 || tail -n 20 "$tmp/apt.log"
  fi
  # Not under nice: the servers it starts would inherit it, and their latencies would
  # then mostly measure the rest of the machine's work (a run of a few seconds).
  if ./target/release/load $quick --targets "$tmp/targets_load.md" > "$tmp/load.md" 2> "$tmp/load.log"; then
    load_ok=1
  else
    echo "   load benchmark failed (the end of its log below); the report says so"
    tail -n 20 "$tmp/load.log"
  fi
fi

docs_ok=0
if want docs; then
  echo "== documents: 100,000 documents on two leaders, idle and 1% written (docs)"
  if nice -n 10 cargo bench -q -p crdt-leader --bench documents -- $quick > "$tmp/docs.md" 2> "$tmp/docs.log"; then
    docs_ok=1
  else
    echo "   documents benchmark failed (the end of its log below); the report says so"
    tail -n 20 "$tmp/docs.log"
  fi
fi

if want retire; then
  echo "== retirement: 10,000 short-lived writers retired (retirement_figure)"
  nice -n 10 ./target/release/examples/retirement_figure "$tmp/retire.md" "$tmp/targets_retire.md"
else
  skipped > "$tmp/retire.md"
fi

if [ "$criterion" = 1 ]; then
  echo "== criterion suite (cargo bench -p crdt-bench)"
  nice -n 10 cargo bench -p crdt-bench > "$tmp/criterion.txt" 2>/dev/null
fi

secs=$(( $(date +%s) - start ))
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')

{
  echo "# Benchmarks"
  echo
  echo "Generated by \`bash scripts/bench.sh${quick:+ $quick}$([ "$criterion" = 1 ] && echo ' --criterion')\` — do not edit by hand (the"
  echo "hand-written part comes from \`docs/bench/notes.md\`)."
  echo
  if [ -n "$quick" ]; then
    echo "> **Smoke run (\`--quick\`)**: few repetitions, no 1e6 sizes. Not for committing."
    echo
  fi
  if [ -n "$only" ]; then
    echo "> **Partial run (\`--only $only\`)**: the other sections were not measured. Not for committing."
    echo
  fi
  echo "| | |"
  echo "|---|---|"
  echo "| CPU | $cpu |"
  echo "| cores | $(nproc) |"
  echo "| memory | $(free -g | awk '/^Mem:/ {print $2 " GiB"}') |"
  echo "| load average when done | $(cut -d' ' -f1-3 /proc/loadavg) |"
  echo "| rustc | $(rustc --version) |"
  echo "| crdts | $(cargo tree -q -p crdt-bench -i crdts --depth 0 2>/dev/null | head -1) |"
  echo "| date | $(date -u '+%Y-%m-%d %H:%M UTC') |"
  echo "| commit | $commit$dirty |"
  echo "| wall time of this run | $((secs / 60)) min $((secs % 60)) s |"
  echo
  echo "Commands (each also runs on its own):"
  echo
  echo '```sh'
  echo "cargo run --release -p crdt-bench --bin bench_table${quick:+ -- $quick}   # micro-benchmark tables"
  echo "cargo run --release -p crdt-bench --bin wire -- --svg-dir docs/bench   # wire experiment + plots"
  echo "cargo run --release -p crdt-bench --bin hub${quick:+ -- $quick}   # a hub with 16 to 1,024 peers"
  echo "cargo build --release -p crdt-leader && cargo run --release -p crdt-bench --bin load${quick:+ -- $quick}   # load vs Redis"
  echo "cargo bench -p crdt-leader --bench documents${quick:+ -- $quick}   # 100,000 documents, idle and 1% written"
  echo "cargo run --release -p tests --example retirement_figure -- TABLE TARGETS   # 10,000 writers retired"
  echo "cargo bench -p crdt-bench                                  # criterion suite (target/criterion/)"
  echo '```'
  echo
  echo "## Targets"
  echo
  echo "Ratios from this one run. \"worst\" means the target is checked at every size and"
  echo "the least favourable ratio is shown."
  echo
  echo "| target | goal | measured | verdict |"
  echo "|---|---|---:|---|"
  cat "$tmp/targets_micro.md" "$tmp/targets_wire.md" "$tmp/targets_hub.md" "$tmp/targets_load.md" "$tmp/targets_retire.md"
  echo
  cat docs/bench/notes.md
  echo
  echo "## Micro-benchmarks"
  echo
  echo "Median of several repetitions after warm-up, per operation, thread CPU time (\`crdt_bench::timing\`)."
  echo "\`crdts / ours\` > 1 means ours is faster or smaller; \`ours / ahash\` is our cost"
  echo "relative to the plain hash collection."
  echo
  cat "$tmp/micro.md"
  echo "## Wire efficiency (Enes et al., ICDE 2019)"
  echo
  echo "Bytes sent per round, log scale: ![mesh](docs/bench/wire_mesh.svg) ![tree](docs/bench/wire_tree.svg)"
  echo
  cat "$tmp/wire.md"
  echo
  echo "## Retirement: metadata of short-lived writers (crdt-sync)"
  echo
  echo "Issue 14's figure (\`cargo run --release -p tests --example retirement_figure\`, checked by"
  echo "\`tests/tests/retirement_figure.rs\`; design in \`docs/RETIREMENT.md\`): 10,000 short-lived"
  echo "writers each make one write, are handed over to a live leader and retired in batches of"
  echo "at most 4,096 (\`Leader::commit_retirement\`); the leader's encoded state, causal token and"
  echo "digest content are compared with a leader whose live writer made the same writes in the"
  echo "same order (element values unrelated to write order and writer ids), and with the state"
  echo "before the retirement."
  echo
  cat "$tmp/retire.md"
  echo
  echo "## Hundreds of peers (crdt-sync, a hub)"
  echo
  echo "One \`crdt_sync::Leader\` relaying for N spoke leaders (\`cargo run --release -p crdt-bench --bin hub\`):"
  echo "the hub's CPU, messages and bytes per round. The target (issue 15 item 7): hub CPU per round"
  echo "linear in peers — per delta relayed when every spoke writes (each write must reach N − 1"
  echo "spokes), per spoke when a fixed number of spokes write."
  echo
  cat "$tmp/hub.md"
  echo
  cat docs/bench/hub_before.md
  echo
  echo "## Through crdt-wasm in Node"
  echo
  echo "The same OR-Set and counter operations from JavaScript (\`bash scripts/wasm.sh bench\`),"
  echo "so the cost of the binding is visible: compare each row with the \"ours\" column of the"
  echo "micro-benchmarks above. The difference is argument checks, copies across the wasm"
  echo "boundary, one \`Uint8Array\` per returned delta, decoding inside \`merge\` (it takes"
  echo "bytes), and wasm versus native code."
  echo
  if [ "$wasm_ok" = 1 ]; then
    cat "$tmp/wasm.md"
  elif want wasm; then
    echo "Not measured in this run: \`scripts/wasm.sh bench\` failed (see its output)."
  else
    skipped
  fi
  echo
  echo "## Load: crdt-leader over HTTP vs Redis (appendfsync always)"
  echo
  echo "Durable writes per second and latency at one leader, next to \`redis-server\` under"
  echo "the same mix, and the replication lag to a second leader (\`bash scripts/bench.sh --only load\`"
  echo "runs only this; method in the notes above)."
  echo
  if [ "$load_ok" = 1 ]; then
    cat "$tmp/load.md"
  elif want load; then
    echo "Not measured in this run: the \`load\` binary failed (see its output)."
  else
    skipped
  fi
  echo
  if [ "$docs_ok" = 1 ]; then
    cat "$tmp/docs.md"
  elif want docs; then
    echo "## Documents (crdt-leader)"
    echo
    echo "Not measured in this run: the \`documents\` benchmark failed (see its output)."
  else
    echo "## Documents (crdt-leader)"
    echo
    skipped
  fi
  echo
  if [ "$criterion" = 1 ]; then
    echo "## Criterion"
    echo
    echo "Full reports in \`target/criterion/\`. Summary lines:"
    echo
    echo '```text'
    # "name  time: [low median high]", the name on the line before when it is long.
    awk '/^[^ ].*time:/ {print; next} /^ +time:/ {print prev $0} {prev = $0}' "$tmp/criterion.txt" | sed 's/  */ /g'
    echo '```'
  fi
} > BENCHMARKS.md

if want wire; then
  echo "== wrote BENCHMARKS.md and docs/bench/wire_{mesh,tree}.svg in $((secs / 60)) min $((secs % 60)) s"
else
  echo "== wrote BENCHMARKS.md in $((secs / 60)) min $((secs % 60)) s"
fi
