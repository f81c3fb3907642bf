//! [`Condition`]: Python's `threading.Condition`, over its own [`RLock`] or a given lock; and
//! [`RawCondition`], its state machine, written once for the thread and the process families.
//!
//! # How it works
//!
//! Like CPython's, each waiter brings its own word (`WAITING`, then `NOTIFIED`) and queues it
//! in FIFO order. `wait` queues the word, releases the lock fully (every level of an `RLock`),
//! sleeps while the word is `WAITING`, then re-acquires the lock as it was. `notify(n)`
//! dequeues the `n` oldest waiters, sets their words and wakes each. So `notify(n)` wakes
//! exactly the `n` callers that waited longest, never one that started waiting after the
//! notify, and never more than `n`, as Python promises.
//!
//! A waiter that times out removes its word from the queue; if it is no longer there a notify
//! chose it at the same moment, and the wait counts as notified (so no notification is lost).
//! A waiter that leaves without waiting (its lock could not be released, or its `wait_async`
//! future was dropped) and had already been chosen passes the notification to the next one.
//!
//! [`RawCondition`] is that machine, generic over where the waiters' words live
//! ([`WaiterQueue`]): here [`HeapQueue`], a queue of words on the heap under a small internal
//! mutex; the process family's slots in the shared region (`process::shared::condition`). Its
//! methods are generic over the lock ([`WaitLock`]): a thread or process `Lock`, or a thread or
//! process `RLock`, whose state machine (`crate::rlock::RawRLock`) saves and restores the
//! recursion level around the wait.
//!
//! # Guarantees
//!
//! Spurious wake-ups of the underlying wait are absorbed (the word is re-checked); `wait` itself
//! returns only when notified or timed out. As in Python, a woken waiter must re-acquire the
//! lock, so the state it waited for may have changed again: use [`Condition::wait_for`].
//!
//! # Memory ordering
//!
//! The lock orders the user's state. A waiter's word is set `NOTIFIED` with `Release` and read
//! with `Acquire`; the queue's own mutex orders the queue.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::atomic::{AtomicU32, Ordering};
use crate::rlock::{AsyncInnerLock, InnerLock};
use crate::time::Deadline;
use crate::word::Word;
use crate::{spin, sys, Error, Lock, LockGuard, RLock, RLockGuard};

/// A queued waiter's word while it waits.
pub(crate) const WAITING: u32 = 1;
/// A waiter's word once a notify chose it.
pub(crate) const NOTIFIED: u32 = 2;

/// What a condition needs from its lock (a thread or process `Lock` or `RLock`). Not nameable
/// outside the crate, so it also seals the public `ConditionLock` traits.
pub trait WaitLock {
    /// Whether the caller may wait on or notify a condition over this lock.
    fn caller_may_wait(&self) -> bool;
    /// Releases the lock fully for a wait; what [`relock_after_wait`](Self::relock_after_wait)
    /// needs to restore it.
    fn unlock_for_wait(&self) -> Result<u32, Error>;
    /// Takes the lock again after a wait, as [`unlock_for_wait`](Self::unlock_for_wait) left it.
    fn relock_after_wait(&self, saved: u32) -> Result<(), Error>;
}

/// A [`WaitLock`] that can also be re-taken without blocking the thread.
#[allow(async_fn_in_trait)] // crate-internal (unnameable): its futures need no `Send` bound
pub trait AsyncWaitLock: WaitLock {
    /// Takes the lock again after a wait without blocking the thread.
    async fn relock_after_wait_async(&self, saved: u32);
}

/// A plain lock (thread or process `Lock`) has no owner: as in CPython, "held" means "held by
/// someone", and there is one level to restore.
impl<L: InnerLock> WaitLock for L {
    fn caller_may_wait(&self) -> bool {
        self.is_locked()
    }
    fn unlock_for_wait(&self) -> Result<u32, Error> {
        self.unlock().map_err(|_| Error::NotOwner)?;
        Ok(1)
    }
    fn relock_after_wait(&self, _saved: u32) -> Result<(), Error> {
        self.lock()
    }
}

impl<L: AsyncInnerLock> AsyncWaitLock for L {
    async fn relock_after_wait_async(&self, _saved: u32) {
        self.lock_async().await;
    }
}

