//! [`RLock`]: Python's `threading.RLock`, over the engine [`RawRLock`](crate::sync::RawRLock)
//! with a thread lock inside and the owner as a thread token.

use crate::sync::atomic::{AtomicU32, Ordering};
use crate::sync::{AsyncInnerLock, InnerLock, OwnerCell, RawRLock};
use crate::thread::current_token;
use crate::time::Deadline;
use crate::{Error, Lock};
use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

/// The owner of a thread [`RLock`]: the holding thread's token, or `NO_OWNER`.
pub(crate) struct ThreadOwner(AtomicU32);

const NO_OWNER: u32 = 0;

impl OwnerCell for ThreadOwner {
    fn names_caller(&self) -> bool {
        self.0.load(Ordering::Relaxed) == current_token()
    }
    fn set_to_caller(&self) {
        self.0.store(current_token(), Ordering::Relaxed);
    }
    fn clear(&self) {
        self.0.store(NO_OWNER, Ordering::Relaxed);
    }
}

/// A re-entrant lock, as Python's `threading.RLock`: the thread that holds it may acquire it
/// again, and must release it as many times. Only the owner may release it.
///
/// # Examples
///
/// ```
/// let lock = amphi::RLock::new();
/// let outer = lock.acquire()?;
/// let inner = lock.acquire()?; // the owner may take it again
/// assert_eq!(lock.depth(), 2);
/// drop(inner);
/// drop(outer);
/// assert!(!lock.locked());
/// # Ok::<(), amphi::Error>(())
/// ```
pub struct RLock {
    raw: RawRLock<Lock, ThreadOwner, AtomicU32>,
}

impl RLock {
    /// A new, unlocked re-entrant lock.
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = amphi::RLock::new();
    /// assert!(!lock.locked());
    /// assert_eq!(lock.depth(), 0);
    /// ```
    pub fn new() -> RLock {
        RLock {
            raw: RawRLock::from_parts(
                Lock::new(),
                ThreadOwner(AtomicU32::new(NO_OWNER)),
                AtomicU32::new(0),
            ),
        }
    }

    /// Acquires the lock (again, if the caller owns it), sleeping as long as it takes.
    ///
    /// Returns [`Error::WouldBlock`] on a thread that may not block (the browser's main thread).
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = amphi::RLock::new();
    /// let outer = lock.acquire()?;
    /// let inner = lock.acquire()?; // re-entering does not deadlock
    /// assert_eq!(lock.depth(), 2);
    /// drop((inner, outer));
    /// assert!(!lock.locked());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn acquire(&self) -> Result<RLockGuard<'_>, Error> {
        self.raw.acquire()?;
        Ok(RLockGuard::new(self))
    }

    /// Acquires the lock, or returns [`Error::Timeout`] once `timeout` has passed.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let lock = std::sync::Arc::new(amphi::RLock::new());
    /// let _held = lock.acquire()?;
    /// let other = lock.clone();
    /// let attempt = amphi::Thread::spawn(move || {
    ///     other.acquire_timeout(Duration::from_millis(5)).map(drop)
    /// })?;
    /// assert_eq!(attempt.join()?, Err(amphi::Error::Timeout));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<RLockGuard<'_>, Error> {
        self.acquire_until(Deadline::after(timeout))
    }

    fn acquire_until(&self, deadline: Deadline) -> Result<RLockGuard<'_>, Error> {
        self.raw.acquire_until(deadline)?;
        Ok(RLockGuard::new(self))
    }

    /// Acquires the lock if the caller owns it or it is free right now. Never blocks.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let lock = Arc::new(amphi::RLock::new());
    /// let _outer = lock.try_acquire().expect("free");
    /// assert!(lock.try_acquire().is_some(), "the owner may take it again");
    /// let other = lock.clone();
    /// let stranger = amphi::Thread::spawn(move || other.try_acquire().is_some())?;
    /// assert!(!stranger.join()?, "another thread may not");
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn try_acquire(&self) -> Option<RLockGuard<'_>> {
        self.raw.try_acquire().then(|| RLockGuard::new(self))
    }

    /// Acquires the lock without blocking the thread. Works on the browser's main thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = amphi::RLock::new();
    /// let held = futures_executor::block_on(lock.acquire_async());
    /// assert!(lock.is_owned());
    /// drop(held);
    /// ```
    pub async fn acquire_async(&self) -> RLockGuard<'_> {
        self.raw.acquire_async().await;
        RLockGuard::new(self)
    }

    /// Releases one level of ownership, as Python's `RLock.release()`: for a lock held without
    /// a guard (see [`RLockGuard::leak`]). [`Error::NotOwner`] if the caller does not hold it.
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = amphi::RLock::new();
    /// lock.acquire()?.leak();
    /// lock.release()?;
    /// assert_eq!(lock.release(), Err(amphi::Error::NotOwner));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn release(&self) -> Result<(), Error> {
        self.raw.release()
    }

    /// Whether the calling thread holds this lock (Python's `_is_owned`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let lock = Arc::new(amphi::RLock::new());
    /// let _held = lock.acquire()?;
    /// assert!(lock.is_owned());
    /// let other = lock.clone();
    /// let stranger = amphi::Thread::spawn(move || other.is_owned())?;
    /// assert!(!stranger.join()?);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn is_owned(&self) -> bool {
        self.raw.is_owned()
    }

    /// Whether anyone holds the lock (a snapshot).
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = amphi::RLock::new();
    /// assert!(!lock.locked());
    /// let _held = lock.acquire()?;
    /// assert!(lock.locked());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn locked(&self) -> bool {
        self.raw.locked()
    }

    /// How many times the calling thread holds the lock (0 if it does not own it).
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = amphi::RLock::new();
    /// let _outer = lock.acquire()?;
    /// assert_eq!(lock.depth(), 1);
    /// let inner = lock.acquire()?;
    /// assert_eq!(lock.depth(), 2);
    /// drop(inner);
    /// assert_eq!(lock.depth(), 1);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn depth(&self) -> u32 {
        self.raw.depth()
    }

    /// The state machine, for `Condition` to release every level for a wait and restore them.
    pub(crate) fn raw(&self) -> &RawRLock<Lock, ThreadOwner, AtomicU32> {
        &self.raw
    }
}

