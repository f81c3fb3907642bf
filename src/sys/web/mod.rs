//! Browser backend: wasm atomics in workers, `Atomics.waitAsync` for futures, Web Workers.
//!
//! Sub-modules:
//! - `wait`: `wait` and `wake` (`memory.atomic.wait32`/`notify`, or the region's for its
//!   words) and `wait_async`.
//! - `worker`: starting Web Workers that share this module's memory, and their exports.
//! - `region`: the process tree's shared region, a `SharedArrayBuffer` reached via `Atomics`.
//! - `process`: processes as Web Workers with their own instance and memory.
//!
//! "May this thread block" is answered positively: only a `DedicatedWorkerGlobalScope` may
//! call `Atomics.wait`; the page's main thread, shared workers and worklets may not.

// A build-time error, not a run-time one, when the crate being built (amphi's own package, or a
// user's crate that depends on amphi) was not built for threaded wasm: a dependency's
// `.cargo/config.toml` does not apply to the crates that use it, so each must set this up.
#[cfg(not(target_feature = "atomics"))]
compile_error!(
    "amphi in the browser needs threaded wasm, and this build lacks the `atomics` target \
     feature. In the crate you build with wasm-pack, add the two files of amphi's template \
     templates/web-app/: rust-toolchain.toml (amphi's pinned nightly, with rust-src) and \
     .cargo/config.toml (`build-std = [\"panic_unwind\", \"std\"]` and the rustflags \
     `-C target-feature=+atomics,+bulk-memory,+mutable-globals,+exception-handling \
     -C panic=unwind` with the shared-memory link arguments and TLS exports); then run \
     `wasm-pack build --target web` in that crate. See \"Use amphi in your own crate\" in \
     amphi's README."
);

#[cfg(not(panic = "unwind"))]
compile_error!(
    "amphi in the browser needs panics that unwind (a panicking amphi thread is reported to its \
     joiner): add `-C panic=unwind` to the wasm32 rustflags and `panic_unwind` to build-std in \
     your crate's .cargo/config.toml, as in amphi's templates/web-app/.cargo/config.toml (see \
     \"Use amphi in your own crate\" in amphi's README)."
);

pub(super) mod process;
pub(super) mod region;
mod wait;
mod worker;

use std::cell::Cell;
use std::time::Duration;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

pub(crate) use wait::{wait, wait_async, wake};
pub(crate) use worker::spawn;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
    #[wasm_bindgen(thread_local_v2, js_namespace = performance, js_name = timeOrigin)]
    static TIME_ORIGIN: f64;
}

thread_local! {
    /// Whether this thread may block, once [`can_block`] has asked the platform.
    static CAN_BLOCK: Cell<Option<bool>> = const { Cell::new(None) };
}

/// True only inside a dedicated Web Worker, where `Atomics.wait` is allowed.
///
/// Every blocking acquire asks this first, so on a worker it must cost no more than a read of
/// the cached answer: a `LocalKey::get` small enough to inline into the caller, where it is one
/// load from the thread's TLS block and one compare. Everything else (the first call on a
/// thread, which asks the platform, and the cached "no" of a thread that may not block, which
/// only leads to an error) is out of line in [`can_block_uncached`]: inlined, its JavaScript
/// calls made the cached read too large to inline, and every acquire paid a call and an
/// indirect call for it.
#[inline]
pub(crate) fn can_block() -> bool {
    CAN_BLOCK.get() == Some(true) || can_block_uncached()
}

/// [`can_block`] where the cache does not say "yes": the cached "no", or on the first call on
/// a thread, whether the global scope is a dedicated worker's (then cached).
#[cold]
#[inline(never)]
fn can_block_uncached() -> bool {
    if let Some(answer) = CAN_BLOCK.get() {
        return answer;
    }
    let answer = js_sys::global()
        .dyn_into::<web_sys::DedicatedWorkerGlobalScope>()
        .is_ok();
    CAN_BLOCK.set(Some(answer));
    answer
}

/// Wall-clock-anchored monotonic time: `performance.timeOrigin + performance.now()`, so every
/// worker (each with its own `performance.now()` origin) reads the same clock.
pub(crate) fn now() -> Duration {
    let millis = TIME_ORIGIN.with(|origin| *origin) + performance_now();
    Duration::from_secs_f64(millis.max(0.0) / 1000.0)
}

/// Sleeps a worker by waiting on a private word that nobody wakes.
pub(crate) fn sleep(duration: Duration) {
    let word = std::sync::atomic::AtomicU32::new(0);
    let deadline = now() + duration;
    loop {
        let left = deadline.saturating_sub(now());
        if left.is_zero() {
            return;
        }
        wait(super::Futex::Private(&word), 0, Some(left));
    }
}
