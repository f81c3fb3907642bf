//! [`RLock`]: a re-entrant lock shared by processes: the thread [`crate::RLock`]'s state
//! machine (`crate::sync::RawRLock`) over a process [`Lock`] and words in the shared region.
//!
//! # Layout
//!
//! Body: the inner [`Lock`]'s two words (its lock word, which holds the holding process's pid,
//! and an unused word), `depth` (`u32`), 4 bytes of padding, then `owner` (`u64`).
//!
//! # Owner tokens
//!
//! The owner is a (process, thread) pair packed into one 64-bit word: the pid in the high 32
//! bits, the thread's amphi token (non-zero, unique among the live threads of its process) in
//! the low 32; 0 means free. Pids are unique among the live processes of a tree (they share a
//! pid namespace) and tokens within a process, so no two live threads anywhere in the tree have
//! the same owner word, and because the word is read and written whole, a thread can never see
//! its own identity there unless it wrote it itself. The state machine writes `owner` only from
//! the thread that just took the inner lock (its own identity) and clears it only from the
//! owner, so `owner == me` means "I hold it", with `Relaxed` loads.
//!
//! # A holder that dies
//!
//! As for [`Lock`]: the lock stays held, and an acquirer gets [`Error::OwnerDied`] within
//! about 100 ms instead of waiting forever. The inner lock's word names the holding process
//! from the instant it is taken to the instant it is let go, and the owner token is set after
//! the first and cleared before the second, so a process killed anywhere in `acquire`, while
//! holding, or anywhere in `release` (or a guard's drop) leaves the inner lock naming it.
//! Unlike a plain `Lock`, an `RLock` only its owning thread may release, so one whose holder
//! died stays held for good: every acquirer gets `OwnerDied`, never a hang (Python's
//! `multiprocessing.RLock` would wait forever).

use crate::sys::region_atomics::{AtomicU32, AtomicU64};
use crate::time::Deadline;
use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::lock::Lock;
use super::region::{Handle, Object};
use crate::sync::atomic::Ordering;
use crate::sync::{DepthCell, InnerLock, OwnerCell, RawRLock};
use crate::thread::current_token;
use crate::{sys, Error};

const KIND_RLOCK: u32 = 6;
const BODY: usize = 24;
const NO_OWNER: u64 = 0;

/// This thread's identity in every process of the tree (see the module docs).
fn me() -> u64 {
    (u64::from(sys::current_pid()) << 32) | u64::from(current_token())
}

/// The owner of a process [`RLock`]: [`me`] of the holding thread, or `NO_OWNER`, in one
/// 64-bit word of the region.
pub(crate) struct ProcessOwner(&'static AtomicU64);

impl OwnerCell for ProcessOwner {
    fn names_caller(&self) -> bool {
        self.0.load(Ordering::Relaxed) == me()
    }
    fn set_to_caller(&self) {
        self.0.store(me(), Ordering::Relaxed);
    }
    fn clear(&self) {
        self.0.store(NO_OWNER, Ordering::Relaxed);
    }
}

/// A process [`RLock`]'s depth: a word of the region.
impl DepthCell for &'static AtomicU32 {
    fn get(&self) -> u32 {
        self.load(Ordering::Relaxed)
    }
    fn set(&self, depth: u32) {
        self.store(depth, Ordering::Relaxed);
    }
}

/// The state machine of a process [`RLock`].
pub(crate) type RawProcessRLock = RawRLock<Lock, ProcessOwner, &'static AtomicU32>;

/// A re-entrant lock shared by processes, as Python's `multiprocessing.RLock`: the thread that
/// holds it (in whichever process) may acquire it again, and must release it as many times.
/// Only the owning thread may release it.
///
/// # Examples
///
/// ```
/// let lock = amphi::process::RLock::new()?;
/// let outer = lock.acquire()?;
/// let inner = lock.acquire()?; // the owner may take it again
/// assert_eq!(lock.depth(), 2);
/// drop((inner, outer));
/// assert!(!lock.locked());
/// # Ok::<(), amphi::Error>(())
/// ```
pub struct RLock {
    object: Object,
    raw: RawProcessRLock,
}

