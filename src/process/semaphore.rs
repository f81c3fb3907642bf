//! [`Semaphore`] and [`BoundedSemaphore`] shared by processes: the thread semaphores' state
//! machine (`RawSemaphore`) over two words of the shared region.
//!
//! Body: `permits`, then `sleepers` (see `crate::sync`'s `semaphore`). The header's aux holds a bounded
//! semaphore's initial value, so a child's copy enforces the same bound.
//!
//! # A process that dies
//!
//! A semaphore's permits have no owner (any process may release permits it never acquired), so
//! nothing can give back the permits of a process that ended. What is promised, natively and
//! in the browser (a terminated process worker is a death), for a process killed at any
//! instruction:
//!
//! - **A permit it held is lost**, as in Python: [`value`](Semaphore::value) stays one lower.
//!   Nobody is told ([`Error::OwnerDied`] is for locks, which have an owner); a release by any
//!   process gives it back (up to a [`BoundedSemaphore`]'s initial value).
//! - **The semaphore stays consistent.** Taking and adding permits are single compare-and-swap
//!   operations on `permits`: a process killed inside `acquire` or `release` either took (or
//!   added) its permits or did not.
//! - **No waiter hangs past its timeout**: [`acquire_timeout`](Semaphore::acquire_timeout)
//!   returns [`Error::Timeout`] once it passes, whatever the dead did. [`acquire`](Semaphore::acquire)
//!   without one waits, as Python's does, for a release that may never come: use a timeout
//!   where a holder may die.
//! - **A waiter killed while asleep does not keep a release from the living.** Natively the
//!   kernel drops a killed sleeper from the futex's queue, so a release wakes a live waiter.
//!   In the browser a worker terminated inside `Atomics.wait` can still take a notification,
//!   so every waiter sleeps in slices of at most 100 ms and then looks at the permits again:
//!   a release taken by a dead waiter reaches a live one within a slice. The killed waiter
//!   stays counted in `sleepers`, which only costs later releases a wake-up call that finds
//!   nobody.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::region::{Handle, Object, SharedWord};
use crate::sync::atomic::Ordering;
use crate::sync::RawSemaphore;
use crate::sync::Word;
use crate::time::Deadline;
use crate::Error;

const KIND_SEMAPHORE: u32 = 2;
const KIND_BOUNDED: u32 = 3;
const BODY: usize = 8;
/// The longest a waiter sleeps before it looks at the permits again.
const SLICE: Duration = Duration::from_millis(100);

/// The state both semaphores share.
struct Shared {
    object: Object,
    raw: RawSemaphore<SharedWord>,
}

impl Shared {
    fn create(kind: u32, permits: u32) -> Result<Shared, Error> {
        let object = Object::create(kind, permits, BODY)?;
        object.word(0).swap(permits, Ordering::Release);
        Ok(Shared::from_object(object))
    }

    fn from_object(object: Object) -> Shared {
        Shared {
            raw: RawSemaphore::from_words(object.word(0), object.word(4)),
            object,
        }
    }

    fn open(handle: Handle, kind: u32) -> Result<Shared, String> {
        Object::open(handle, kind, |_| Some(BODY)).map(Shared::from_object)
    }

    /// Takes a permit, sleeping in slices (see the module docs: a wake-up taken by a waiter
    /// that was killed costs a live waiter at most a slice).
    fn acquire(&self, deadline: Deadline) -> Result<SemaphoreGuard<'_>, Error> {
        loop {
            let Ok(slice) = deadline.capped(SLICE) else {
                return self.try_acquire().ok_or(Error::Timeout);
            };
            match self.raw.take_until(slice) {
                Ok(()) => return Ok(SemaphoreGuard { raw: &self.raw }),
                Err(Error::Timeout) => {}
                Err(other) => return Err(other),
            }
        }
    }

    fn try_acquire(&self) -> Option<SemaphoreGuard<'_>> {
        // The guard is built only once a permit is taken: `then_some` would build it eagerly,
        // and dropping the unused guard of a refusal would give back a permit never taken.
        self.raw
            .try_take()
            .then(|| SemaphoreGuard { raw: &self.raw })
    }
}

