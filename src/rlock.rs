//! [`RLock`]: Python's `threading.RLock`, a lock its owner may take again.
//!
//! # State machine
//!
//! An inner [`Lock`] plus two words: `owner`, the token of the holding thread (0 when free),
//! and `depth`, how many times the owner holds it. Only the owner writes `depth`; `owner` is
//! written by the thread that just took the inner lock (to its own token) and by the owner on
//! its last release (to 0), so a thread reading its own token there knows it is the owner.
//!
//! A thread's token is a non-zero number unique among live amphi threads of the process
//! (`crate::thread::current_token`).
//!
//! # Memory ordering
//!
//! The inner lock orders the critical sections. `owner` and `depth` are `Relaxed`: a thread only
//! ever compares `owner` with its own token, and the only write of its token was its own.

use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

use crate::atomic::{AtomicU32, Ordering};
use crate::thread::current_token;
use crate::{Error, Lock};

const NO_OWNER: u32 = 0;

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
    lock: Lock,
    /// The owner's token, or `NO_OWNER`.
    owner: AtomicU32,
    /// How many times the owner holds the lock; written by the owner only.
    depth: AtomicU32,
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
            lock: Lock::new(),
            owner: AtomicU32::new(NO_OWNER),
            depth: AtomicU32::new(0),
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
        self.acquire_with(|| self.lock.acquire().map(|guard| guard.leak()))
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
        self.acquire_with(|| self.lock.acquire_timeout(timeout).map(|guard| guard.leak()))
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
        self.acquire_with(|| {
            self.lock
                .try_acquire()
                .map(|guard| guard.leak())
                .ok_or(Error::Timeout)
        })
        .ok()
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
        if !self.reenter() {
            self.lock.acquire_async().await.leak();
            self.take_ownership(1);
        }
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
        if !self.is_owned() {
            return Err(Error::NotOwner);
        }
        let depth = self.depth.load(Ordering::Relaxed) - 1;
        self.depth.store(depth, Ordering::Relaxed);
        if depth == 0 {
            self.owner.store(NO_OWNER, Ordering::Relaxed);
            self.lock.release()?;
        }
        Ok(())
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
        self.owner.load(Ordering::Relaxed) == current_token()
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
        self.lock.locked()
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
        if self.is_owned() {
            self.depth.load(Ordering::Relaxed)
        } else {
            0
        }
    }

    /// Releases every level the owner holds and returns how many, for `Condition::wait`.
    pub(crate) fn release_all(&self) -> Result<u32, Error> {
        if !self.is_owned() {
            return Err(Error::NotOwner);
        }
        let depth = self.depth.swap(0, Ordering::Relaxed);
        self.owner.store(NO_OWNER, Ordering::Relaxed);
        self.lock.release()?;
        Ok(depth)
    }

    /// Makes the caller the owner at `depth` once it holds the inner lock.
    pub(crate) fn take_ownership(&self, depth: u32) {
        self.owner.store(current_token(), Ordering::Relaxed);
        self.depth.store(depth, Ordering::Relaxed);
    }

    /// The inner lock, for `Condition` to re-acquire after a wait.
    pub(crate) fn inner(&self) -> &Lock {
        &self.lock
    }

    /// Takes one more level if the caller already owns the lock.
    fn reenter(&self) -> bool {
        if !self.is_owned() {
            return false;
        }
        let depth = self.depth.load(Ordering::Relaxed);
        self.depth.store(depth.saturating_add(1), Ordering::Relaxed);
        true
    }

    fn acquire_with(
        &self,
        take_inner: impl FnOnce() -> Result<(), Error>,
    ) -> Result<RLockGuard<'_>, Error> {
        if !self.reenter() {
            take_inner()?;
            self.take_ownership(1);
        }
        Ok(RLockGuard::new(self))
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
