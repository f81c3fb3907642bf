#!/usr/bin/env bash
# The kill-point suite with its table: every point of tests/kill_points.rs, natively (release
# build, 100 trials per point unless AMPHI_KILL_TRIALS says otherwise) and, with --browser, in
# headless Chromium too. Prints one Markdown table per target, as kept in docs/KILL_POINTS.md.
# `scripts/test.sh` runs the same suite as part of the normal tests; this script only adds the
# table. AMPHI_KILL_SEED replays a native run.
set -euo pipefail
cd "$(dirname "$0")/.."
header='| point | trials | results | typed errors | hangs | longest kill-to-answer |
|---|---|---|---|---|---|'

echo "native ($(uname -sm), ${AMPHI_KILL_TRIALS:-100} trials per point):"
echo "$header"
cargo test --release --quiet --test kill_points -- --nocapture --test-threads=1 2>&1 |
  tee target/kill-points-native.log | grep -o '| [A-Z][^|]*:.*| [0-9]* ms |$'

if [[ "${1:-}" == "--browser" ]]; then
  echo
  echo "browser (headless Chromium, process workers terminated):"
  echo "$header"
  (
    . scripts/wasm-env.sh
    timeout 1200 wasm-pack test --headless --chrome --mode no-install . --test kill_points \
      -- --nocapture 2>&1
  ) | tee target/kill-points-browser.log | grep -o '| [A-Z][^|]*:.*| [0-9]* ms |$'
fi
