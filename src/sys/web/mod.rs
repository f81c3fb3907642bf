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
//! call `Atomics.wait`; the page's main thread, shared workers and worklets may not. A thread
//! whose stack wasm-bindgen's thread start allocated from the heap (every thread started in a
//! worker that joined the memory) is known to be such a worker without asking (see
//! `can_block`).

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

extern "C" {
    /// The linker's (`wasm-ld`'s) end of the module's static memory: everything below it is
    /// the instance's first stack and its static data (in either order), and the heap starts
    /// here. Only its address is used; the byte is never read.
    static __heap_base: u8;
}

/// True only inside a dedicated Web Worker, where `Atomics.wait` is allowed.
///
/// Every blocking acquire asks this first, before its compare-and-swap, so on a worker it must
/// cost no memory access. It answers from where the calling thread's stack is:
///
/// - The instance's first thread (the page's main thread, a process worker's realm that
///   instantiated the module, or a dedicated worker that instantiated it for itself) runs on
///   the stack the linker placed below `__heap_base`.
/// - Every other thread of the instance is a realm that joined the instance's memory through
///   wasm-bindgen's thread start (`init` with the module and the memory), which allocates the
///   thread's stack from the heap, above `__heap_base`. amphi's threads and wasm-bindgen-rayon's
///   are all dedicated workers, which may block.
///
/// The one realm this misjudges is one that joins the memory but is not a dedicated worker (an
/// `AudioWorklet` given the module and the memory, as in wasm-bindgen's audio worklet
/// example): it is told "yes", so a blocking acquire there is not refused with `WouldBlock`,
/// and traps if it has to wait. amphi starts no such realm.
///
/// So a stack above `__heap_base` answers "yes" with a compare of two addresses: the address of
/// a local of this frame (which the optimiser keeps in a register across a caller's loop) and
/// a link-time constant. Below it, the answer is the platform's, asked once per thread and
/// cached ([`CAN_BLOCK`]): a cached "yes" is one TLS load and one compare, inline; the first
/// query and the cached "no" (which only leads to an error) are out of line in
/// [`can_block_uncached`], so that their JavaScript calls do not keep this function from
/// inlining into every acquire.
#[inline]
pub(crate) fn can_block() -> bool {
    on_a_started_thread_stack() || CAN_BLOCK.get() == Some(true) || can_block_uncached()
}

/// Whether the calling thread runs on a stack above `__heap_base`, that is a stack that
/// wasm-bindgen's thread start allocated from the heap for a worker that joined this instance's
/// memory (see [`can_block`]).
#[inline(always)]
fn on_a_started_thread_stack() -> bool {
    let frame_marker = 0u8;
    let stack_address = std::ptr::addr_of!(frame_marker) as usize;
    // Taking an extern static's address is safe (reading it would not be); the byte is never
    // read.
    let heap_base = std::ptr::addr_of!(__heap_base) as usize;
    stack_address > heap_base
}

/// [`can_block`] where neither the stack nor the cache says "yes": the cached "no", or on the
/// first call on a thread, the platform's answer (then cached).
#[cold]
#[inline(never)]
fn can_block_uncached() -> bool {
    if let Some(answer) = CAN_BLOCK.get() {
        return answer;
    }
    let answer = platform_can_block();
    CAN_BLOCK.set(Some(answer));
    answer
}

/// The platform's answer: whether the global scope is a dedicated worker's.
fn platform_can_block() -> bool {
    js_sys::global()
        .dyn_into::<web_sys::DedicatedWorkerGlobalScope>()
        .is_ok()
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

#[cfg(test)]
mod tests {
    //! [`can_block`]'s answer from the stack against the platform's, on the page's main thread
    //! (the instance's first thread) and on threads started in workers.

    use super::{can_block, on_a_started_thread_stack, platform_can_block};
    use crate::thread::Thread;
    use wasm_bindgen_test::wasm_bindgen_test;

    wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

    #[wasm_bindgen_test]
    fn the_main_thread_runs_on_the_static_stack_and_may_not_block() {
        assert!(
            !on_a_started_thread_stack(),
            "the page's main thread runs below __heap_base"
        );
        assert!(!platform_can_block());
        assert!(!can_block());
    }

    #[wasm_bindgen_test]
    async fn started_threads_run_on_heap_stacks_and_may_block() {
        let threads = (0..3)
            .map(|_| {
                Thread::spawn(|| {
                    let answers = (
                        on_a_started_thread_stack(),
                        platform_can_block(),
                        can_block(),
                    );
                    // A thread started by a started thread (through the page, see `worker`).
                    let nested = Thread::spawn(|| (on_a_started_thread_stack(), can_block()))
                        .expect("a thread starts a thread")
                        .join()
                        .expect("the nested thread returns");
                    (answers, nested)
                })
                .expect("the page starts a thread")
            })
            .collect::<Vec<_>>();
        for thread in threads {
            let answers = thread.join_async().await.expect("the thread returns");
            assert_eq!(answers, ((true, true, true), (true, true)));
        }
    }
}
