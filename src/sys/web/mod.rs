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
    static CAN_BLOCK: Cell<Option<bool>> = const { Cell::new(None) };
}

/// True only inside a dedicated Web Worker, where `Atomics.wait` is allowed.
#[inline]
pub(crate) fn can_block() -> bool {
    CAN_BLOCK.with(|cached| match cached.get() {
        Some(answer) => answer,
        None => {
            let answer = js_sys::global()
                .dyn_into::<web_sys::DedicatedWorkerGlobalScope>()
                .is_ok();
            cached.set(Some(answer));
            answer
        }
    })
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