/// An `RLock` is held by its owner, and every level is released and restored.
impl WaitLock for RLock {
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

impl AsyncWaitLock for RLock {
    async fn relock_after_wait_async(&self, saved: u32) {
        self.raw().restore_async(saved).await;
    }
}

/// Where a [`RawCondition`]'s waiters keep their words, oldest first.
pub(crate) trait WaiterQueue {
    /// A queued waiter: its word, and what finds it in the queue.
    type Waiter;
    /// The words waiters sleep on.
    type Word: Word;
    /// `waiter`'s word.
    fn word(waiter: &Self::Waiter) -> &Self::Word;
    /// Queues a new waiter, its word `WAITING`, as the newest.
    fn push(&self) -> Result<Self::Waiter, Error>;
    /// Takes `waiter` out of the queue; false if a notify already took it.
    fn remove(&self, waiter: &Self::Waiter) -> Result<bool, Error>;
    /// Takes the `n` oldest waiters out of the queue (fewer if fewer wait), passes each one's
    /// word to `notify`, and returns how many.
    fn take_oldest(&self, n: usize, notify: impl FnMut(&Self::Word)) -> Result<usize, Error>;
    /// Gives back what a waiter a notify took out still holds (its word), once it has seen
    /// the notification.
    fn retire(&self, waiter: &Self::Waiter);
    /// How many waiters are queued (a snapshot).
    fn len(&self) -> usize;
}

/// The condition's state machine over a [`WaiterQueue`] (see the module docs); the lock is
/// passed to each call.
pub(crate) struct RawCondition<Q> {
    queue: Q,
}

impl<Q: WaiterQueue> RawCondition<Q> {
    /// A condition whose waiters queue in `queue` (which must be empty).
    pub(crate) const fn from_queue(queue: Q) -> RawCondition<Q> {
        RawCondition { queue }
    }

    /// Releases `lock`, sleeps until notified or `deadline` passes ([`Error::Timeout`]), and
    /// re-acquires `lock` as it was. [`Error::NotOwner`] without the lock;
    /// [`Error::WouldBlock`] on a thread that may not block.
    pub(crate) fn wait_until<L: WaitLock + ?Sized>(
        &self,
        lock: &L,
        deadline: Deadline,
    ) -> Result<(), Error> {
        if !sys::can_block() {
            return Err(Error::WouldBlock);
        }
        let waiter = self.enqueue(lock)?;
        let saved = self.unlock_or_withdraw(lock, &waiter)?;
        let word = Q::word(&waiter);
        let mut outcome = Ok(());
        loop {
            if word.load(Ordering::Acquire) != WAITING {
                self.queue.retire(&waiter);
                break;
            }
            match deadline.remaining() {
                Ok(left) => {
                    word.wait(WAITING, left);
                }
                Err(timeout) => {
                    if self.queue.remove(&waiter)? {
                        outcome = Err(timeout);
                    } else {
                        self.queue.retire(&waiter);
                    }
                    break;
                }
            }
        }
        lock.relock_after_wait(saved)?;
        outcome
    }

    /// Waits until `predicate()` holds, re-checking after every wake-up; [`Error::Timeout`] if
    /// it still does not hold once `deadline` passes. Returns at once if it already holds.
    pub(crate) fn wait_for_until<L: WaitLock + ?Sized>(
        &self,
        lock: &L,
        mut predicate: impl FnMut() -> bool,
        deadline: Deadline,
    ) -> Result<(), Error> {
        while !predicate() {
            match self.wait_until(lock, deadline) {
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

    /// As [`wait_until`](Self::wait_until) with no deadline, without blocking the thread.
    pub(crate) async fn wait_async<L: AsyncWaitLock + ?Sized>(
        &self,
        lock: &L,
    ) -> Result<(), Error> {
        let waiter = self.enqueue(lock)?;
        let saved = self.unlock_or_withdraw(lock, &waiter)?;
        let pending = CancelledWait {
            condition: self,
            waiter: &waiter,
        };
        let word = Q::word(&waiter);
        while word.load(Ordering::Acquire) == WAITING {
            word.wait_async(WAITING).await;
        }
        std::mem::forget(pending);
        self.queue.retire(&waiter);
        lock.relock_after_wait_async(saved).await;
        Ok(())
    }

    /// Wakes the `n` oldest waiters; returns how many. [`Error::NotOwner`] without the lock.
    pub(crate) fn notify<L: WaitLock + ?Sized>(&self, lock: &L, n: usize) -> Result<usize, Error> {
        if !lock.caller_may_wait() {
            return Err(Error::NotOwner);
        }
        self.wake_oldest(n)
    }

    /// How many callers wait (a snapshot).
    pub(crate) fn waiting(&self) -> usize {
        self.queue.len()
    }

    /// Dequeues, marks notified and wakes the `n` oldest waiters; returns how many.
    fn wake_oldest(&self, n: usize) -> Result<usize, Error> {
        self.queue.take_oldest(n, |word| {
            word.swap(NOTIFIED, Ordering::Release);
            word.wake_all();
        })
    }

    /// Queues a waiter for the caller, who must hold `lock`.
    fn enqueue<L: WaitLock + ?Sized>(&self, lock: &L) -> Result<Q::Waiter, Error> {
        if !lock.caller_may_wait() {
            return Err(Error::NotOwner);
        }
        self.queue.push()
    }

    /// Releases `lock` for a wait; on failure `waiter` leaves the queue.
    fn unlock_or_withdraw<L: WaitLock + ?Sized>(
        &self,
        lock: &L,
        waiter: &Q::Waiter,
    ) -> Result<u32, Error> {
        lock.unlock_for_wait().inspect_err(|_| {
            // The lock's error is the one to report.
            let _ = self.withdraw(waiter);
        })
    }

    /// Takes `waiter` out of the queue before it waited; a notification it had already been
    /// chosen for passes to the next waiter, so none is swallowed.
    fn withdraw(&self, waiter: &Q::Waiter) -> Result<(), Error> {
        if !self.queue.remove(waiter)? {
            self.queue.retire(waiter);
            self.wake_oldest(1)?;
        }
        Ok(())
    }
}

/// Armed while a `wait_async` future sleeps: if the future is dropped there, its waiter leaves
/// the queue, and a notification it had already been chosen for passes to the next waiter.
struct CancelledWait<'a, Q: WaiterQueue> {
    condition: &'a RawCondition<Q>,
    waiter: &'a Q::Waiter,
}

impl<Q: WaiterQueue> Drop for CancelledWait<'_, Q> {
    fn drop(&mut self) {
        // Nothing to report to from a drop; the queue's mutex only fails where it cannot block.
        let _ = self.condition.withdraw(self.waiter);
    }
}

/// A thread condition's waiters: their words on the heap, oldest first, under a small mutex
/// (spun on, so the browser's main thread may take it).
#[derive(Default)]
pub(crate) struct HeapQueue {
    waiters: Mutex<VecDeque<Arc<AtomicU32>>>,
}

impl WaiterQueue for HeapQueue {
    type Waiter = Arc<AtomicU32>;
    type Word = AtomicU32;

