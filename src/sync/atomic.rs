//! The one place amphi takes its atomics and its `UnsafeCell` from, so that loom can model every
//! state machine and every hand-over of data between threads.
//!
//! Normally these are `std`'s types. Under `--cfg amphi_loom` they are loom's, and `crate::sys`
//! switches to a loom backend whose wait/wake is a loom `Condvar`, so `tests/loom.rs` explores
//! every interleaving of the primitives' words, the thread queues' slot ring and store, the
//! thread pipe's end-of-file flag and the thread packet's hand-over of its result.
//!
//! loom's `UnsafeCell` has a closure API (`with`, `with_mut`), through which loom checks that
//! no access to a cell races with another. The std build wraps `std::cell::UnsafeCell` in the
//! same API ([`UnsafeCell`]); the closures are inlined, so it costs nothing there.
//!
//! Statics that need a `const` constructor (process-wide counters with no protocol, which loom
//! cannot construct in a `static`) keep `std`'s atomics.

#[cfg(not(amphi_loom))]
pub(crate) use std::sync::atomic::{
    fence, AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering,
};

#[cfg(amphi_loom)]
pub(crate) use loom::sync::atomic::{
    fence, AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering,
};

#[cfg(amphi_loom)]
pub(crate) use loom::cell::UnsafeCell;

/// The order of a store-buffering handshake written with `SeqCst` accesses ("I write my word,
/// then read yours" on both sides, so that at least one side sees the other), made visible to
/// loom. loom models `SeqCst` loads, stores and read-modify-writes as if they were `AcqRel`
/// (only `fence(SeqCst)` gets its full meaning there), so under `--cfg amphi_loom` this is a
/// `SeqCst` fence, placed between the write and the read. In the real build the `SeqCst`
/// accesses already order the handshake (their single total order), and this is nothing: no
/// fence on a fast path.
#[inline(always)]
pub(crate) fn seq_cst_handshake() {
    #[cfg(amphi_loom)]
    fence(Ordering::SeqCst);
}

/// `std::cell::UnsafeCell` with loom's closure API (see the module docs).
#[cfg(not(amphi_loom))]
#[derive(Debug, Default)]
#[repr(transparent)]
pub(crate) struct UnsafeCell<T: ?Sized>(std::cell::UnsafeCell<T>);

#[cfg(not(amphi_loom))]
impl<T> UnsafeCell<T> {
    /// A cell holding `value`.
    #[inline]
    pub(crate) const fn new(value: T) -> UnsafeCell<T> {
        UnsafeCell(std::cell::UnsafeCell::new(value))
    }
}

#[cfg(not(amphi_loom))]
impl<T: ?Sized> UnsafeCell<T> {
    /// Runs `f` with a shared pointer to the value. Reading through it is the caller's
    /// `unsafe` business, as with `std::cell::UnsafeCell::get`.
    #[inline(always)]
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    /// Runs `f` with a mutable pointer to the value. Writing through it is the caller's
    /// `unsafe` business, as with `std::cell::UnsafeCell::get`.
    #[inline(always)]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}
