#!/usr/bin/env bash
# Formatting and clippy (-D warnings) for both targets.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all --check
# The workspace unifies features (the CLI turns on `trace`), so the core crate is linted alone
# too, as a user's crate builds it: without `trace`.
cargo clippy --workspace --all-targets --quiet -- -D warnings
cargo clippy -p amphi --all-targets --quiet -- -D warnings
(
  . scripts/wasm-env.sh
  cargo clippy --workspace --all-targets --target wasm32-unknown-unknown --quiet -- -D warnings
  cargo clippy -p amphi --all-targets --target wasm32-unknown-unknown --quiet -- -D warnings
)
