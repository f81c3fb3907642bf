//! [`RLock`]: Python's `threading.RLock`, a lock its owner may take again; and [`RawRLock`], its
//! state machine, written once for the thread and the process families.
//!
//! # State machine
//!
//! An inner lock plus two cells: the owner (the holding thread's identity, none when free) and
//! the depth (how many times the owner holds it). Only the owner writes the depth; the owner
//! cell is written by the thread that just took the inner lock (to its own identity) and by the
//! owner on its last release (to none), so a thread reading its own identity there knows it is
//! the owner. A condition's wait releases every level at once ([`RawRLock::release_all`]) and
//! restores them afterwards ([`RawRLock::restore`]).
//!
//! [`RawRLock`] is generic over the inner lock ([`InnerLock`]: the thread [`Lock`] here, the
//! process lock in `process::shared::rlock`) and over where the owner and the depth live
//! ([`OwnerCell`], [`DepthCell`]). Here the owner is the thread's token in an `AtomicU32`: a
//! non-zero number unique among live amphi threads of the process
//! (`crate::thread::current_token`); the process family stores `pid << 32 | token` in one
//! 64-bit word of the shared region.
//!
//! # Memory ordering
//!
//! The inner lock orders the critical sections. The owner and depth cells are `Relaxed`: a
//! thread only ever compares the owner with its own identity, and the only write of its
//! identity was its own.

use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

use crate::atomic::{AtomicU32, Ordering};
use crate::thread::current_token;
use crate::{Error, Lock, LockGuard};

/// The lock under a [`RawRLock`]: taken once by the first level, released by the last.
pub(crate) trait InnerLock {
    /// Takes the lock, sleeping as long as it takes.
    fn lock(&self) -> Result<(), Error>;
    /// Takes the lock, or [`Error::Timeout`] once `timeout` has passed.
    fn lock_timeout(&self, timeout: Duration) -> Result<(), Error>;
    /// Takes the lock if it is free right now.
    fn try_lock(&self) -> bool;
    /// Releases the lock.
    fn unlock(&self) -> Result<(), Error>;
    /// Whether anyone holds the lock (a snapshot).
    fn is_locked(&self) -> bool;
}

/// An [`InnerLock`] that can also be taken without blocking the thread.
pub(crate) trait AsyncInnerLock: InnerLock {
    /// Takes the lock without blocking the thread.
    async fn lock_async(&self);
}

/// Where a [`RawRLock`] records its owner: the calling thread's identity, or none.
pub(crate) trait OwnerCell {
    /// Whether the cell names the calling thread.
    fn names_caller(&self) -> bool;
    /// Records the calling thread as the owner.
    fn set_to_caller(&self);
    /// Records that nobody owns the lock.
    fn clear(&self);
}

/// Where a [`RawRLock`] keeps its depth; written by the owner only.
pub(crate) trait DepthCell {
    /// The depth.
    fn get(&self) -> u32;
    /// Sets the depth.
    fn set(&self, depth: u32);
}

/// The re-entrant lock's state machine (see the module docs).
pub(crate) struct RawRLock<L, O, D> {
    lock: L,
    owner: O,
    depth: D,
}

impl<L: InnerLock, O: OwnerCell, D: DepthCell> RawRLock<L, O, D> {
    /// A re-entrant lock over `lock` (which must be free), with a clear owner and a zero depth.
    pub(crate) const fn from_parts(lock: L, owner: O, depth: D) -> RawRLock<L, O, D> {
        RawRLock { lock, owner, depth }
    }

    /// Acquires one level, sleeping for the inner lock as long as it takes.
    pub(crate) fn acquire(&self) -> Result<(), Error> {
        self.acquire_with(L::lock)
    }

    /// Acquires one level, or [`Error::Timeout`] once `timeout` has passed.
    pub(crate) fn acquire_timeout(&self, timeout: Duration) -> Result<(), Error> {
        self.acquire_with(|lock| lock.lock_timeout(timeout))
    }

