#!/usr/bin/env bash
# Sets everything up, then runs the amphi CLI: by default every example (amphi run --all).
#   scripts/run.sh                      # amphi run --all
#   scripts/run.sh run bank-account     # one example
#   scripts/run.sh list
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
[ $# -gt 0 ] || set -- run --all
cargo build --release --quiet -p amphi-cli
exec target/release/amphi "$@"
