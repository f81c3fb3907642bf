//! [`Semaphore`] and [`BoundedSemaphore`]: Python's `threading.Semaphore` and
//! `threading.BoundedSemaphore`, over the engine [`RawSemaphore`](crate::sync::RawSemaphore) on an
//! ordinary atomic word.

use crate::sync::atomic::AtomicU32;
use crate::sync::RawSemaphore;
use crate::time::Deadline;
use crate::Error;
use std::fmt;
use std::time::Duration;

/// A counting semaphore, as Python's `threading.Semaphore`.
///
/// It holds a number of permits: [`acquire`](Semaphore::acquire) takes one, sleeping while
/// there are none, and [`release`](Semaphore::release) gives them back (any thread may release,
/// and may release more than it acquired, as in Python). The acquiring calls return a
/// [`SemaphoreGuard`] that gives its permit back on drop.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use amphi::{Semaphore, Thread};
///
/// // At most two downloads at once.
/// let slots = Arc::new(Semaphore::new(2));
/// let workers: Vec<_> = (0..4)
///     .map(|_| {
///         let slots = Arc::clone(&slots);
///         Thread::spawn(move || {
///             let _slot = slots.acquire().unwrap();
///             // ... download ...
///         })
///     })
///     .collect::<Result<_, _>>()?;
/// for worker in workers {
///     worker.join()?;
/// }
/// assert_eq!(slots.value(), 2);
/// # Ok::<(), amphi::Error>(())
/// ```
pub struct Semaphore {
    raw: RawSemaphore<AtomicU32>,
}

impl Semaphore {
    /// A semaphore with `permits` permits (Python's `Semaphore(value)`; the default is 1).
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = amphi::Semaphore::new(3);
    /// assert_eq!(sem.value(), 3);
    /// ```
    pub fn new(permits: u32) -> Semaphore {
        Semaphore {
            raw: RawSemaphore::from_words(AtomicU32::new(permits), AtomicU32::new(0)),
        }
    }

    /// Takes a permit, sleeping until one is available.
    ///
    /// Returns [`Error::WouldBlock`] on a thread that may not block (the browser's main thread).
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = amphi::Semaphore::new(1);
    /// let permit = sem.acquire()?;
    /// assert_eq!(sem.value(), 0);
    /// drop(permit);
    /// assert_eq!(sem.value(), 1);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn acquire(&self) -> Result<SemaphoreGuard<'_>, Error> {
        self.raw.take_until(Deadline::NEVER)?;
        Ok(SemaphoreGuard { semaphore: self })
    }

    /// Takes a permit, or returns [`Error::Timeout`] once `timeout` has passed.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = amphi::Semaphore::new(0);
    /// let outcome = sem.acquire_timeout(std::time::Duration::from_millis(5));
    /// assert_eq!(outcome.unwrap_err(), amphi::Error::Timeout);
    /// ```
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<SemaphoreGuard<'_>, Error> {
        self.raw.take_until(Deadline::after(timeout))?;
        Ok(SemaphoreGuard { semaphore: self })
    }

    /// Takes a permit if one is available right now. Never blocks; works on every thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = amphi::Semaphore::new(1);
    /// let first = sem.try_acquire();
    /// assert!(first.is_some());
    /// assert!(sem.try_acquire().is_none());
    /// ```
    pub fn try_acquire(&self) -> Option<SemaphoreGuard<'_>> {
        self.try_take().then(|| SemaphoreGuard { semaphore: self })
    }

    /// Takes a permit without blocking the thread: the future completes once it has one.
    /// Works on the browser's main thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = amphi::Semaphore::new(1);
    /// let permit = futures_executor::block_on(sem.acquire_async());
    /// assert_eq!(sem.value(), 0);
    /// drop(permit);
    /// ```
    pub async fn acquire_async(&self) -> SemaphoreGuard<'_> {
        self.raw.take_async().await;
        SemaphoreGuard { semaphore: self }
    }

    /// Gives back `n` permits, waking up to `n` sleepers, from any thread (Python's
    /// `release(n)`). `n` must be at least 1, and the count may not overflow `u32`.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = amphi::Semaphore::new(0);
    /// sem.release(2)?;
    /// assert_eq!(sem.value(), 2);
    /// assert!(sem.release(0).is_err());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn release(&self, n: u32) -> Result<(), Error> {
        self.release_checked(n, u32::MAX)
    }

    /// The number of permits available now (a snapshot).
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = amphi::Semaphore::new(2);
    /// let _permit = sem.acquire()?;
    /// assert_eq!(sem.value(), 1);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn value(&self) -> u32 {
        self.raw.value()
    }

    fn try_take(&self) -> bool {
        self.raw.try_take()
    }

    fn release_checked(&self, n: u32, max: u32) -> Result<(), Error> {
        self.raw.release_checked(n, max)
    }

    fn give_back_one(&self) {
        // One permit given back by a guard: it was taken from this semaphore, so it fits.
        let _ = self.raw.release_checked(1, u32::MAX);
    }
}

impl Default for Semaphore {
    /// Python's default: one permit.
    fn default() -> Semaphore {
        Semaphore::new(1)
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore")
            .field("value", &self.value())
            .finish()
    }
}

