//! [`Lock`]: a lock shared by processes: a [`RawOwnedLock`] (the futex mutex whose word holds
//! its holder) over a word in the shared region, the holder being the acquiring process's pid.
//!
//! # Layout
//!
//! Body: the lock word (0 when free, else the pid of the process that acquired it, with the
//! engine's sleepers bit), then 4 bytes no longer used (the lock kept its last acquirer there
//! apart from the word).
//!
//! # A holder that dies
//!
//! As in Python, a lock whose holder dies stays locked: nothing can know whether the data it
//! protected is consistent. amphi does better in one respect: a blocked acquirer never waits
//! forever on a dead holder. The lock and its holder are one word, changed by one atomic
//! operation, so a process killed at any instruction (taking the lock, holding it, releasing
//! it) leaves either a free lock or one that names it. Every acquire sleeps in slices of at
//! most 100 ms; after a slice in which it did not get the lock (and when its timeout ends), it
//! looks at the holder, and if that process no longer runs it returns [`Error::OwnerDied`]
//! with its pid (the lock still held). The caller repairs what the lock protected and calls
//! [`Lock::release`] (any process may release, as in Python), or gives up.
//!
//! "No longer runs" is `sys::pid_alive`'s rule, as for the process `Condition`'s waiters:
//! natively the pid no longer names a running process (a zombie counts as ended); in the
//! browser the region's process table marks it or an ancestor ended, a terminated process
//! worker included. The check is conservative: a lock acquired by one process and released by
//! another names the first until then, and a pid reused by a new process looks alive (then the
//! acquirer keeps waiting, or times out).

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::region::{Handle, Object, SharedWord};
use crate::sync::{InnerLock, RawOwnedLock};
use crate::time::Deadline;
use crate::{sys, Error};

pub(super) const KIND_LOCK: u32 = 1;
const BODY: usize = 8;
/// How long an acquirer sleeps before it checks whether the holder is still alive.
const SLICE: Duration = Duration::from_millis(100);

/// A mutual-exclusion lock shared by processes, as Python's `multiprocessing.Lock`.
///
/// It lives in the process tree's shared region; the value is a handle to it. Pass it to a
/// child as (part of) a [`Process`](crate::process::Process)'s arguments: the child's copy is the
/// same lock. Like the thread [`crate::Lock`], it is not tied to its holder: any process may
/// [`release`](Lock::release) it. A holder that dies leaves it locked; acquirers learn that as
/// [`Error::OwnerDied`] within about 100 ms of the holder's death instead of waiting forever,
/// wherever the holder was killed (see the module docs).
///
/// There is no `acquire_async` yet. The futures it would use exist (the process queues' and
/// pipes' `_async` forms sleep on region words), but its dead-holder check needs them to wake
/// in slices as those do, and its release's single wake-up could be swallowed by a dropped
/// future.
///
/// # Examples
///
/// ```
/// use amphi::process::{Lock, Process};
///
/// fn release_it(lock: Lock) {
///     lock.release().unwrap();
/// }
///
/// let lock = Lock::new()?;
/// lock.acquire()?.leak();
/// let child = Process::new(release_it, lock.clone());
/// child.start()?;
/// child.join()?;
/// assert!(!lock.locked());
/// # Ok::<(), amphi::Error>(())
/// ```
pub struct Lock {
    object: Object,
    raw: RawOwnedLock<SharedWord>,
}

