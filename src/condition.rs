//! [`Condition`]: Python's `threading.Condition`, over its own [`RLock`] or a given lock.
//!
//! # How it works
//!
//! Like CPython's, each waiter brings its own word (0 = waiting, 1 = notified) and queues it in
//! FIFO order under a small internal mutex. `wait` queues the word, releases the lock fully
//! (every level of an `RLock`), sleeps while the word is 0, then re-acquires the lock as it was.
//! `notify(n)` dequeues the `n` oldest waiters, sets their words and wakes each. So `notify(n)`
//! wakes exactly the `n` threads that waited longest, never a thread that started waiting after
//! the notify, and never more than `n`, as Python promises.
//!
//! A waiter that times out removes its word from the queue; if it is no longer there a notify
//! chose it at the same moment, and the wait counts as notified (so no notification is lost).
//!
//! # Guarantees
//!
//! Spurious wake-ups of the underlying wait are absorbed (the word is re-checked); `wait` itself
//! returns only when notified or timed out. As in Python, a woken waiter must re-acquire the
//! lock, so the state it waited for may have changed again: use [`Condition::wait_for`].
//!
//! # Memory ordering
//!
//! The lock orders the user's state. A waiter's word is set with `Release` and read with
//! `Acquire`; the internal mutex orders the queue.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::atomic::{AtomicU32, Ordering};
use crate::time::Deadline;
use crate::{spin, sys, Error, Lock, LockGuard, RLock, RLockGuard};

const WAITING: u32 = 0;
const NOTIFIED: u32 = 1;

/// A condition variable, as Python's `threading.Condition`.
///
/// Threads hold its lock, check some state, and [`wait`](Condition::wait) until another thread
/// changes that state and calls [`notify`](Condition::notify). By default it owns an [`RLock`];
/// [`Condition::with_lock`] builds one over a shared [`Lock`] or [`RLock`] (several conditions
/// may share one lock, as a queue's "not empty" and "not full" do).
///
/// Waiting or notifying without holding the lock is [`Error::NotOwner`].
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use amphi::{Condition, Thread};
///
/// let ready = Arc::new(AtomicBool::new(false));
/// let cond = Arc::new(Condition::new());
/// let consumer = {
///     let (cond, ready) = (cond.clone(), ready.clone());
///     Thread::spawn(move || {
///         let _held = cond.acquire()?;
///         cond.wait_for(|| ready.load(Ordering::Relaxed))
///     })?
/// };
/// {
///     let _held = cond.acquire()?;
///     ready.store(true, Ordering::Relaxed);
///     cond.notify_all()?;
/// }
/// consumer.join()??;
/// # Ok::<(), amphi::Error>(())
/// ```
pub struct Condition<L: ConditionLock = RLock> {
    lock: Arc<L>,
    /// Waiters' words, oldest first.
    waiters: Mutex<VecDeque<Arc<AtomicU32>>>,
}

