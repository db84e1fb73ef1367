#!/usr/bin/env bash
# Builds and runs the cargo-fuzz targets (fuzz/, its own workspace), each for
# FUZZ_SECONDS seconds (default 60), and fails if any finds a crash, timeout or OOM.
# Prints the executions each target ran.
#
# Usage: bash scripts/fuzz.sh [TARGET...]      (no target: all of them)
#   FUZZ_SECONDS=3600 bash scripts/fuzz.sh     (the pre-release run: docs/TESTING.md)
#   FUZZ_SECONDS=0                             (skips fuzzing)
#   FUZZ_RSS_MB=512 FUZZ_TIMEOUT=2             (memory limit, seconds per input)
#   FUZZ_SANITIZER=none                        (default address; the crates are safe
#                                               Rust, and ops_model runs ~5x faster
#                                               without AddressSanitizer)
#
# Idempotent: installs cargo-fuzz only if it is missing. Corpora grow in
# fuzz/corpus/<target>/ and findings land in fuzz/artifacts/<target>/ (both ignored by
# git); the committed seeds in fuzz/seeds/<target>/ are read, never written.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-60}"
rss_mb="${FUZZ_RSS_MB:-512}"
timeout_s="${FUZZ_TIMEOUT:-2}"
sanitizer="${FUZZ_SANITIZER:-address}"

if [ "$seconds" = "0" ]; then
  echo "fuzz: skipped (FUZZ_SECONDS=0)"
  exit 0
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz"
  # --locked pins the versions cargo-fuzz was released with; if that fails on this
  # toolchain, take the newest compatible ones.
  cargo install cargo-fuzz --locked || cargo install cargo-fuzz
fi

# cargo-fuzz passes nightly-only flags (-Zsanitizer=address); a stable toolchain
# accepts them with RUSTC_BOOTSTRAP=1, so no nightly toolchain is needed.
export RUSTC_BOOTSTRAP=1
# AddressSanitizer keeps up to 256 MB of freed memory in quarantine, which counts in
# the process's RSS: with a corpus grown over many runs (13,000 inputs of decode_sync),
# loading it pushed a target past the 512 MB limit with 29 MB of live heap, a false
# out-of-memory. 32 MB of quarantine still catches use-after-free of recent frees.
export ASAN_OPTIONS="${ASAN_OPTIONS:-quarantine_size_mb=32}"

cd fuzz
if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo fuzz list)
fi

echo "fuzz: building ${targets[*]} (sanitizer: $sanitizer)"
cargo fuzz build -s "$sanitizer"

status=0
summary=()
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t" "seeds/$t"
  log="$(mktemp)"
  echo "fuzz: $t for ${seconds}s (rss limit ${rss_mb} MB, timeout ${timeout_s}s per input)"
  if cargo fuzz run -s "$sanitizer" "$t" "corpus/$t" "seeds/$t" -- \
      -max_total_time="$seconds" -rss_limit_mb="$rss_mb" -timeout="$timeout_s" \
      >"$log" 2>&1; then
    runs="$(grep -Eo 'Done [0-9]+ runs in [0-9]+ second' "$log" | tail -n 1 | awk '{print $2}')"
    summary+=("$(printf '%-16s %12s executions in %ss' "$t" "${runs:-?}" "$seconds")")
  else
    status=1
    summary+=("$(printf '%-16s FAILED' "$t")")
    echo "fuzz: $t FAILED; the end of its log:"
    tail -n 80 "$log"
    found="$(grep -Eo "artifacts/$t/[a-z-]+-[0-9a-f]+" "$log" | tail -n 1 || true)"
    if [ -n "$found" ]; then
      echo "fuzz: the input is fuzz/$found. Keep it as a regression (replayed by"
      echo "      cargo test -p tests --test fuzz_regressions):"
      echo "      mkdir -p fuzz/artifacts-committed/$t && cp fuzz/$found fuzz/artifacts-committed/$t/"
      echo "      Reproduce: cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run -s $sanitizer $t $found"
    fi
  fi
  rm -f "$log"
done

echo "fuzz: executions per target"
printf '  %s\n' "${summary[@]}"
exit "$status"
