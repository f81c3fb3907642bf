//! Which thread is running, as the platform names it: the numbers behind
//! `amphi::thread::get_native_id` and `main_thread().native_id()`, the process's main thread,
//! and how a child process starts.
//!
//! - Natively a thread's native id is the kernel's thread id (`gettid`), and the main thread is
//!   the one whose thread id is the process id.
//! - In the browser a thread is a Web Worker, which has no id of its own: each worker numbers
//!   itself once, from a counter in the module's shared memory, the first time it asks, and
//!   keeps that number for every amphi thread it runs. The main thread (the page's thread, or
//!   the worker that started amphi, or a process worker's own thread) is number 1. Every
//!   thread there that does not run an amphi thread is that main thread: amphi's workers run
//!   nothing but amphi threads.

/// How this target starts a child process (see `crate::process::StartMethod`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChildStart {
    /// The executable started again (Python's "spawn").
    #[cfg_attr(target_arch = "wasm32", allow(dead_code))]
    Reexecution,
    /// A Web Worker with its own instance of the module and its own memory.
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    IsolatedWorker,
}

/// How a child process starts here.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) const CHILD_START: ChildStart = ChildStart::Reexecution;
/// How a child process starts here.
#[cfg(target_arch = "wasm32")]
pub(crate) const CHILD_START: ChildStart = ChildStart::IsolatedWorker;

/// The calling thread's native id: the kernel's thread id.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn native_thread_id() -> u64 {
    // SAFETY: `gettid` takes no arguments, cannot fail and touches no memory.
    let tid = unsafe { libc::gettid() };
    u64::try_from(tid).unwrap_or_default()
}

/// The main thread's native id: natively the process id, which the kernel gives the main
/// thread as its thread id.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn main_thread_native_id() -> u64 {
    u64::from(std::process::id())
}

/// Whether a thread that runs no amphi thread is the process's main thread (natively not
/// always: other code may start threads of its own, Python's "dummy" threads).
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn is_main_thread() -> bool {
    native_thread_id() == main_thread_native_id()
}

#[cfg(target_arch = "wasm32")]
mod worker_number {
    use std::cell::Cell;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// The next worker's number: 1 is the main thread's.
    static NEXT: AtomicU64 = AtomicU64::new(2);

    thread_local! {
        static NUMBER: Cell<u64> = const { Cell::new(0) };
    }

    /// This worker's number, taken from `NEXT` the first time it asks.
    pub(crate) fn get() -> u64 {
        NUMBER.with(|number| {
            if number.get() == 0 {
                number.set(NEXT.fetch_add(1, Ordering::Relaxed));
            }
            number.get()
        })
    }
}

/// The calling worker's number (stable for the worker's life, whichever amphi threads it runs).
#[cfg(target_arch = "wasm32")]
pub(crate) fn native_thread_id() -> u64 {
    worker_number::get()
}

/// The main thread's number: 1.
#[cfg(target_arch = "wasm32")]
pub(crate) fn main_thread_native_id() -> u64 {
    1
}

/// In the browser every thread that runs no amphi thread is the main thread.
#[cfg(target_arch = "wasm32")]
pub(crate) fn is_main_thread() -> bool {
    true
}