/// A lock a [`Condition`] can be built over: [`Lock`] or [`RLock`].
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use amphi::{Condition, ConditionLock, Lock, RLock};
///
/// fn wake_everyone<L: ConditionLock>(cond: &Condition<L>) -> amphi::Result<usize> {
///     let _held = cond.acquire()?;
///     cond.notify_all()
/// }
/// assert_eq!(wake_everyone(&Condition::<RLock>::new())?, 0);
/// assert_eq!(wake_everyone(&Condition::with_lock(Arc::new(Lock::new())))?, 0);
/// # Ok::<(), amphi::Error>(())
/// ```
pub trait ConditionLock: sealed::Sealed + Send + Sync + 'static {
    /// What acquiring the lock returns.
    ///
    /// # Examples
    ///
    /// ```
    /// use amphi::ConditionLock;
    /// let lock = amphi::Lock::new();
    /// let guard: amphi::LockGuard<'_> = lock.acquire_guard()?; // `Lock`'s guard
    /// assert!(lock.locked());
    /// drop(guard);
    /// let rlock = amphi::RLock::new();
    /// let _level: amphi::RLockGuard<'_> = rlock.acquire_guard()?; // `RLock`'s guard
    /// assert_eq!(rlock.depth(), 1);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    type Guard<'a>;
    /// Acquires the lock, blocking.
    ///
    /// # Examples
    ///
    /// ```
    /// use amphi::ConditionLock;
    /// let lock = amphi::RLock::new();
    /// let level = lock.acquire_guard()?;
    /// assert!(lock.is_owned());
    /// drop(level);
    /// assert!(!lock.locked());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    fn acquire_guard(&self) -> Result<Self::Guard<'_>, Error>;
    /// Whether the caller may wait on or notify a condition over this lock.
    ///
    /// # Examples
    ///
    /// ```
    /// use amphi::ConditionLock;
    /// let rlock = amphi::RLock::new();
    /// assert!(!rlock.held());
    /// let _level = rlock.acquire()?;
    /// assert!(rlock.held(), "an RLock is held by its owner");
    /// let lock = amphi::Lock::new();
    /// let _guard = lock.acquire()?;
    /// assert!(lock.held(), "a Lock is held once anyone holds it");
    /// # Ok::<(), amphi::Error>(())
    /// ```
    fn held(&self) -> bool;
    /// Releases the lock fully for a wait and says how to restore it.
    ///
    /// # Examples
    ///
    /// ```
    /// use amphi::ConditionLock;
    /// let lock = amphi::RLock::new();
    /// assert_eq!(lock.release_for_wait(), Err(amphi::Error::NotOwner));
    /// lock.acquire()?.leak();
    /// lock.acquire()?.leak();
    /// let saved = lock.release_for_wait()?;
    /// assert!(!lock.locked(), "every level is released");
    /// lock.reacquire_after_wait(saved);
    /// assert_eq!(lock.depth(), 2);
    /// # lock.release()?;
    /// # lock.release()?;
    /// # Ok::<(), amphi::Error>(())
    /// ```
    fn release_for_wait(&self) -> Result<u32, Error>;
    /// Re-takes the lock after a wait, as [`release_for_wait`](Self::release_for_wait) left it.
    ///
    /// # Examples
    ///
    /// ```
    /// use amphi::ConditionLock;
    /// let lock = amphi::RLock::new();
    /// lock.acquire()?.leak();
    /// let saved = lock.release_for_wait()?;
    /// lock.reacquire_after_wait(saved);
    /// assert!(lock.is_owned());
    /// assert_eq!(lock.depth(), 1);
    /// lock.release()?;
    /// # Ok::<(), amphi::Error>(())
    /// ```
    fn reacquire_after_wait(&self, saved: u32);
    /// The same without blocking the thread.
    ///
    /// # Examples
    ///
    /// ```
    /// use amphi::ConditionLock;
    /// let lock = amphi::Lock::new();
    /// lock.acquire()?.leak();
    /// let saved = lock.release_for_wait()?;
    /// assert!(!lock.locked());
    /// futures_executor::block_on(lock.reacquire_after_wait_async(saved));
    /// assert!(lock.locked());
    /// lock.release()?;
    /// # Ok::<(), amphi::Error>(())
    /// ```
    #[allow(async_fn_in_trait)] // used only by `Condition`, whose futures are not `Send`-bound
    async fn reacquire_after_wait_async(&self, saved: u32);
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for crate::Lock {}
    impl Sealed for crate::RLock {}
}

impl ConditionLock for Lock {
    type Guard<'a> = LockGuard<'a>;

    fn acquire_guard(&self) -> Result<LockGuard<'_>, Error> {
        self.acquire()
    }

    /// A `Lock` has no owner: as in CPython, "held" means "held by someone".
    fn held(&self) -> bool {
        self.locked()
    }

    fn release_for_wait(&self) -> Result<u32, Error> {
        self.release().map_err(|_| Error::NotOwner)?;
        Ok(1)
    }

    fn reacquire_after_wait(&self, _saved: u32) {
        if let Ok(guard) = self.acquire() {
            guard.leak();
        }
    }

    async fn reacquire_after_wait_async(&self, _saved: u32) {
        self.acquire_async().await.leak();
    }
}

impl ConditionLock for RLock {
    type Guard<'a> = RLockGuard<'a>;

    fn acquire_guard(&self) -> Result<RLockGuard<'_>, Error> {
        self.acquire()
    }

    fn held(&self) -> bool {
        self.is_owned()
    }

    fn release_for_wait(&self) -> Result<u32, Error> {
        self.release_all()
    }

    fn reacquire_after_wait(&self, saved: u32) {
        if let Ok(guard) = self.inner().acquire() {
            guard.leak();
            self.take_ownership(saved);
        }
    }

    async fn reacquire_after_wait_async(&self, saved: u32) {
        self.inner().acquire_async().await.leak();
        self.take_ownership(saved);
    }
}

