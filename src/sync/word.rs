//! [`Word`]: where a state machine's 32-bit words live, and how to sleep on them.
//!
//! Every primitive is written once, as a state machine over `W: Word`. The thread family uses
//! `AtomicU32` (words on the heap or stack, private futexes, wasm memory atomics). The process
//! family plugs in words in a shared-memory region (shared futexes natively, `Atomics` on a
//! `SharedArrayBuffer` in the browser) without touching the state machines.
//!
//! The operations mirror `AtomicU32`'s, plus the three that make a futex: `wait` (sleep while
//! the word still holds a value; may return spuriously), `wake_one`/`wake_all`, and their async
//! twin `wait_async`.

use std::future::Future;
use std::time::Duration;

use crate::sync::atomic::{AtomicU32, Ordering};
use crate::sys;

/// A 32-bit word a state machine lives in (see the module docs).
pub(crate) trait Word {
    fn load(&self, order: Ordering) -> u32;
    fn swap(&self, value: u32, order: Ordering) -> u32;
    fn compare_exchange(
        &self,
        current: u32,
        new: u32,
        success: Ordering,
        failure: Ordering,
    ) -> Result<u32, u32>;
    fn fetch_add(&self, value: u32, order: Ordering) -> u32;
    fn fetch_sub(&self, value: u32, order: Ordering) -> u32;
    fn fetch_and(&self, value: u32, order: Ordering) -> u32;
    /// Sleeps while the word holds `expected`, for at most `timeout`; `false` only on timeout.
    fn wait(&self, expected: u32, timeout: Option<Duration>) -> bool;
    /// Completes once the word may no longer hold `expected` (spurious completions allowed).
    fn wait_async(&self, expected: u32) -> impl Future<Output = ()> + '_;
    fn wake_one(&self);
    fn wake_all(&self);
}

/// Words of the thread family: ordinary atomics in this process's (or module's) memory.
impl Word for AtomicU32 {
    #[inline]
    fn load(&self, order: Ordering) -> u32 {
        AtomicU32::load(self, order)
    }
    #[inline]
    fn swap(&self, value: u32, order: Ordering) -> u32 {
        AtomicU32::swap(self, value, order)
    }
    #[inline]
    fn compare_exchange(
        &self,
        current: u32,
        new: u32,
        success: Ordering,
        failure: Ordering,
    ) -> Result<u32, u32> {
        AtomicU32::compare_exchange(self, current, new, success, failure)
    }
    #[inline]
    fn fetch_add(&self, value: u32, order: Ordering) -> u32 {
        AtomicU32::fetch_add(self, value, order)
    }
    #[inline]
    fn fetch_sub(&self, value: u32, order: Ordering) -> u32 {
        AtomicU32::fetch_sub(self, value, order)
    }
    #[inline]
    fn fetch_and(&self, value: u32, order: Ordering) -> u32 {
        AtomicU32::fetch_and(self, value, order)
    }
    #[inline]
    fn wait(&self, expected: u32, timeout: Option<Duration>) -> bool {
        sys::wait(self, expected, timeout)
    }
    fn wait_async(&self, expected: u32) -> impl Future<Output = ()> + '_ {
        sys::wait_async(self, expected)
    }
    #[inline]
    fn wake_one(&self) {
        sys::wake_one(self);
    }
    #[inline]
    fn wake_all(&self) {
        sys::wake_all(self);
    }
}
