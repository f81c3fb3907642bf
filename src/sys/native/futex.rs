//! Private futex wait and wake (Linux).
//!
//! `FUTEX_WAIT` sleeps only if the word still equals `expected` when the kernel looks, which is
//! what makes every amphi wait loop free of lost wake-ups: a waker changes the word first and
//! wakes second, so a sleeper either sees the new value or is woken. Wake-ups may be spurious
//! (signals, `EINTR`); every caller re-checks its word in a loop.

use std::sync::atomic::AtomicU32;
use std::time::Duration;

/// `duration` as the kernel's `timespec` (saturating at its largest).
pub(super) fn timespec(duration: Duration) -> libc::timespec {
    libc::timespec {
        tv_sec: duration.as_secs().min(i64::MAX as u64) as libc::time_t,
        tv_nsec: duration.subsec_nanos() as libc::c_long,
    }
}

/// Sleeps while `*word == expected`, for at most `timeout`. Returns `false` only when the
/// timeout elapsed; `true` for a wake-up, a changed word, or a spurious return.
pub(crate) fn wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) -> bool {
    let ts = timeout.map(timespec);
    let ts_ptr = ts
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: `word` is a live, aligned 32-bit atomic for the duration of the call; the kernel
    // only reads it. `ts_ptr` is null or points at a timespec that outlives the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
            expected,
            ts_ptr,
        )
    };
    !(rc == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ETIMEDOUT))
}

fn wake(word: &AtomicU32, count: i32) {
    // SAFETY: FUTEX_WAKE only uses the address as a key; `word` is live for the call.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
            count,
        );
    }
    super::async_wait::wake_async(word);
}

/// Wakes one thread sleeping on `word` (and every future waiting on it, which re-check).
pub(crate) fn wake_one(word: &AtomicU32) {
    wake(word, 1);
}

/// Wakes every thread and future waiting on `word`.
pub(crate) fn wake_all(word: &AtomicU32) {
    wake(word, i32::MAX);
}

/// Sleeps while `*word == expected`, like [`wait`], on a word that other processes may map
/// (a shared futex: no `FUTEX_PRIVATE_FLAG`, so the kernel keys it by the page, not by this
/// process's address space).
pub(crate) fn wait_shared(word: &AtomicU32, expected: u32, timeout: Option<Duration>) -> bool {
    let ts = timeout.map(timespec);
    let ts_ptr = ts
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: `word` is a live, aligned 32-bit atomic for the duration of the call; the kernel
    // only reads it. `ts_ptr` is null or points at a timespec that outlives the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT,
            expected,
            ts_ptr,
        )
    };
    !(rc == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ETIMEDOUT))
}

/// Wakes at most `count` sleepers of a shared word, in any process that maps it.
pub(crate) fn wake_shared(word: &AtomicU32, count: i32) {
    // SAFETY: FUTEX_WAKE only uses the address as a key; `word` is live for the call.
    unsafe {
        libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE, count);
    }
}
