#!/usr/bin/env bash
# Formatting and clippy (-D warnings) for both targets.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
(
  . scripts/wasm-env.sh
  cargo clippy --workspace --all-targets --target wasm32-unknown-unknown --quiet -- -D warnings
)