/// A counting semaphore shared by processes, as Python's `multiprocessing.Semaphore`.
///
/// A handle to permits in the shared region: pass it to children as an argument. Any process
/// may release, and may release more than it acquired. There is no `acquire_async` (see
/// [`Lock`](super::Lock)). A process that dies holding a permit does not give it back, as in
/// Python; no waiter hangs past its timeout, so use
/// [`acquire_timeout`](Semaphore::acquire_timeout) where that may happen (see the module docs
/// for exactly what is promised).
///
/// # Examples
///
/// ```
/// use amphi::process::{Process, Semaphore};
///
/// fn take_one(sem: Semaphore) {
///     sem.acquire().unwrap().leak();
/// }
///
/// let sem = Semaphore::new(2)?;
/// let child = Process::new(take_one, sem.clone());
/// child.start()?;
/// child.join()?;
/// assert_eq!(sem.value(), 1);
/// # Ok::<(), amphi::Error>(())
/// ```
pub struct Semaphore {
    shared: Shared,
}

impl Semaphore {
    /// A semaphore with `permits` permits, in the shared region.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = amphi::process::Semaphore::new(3)?;
    /// assert_eq!(sem.value(), 3);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn new(permits: u32) -> Result<Semaphore, Error> {
        Shared::create(KIND_SEMAPHORE, permits).map(|shared| Semaphore { shared })
    }

    /// Takes a permit, sleeping until one is available.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = amphi::process::Semaphore::new(1)?;
    /// let permit = sem.acquire()?;
    /// assert_eq!(sem.value(), 0);
    /// drop(permit);
    /// assert_eq!(sem.value(), 1);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn acquire(&self) -> Result<SemaphoreGuard<'_>, Error> {
        self.shared.acquire(Deadline::NEVER)
    }

    /// Takes a permit, or returns [`Error::Timeout`] once `timeout` has passed.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = amphi::process::Semaphore::new(0)?;
    /// let outcome = sem.acquire_timeout(std::time::Duration::from_millis(5));
    /// assert_eq!(outcome.unwrap_err(), amphi::Error::Timeout);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<SemaphoreGuard<'_>, Error> {
        self.shared.acquire(Deadline::after(timeout))
    }

    /// Takes a permit if one is available right now. Never blocks.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = amphi::process::Semaphore::new(1)?;
    /// let first = sem.try_acquire();
    /// assert!(first.is_some());
    /// assert!(sem.try_acquire().is_none());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn try_acquire(&self) -> Option<SemaphoreGuard<'_>> {
        self.shared.try_acquire()
    }

    /// Adds `n` permits, waking as many sleepers, from any process.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = amphi::process::Semaphore::new(0)?;
    /// sem.release(2)?;
    /// assert_eq!(sem.value(), 2);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn release(&self, n: u32) -> Result<(), Error> {
        self.shared.raw.release_checked(n, u32::MAX)
    }

    /// The permits available now (a snapshot).
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = amphi::process::Semaphore::new(2)?;
    /// let _permit = sem.acquire()?;
    /// assert_eq!(sem.value(), 1);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn value(&self) -> u32 {
        self.shared.raw.value()
    }
}

/// A semaphore shared by processes that refuses to be released above its initial value, as
/// Python's `multiprocessing.BoundedSemaphore` ([`Error::SemaphoreOverflow`]). A process that
/// dies holding a permit does not give it back (see the module docs).
///
/// # Examples
///
/// ```
/// use amphi::process::{BoundedSemaphore, Process};
///
/// fn over_release(sem: BoundedSemaphore) -> bool {
///     sem.release(1).is_err()
/// }
///
/// let sem = BoundedSemaphore::new(1)?;
/// let child = Process::new(over_release, sem.clone());
/// child.start()?;
/// assert!(child.join()?);
/// assert_eq!(sem.value(), 1);
/// # Ok::<(), amphi::Error>(())
/// ```
pub struct BoundedSemaphore {
    shared: Shared,
}

