//! Locking a `std::sync::Mutex` by spinning, for tiny internal critical sections that may be
//! entered from the browser's main thread, where sleeping on a contended mutex would trap.

use std::sync::{Mutex, MutexGuard, TryLockError};

use super::Backoff;

/// Locks `mutex` by spinning on `try_lock` (poison is ignored: amphi never panics while holding
/// one of these). Only for critical sections of a few instructions; waits with
/// [`Backoff::pause`].
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    let mut backoff = Backoff::new();
    loop {
        match mutex.try_lock() {
            Ok(guard) => return guard,
            Err(TryLockError::Poisoned(poison)) => return poison.into_inner(),
            Err(TryLockError::WouldBlock) => backoff.pause(),
        }
    }
}
