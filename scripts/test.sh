#!/usr/bin/env bash
# Sets everything up, then runs every test: lints; native (unit, conformance, doc, the CLI as a
# process); loom models of the state machines; Miri on the native thread suites; the browser
# (wasm-pack test in headless Chromium, in workers and on the main thread); and end to end (the
# page served by `npm start`, a Vite build of the package, and the template crate of
# templates/web-app/ built with plain wasm-pack, as plain files, with Vite and with webpack,
# driven by Playwright in Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
section() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

section "lint: rustfmt and clippy, native and wasm"
bash scripts/lint.sh

section "native: cargo test --workspace"
# The CLI enables amphi's `redis` feature, so this also tests the pools over Redis (each test
# starts its own redis-server, which setup.sh installs).
cargo test --workspace

section "loom: every interleaving of the primitives' state machines"
RUSTFLAGS="--cfg amphi_loom" CARGO_TARGET_DIR=target/loom cargo test --release --test loom

section "miri: the native thread suites (and the shared suites' thread backend) under Miri"
. scripts/toolchain.env
MIRIFLAGS="-Zmiri-disable-isolation" cargo "+$WASM_TOOLCHAIN" miri test \
  --test lock --test rlock --test semaphore --test event --test condition --test barrier \
  --test thread --test main_thread --test queue --test queue_close --test queue_stress \
  --test simple_queue --test joinable_queue --test pipe \
  --test conformance_lock --test conformance_semaphore --test conformance_event \
  --test conformance_queue --test conformance_pipe

section "browser: wasm-pack test --headless --chrome"
(
  . scripts/wasm-env.sh
  timeout 900 wasm-pack test --headless --chrome --mode no-install .
  # tests/trace.rs needs the feature `trace` (the recorder, and children's events on the parent's clock).
  timeout 900 wasm-pack test --headless --chrome --mode no-install . --features trace --test trace
  timeout 600 wasm-pack test --headless --chrome --mode no-install examples
)

section "end to end: npm run build, the template crate, then the pages in Chromium"
npm run --silent build
npm run --silent build:template
timeout 900 npm run --silent test:e2e

section "all tests passed"
