//! [`Semaphore`] and [`BoundedSemaphore`]: Python's counting semaphores.
//!
//! # State machine
//!
//! Two words:
//!
//! | word | meaning |
//! |---|---|
//! | `permits` | how many acquires may succeed now; acquirers sleep on this word while it is 0 |
//! | `sleepers` | how many acquirers are (about to be) asleep; releasers wake only if it is non-zero |
//!
//! Acquire is a compare-and-swap `n -> n - 1` for any `n > 0`. Otherwise the acquirer counts
//! itself in `sleepers` and sleeps while `permits` is 0. Release adds to `permits` and wakes one
//! sleeper per permit when `sleepers` is non-zero. A [`BoundedSemaphore`] refuses a release that
//! would lift `permits` above the initial value, leaving it unchanged.
//!
//! # Guarantees
//!
//! No lost wake-ups; spurious wake-ups are absorbed; not FIFO-fair (a newcomer can take a permit
//! before a woken sleeper), like std's and Python's primitives under contention.
//!
//! # Memory ordering
//!
//! Taking a permit is `Acquire`, adding permits is `Release`, so whatever a releaser did happens
//! before the acquirer's critical section. The `sleepers` handshake is the store-buffering
//! pattern: the acquirer increments `sleepers` then reads `permits`; the releaser increments
//! `permits` then reads `sleepers`, each with a `SeqCst` fence between its write and its read,
//! so at least one of them sees the other (fences, not just `SeqCst` accesses, because loom
//! verifies this pattern only through fences).

use std::fmt;
use std::time::Duration;

use crate::atomic::{fence, AtomicU32, Ordering};
use crate::time::Deadline;
use crate::word::Word;
use crate::{sys, Error};

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

/// The semaphore's state machine over any [`Word`]: the thread `Semaphore` and the
/// process-shared one are this, over different words.
pub(crate) struct RawSemaphore<W> {
    /// Permits available now.
    permits: W,
    /// Acquirers that are, or are about to be, asleep on `permits`.
    sleepers: W,
}

impl<W: Word> RawSemaphore<W> {
    /// A semaphore living in `permits` (holding the initial value) and `sleepers` (holding 0).
    pub(crate) fn from_words(permits: W, sleepers: W) -> RawSemaphore<W> {
        RawSemaphore { permits, sleepers }
    }

    /// The permits available now (a snapshot).
    pub(crate) fn value(&self) -> u32 {
        self.permits.load(Ordering::Relaxed)
    }

    /// Takes a permit if one is available; never blocks.
    pub(crate) fn try_take(&self) -> bool {
        let mut permits = self.permits.load(Ordering::Relaxed);
        while permits > 0 {
            match self.permits.compare_exchange(
                permits,
                permits - 1,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(seen) => permits = seen,
            }
        }
        false
    }

    /// Takes a permit, sleeping until `deadline`; refuses on threads that may not block.
    pub(crate) fn take_until(&self, deadline: Deadline) -> Result<(), Error> {
        if !sys::can_block() {
            return Err(Error::WouldBlock);
        }
        while !self.try_take() {
            let left = deadline.remaining()?;
            let sleeping = Sleeping::enter(&self.sleepers);
            if self.permits.load(Ordering::Relaxed) == 0 {
                self.permits.wait(0, left);
            }
            drop(sleeping);
        }
        Ok(())
    }

    /// Takes a permit without blocking the thread.
    pub(crate) async fn take_async(&self) {
        while !self.try_take() {
            let sleeping = Sleeping::enter(&self.sleepers);
            if self.permits.load(Ordering::Relaxed) == 0 {
                self.permits.wait_async(0).await;
            }
            drop(sleeping);
        }
    }

    /// Adds `n` permits unless that would exceed `max`; wakes sleepers.
    pub(crate) fn release_checked(&self, n: u32, max: u32) -> Result<(), Error> {
        if n == 0 {
            return Err(Error::InvalidArgument(
                "a semaphore must be released at least once (n >= 1)".into(),
            ));
        }
        let mut permits = self.permits.load(Ordering::Relaxed);
        loop {
            let raised = permits.checked_add(n).filter(|&raised| raised <= max);
            let Some(raised) = raised else {
                return Err(if max == u32::MAX {
                    Error::InvalidArgument("semaphore value would overflow u32".into())
                } else {
                    Error::SemaphoreOverflow { initial: max }
                });
            };
            match self.permits.compare_exchange(
                permits,
                raised,
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(seen) => permits = seen,
            }
        }
        fence(Ordering::SeqCst);
        if self.sleepers.load(Ordering::Relaxed) > 0 {
            if n == 1 {
                self.permits.wake_one();
            } else {
                self.permits.wake_all();
            }
        }
        Ok(())
    }
}

/// Counts the calling acquirer in `sleepers` for as long as it lives (also if a future is
/// dropped while waiting).
struct Sleeping<'a, W: Word>(&'a W);

impl<'a, W: Word> Sleeping<'a, W> {
    /// Counts the caller in; the fence orders this before the caller's next read of `permits`.
    fn enter(sleepers: &'a W) -> Sleeping<'a, W> {
        sleepers.fetch_add(1, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        Sleeping(sleepers)
    }
}

impl<W: Word> Drop for Sleeping<'_, W> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
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