    /// Acquires one level if the caller owns the lock or it is free right now.
    pub(crate) fn try_acquire(&self) -> bool {
        self.acquire_with(|lock| lock.try_lock().then_some(()).ok_or(Error::Timeout))
            .is_ok()
    }

    /// Acquires one level without blocking the thread.
    pub(crate) async fn acquire_async(&self)
    where
        L: AsyncInnerLock,
    {
        if !self.reenter() {
            self.lock.lock_async().await;
            self.take_ownership(1);
        }
    }

    /// Releases one level; [`Error::NotOwner`] if the caller does not hold the lock.
    pub(crate) fn release(&self) -> Result<(), Error> {
        if !self.is_owned() {
            return Err(Error::NotOwner);
        }
        let depth = self.depth.get().saturating_sub(1);
        self.depth.set(depth);
        if depth == 0 {
            self.owner.clear();
            self.lock.unlock()?;
        }
        Ok(())
    }

    /// Releases every level the caller holds and returns how many (for a condition's wait);
    /// [`Error::NotOwner`] if the caller does not hold the lock.
    pub(crate) fn release_all(&self) -> Result<u32, Error> {
        if !self.is_owned() {
            return Err(Error::NotOwner);
        }
        let depth = self.depth.get();
        self.depth.set(0);
        self.owner.clear();
        self.lock.unlock()?;
        Ok(depth)
    }

    /// Takes the inner lock again and restores the `depth` levels that
    /// [`release_all`](Self::release_all) returned.
    pub(crate) fn restore(&self, depth: u32) -> Result<(), Error> {
        self.lock.lock()?;
        self.take_ownership(depth);
        Ok(())
    }

    /// The same without blocking the thread.
    pub(crate) async fn restore_async(&self, depth: u32)
    where
        L: AsyncInnerLock,
    {
        self.lock.lock_async().await;
        self.take_ownership(depth);
    }

    /// Whether the calling thread holds the lock.
    pub(crate) fn is_owned(&self) -> bool {
        self.owner.names_caller()
    }

    /// Whether anyone holds the lock (a snapshot).
    pub(crate) fn locked(&self) -> bool {
        self.lock.is_locked()
    }

    /// How many times the calling thread holds the lock (0 if it does not own it).
    pub(crate) fn depth(&self) -> u32 {
        if self.is_owned() {
            self.depth.get()
        } else {
            0
        }
    }

    /// Makes the caller the owner at `depth` once it holds the inner lock.
    fn take_ownership(&self, depth: u32) {
        self.owner.set_to_caller();
        self.depth.set(depth);
    }

    /// Takes one more level if the caller already owns the lock.
    fn reenter(&self) -> bool {
        if !self.is_owned() {
            return false;
        }
        self.depth.set(self.depth.get().saturating_add(1));
        true
    }

    fn acquire_with(&self, take_inner: impl FnOnce(&L) -> Result<(), Error>) -> Result<(), Error> {
        if !self.reenter() {
            take_inner(&self.lock)?;
            self.take_ownership(1);
        }
        Ok(())
    }
}

impl InnerLock for Lock {
    fn lock(&self) -> Result<(), Error> {
        self.acquire().map(LockGuard::leak)
    }
    fn lock_timeout(&self, timeout: Duration) -> Result<(), Error> {
        self.acquire_timeout(timeout).map(LockGuard::leak)
    }
    fn try_lock(&self) -> bool {
        self.try_acquire().map(LockGuard::leak).is_some()
    }
    fn unlock(&self) -> Result<(), Error> {
        self.release()
    }
    fn is_locked(&self) -> bool {
        self.locked()
    }
}

impl AsyncInnerLock for Lock {
    async fn lock_async(&self) {
        self.acquire_async().await.leak();
    }
}

/// A thread family's depth: an ordinary atomic.
impl DepthCell for AtomicU32 {
    fn get(&self) -> u32 {
        self.load(Ordering::Relaxed)
    }
    fn set(&self, depth: u32) {
        self.store(depth, Ordering::Relaxed);
    }
}

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
        self.raw.acquire_timeout(timeout)?;
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
