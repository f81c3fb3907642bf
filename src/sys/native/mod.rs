//! Native backend: Linux futexes, the monotonic clock, and `std::thread`.
//!
//! Sub-modules:
//! - `futex`: `wait` and `wake`, on private futexes and on shared ones (words of the region).
//! - `async_wait`: `wait_async`, a futex-free waker registry for futures.
//! - `shared_wait`: `wait_shared_async`, futures woken from other processes (a watcher thread
//!   in `futex_waitv`).
//! - `process`: child processes (re-executions of this binary), with `child` (the child's
//!   side, before `main`), `reaper` (the thread that starts, feeds and reaps children) and
//!   `frame` (the bytes they exchange).
//! - `shm`: the process tree's shared-memory region (an anonymous `memfd`).
//! - `socket`: Unix and TCP stream sockets between unrelated processes, and random bytes.
//! - `redis_worker` (feature `redis`): the executable's file for the build identity, and
//!   worker mode by environment for the pools over Redis.

mod async_wait;
mod child;
mod frame;
mod futex;
pub(crate) mod process;
mod reaper;
#[cfg(feature = "redis")]
pub(crate) mod redis_worker;
mod shared_wait;
pub(crate) mod shm;
pub(crate) mod socket;

use std::time::Duration;

pub(crate) use async_wait::wait_async;
pub(crate) use futex::{wait, wake};
pub(crate) use shared_wait::wait_shared_async;

use super::ThreadWatch;
use std::sync::Arc;

/// Native threads may always block.
#[inline]
pub(crate) fn can_block() -> bool {
    true
}

/// Time since an arbitrary fixed point, from `CLOCK_MONOTONIC` (shared by every thread and
/// every process on the machine).
pub(crate) fn now() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC always exists on Linux.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    debug_assert_eq!(rc, 0);
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Sleeps the calling thread.
pub(crate) fn sleep(duration: Duration) {
    std::thread::sleep(duration);
}

/// Starts an OS thread named `name` running `body`.
///
/// Native threads are never lost: a panic unwinds into the caller's `catch_unwind` inside
/// `body`, so `watch` is not needed here beyond keeping the signature shared with the web.
pub(crate) fn spawn(
    name: &str,
    body: Box<dyn FnOnce() + Send>,
    watch: Arc<dyn ThreadWatch>,
) -> Result<(), String> {
    let builder = std::thread::Builder::new().name(name.to_owned());
    match builder.spawn(body) {
        Ok(_detached) => Ok(()),
        Err(err) => {
            drop(watch);
            Err(format!("the OS refused a new thread: {err}"))
        }
    }
}
