#!/usr/bin/env bash
# Sets everything up, then runs the amphi CLI: by default the bank-account example.
#   scripts/run.sh                      # amphi run bank-account
#   scripts/run.sh run --all            # every example
#   scripts/run.sh list
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
[ $# -gt 0 ] || set -- run bank-account
cargo build --release --quiet -p amphi-cli
exec target/release/amphi "$@"
