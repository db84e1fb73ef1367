#!/usr/bin/env bash
# Installs what the test suite needs. Idempotent, and fast when everything is present.
set -euo pipefail

need_component() {
  if ! rustup component list --installed 2>/dev/null | grep -q "^$1"; then
    echo "setup: installing rust component $1"
    rustup component add "$1"
  fi
}

if ! command -v cargo >/dev/null; then
  echo "setup: cargo is required (install Rust with rustup)" >&2
  exit 1
fi
if command -v rustup >/dev/null; then
  need_component rustfmt
  need_component clippy
fi