impl BoundedSemaphore {
    /// A bounded semaphore with `permits` permits (also its maximum), in the shared region.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = amphi::process::BoundedSemaphore::new(2)?;
    /// assert_eq!((sem.value(), sem.initial()), (2, 2));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn new(permits: u32) -> Result<BoundedSemaphore, Error> {
        Shared::create(KIND_BOUNDED, permits).map(|shared| BoundedSemaphore { shared })
    }

    /// Takes a permit, sleeping until one is available.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = amphi::process::BoundedSemaphore::new(1)?;
    /// let _permit = sem.acquire()?;
    /// assert_eq!(sem.value(), 0);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn acquire(&self) -> Result<SemaphoreGuard<'_>, Error> {
        self.shared.acquire(Deadline::NEVER)
    }

    /// Takes a permit, or returns [`Error::Timeout`] once `timeout` has passed.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = amphi::process::BoundedSemaphore::new(1)?;
    /// let _permit = sem.acquire()?;
    /// let outcome = sem.acquire_timeout(std::time::Duration::from_millis(5));
    /// assert_eq!(outcome.unwrap_err(), amphi::Error::Timeout);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<SemaphoreGuard<'_>, Error> {
        self.shared.acquire(Deadline::after(timeout))
    }

    /// Takes a permit if one is available right now. Never blocks.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = amphi::process::BoundedSemaphore::new(1)?;
    /// let first = sem.try_acquire();
    /// assert!(first.is_some());
    /// assert!(sem.try_acquire().is_none());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn try_acquire(&self) -> Option<SemaphoreGuard<'_>> {
        self.shared.try_acquire()
    }

    /// Gives back `n` permits, or returns [`Error::SemaphoreOverflow`] (and changes nothing)
    /// if that would exceed the initial value.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = amphi::process::BoundedSemaphore::new(1)?;
    /// sem.acquire()?.leak();
    /// sem.release(1)?;
    /// assert_eq!(
    ///     sem.release(1),
    ///     Err(amphi::Error::SemaphoreOverflow { initial: 1 })
    /// );
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn release(&self, n: u32) -> Result<(), Error> {
        self.shared.raw.release_checked(n, self.initial())
    }

    /// The permits available now (a snapshot).
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = amphi::process::BoundedSemaphore::new(3)?;
    /// assert_eq!(sem.value(), 3);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn value(&self) -> u32 {
        self.shared.raw.value()
    }

    /// The initial value, which is also the maximum.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = amphi::process::BoundedSemaphore::new(4)?;
    /// assert_eq!(sem.initial(), 4);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn initial(&self) -> u32 {
        self.shared.object.aux()
    }
}

macro_rules! common_impls {
    ($ty:ident, $kind:expr) => {
        impl Clone for $ty {
            /// Another handle to the same semaphore.
            fn clone(&self) -> $ty {
                $ty {
                    shared: Shared::from_object(self.shared.object.clone()),
                }
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($ty))
                    .field("value", &self.value())
                    .finish_non_exhaustive()
            }
        }

        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                self.shared.object.handle().serialize(serializer)
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<$ty, D::Error> {
                let handle = Handle::deserialize(deserializer)?;
                Shared::open(handle, $kind)
                    .map(|shared| $ty { shared })
                    .map_err(serde::de::Error::custom)
            }
        }
    };
}
common_impls!(Semaphore, KIND_SEMAPHORE);
common_impls!(BoundedSemaphore, KIND_BOUNDED);

/// A permit of a process [`Semaphore`] or [`BoundedSemaphore`]; gives it back when dropped.
///
/// # Examples
///
/// ```
/// let sem = amphi::process::Semaphore::new(1)?;
/// {
///     let _permit = sem.acquire()?;
///     assert_eq!(sem.value(), 0);
/// }
/// assert_eq!(sem.value(), 1);
/// # Ok::<(), amphi::Error>(())
/// ```
#[must_use = "the permit is given back as soon as the guard is dropped"]
pub struct SemaphoreGuard<'a> {
    raw: &'a RawSemaphore<SharedWord>,
}

impl SemaphoreGuard<'_> {
    /// Keeps the permit: nothing is given back on drop.
    ///
    /// # Examples
    ///
    /// ```
    /// let sem = amphi::process::Semaphore::new(1)?;
    /// sem.acquire()?.leak();
    /// assert_eq!(sem.value(), 0);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn leak(self) {
        std::mem::forget(self);
    }
}

impl Drop for SemaphoreGuard<'_> {
    fn drop(&mut self) {
        // One permit given back by a guard: it was taken from this semaphore, so it fits.
        let _ = self.raw.release_checked(1, u32::MAX);
    }
}

impl fmt::Debug for SemaphoreGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphoreGuard").finish_non_exhaustive()
    }
}
