//! The platform layer: the only code in amphi that knows where it runs.
//!
//! Every primitive in amphi is a small state machine over 32-bit words. What the platform must
//! give it is tiny, and this module is that interface, implemented once per target:
//!
//! | function | meaning |
//! |---|---|
//! | [`wait`] | sleep while a word still holds an expected value, until a [`Deadline`] |
//! | [`wait_async`] | the same as a future, for threads that must not block |
//! | [`wake`] | wake one or all sleepers of a word |
//! | [`can_block`] | may this thread sleep at all? (no on the browser's main thread) |
//! | [`now`] | a monotonic clock shared by every thread |
//! | [`sleep`] | sleep for a while (a wait on a private word) |
//! | [`spawn`] | start a thread running a closure, with a [`ThreadWatch`] for its exit |
//! | [`spawn_process`] | start a child process (see `process` for the whole interface) |
//! | [`map_region`], [`wait_shared_async`], [`region_write_bytes`], [`region_read_bytes`] | memory shared by a process tree (see `shared`, and `crate::process`'s `region`) |
//! | [`SocketListener`], [`SocketStream`], [`fill_random`] | Unix and TCP sockets between unrelated processes, and random bytes (see `socket`) |
//! | [`native_thread_id`], [`main_thread_native_id`], [`is_main_thread`], [`CHILD_START`] | which thread runs, and how a child process starts (see `thread_id`) |
//! | `trace_files` | the trace recorder's files and environment, natively (feature `trace`) |
//!
//! [`wait`] and [`wake`] are the one futex call, for both kinds of word: a [`Futex`] names the
//! word together with its scope, [`Futex::Private`] for a word of this process's memory that
//! only its threads sleep on (natively a `FUTEX_PRIVATE_FLAG` futex), [`Futex::Shared`] for a
//! word of the process tree's region that any process mapping it may sleep on (natively a
//! futex keyed by the page; in the browser `Atomics.wait` on the region's `SharedArrayBuffer`).
//! The scope carries the word because the two are different types where the memories differ
//! (in the browser a shared word is a proxy for an offset of a buffer outside the module's
//! memory), so a word cannot be waited on in the wrong scope. Above `sys`, the
//! `sync::Word` implementations pick the scope: the thread family's words are private, the
//! process family's shared.
//!
//! Backends, exactly one of which is compiled:
//! - `native`: Linux futexes (`FUTEX_PRIVATE_FLAG` for threads), `clock_gettime`, `std::thread`.
//! - `web`: `memory.atomic.wait32`/`notify` inside workers, `Atomics.waitAsync` on any thread,
//!   `performance.timeOrigin + performance.now()`, and Web Workers that share the module's memory.
//! - `loom` (under `--cfg amphi_loom`): a futex emulated on a loom `Condvar`, for model checking.
//!
//! Nothing outside this module names a target, `libc`, `js_sys` or `web_sys`.

use crate::sync::atomic::AtomicU32;
use crate::time::Deadline;
use crate::Error;

mod process;
mod shared;
mod socket;
mod thread_id;
#[cfg(feature = "trace")]
pub(crate) mod trace_files;
pub(crate) use process::{
    code_address, code_ref, current_pid, exit_process, inherited, set_inherited, spawn_process,
    ChildExit, ChildHandle, ChildReport, ProcessEntry, ProcessStart, ProcessWatch, Signal,
    PROCESS_RUNNING,
};
pub(crate) use shared::{
    atomics as region_atomics, map_region, pid_alive, process_start_time, random_u64,
    region_read_bytes, region_write_bytes, set_region_size, wait_shared_async, REGION_SIZE_LIMITS,
};
pub(crate) use socket::{fill_random, Endpoint, SocketListener, SocketStream};
pub(crate) use thread_id::{
    is_main_thread, main_thread_native_id, native_thread_id, ChildStart, CHILD_START,
};

#[cfg(all(not(target_arch = "wasm32"), not(amphi_loom)))]
#[path = "native/mod.rs"]
mod backend;

#[cfg(amphi_loom)]
#[path = "loom/mod.rs"]
mod backend;

