//! Waiting on a word of the module's shared memory.
//!
//! Blocking waits on a word of the module's memory use the wasm instructions `memory.atomic.wait32`/`notify` (they trap on the
//! page's main thread, so callers check `can_block` first). Futures use `Atomics.waitAsync`
//! on an `Int32Array` over the same memory, which `notify` also wakes; where a browser lacks
//! `waitAsync`, futures poll the word on a short, growing `setTimeout` interval instead.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use js_sys::{Int32Array, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::sys::{Futex, Wake};
use crate::time::Deadline;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = Atomics, js_name = waitAsync, catch)]
    fn atomics_wait_async(array: &Int32Array, index: u32, value: i32) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(callback: &js_sys::Function, millis: f64) -> JsValue;
}

/// Sleeps while the word holds `expected`, for at most `timeout`; `false` only on timeout. A
/// private word is a word of the module's memory (`memory.atomic.wait32`); a shared one a
/// word of the region's buffer (`Atomics.wait` there, see `region`).
pub(crate) fn wait(futex: Futex<'_>, expected: u32, timeout: Option<Duration>) -> bool {
    let word = match futex {
        Futex::Private(word) => word,
        Futex::Shared(word) => return super::region::wait_shared(word, expected, timeout),
    };
    let nanos = timeout.map_or(-1, |d| d.as_nanos().min(i64::MAX as u128) as i64);
    let ptr = word.as_ptr().cast::<i32>();
    // SAFETY: `ptr` points at a live, aligned 32-bit atomic in the shared linear memory. The
    // caller has checked `can_block()`, so the instruction cannot trap for being on the main
    // thread. Return values: 0 woken, 1 value differed, 2 timed out.
    let outcome = unsafe { core::arch::wasm32::memory_atomic_wait32(ptr, expected as i32, nanos) };
    outcome != 2
}

/// Wakes one or every waiter (blocking or `waitAsync`) of the word.
pub(crate) fn wake(futex: Futex<'_>, count: Wake) {
    let word = match futex {
        Futex::Private(word) => word,
        Futex::Shared(word) => return super::region::wake_shared(word, count),
    };
    let count = match count {
        Wake::One => 1,
        Wake::All => u32::MAX,
    };
    // SAFETY: `notify` only uses the address as a key and is allowed on every thread.
    unsafe {
        core::arch::wasm32::memory_atomic_notify(word.as_ptr().cast::<i32>(), count);
    }
}

fn memory_view() -> Int32Array {
    let memory: js_sys::WebAssembly::Memory = wasm_bindgen::memory().unchecked_into();
    Int32Array::new(&memory.buffer())
}

/// A future that completes once `word` may no longer hold `expected` (spurious completions
/// are allowed). Works on every thread, the page's main thread included.
pub(crate) async fn wait_async(word: &AtomicU32, expected: u32) {
    if word.load(Ordering::Acquire) != expected {
        return;
    }
    let index = (word.as_ptr() as usize / 4) as u32;
    match atomics_wait_async(&memory_view(), index, expected as i32) {
        Ok(result) => {
            let value = Reflect::get(&result, &"value".into()).unwrap_or(JsValue::UNDEFINED);
            if let Some(promise) = value.dyn_ref::<Promise>() {
                let _ = JsFuture::from(promise.clone()).await;
            }
        }
        Err(_unsupported) => {
            poll_until(|| word.load(Ordering::Acquire) != expected, Deadline::NEVER).await;
        }
    }
}

/// Where `Atomics.waitAsync` is missing: checks `changed` on a short, growing timer interval
/// until it holds (`true`) or `deadline` passes (`false`).
pub(super) async fn poll_until(mut changed: impl FnMut() -> bool, deadline: Deadline) -> bool {
    let mut delay = 1.0;
    while !changed() {
        let Ok(left) = deadline.remaining() else {
            return false;
        };
        let wait = left.map_or(delay, |left| f64::min(delay, left.as_secs_f64() * 1000.0));
        let _ = JsFuture::from(timer(wait)).await;
        delay = f64::min(delay * 2.0, 16.0);
    }
    true
}

/// A promise that resolves after `millis` milliseconds.
fn timer(millis: f64) -> Promise {
    Promise::new(&mut |resolve, _reject| {
        set_timeout(&resolve, millis);
    })
}