impl Condition<RLock> {
    /// A condition over a new [`RLock`] of its own (Python's `Condition()`).
    ///
    /// # Examples
    ///
    /// ```
    /// let cond = amphi::Condition::new();
    /// assert_eq!(cond.waiting(), 0);
    /// assert!(!cond.lock().locked());
    /// ```
    pub fn new() -> Condition<RLock> {
        Condition::with_lock(Arc::new(RLock::new()))
    }
}

impl Default for Condition<RLock> {
    fn default() -> Condition<RLock> {
        Condition::new()
    }
}

impl<L: ConditionLock> Condition<L> {
    /// A condition over `lock`, which other conditions may share (Python's `Condition(lock)`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let lock = Arc::new(amphi::Lock::new());
    /// let not_empty = amphi::Condition::with_lock(lock.clone());
    /// let not_full = amphi::Condition::with_lock(lock);
    /// let _held = not_empty.acquire()?;
    /// assert!(not_full.lock().locked());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn with_lock(lock: Arc<L>) -> Condition<L> {
        Condition {
            lock,
            waiters: Mutex::new(VecDeque::new()),
        }
    }

    /// The underlying lock (for its `try_`, `_timeout` and `_async` acquiring forms).
    ///
    /// # Examples
    ///
    /// ```
    /// let cond = amphi::Condition::new();
    /// let held = cond.lock().try_acquire();
    /// assert!(held.is_some());
    /// assert_eq!(cond.notify(1)?, 0, "holding the lock allows notifying");
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn lock(&self) -> &L {
        &self.lock
    }

    /// Acquires the underlying lock, blocking (Python's `with cond:`).
    ///
    /// # Examples
    ///
    /// ```
    /// let cond = amphi::Condition::new();
    /// assert_eq!(cond.notify(1), Err(amphi::Error::NotOwner));
    /// let _held = cond.acquire()?;
    /// assert_eq!(cond.notify(1)?, 0);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn acquire(&self) -> Result<L::Guard<'_>, Error> {
        self.lock.acquire_guard()
    }

    /// Releases the lock, sleeps until notified, and re-acquires the lock.
    ///
    /// [`Error::NotOwner`] without the lock; [`Error::WouldBlock`] on the browser's main thread.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let cond = Arc::new(amphi::Condition::new());
    /// let notifier = {
    ///     let cond = cond.clone();
    ///     amphi::Thread::spawn(move || {
    ///         while cond.waiting() == 0 {
    ///             amphi::thread::sleep(std::time::Duration::from_millis(1))?;
    ///         }
    ///         let _held = cond.acquire()?;
    ///         cond.notify(1)
    ///     })?
    /// };
    /// let held = cond.acquire()?;
    /// cond.wait()?; // the lock is free while asleep, and held again on return
    /// assert!(cond.lock().is_owned());
    /// drop(held);
    /// assert_eq!(notifier.join()??, 1);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn wait(&self) -> Result<(), Error> {
        self.wait_until(Deadline::NEVER)
    }

    /// As [`wait`](Condition::wait), but gives up after `timeout` with [`Error::Timeout`]
    /// (the lock is re-acquired either way).
    ///
    /// # Examples
    ///
    /// ```
    /// let cond = amphi::Condition::new();
    /// let _held = cond.acquire()?;
    /// let outcome = cond.wait_timeout(std::time::Duration::from_millis(5));
    /// assert_eq!(outcome, Err(amphi::Error::Timeout));
    /// assert!(cond.lock().is_owned(), "the lock is held again after the wait");
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> Result<(), Error> {
        self.wait_until(Deadline::after(timeout))
    }

    /// Waits until `predicate()` holds, re-checking after every wake-up (Python's `wait_for`).
    /// Returns at once if it already holds.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU32, Ordering};
    /// use std::sync::Arc;
    /// let cond = Arc::new(amphi::Condition::new());
    /// let items = Arc::new(AtomicU32::new(0));
    /// let producer = {
    ///     let (cond, items) = (cond.clone(), items.clone());
    ///     amphi::Thread::spawn(move || {
    ///         for _ in 0..3 {
    ///             let _held = cond.acquire()?;
    ///             items.fetch_add(1, Ordering::Relaxed);
    ///             cond.notify_all()?;
    ///         }
    ///         Ok::<_, amphi::Error>(())
    ///     })?
    /// };
    /// let held = cond.acquire()?;
    /// cond.wait_for(|| items.load(Ordering::Relaxed) == 3)?;
    /// drop(held);
    /// producer.join()??;
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn wait_for(&self, mut predicate: impl FnMut() -> bool) -> Result<(), Error> {
        while !predicate() {
            self.wait()?;
        }
        Ok(())
    }

    /// As [`wait_for`](Condition::wait_for) with an overall `timeout`: [`Error::Timeout`] if
    /// the predicate still does not hold when it passes.
    ///
    /// # Examples
    ///
    /// ```
    /// let cond = amphi::Condition::new();
    /// let _held = cond.acquire()?;
    /// let never = cond.wait_for_timeout(|| false, std::time::Duration::from_millis(5));
    /// assert_eq!(never, Err(amphi::Error::Timeout));
    /// cond.wait_for_timeout(|| true, std::time::Duration::ZERO)?;
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn wait_for_timeout(
        &self,
        mut predicate: impl FnMut() -> bool,
        timeout: Duration,
    ) -> Result<(), Error> {
        let deadline = Deadline::after(timeout);
        while !predicate() {
            match self.wait_until(deadline) {
                Err(Error::Timeout) => {
                    return if predicate() {
                        Ok(())
                    } else {
                        Err(Error::Timeout)
                    }
                }
                other => other?,
            }
        }
        Ok(())
    }

    /// Waits for a notification without blocking the thread. The lock must be held by the
    /// caller; it is re-acquired (asynchronously) before the future completes.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let cond = Arc::new(amphi::Condition::with_lock(Arc::new(amphi::Lock::new())));
    /// let notifier = {
    ///     let cond = cond.clone();
    ///     amphi::Thread::spawn(move || loop {
    ///         let _held = cond.acquire()?;
    ///         if cond.notify(1)? == 1 {
    ///             return Ok::<_, amphi::Error>(());
    ///         }
    ///     })?
    /// };
    /// futures_executor::block_on(async {
    ///     cond.lock().acquire_async().await.leak();
    ///     cond.wait_async().await?;
    ///     cond.lock().release()
    /// })?;
    /// notifier.join()??;
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub async fn wait_async(&self) -> Result<(), Error> {
        let waiter = self.enqueue()?;
        let saved = self.release_or_dequeue(&waiter)?;
        let pending = CancelledWait {
            condition: self,
            waiter: &waiter,
        };
        while waiter.load(Ordering::Acquire) == WAITING {
            sys::wait_async(&waiter, WAITING).await;
        }
        std::mem::forget(pending);
        self.lock.reacquire_after_wait_async(saved).await;
        Ok(())
    }

    /// Wakes the `n` threads that have waited longest (fewer if fewer wait); returns how many
    /// it woke. [`Error::NotOwner`] without the lock.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let cond = Arc::new(amphi::Condition::new());
    /// let waiter = {
    ///     let cond = cond.clone();
    ///     amphi::Thread::spawn(move || {
    ///         let _held = cond.acquire()?;
    ///         cond.wait()
    ///     })?
    /// };
    /// while cond.waiting() == 0 {
    ///     amphi::thread::sleep(std::time::Duration::from_millis(1))?;
    /// }
    /// let held = cond.acquire()?;
    /// assert_eq!(cond.notify(5)?, 1, "only one thread was waiting");
    /// drop(held);
    /// waiter.join()??;
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn notify(&self, n: usize) -> Result<usize, Error> {
        if !self.lock.held() {
            return Err(Error::NotOwner);
        }
        Ok(self.wake_oldest(n))
    }

    /// Dequeues and wakes the `n` oldest waiters; returns how many.
    fn wake_oldest(&self, n: usize) -> usize {
        let chosen: Vec<_> = {
            let mut waiters = spin::lock(&self.waiters);
            let count = n.min(waiters.len());
            waiters.drain(..count).collect()
        };
        for waiter in &chosen {
            waiter.store(NOTIFIED, Ordering::Release);
            sys::wake_all(waiter);
        }
        chosen.len()
    }

    /// Wakes every waiting thread; returns how many. [`Error::NotOwner`] without the lock.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let cond = Arc::new(amphi::Condition::new());
    /// let waiters: Vec<_> = (0..2)
    ///     .map(|_| {
    ///         let cond = cond.clone();
    ///         amphi::Thread::spawn(move || {
    ///             let _held = cond.acquire()?;
    ///             cond.wait()
    ///         })
    ///     })
    ///     .collect::<Result<_, _>>()?;
    /// while cond.waiting() < 2 {
    ///     amphi::thread::sleep(std::time::Duration::from_millis(1))?;
    /// }
    /// let held = cond.acquire()?;
    /// assert_eq!(cond.notify_all()?, 2);
    /// drop(held);
    /// for waiter in waiters {
    ///     waiter.join()??;
    /// }
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn notify_all(&self) -> Result<usize, Error> {
        self.notify(usize::MAX)
    }

    /// How many threads are waiting (a snapshot).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let cond = Arc::new(amphi::Condition::new());
    /// assert_eq!(cond.waiting(), 0);
    /// let waiter = {
    ///     let cond = cond.clone();
    ///     amphi::Thread::spawn(move || {
    ///         let _held = cond.acquire()?;
    ///         cond.wait()
    ///     })?
    /// };
    /// while cond.waiting() == 0 {
    ///     amphi::thread::sleep(std::time::Duration::from_millis(1))?;
    /// }
    /// let held = cond.acquire()?;
    /// cond.notify(1)?;
    /// drop(held);
    /// waiter.join()??;
    /// assert_eq!(cond.waiting(), 0);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn waiting(&self) -> usize {
        spin::lock(&self.waiters).len()
    }

    fn enqueue(&self) -> Result<Arc<AtomicU32>, Error> {
        if !self.lock.held() {
            return Err(Error::NotOwner);
        }
        let waiter = Arc::new(AtomicU32::new(WAITING));
        spin::lock(&self.waiters).push_back(Arc::clone(&waiter));
        Ok(waiter)
    }

    /// Releases the lock for a wait; on failure takes the waiter back out of the queue.
    fn release_or_dequeue(&self, waiter: &Arc<AtomicU32>) -> Result<u32, Error> {
        self.lock.release_for_wait().inspect_err(|_| {
            self.dequeue(waiter);
        })
    }

    /// Removes `waiter` from the queue; false if a notify already took it.
    fn dequeue(&self, waiter: &Arc<AtomicU32>) -> bool {
        let mut waiters = spin::lock(&self.waiters);
        let position = waiters.iter().position(|w| Arc::ptr_eq(w, waiter));
        position.and_then(|at| waiters.remove(at)).is_some()
    }

    fn wait_until(&self, deadline: Deadline) -> Result<(), Error> {
        if !sys::can_block() {
            return Err(Error::WouldBlock);
        }
        let waiter = self.enqueue()?;
        let saved = self.release_or_dequeue(&waiter)?;
        let mut outcome = Ok(());
        while waiter.load(Ordering::Acquire) == WAITING {
            match deadline.remaining() {
                Ok(left) => {
                    sys::wait(&waiter, WAITING, left);
                }
                Err(timeout) => {
                    if self.dequeue(&waiter) {
                        outcome = Err(timeout);
                    }
                    break;
                }
            }
        }
        self.lock.reacquire_after_wait(saved);
        outcome
    }
}

/// Armed while a `wait_async` future sleeps: if the future is dropped there, its waiter leaves
/// the queue, and a notification it had already been chosen for passes to the next waiter, so a
/// cancelled wait never swallows a `notify`.
struct CancelledWait<'a, L: ConditionLock> {
    condition: &'a Condition<L>,
    waiter: &'a Arc<AtomicU32>,
}

impl<L: ConditionLock> Drop for CancelledWait<'_, L> {
    fn drop(&mut self) {
        if !self.condition.dequeue(self.waiter) {
            self.condition.wake_oldest(1);
        }
    }
}

impl<L: ConditionLock> fmt::Debug for Condition<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condition")
            .field("waiting", &self.waiting())
            .finish_non_exhaustive()
    }
}