#[cfg(target_arch = "wasm32")]
#[path = "web/mod.rs"]
mod backend;

#[cfg(all(not(target_arch = "wasm32"), not(target_os = "linux")))]
compile_error!("amphi's native backend currently supports Linux (futex) only");

pub(crate) use backend::{can_block, now, sleep, spawn, wait_async};

#[cfg(all(feature = "redis", target_arch = "wasm32"))]
compile_error!(
    "the `redis` feature (the process Pool and Executor over Redis) is native only: \
     build it for a native target, or leave the feature off for wasm32"
);

#[cfg(all(feature = "redis", amphi_loom))]
compile_error!("the `redis` feature is not built under loom: leave it off for the loom models");

/// The pools over Redis: the executable's file, whose digest is the build identity.
#[cfg(feature = "redis")]
pub(crate) use backend::redis_worker::executable_file;

/// A word to sleep on, with its scope: who may sleep on it and wake its sleepers (see the
/// module docs).
#[derive(Clone, Copy)]
pub(crate) enum Futex<'a> {
    /// A word of this process's (module's) memory, slept on by its threads only.
    Private(&'a AtomicU32),
    /// A word of the process tree's shared region, slept on by any process that maps it.
    // Under loom no region exists, and the backend never reads a shared word.
    #[cfg_attr(amphi_loom, allow(dead_code))]
    Shared(&'a region_atomics::AtomicU32),
}

/// How many sleepers a [`wake`] wakes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wake {
    /// One sleeper (and, for a private word, every future waiting on it, which re-check).
    One,
    /// Every sleeper.
    All,
}

/// Sleeps while the word holds `expected`, until `deadline`: the one futex wait.
///
/// [`Error::Timeout`], without sleeping, if the deadline has already passed. Otherwise `Ok`
/// once woken, once the word no longer holds `expected`, on a spurious wake-up, or once the
/// deadline passes while asleep: the caller re-checks its state and calls again, and that
/// call reports the timeout. Callers check [`can_block`] first (a blocking wait traps on the
/// browser's main thread).
#[inline]
pub(crate) fn wait(futex: Futex<'_>, expected: u32, deadline: Deadline) -> Result<(), Error> {
    let timeout = deadline.remaining()?;
    backend::wait(futex, expected, timeout);
    Ok(())
}

/// Wakes sleepers of the word: the one futex wake.
#[inline]
pub(crate) fn wake(futex: Futex<'_>, count: Wake) {
    backend::wake(futex, count);
}

/// Whether a single wake-up of a word can be lost to a waiter that no longer listens: in the
/// browser a dropped future's `Atomics.waitAsync` stays among the word's waiters until it is
/// notified, so `wake_one` may wake nobody who cares. Callers that count their sleepers wake
/// them all there.
pub(crate) const WAKE_ONE_CAN_BE_SWALLOWED: bool = cfg!(target_arch = "wasm32");

/// A thread's exit as the platform sees it: the word a spawned thread's watcher exposes.
///
/// The word is [`THREAD_RUNNING`] while the thread runs. The thread's own code moves it to
/// [`THREAD_EXITED`] when its closure has returned. When the platform loses the thread before
/// that (a browser worker that trapped or failed to load), the platform moves it to
/// [`THREAD_LOST`] and wakes every waiter of the word.
// Natively a thread is never lost (panics unwind), so only the web backend reads the watch.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
pub(crate) trait ThreadWatch: Send + Sync + 'static {
    /// The exit word described above.
    fn exit_word(&self) -> &AtomicU32;
    /// Records why the thread died without finishing. Called before the word becomes
    /// [`THREAD_LOST`], possibly more than once (the first record wins); never called when the
    /// platform could not run Rust code (then the word alone says the thread was lost).
    fn lost(&self, reason: String);
}

/// The exit word's value while the thread runs.
pub(crate) const THREAD_RUNNING: u32 = 0;
/// The exit word's value once the closure returned (or, natively, unwound).
pub(crate) const THREAD_EXITED: u32 = 1;
/// The exit word's value when the platform lost the thread (a trap or a worker that never ran).
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
pub(crate) const THREAD_LOST: u32 = 2;