/// A permit taken from a [`Semaphore`] (or [`BoundedSemaphore`]); given back when dropped.
///
/// # Examples
///
/// ```
/// let sem = amphi::Semaphore::new(1);
/// {
///     let _permit = sem.acquire()?;
///     assert_eq!(sem.value(), 0);
/// }
/// assert_eq!(sem.value(), 1);
/// # Ok::<(), amphi::Error>(())
/// ```
#[must_use = "the permit is given back as soon as the guard is dropped"]
pub struct SemaphoreGuard<'a> {
    semaphore: &'a Semaphore,
}

impl SemaphoreGuard<'_> {
    /// Keeps the permit without a guard (Python-style); give it back with `release`.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = amphi::Semaphore::new(1);
    /// sem.acquire()?.leak();
    /// assert_eq!(sem.value(), 0);
    /// sem.release(1)?;
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn leak(self) {
        std::mem::forget(self);
    }
}

impl Drop for SemaphoreGuard<'_> {
    fn drop(&mut self) {
        self.semaphore.give_back_one();
    }
}

impl fmt::Debug for SemaphoreGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphoreGuard").finish_non_exhaustive()
    }
}

/// A semaphore that refuses to be released above its initial value, as Python's
/// `threading.BoundedSemaphore`: such a release returns [`Error::SemaphoreOverflow`] and leaves
/// the value unchanged. It catches the bug of releasing more often than acquiring.
///
/// # Examples
///
/// ```
/// let pool = amphi::BoundedSemaphore::new(2);
/// pool.acquire()?.leak();
/// pool.release(1)?;
/// assert_eq!(pool.release(1), Err(amphi::Error::SemaphoreOverflow { initial: 2 }));
/// assert_eq!(pool.value(), 2);
/// # Ok::<(), amphi::Error>(())
/// ```
pub struct BoundedSemaphore {
    inner: Semaphore,
    initial: u32,
}

impl BoundedSemaphore {
    /// A bounded semaphore with `permits` permits, which is also its maximum.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = amphi::BoundedSemaphore::new(3);
    /// assert_eq!(pool.value(), 3);
    /// assert_eq!(pool.initial(), 3);
    /// ```
    pub fn new(permits: u32) -> BoundedSemaphore {
        BoundedSemaphore {
            inner: Semaphore::new(permits),
            initial: permits,
        }
    }

    /// Takes a permit, sleeping until one is available (see [`Semaphore::acquire`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = amphi::BoundedSemaphore::new(1);
    /// let permit = pool.acquire()?;
    /// assert_eq!(pool.value(), 0);
    /// drop(permit);
    /// assert_eq!(pool.value(), 1);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn acquire(&self) -> Result<SemaphoreGuard<'_>, Error> {
        self.inner.acquire()
    }

    /// Takes a permit or returns [`Error::Timeout`] (see [`Semaphore::acquire_timeout`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = amphi::BoundedSemaphore::new(1);
    /// let _permit = pool.acquire()?;
    /// let outcome = pool.acquire_timeout(Duration::from_millis(5));
    /// assert_eq!(outcome.unwrap_err(), amphi::Error::Timeout);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<SemaphoreGuard<'_>, Error> {
        self.inner.acquire_timeout(timeout)
    }

    /// Takes a permit if one is available now (see [`Semaphore::try_acquire`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = amphi::BoundedSemaphore::new(1);
    /// let first = pool.try_acquire();
    /// assert!(first.is_some());
    /// assert!(pool.try_acquire().is_none());
    /// ```
    pub fn try_acquire(&self) -> Option<SemaphoreGuard<'_>> {
        self.inner.try_acquire()
    }

    /// Takes a permit without blocking the thread (see [`Semaphore::acquire_async`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = amphi::BoundedSemaphore::new(1);
    /// let permit = futures_executor::block_on(pool.acquire_async());
    /// assert_eq!(pool.value(), 0);
    /// drop(permit);
    /// assert_eq!(pool.value(), 1);
    /// ```
    pub async fn acquire_async(&self) -> SemaphoreGuard<'_> {
        self.inner.acquire_async().await
    }

    /// Gives back `n` permits; [`Error::SemaphoreOverflow`] (value unchanged) if that would
    /// exceed the initial value.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = amphi::BoundedSemaphore::new(2);
    /// pool.acquire()?.leak();
    /// pool.acquire()?.leak();
    /// pool.release(2)?;
    /// assert_eq!(pool.value(), 2);
    /// assert_eq!(pool.release(1), Err(amphi::Error::SemaphoreOverflow { initial: 2 }));
    /// assert_eq!(pool.value(), 2, "a refused release changes nothing");
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn release(&self, n: u32) -> Result<(), Error> {
        self.inner.release_checked(n, self.initial)
    }

    /// The number of permits available now (a snapshot).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = amphi::BoundedSemaphore::new(2);
    /// let _permit = pool.acquire()?;
    /// assert_eq!(pool.value(), 1);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn value(&self) -> u32 {
        self.inner.value()
    }

    /// The initial (and maximum) number of permits.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = amphi::BoundedSemaphore::new(2);
    /// let _permit = pool.acquire()?;
    /// assert_eq!(pool.initial(), 2, "unchanged while permits are taken");
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn initial(&self) -> u32 {
        self.initial
    }
}

impl fmt::Debug for BoundedSemaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundedSemaphore")
            .field("value", &self.value())
            .field("initial", &self.initial)
            .finish()
    }
}
