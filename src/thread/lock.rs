//! [`Lock`]: Python's `threading.Lock`, over the engine [`RawLock`](crate::sync::RawLock) on an
//! ordinary atomic word.

use crate::sync::atomic::AtomicU32;
use crate::sync::{AsyncInnerLock, InnerLock, RawLock, UNLOCKED};
use crate::time::Deadline;
use crate::Error;
use std::fmt;
use std::time::Duration;

/// A mutual-exclusion lock, as Python's `threading.Lock`.
///
/// Unlike `std::sync::Mutex`, the lock guards no data of its own and is not tied to the thread
/// that acquired it: any thread may [`release`](Lock::release) it, as in Python. The usual way
/// to hold it is the [`LockGuard`] returned by the acquiring calls, which releases on drop.
///
/// Every blocking call comes in four forms: [`acquire`](Lock::acquire),
/// [`try_acquire`](Lock::try_acquire), [`acquire_timeout`](Lock::acquire_timeout) and
/// [`acquire_async`](Lock::acquire_async). On the browser's main thread the blocking forms
/// return [`Error::WouldBlock`]; the async and `try_` forms work everywhere.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use amphi::{Lock, Thread};
///
/// let lock = Arc::new(Lock::new());
/// let worker = {
///     let lock = Arc::clone(&lock);
///     Thread::spawn(move || {
///         let _held = lock.acquire().unwrap();
///         // ... critical section ...
///     })?
/// };
/// worker.join()?;
/// assert!(!lock.locked());
/// # Ok::<(), amphi::Error>(())
/// ```
pub struct Lock {
    raw: RawLock<AtomicU32>,
}

impl Lock {
    /// A new, unlocked lock.
    ///
    /// # Examples
    ///
    /// ```
    /// static LOCK: amphi::Lock = amphi::Lock::new();
    /// assert!(!LOCK.locked());
    /// ```
    #[cfg(not(amphi_loom))]
    pub const fn new() -> Lock {
        Lock {
            raw: RawLock::from_word(AtomicU32::new(UNLOCKED)),
        }
    }

    /// A new, unlocked lock (loom's atomics cannot be built in a `const fn`).
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = amphi::Lock::new();
    /// assert!(!lock.locked());
    /// ```
    #[cfg(amphi_loom)]
    pub fn new() -> Lock {
        Lock {
            raw: RawLock::from_word(AtomicU32::new(UNLOCKED)),
        }
    }

    /// Acquires the lock, sleeping as long as it takes.
    ///
    /// Returns [`Error::WouldBlock`] on a thread that may not block (the browser's main thread),
    /// whether or not the lock is free, so code behaves the same under any contention.
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = amphi::Lock::new();
    /// let guard = lock.acquire()?;
    /// assert!(lock.locked());
    /// drop(guard);
    /// assert!(!lock.locked());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    #[inline]
    pub fn acquire(&self) -> Result<LockGuard<'_>, Error> {
        self.raw.lock_until(Deadline::NEVER)?;
        Ok(LockGuard { lock: self })
    }

    /// Acquires the lock, or returns [`Error::Timeout`] once `timeout` has passed.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let lock = amphi::Lock::new();
    /// let _held = lock.acquire()?;
    /// let again = lock.acquire_timeout(Duration::from_millis(10));
    /// assert_eq!(again.unwrap_err(), amphi::Error::Timeout);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<LockGuard<'_>, Error> {
        self.acquire_until(Deadline::after(timeout))
    }

    fn acquire_until(&self, deadline: Deadline) -> Result<LockGuard<'_>, Error> {
        self.raw.lock_until(deadline)?;
        Ok(LockGuard { lock: self })
    }

    /// Acquires the lock if it is free right now. Never blocks; works on every thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = amphi::Lock::new();
    /// let first = lock.try_acquire();
    /// assert!(first.is_some());
    /// assert!(lock.try_acquire().is_none());
    /// ```
    #[inline]
    pub fn try_acquire(&self) -> Option<LockGuard<'_>> {
        self.raw.try_lock().then(|| LockGuard { lock: self })
    }

    /// Acquires the lock without blocking the thread: the future completes once the lock is
    /// held. Works on the browser's main thread (backed by `Atomics.waitAsync`).
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = amphi::Lock::new();
    /// let guard = futures_executor::block_on(lock.acquire_async());
    /// assert!(lock.locked());
    /// drop(guard);
    /// ```
    pub async fn acquire_async(&self) -> LockGuard<'_> {
        self.raw.lock_async().await;
        LockGuard { lock: self }
    }

    /// Releases the lock, from any thread, as Python's `Lock.release()`.
    ///
    /// Use it for a lock held without a guard (see [`LockGuard::leak`]). Releasing a lock that
    /// is not held returns [`Error::NotLocked`] and leaves it unlocked.
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = amphi::Lock::new();
    /// lock.acquire()?.leak();
    /// assert!(lock.locked());
    /// lock.release()?;
    /// assert_eq!(lock.release(), Err(amphi::Error::NotLocked));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn release(&self) -> Result<(), Error> {
        self.raw.release()
    }

    /// Whether the lock is held by anyone right now (a snapshot).
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = amphi::Lock::new();
    /// assert!(!lock.locked());
    /// ```
    #[inline]
    pub fn locked(&self) -> bool {
        self.raw.locked()
    }
}

impl Default for Lock {
    fn default() -> Lock {
        Lock::new()
    }
}

impl fmt::Debug for Lock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lock")
            .field("locked", &self.locked())
            .finish()
    }
}

/// Proof that a [`Lock`] is held; releases it when dropped.
///
/// # Examples
///
/// ```
/// let lock = amphi::Lock::new();
/// {
///     let _guard = lock.acquire()?;
///     assert!(lock.locked());
/// }
/// assert!(!lock.locked());
/// # Ok::<(), amphi::Error>(())
/// ```
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct LockGuard<'a> {
    lock: &'a Lock,
}

impl LockGuard<'_> {
    /// Keeps the lock held without a guard; release it later with [`Lock::release`], from any
    /// thread, as in Python.
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = amphi::Lock::new();
    /// lock.acquire()?.leak();
    /// assert!(lock.locked());
    /// lock.release()?;
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn leak(self) {
        std::mem::forget(self);
    }
}

impl Drop for LockGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        self.lock.raw.unlock();
    }
}

impl fmt::Debug for LockGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockGuard").finish_non_exhaustive()
    }
}

/// The engines built on a lock (an `RLock`, a `Condition`) take and release it through this.
impl InnerLock for Lock {
    fn lock(&self) -> Result<(), Error> {
        self.acquire().map(LockGuard::leak)
    }
    fn lock_until(&self, deadline: Deadline) -> Result<(), Error> {
        self.acquire_until(deadline).map(LockGuard::leak)
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
