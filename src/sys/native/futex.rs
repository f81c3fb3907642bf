//! Futex wait and wake (Linux), on a private word or a word of the shared region.
//!
//! `FUTEX_WAIT` sleeps only if the word still equals `expected` when the kernel looks, which is
//! what makes every amphi wait loop free of lost wake-ups: a waker changes the word first and
//! wakes second, so a sleeper either sees the new value or is woken. Wake-ups may be spurious
//! (signals, `EINTR`); every caller re-checks its word in a loop.

use std::time::Duration;

use crate::sys::{Futex, Wake};

/// `duration` as the kernel's `timespec` (saturating at its largest).
pub(super) fn timespec(duration: Duration) -> libc::timespec {
    libc::timespec {
        tv_sec: duration.as_secs().min(i64::MAX as u64) as libc::time_t,
        tv_nsec: duration.subsec_nanos() as libc::c_long,
    }
}

/// Sleeps while the word holds `expected`, for at most `timeout`. Returns `false` only when
/// the timeout elapsed; `true` for a wake-up, a changed word, or a spurious return. A private
/// word is a `FUTEX_PRIVATE_FLAG` futex; a shared one is keyed by the kernel by its page, not by
/// this process's address space, so every process that maps the region meets on it.
pub(crate) fn wait(futex: Futex<'_>, expected: u32, timeout: Option<Duration>) -> bool {
    let (word, op) = match futex {
        Futex::Private(word) => (word, libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG),
        Futex::Shared(word) => (word, libc::FUTEX_WAIT),
    };
    let ts = timeout.map(timespec);
    let ts_ptr = ts
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: `word` is a live, aligned 32-bit atomic for the duration of the call; the kernel
    // only reads it. `ts_ptr` is null or points at a timespec that outlives the call.
    let rc = unsafe { libc::syscall(libc::SYS_futex, word.as_ptr(), op, expected, ts_ptr) };
    !(rc == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ETIMEDOUT))
}

/// Wakes one or every thread sleeping on the word. A private word's futures (registered with
/// `async_wait`) are all woken and re-check; a shared word's are woken through the kernel
/// (the watcher thread of `shared_wait` sleeps on the word itself).
pub(crate) fn wake(futex: Futex<'_>, count: Wake) {
    let count = match count {
        Wake::One => 1,
        Wake::All => i32::MAX,
    };
    let (word, op) = match futex {
        Futex::Private(word) => (word, libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG),
        Futex::Shared(word) => (word, libc::FUTEX_WAKE),
    };
    // SAFETY: FUTEX_WAKE only uses the address as a key; `word` is live for the call.
    unsafe {
        libc::syscall(libc::SYS_futex, word.as_ptr(), op, count);
    }
    if let Futex::Private(word) = futex {
        super::async_wait::wake_async(word);
    }
}