impl RLock {
    /// A new, unlocked re-entrant lock in the shared region. [`Error::SharedMemory`] where
    /// there is no region or it is full.
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = amphi::process::RLock::new()?;
    /// assert!(!lock.locked());
    /// assert_eq!(lock.depth(), 0);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn new() -> Result<RLock, Error> {
        Object::create(KIND_RLOCK, 0, BODY).map(RLock::from_object)
    }

    fn from_object(object: Object) -> RLock {
        RLock {
            raw: RawRLock::from_parts(
                // The inner lock's words are the first 8 bytes of the body, where `Lock` keeps
                // them.
                Lock::from_object(object.clone()),
                ProcessOwner(object.atom(16)),
                object.atom(8),
            ),
            object,
        }
    }

    fn open(handle: Handle) -> Result<RLock, String> {
        Object::open(handle, KIND_RLOCK, |aux| (aux == 0).then_some(BODY)).map(RLock::from_object)
    }

    /// Acquires the lock (again, if the calling thread owns it), sleeping as long as it takes;
    /// [`Error::OwnerDied`] if the holder's process died.
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = amphi::process::RLock::new()?;
    /// let outer = lock.acquire()?;
    /// let inner = lock.acquire()?;
    /// assert_eq!(lock.depth(), 2);
    /// drop((inner, outer));
    /// assert!(!lock.locked());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn acquire(&self) -> Result<RLockGuard<'_>, Error> {
        self.raw.acquire()?;
        Ok(self.guard())
    }

    /// Acquires the lock, or returns [`Error::Timeout`] once `timeout` has passed.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let lock = amphi::process::RLock::new()?;
    /// let _held = lock.acquire()?;
    /// let other = lock.clone();
    /// let attempt = std::thread::spawn(move || {
    ///     other.acquire_timeout(Duration::from_millis(5)).map(drop)
    /// });
    /// assert_eq!(attempt.join().unwrap(), Err(amphi::Error::Timeout));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<RLockGuard<'_>, Error> {
        self.acquire_until(Deadline::after(timeout))
    }

    fn acquire_until(&self, deadline: Deadline) -> Result<RLockGuard<'_>, Error> {
        self.raw.acquire_until(deadline)?;
        Ok(self.guard())
    }

    /// Acquires the lock if the calling thread owns it or it is free right now. Never blocks.
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = amphi::process::RLock::new()?;
    /// let _outer = lock.try_acquire().expect("free");
    /// assert!(lock.try_acquire().is_some(), "the owner may take it again");
    /// let other = lock.clone();
    /// let stranger = std::thread::spawn(move || other.try_acquire().is_some());
    /// assert!(!stranger.join().unwrap(), "another thread may not");
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn try_acquire(&self) -> Option<RLockGuard<'_>> {
        self.raw.try_acquire().then(|| self.guard())
    }

    /// Releases one level of ownership (for a level held without a guard, see
    /// [`RLockGuard::leak`]). [`Error::NotOwner`] if the calling thread does not hold it.
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = amphi::process::RLock::new()?;
    /// lock.acquire()?.leak();
    /// lock.release()?;
    /// assert_eq!(lock.release(), Err(amphi::Error::NotOwner));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn release(&self) -> Result<(), Error> {
        self.raw.release()
    }

    /// Whether the calling thread (of this process) holds this lock.
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = amphi::process::RLock::new()?;
    /// assert!(!lock.is_owned());
    /// let _held = lock.acquire()?;
    /// assert!(lock.is_owned());
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
    /// let lock = amphi::process::RLock::new()?;
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
    /// let lock = amphi::process::RLock::new()?;
    /// let _outer = lock.acquire()?;
    /// let inner = lock.acquire()?;
    /// assert_eq!(lock.depth(), 2);
    /// drop(inner);
    /// assert_eq!(lock.depth(), 1);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn depth(&self) -> u32 {
        self.raw.depth()
    }

    /// The state machine, for a condition to release every level for a wait and restore them.
    pub(super) fn raw(&self) -> &RawProcessRLock {
        &self.raw
    }

    /// A guard for a level just acquired.
    fn guard(&self) -> RLockGuard<'_> {
        RLockGuard {
            lock: self,
            _owner_thread_only: PhantomData,
        }
    }
}

impl Clone for RLock {
    /// Another handle to the same lock.
    fn clone(&self) -> RLock {
        RLock::from_object(self.object.clone())
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

impl Serialize for RLock {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.object.handle().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for RLock {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<RLock, D::Error> {
        let handle = Handle::deserialize(deserializer)?;
        RLock::open(handle).map_err(serde::de::Error::custom)
    }
}

/// One level of ownership of a process [`RLock`]; released when dropped. Not `Send`: only the
/// owning thread may release it.
///
/// # Examples
///
/// ```
/// let lock = amphi::process::RLock::new()?;
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

impl RLockGuard<'_> {
    /// Keeps this level held without a guard; release it with [`RLock::release`] from the
    /// same thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let lock = amphi::process::RLock::new()?;
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
