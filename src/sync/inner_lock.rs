//! [`InnerLock`] and [`AsyncInnerLock`]: what the engines built on a lock need from it.
//!
//! [`RawRLock`](super::RawRLock) takes its inner lock once for the first level and releases it
//! with the last; [`RawCondition`](super::RawCondition) releases its lock fully for a wait and
//! restores it afterwards. Both ask the same trait, implemented by the thread and the process
//! `Lock` and `RLock` in their families. A plain lock has no owner: as in CPython, "held" means
//! "held by someone", and a wait releases and restores one level, which is what the provided
//! methods do; an `RLock` overrides them to be held by its owner and to release and restore
//! every level.
//!
//! The traits are `pub` but unnameable outside the crate (this module is private), so they
//! also seal the public `ConditionLock` traits of both families.

use crate::time::Deadline;
use crate::Error;

/// A lock as the engines see it (see the module docs).
pub trait InnerLock {
    /// Takes the lock, sleeping as long as it takes.
    fn lock(&self) -> Result<(), Error>;
    /// Takes the lock, or [`Error::Timeout`] once `deadline` has passed.
    fn lock_until(&self, deadline: Deadline) -> Result<(), Error>;
    /// Takes the lock if it is free right now.
    fn try_lock(&self) -> bool;
    /// Releases the lock.
    fn unlock(&self) -> Result<(), Error>;
    /// Whether anyone holds the lock (a snapshot).
    fn is_locked(&self) -> bool;

    /// Whether the caller may wait on or notify a condition over this lock.
    fn caller_may_wait(&self) -> bool {
        self.is_locked()
    }
    /// Releases the lock fully for a condition's wait; what
    /// [`relock_after_wait`](Self::relock_after_wait) needs to restore it.
    fn unlock_for_wait(&self) -> Result<u32, Error> {
        self.unlock().map_err(|_| Error::NotOwner)?;
        Ok(1)
    }
    /// Takes the lock again after a wait, as [`unlock_for_wait`](Self::unlock_for_wait) left it.
    fn relock_after_wait(&self, _saved: u32) -> Result<(), Error> {
        self.lock()
    }
}

/// An [`InnerLock`] that can also be taken without blocking the thread.
#[allow(async_fn_in_trait)] // crate-internal (unnameable): its futures need no `Send` bound
pub trait AsyncInnerLock: InnerLock {
    /// Takes the lock without blocking the thread.
    async fn lock_async(&self);

    /// Takes the lock again after a condition's wait without blocking the thread.
    async fn relock_after_wait_async(&self, _saved: u32) {
        self.lock_async().await;
    }
}
