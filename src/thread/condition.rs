//! [`Condition`]: Python's `threading.Condition`, over the engine
//! [`RawCondition`](crate::sync::RawCondition) with its waiters' words in heap nodes.

use crate::sync::atomic::AtomicU32;
use crate::sync::spin;
use crate::sync::{RawCondition, WaiterQueue, WAITING};
use crate::time::Deadline;
use crate::{Error, Lock, LockGuard, RLock, RLockGuard};
use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
    pub trait Sealed: crate::sync::InnerLock + crate::sync::AsyncInnerLock {}
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