impl Default for RLock {
    fn default() -> RLock {
        RLock::new()
    }
}

impl fmt::Debug for RLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RLock")
            .field("locked", &self.locked())
            .field("owned_by_caller", &self.is_owned())
            .finish()
    }
}

/// One level of ownership of an [`RLock`]; released when dropped. Not `Send`: only the owning
/// thread may release it.
///
/// # Examples
///
/// ```
/// let lock = amphi::RLock::new();
/// {
///     let _level = lock.acquire()?;
///     assert!(lock.is_owned());
/// }
/// assert!(!lock.locked());
/// # Ok::<(), amphi::Error>(())
/// ```
#[must_use = "the level is released as soon as the guard is dropped"]
pub struct RLockGuard<'a> {
    lock: &'a RLock,
    _owner_thread_only: PhantomData<*const ()>,
}

impl<'a> RLockGuard<'a> {
    fn new(lock: &'a RLock) -> RLockGuard<'a> {
        RLockGuard {
            lock,
            _owner_thread_only: PhantomData,
        }
    }

    /// Keeps this level held without a guard; release it with [`RLock::release`] from the
    /// same thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = amphi::RLock::new();
    /// lock.acquire()?.leak();
    /// assert_eq!(lock.depth(), 1);
    /// lock.release()?;
    /// assert!(!lock.locked());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn leak(self) {
        std::mem::forget(self);
    }
}

impl Drop for RLockGuard<'_> {
    fn drop(&mut self) {
        // The guard proves ownership on this thread (it is not Send), so this cannot fail.
        let _ = self.lock.release();
    }
}

impl fmt::Debug for RLockGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RLockGuard").finish_non_exhaustive()
    }
}

/// As a condition's lock, an `RLock` is held by its owner, and a wait releases and restores
/// every level; as a plain lock, each call is one level.
impl InnerLock for RLock {
    fn lock(&self) -> Result<(), Error> {
        self.acquire().map(RLockGuard::leak)
    }
    fn lock_until(&self, deadline: Deadline) -> Result<(), Error> {
        self.acquire_until(deadline).map(RLockGuard::leak)
    }
    fn try_lock(&self) -> bool {
        self.try_acquire().map(RLockGuard::leak).is_some()
    }
    fn unlock(&self) -> Result<(), Error> {
        self.release()
    }
    fn is_locked(&self) -> bool {
        self.locked()
    }
    fn caller_may_wait(&self) -> bool {
        self.is_owned()
    }
    fn unlock_for_wait(&self) -> Result<u32, Error> {
        self.raw().release_all()
    }
    fn relock_after_wait(&self, saved: u32) -> Result<(), Error> {
        self.raw().restore(saved)
    }
}

impl AsyncInnerLock for RLock {
    async fn lock_async(&self) {
        self.acquire_async().await.leak();
    }
    async fn relock_after_wait_async(&self, saved: u32) {
        self.raw().restore_async(saved).await;
    }
}