    fn word(waiter: &Arc<AtomicU32>) -> &AtomicU32 {
        waiter
    }

    fn push(&self) -> Result<Arc<AtomicU32>, Error> {
        let waiter = Arc::new(AtomicU32::new(WAITING));
        spin::lock(&self.waiters).push_back(Arc::clone(&waiter));
        Ok(waiter)
    }

    fn remove(&self, waiter: &Arc<AtomicU32>) -> Result<bool, Error> {
        let mut waiters = spin::lock(&self.waiters);
        let position = waiters
            .iter()
            .position(|queued| Arc::ptr_eq(queued, waiter));
        Ok(position.and_then(|at| waiters.remove(at)).is_some())
    }

    fn take_oldest(&self, n: usize, mut notify: impl FnMut(&AtomicU32)) -> Result<usize, Error> {
        let chosen: Vec<_> = {
            let mut waiters = spin::lock(&self.waiters);
            let count = n.min(waiters.len());
            waiters.drain(..count).collect()
        };
        for waiter in &chosen {
            notify(waiter);
        }
        Ok(chosen.len())
    }

    /// A heap word is freed with its last `Arc`.
    fn retire(&self, _waiter: &Arc<AtomicU32>) {}

    fn len(&self) -> usize {
        spin::lock(&self.waiters).len()
    }
}

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
    raw: RawCondition<HeapQueue>,
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
    /// Whether the caller may wait on or notify a condition over this lock: an `RLock` must be
    /// held by the caller; a `Lock` has no owner, so, as in CPython, "held" means "held by
    /// someone".
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
    fn held(&self) -> bool {
        self.caller_may_wait()
    }
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
    fn release_for_wait(&self) -> Result<u32, Error> {
        self.unlock_for_wait()
    }
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
    fn reacquire_after_wait(&self, saved: u32) {
        // Re-taking a lock fails only where the thread may not block, where no wait got here.
        let _ = self.relock_after_wait(saved);
    }
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
    async fn reacquire_after_wait_async(&self, saved: u32) {
        self.relock_after_wait_async(saved).await;
    }
}

mod sealed {
    /// Only amphi's locks, which a condition knows how to release and restore.
    pub trait Sealed: super::WaitLock + super::AsyncWaitLock {}
    impl Sealed for crate::Lock {}
    impl Sealed for crate::RLock {}
}

impl ConditionLock for Lock {
    type Guard<'a> = LockGuard<'a>;

    fn acquire_guard(&self) -> Result<LockGuard<'_>, Error> {
        self.acquire()
    }
}

impl ConditionLock for RLock {
    type Guard<'a> = RLockGuard<'a>;

    fn acquire_guard(&self) -> Result<RLockGuard<'_>, Error> {
        self.acquire()
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
            raw: RawCondition::from_queue(HeapQueue::default()),
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
        self.raw.wait_until(&*self.lock, Deadline::NEVER)
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
        self.raw.wait_until(&*self.lock, Deadline::after(timeout))
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
    pub fn wait_for(&self, predicate: impl FnMut() -> bool) -> Result<(), Error> {
        self.raw
            .wait_for_until(&*self.lock, predicate, Deadline::NEVER)
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
        predicate: impl FnMut() -> bool,
        timeout: Duration,
    ) -> Result<(), Error> {
        self.raw
            .wait_for_until(&*self.lock, predicate, Deadline::after(timeout))
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
        self.raw.wait_async(&*self.lock).await
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
        self.raw.notify(&*self.lock, n)
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
        self.raw.waiting()
    }
}

impl<L: ConditionLock> fmt::Debug for Condition<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condition")
            .field("waiting", &self.waiting())
            .finish_non_exhaustive()
    }
}
