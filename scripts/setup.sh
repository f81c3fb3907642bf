#!/usr/bin/env bash
# Installs everything amphi's builds and tests need, idempotently; seconds when already done.
#   - Debian: chromium and chromium-driver (the browser tests drive /usr/bin/chromium), nodejs
#   - rustup: clippy and rustfmt on stable; the pinned nightly with rust-src, wasm32, clippy, miri
#   - cargo: wasm-pack and wasm-bindgen-cli at pinned versions (the CLI must match the crate)
#   - npm: the workspace's devDependencies (playwright-core, which never downloads a browser;
#     vite and webpack, for the bundler and template tests)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/toolchain.env

step() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

need_apt=()
command -v chromium >/dev/null || need_apt+=(chromium)
command -v chromedriver >/dev/null || need_apt+=(chromium-driver)
command -v node >/dev/null || need_apt+=(nodejs)
command -v npm >/dev/null || need_apt+=(npm)
command -v redis-server >/dev/null || need_apt+=(redis-server)
if [ ${#need_apt[@]} -gt 0 ]; then
  step "apt-get install ${need_apt[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

command -v rustup >/dev/null || { echo "rustup is required: https://rustup.rs" >&2; exit 1; }
installed_components=$(rustup component list --installed --toolchain stable 2>/dev/null || true)
for component in clippy rustfmt; do
  grep -q "^$component" <<<"$installed_components" || { step "rustup component add $component"; rustup component add --toolchain stable "$component"; }
done
if ! rustup run "$WASM_TOOLCHAIN" rustc --version >/dev/null 2>&1 \
  || ! rustup component list --installed --toolchain "$WASM_TOOLCHAIN" | grep -q '^rust-src' \
  || ! rustup target list --installed --toolchain "$WASM_TOOLCHAIN" | grep -q '^wasm32-unknown-unknown'; then
  step "rustup toolchain install $WASM_TOOLCHAIN (rust-src, wasm32-unknown-unknown)"
  rustup toolchain install "$WASM_TOOLCHAIN" --profile minimal --component rust-src --component clippy \
    --target wasm32-unknown-unknown
fi
for component in clippy miri; do
  rustup component list --installed --toolchain "$WASM_TOOLCHAIN" | grep -q "^$component" \
    || { step "rustup component add $component ($WASM_TOOLCHAIN)"; rustup component add --toolchain "$WASM_TOOLCHAIN" "$component"; }
done

version_of() { "$1" --version 2>/dev/null | awk '{print $2}'; }
if [ "$(version_of wasm-pack)" != "$WASM_PACK_VERSION" ]; then
  step "cargo install wasm-pack $WASM_PACK_VERSION (a few minutes, once)"
  cargo +stable install wasm-pack --version "=$WASM_PACK_VERSION" --locked --quiet
fi
if [ "$(version_of wasm-bindgen)" != "$WASM_BINDGEN_VERSION" ]; then
  # Not --locked: its lockfile names a webpki-roots release that the registry no longer serves.
  step "cargo install wasm-bindgen-cli $WASM_BINDGEN_VERSION (a few minutes, once)"
  cargo +stable install wasm-bindgen-cli --version "=$WASM_BINDGEN_VERSION" --quiet
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  step "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
step "ready"
