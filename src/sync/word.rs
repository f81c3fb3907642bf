//! [`Word`]: where a state machine's 32-bit words live, and how to sleep on them.
//!
//! Every primitive is written once, as a state machine over `W: Word`. The thread family uses
//! `AtomicU32` (words on the heap or stack, private futexes, wasm memory atomics). The process
//! family plugs in words in a shared-memory region (shared futexes natively, `Atomics` on a
//! `SharedArrayBuffer` in the browser) without touching the state machines.
//!
//! The operations mirror `AtomicU32`'s, plus the three that make a futex: `wait` (sleep while
//! the word still holds a value, until a [`Deadline`]; may return spuriously),
//! `wake_one`/`wake_all`, and their async twin `wait_async`. Each word says which futex it is
//! ([`Word::futex`]: a private word of this process, or a shared word of the region), and the
//! provided `wait` and `wake_*` make `sys`'s one futex call in that scope.

use std::future::Future;

use crate::sync::atomic::{AtomicU32, Ordering};
use crate::sys::{self, Futex, Wake};
use crate::time::Deadline;
use crate::Error;

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
    /// The word as `sys` sleeps on it, with its scope (private or shared).
    fn futex(&self) -> Futex<'_>;
    /// Completes once the word may no longer hold `expected` (spurious completions allowed).
    fn wait_async(&self, expected: u32) -> impl Future<Output = ()> + '_;

    /// Sleeps while the word holds `expected`, until `deadline`: [`Error::Timeout`] (without
    /// sleeping) once it has passed, else `Ok` after any wake-up, spurious ones and the
    /// deadline passing while asleep included; the caller re-checks and calls again.
    #[inline]
    fn wait(&self, expected: u32, deadline: Deadline) -> Result<(), Error> {
        sys::wait(self.futex(), expected, deadline)
    }
    /// Wakes one sleeper of the word.
    #[inline]
    fn wake_one(&self) {
        sys::wake(self.futex(), Wake::One);
    }
    /// Wakes every sleeper of the word.
    #[inline]
    fn wake_all(&self) {
        sys::wake(self.futex(), Wake::All);
    }
}

/// Words of the thread family: ordinary atomics in this process's (or module's) memory,
/// private futexes.
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
    fn futex(&self) -> Futex<'_> {
        Futex::Private(self)
    }
    fn wait_async(&self, expected: u32) -> impl Future<Output = ()> + '_ {
        sys::wait_async(self, expected)
    }
}