impl Lock {
    /// A new, unlocked lock in the shared region (created on first use).
    ///
    /// Returns [`Error::SharedMemory`] where there is no region (a page that is not
    /// cross-origin isolated) or it is full.
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = amphi::process::Lock::new()?;
    /// assert!(!lock.locked());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn new() -> Result<Lock, Error> {
        Ok(Lock::from_object(Object::create(KIND_LOCK, 0, BODY)?))
    }

    pub(super) fn from_object(object: Object) -> Lock {
        Lock {
            raw: RawOwnedLock::from_word(object.word(0)),
            object,
        }
    }

    pub(super) fn open(handle: Handle) -> Result<Lock, String> {
        let object = Object::open(handle, KIND_LOCK, |aux| (aux == 0).then_some(BODY))?;
        Ok(Lock::from_object(object))
    }

    /// Acquires the lock, sleeping as long as it takes, unless its holder died: then
    /// [`Error::OwnerDied`] (see the module docs).
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = amphi::process::Lock::new()?;
    /// let guard = lock.acquire()?;
    /// assert!(lock.locked());
    /// drop(guard);
    /// assert!(!lock.locked());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn acquire(&self) -> Result<LockGuard<'_>, Error> {
        self.acquire_until(Deadline::NEVER)
    }

    /// Acquires the lock, or returns [`Error::Timeout`] once `timeout` has passed
    /// ([`Error::OwnerDied`] if the holder died).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let lock = amphi::process::Lock::new()?;
    /// let _held = lock.acquire()?;
    /// let again = lock.acquire_timeout(Duration::from_millis(10));
    /// assert_eq!(again.unwrap_err(), amphi::Error::Timeout);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<LockGuard<'_>, Error> {
        self.acquire_until(Deadline::after(timeout))
    }

    fn acquire_until(&self, deadline: Deadline) -> Result<LockGuard<'_>, Error> {
        if !sys::can_block() {
            return Err(Error::WouldBlock);
        }
        let me = sys::current_pid();
        // Spin before reading clocks: a lock that changes hands quickly is then taken without
        // them (the timed slices below exist only to notice a holder that died).
        if self.raw.try_lock_spinning(me) {
            return Ok(self.held());
        }
        loop {
            let slice = deadline.capped(SLICE).ok();
            let outcome = match slice {
                Some(slice) => self.raw.lock_until(me, slice),
                None => Err(Error::Timeout),
            };
            match outcome {
                Ok(()) => return Ok(self.held()),
                Err(Error::Timeout) => {
                    if let Some(pid) = self.dead_holder() {
                        return Err(Error::OwnerDied { pid });
                    }
                    if slice.is_none() {
                        return Err(Error::Timeout);
                    }
                }
                Err(other) => return Err(other),
            }
        }
    }

    /// Acquires the lock if it is free right now. Never blocks.
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = amphi::process::Lock::new()?;
    /// let first = lock.try_acquire();
    /// assert!(first.is_some());
    /// assert!(lock.try_acquire().is_none());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn try_acquire(&self) -> Option<LockGuard<'_>> {
        self.raw.try_lock(sys::current_pid()).then(|| self.held())
    }

    fn held(&self) -> LockGuard<'_> {
        LockGuard { lock: self }
    }

    /// The holder's pid if the lock is held by a process that no longer runs (the caller's
    /// own process runs).
    fn dead_holder(&self) -> Option<u32> {
        let pid = self.raw.holder()?;
        (pid != sys::current_pid() && !sys::pid_alive(pid) && self.raw.holder() == Some(pid))
            .then_some(pid)
    }

    /// Releases the lock, from any process, as Python's `Lock.release()`; [`Error::NotLocked`]
    /// if it is not held.
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = amphi::process::Lock::new()?;
    /// lock.acquire()?.leak();
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
    /// let lock = amphi::process::Lock::new()?;
    /// let _held = lock.acquire()?;
    /// assert!(lock.locked());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn locked(&self) -> bool {
        self.raw.locked()
    }
}

impl Clone for Lock {
    /// Another handle to the same lock.
    fn clone(&self) -> Lock {
        Lock::from_object(self.object.clone())
    }
}

impl fmt::Debug for Lock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lock")
            .field("locked", &self.locked())
            .finish_non_exhaustive()
    }
}

impl Serialize for Lock {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.object.handle().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Lock {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Lock, D::Error> {
        let handle = Handle::deserialize(deserializer)?;
        Lock::open(handle).map_err(serde::de::Error::custom)
    }
}

/// Proof that a process [`Lock`] is held; releases it when dropped.
///
/// # Examples
///
/// ```
/// let lock = amphi::process::Lock::new()?;
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
    /// process.
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = amphi::process::Lock::new()?;
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
