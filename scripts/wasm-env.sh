# Sourced by the scripts that build or test amphi for the browser. Threaded wasm needs the
# pinned nightly, std rebuilt with atomics, and (for doctests, which ignore target rustflags)
# the same flags for rustdoc. Native builds never see these variables.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=toolchain.env
. "$here/toolchain.env"
export RUSTUP_TOOLCHAIN="$WASM_TOOLCHAIN"
export CARGO_UNSTABLE_BUILD_STD=panic_unwind,std
export RUSTDOCFLAGS="-C target-feature=+atomics,+bulk-memory,+mutable-globals,+exception-handling -C panic=unwind -C link-arg=--shared-memory -C link-arg=--import-memory -C link-arg=--max-memory=1073741824 -C link-arg=--export=__wasm_init_tls -C link-arg=--export=__tls_size -C link-arg=--export=__tls_align -C link-arg=--export=__tls_base"
# The browser suites with processes start many workers, each instantiating the module; give a
# test file more than the runner's default 20 s on a busy machine.
export WASM_BINDGEN_TEST_TIMEOUT="${WASM_BINDGEN_TEST_TIMEOUT:-300}"
