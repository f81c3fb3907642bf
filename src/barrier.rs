//! [`Barrier`]: Python's `threading.Barrier`, a rendezvous for a fixed number of threads.
//!
//! # State machine
//!
//! CPython's algorithm, over an internal lock and words read and written under it. It lives in
//! `RawBarrier<W>`, generic over [`Word`](crate::word::Word) like the other state machines: the
//! thread [`Barrier`] is it over `AtomicU32` plus the optional action, and the process barrier
//! (`amphi::process::Barrier`) is it over words in the shared region.
//!
//! | `state` | meaning |
//! |---|---|
//! | `FILLING` | threads are arriving; the last of `parties` releases them all |
//! | `DRAINING` | released threads are leaving; newcomers wait until the last has left |
//! | `RESETTING` | `reset` was called while threads waited; they leave with `BrokenBarrier` |
//! | `BROKEN` | aborted, timed out or a failed action: every wait fails until `reset` |
//!
//! `count` is how many threads are inside `wait`. Every change of `state` bumps `changed`, the
//! word that waiting threads sleep on (a sequence number: a waiter sleeps while it still holds
//! the value it read under the lock, so no change is missed).
//!
//! The last arriving thread runs the optional action before anyone is released. A panicking
//! action breaks the barrier (the others get `BrokenBarrier`) and the panic goes on in the
//! thread that ran it, as an exception does in Python, on both targets.
//!
//! # Memory ordering
//!
//! Everything is read and written under the internal lock, whose acquire and release order it;
//! the words are atomics only so that they can be shared without `unsafe`.

use std::fmt;
use std::time::Duration;

use crate::atomic::{AtomicU32, Ordering};
use crate::lock::RawLock;
use crate::time::Deadline;
use crate::word::Word;
use crate::Error;

const FILLING: u32 = 0;
const DRAINING: u32 = 1;
const RESETTING: u32 = 2;
const BROKEN: u32 = 3;

type Action = Box<dyn Fn() + Send + Sync>;

/// A barrier for a fixed number of threads, as Python's `threading.Barrier`.
///
/// Each of `parties` threads calls [`wait`](Barrier::wait); all of them sleep until the last
/// arrives, then all are released together, each with a distinct index in `0..parties`. The
/// barrier then fills again for the next round.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use amphi::{Barrier, Thread};
///
/// let barrier = Arc::new(Barrier::new(3)?);
/// let threads: Vec<_> = (0..3)
///     .map(|_| {
///         let barrier = barrier.clone();
///         Thread::spawn(move || barrier.wait())
///     })
///     .collect::<Result<_, _>>()?;
/// let mut indices: Vec<u32> = threads.into_iter().map(|t| t.join()?).collect::<Result<_, _>>()?;
/// indices.sort();
/// assert_eq!(indices, [0, 1, 2]);
/// # Ok::<(), amphi::Error>(())
/// ```
pub struct Barrier {
    parties: u32,
    action: Option<Action>,
    timeout: Option<Duration>,
    raw: RawBarrier<AtomicU32>,
}

/// The barrier's state machine over any [`Word`]; the number of parties and the action are
/// passed to each wait, so the words alone hold the shared state.
pub(crate) struct RawBarrier<W> {
    lock: RawLock<W>,
    /// `FILLING`, `DRAINING`, `RESETTING` or `BROKEN`; under `lock`.
    state: W,
    /// Threads inside `wait`; under `lock`.
    count: W,
    /// Bumped on every change of `state`; waiters sleep on it.
    changed: W,
}

/// Holds a [`RawBarrier`]'s lock; releases it when dropped (also while a panicking action
/// unwinds).
struct Held<'a, W: Word>(&'a RawLock<W>);

impl<W: Word> Drop for Held<'_, W> {
    fn drop(&mut self) {
        self.0.unlock();
    }
}

impl Barrier {
    /// A barrier for `parties` threads. [`Error::InvalidArgument`] if `parties` is 0.
    ///
    /// # Examples
    ///
    /// ```
    /// let barrier = amphi::Barrier::new(3)?;
    /// assert_eq!(barrier.parties(), 3);
    /// assert!(matches!(amphi::Barrier::new(0), Err(amphi::Error::InvalidArgument(_))));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn new(parties: u32) -> Result<Barrier, Error> {
        if parties == 0 {
            return Err(Error::InvalidArgument(
                "a barrier needs at least one party".into(),
            ));
        }
        Ok(Barrier {
            parties,
            action: None,
            timeout: None,
            raw: RawBarrier::from_words(
                AtomicU32::new(0),
                AtomicU32::new(FILLING),
                AtomicU32::new(0),
                AtomicU32::new(0),
            ),
        })
    }

    /// Runs `action` in the last arriving thread of each round, before anyone is released.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU32, Ordering};
    /// use std::sync::Arc;
    /// let rounds = Arc::new(AtomicU32::new(0));
    /// let counter = rounds.clone();
    /// let barrier = amphi::Barrier::new(1)?.with_action(move || {
    ///     counter.fetch_add(1, Ordering::Relaxed);
    /// });
    /// barrier.wait()?;
    /// barrier.wait()?;
    /// assert_eq!(rounds.load(Ordering::Relaxed), 2);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn with_action(mut self, action: impl Fn() + Send + Sync + 'static) -> Barrier {
        self.action = Some(Box::new(action));
        self
    }

    /// Sets the timeout [`wait`](Barrier::wait) uses (Python's `Barrier(timeout=...)`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let barrier = amphi::Barrier::new(2)?.with_timeout(Duration::from_millis(5));
    /// assert_eq!(barrier.wait(), Err(amphi::Error::BrokenBarrier), "nobody else came");
    /// assert!(barrier.broken());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn with_timeout(mut self, timeout: Duration) -> Barrier {
        self.timeout = Some(timeout);
        self
    }

    /// The number of threads needed to pass the barrier.
    ///
    /// # Examples
    ///
    /// ```
    /// let barrier = amphi::Barrier::new(4)?;
    /// assert_eq!(barrier.parties(), 4);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn parties(&self) -> u32 {
        self.parties
    }

    /// How many threads are waiting in the current round (a snapshot).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let barrier = Arc::new(amphi::Barrier::new(2)?);
    /// let first = {
    ///     let barrier = barrier.clone();
    ///     amphi::Thread::spawn(move || barrier.wait())?
    /// };
    /// while barrier.n_waiting() == 0 {
    ///     amphi::thread::sleep(std::time::Duration::from_millis(1))?;
    /// }
    /// assert_eq!(barrier.n_waiting(), 1);
    /// barrier.wait()?; // the second party releases both
    /// first.join()??;
    /// assert_eq!(barrier.n_waiting(), 0);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn n_waiting(&self) -> u32 {
        self.raw.n_waiting()
    }

    /// Whether the barrier is broken.
    ///
    /// # Examples
    ///
    /// ```
    /// let barrier = amphi::Barrier::new(2)?;
    /// assert!(!barrier.broken());
    /// barrier.abort()?;
    /// assert!(barrier.broken());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn broken(&self) -> bool {
        self.raw.broken()
    }

    /// Waits for all parties, using the barrier's default timeout if it has one. Returns this
    /// thread's index in `0..parties` (distinct within a round).
    ///
    /// [`Error::BrokenBarrier`] if the barrier is or becomes broken (on a timeout, the barrier
    /// breaks, as in Python); [`Error::WouldBlock`] on the browser's main thread.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let barrier = Arc::new(amphi::Barrier::new(2)?);
    /// let other = {
    ///     let barrier = barrier.clone();
    ///     amphi::Thread::spawn(move || barrier.wait())?
    /// };
    /// let mine = barrier.wait()?;
    /// let theirs = other.join()??;
    /// assert_eq!(mine + theirs, 1, "the indices are 0 and 1");
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn wait(&self) -> Result<u32, Error> {
        let deadline = self.timeout.map_or(Deadline::NEVER, Deadline::after);
        self.raw
            .wait_until(self.parties, self.action.as_deref().map(as_fn), deadline)
    }

    /// Waits for all parties for at most `timeout`; on timeout the barrier breaks and this
    /// returns [`Error::BrokenBarrier`] (Python's behaviour), as do the other waiters.
    ///
    /// # Examples
    ///
    /// ```
    /// let barrier = amphi::Barrier::new(2)?;
    /// let alone = barrier.wait_timeout(std::time::Duration::from_millis(5));
    /// assert_eq!(alone, Err(amphi::Error::BrokenBarrier));
    /// assert!(barrier.broken());
    /// barrier.reset()?;
    /// assert!(!barrier.broken());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> Result<u32, Error> {
        let action = self.action.as_deref().map(as_fn);
        self.raw
            .wait_until(self.parties, action, Deadline::after(timeout))
    }

    /// Waits for all parties without blocking the thread (no timeout). Works on the browser's
    /// main thread.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let barrier = Arc::new(amphi::Barrier::new(2)?);
    /// let other = {
    ///     let barrier = barrier.clone();
    ///     amphi::Thread::spawn(move || barrier.wait())?
    /// };
    /// let mine = futures_executor::block_on(barrier.wait_async())?;
    /// let theirs = other.join()??;
    /// assert_eq!(mine + theirs, 1, "the indices are 0 and 1");
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub async fn wait_async(&self) -> Result<u32, Error> {
        let action = self.action.as_deref().map(as_fn);
        self.raw.wait_async(self.parties, action).await
    }

    /// Puts the barrier back to its empty state. Threads waiting in it get
    /// [`Error::BrokenBarrier`]; a broken barrier becomes usable again.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let barrier = Arc::new(amphi::Barrier::new(2)?);
    /// let waiter = {
    ///     let barrier = barrier.clone();
    ///     amphi::Thread::spawn(move || barrier.wait())?
    /// };
    /// while barrier.n_waiting() == 0 {
    ///     amphi::thread::sleep(std::time::Duration::from_millis(1))?;
    /// }
    /// barrier.reset()?;
    /// assert_eq!(waiter.join()?, Err(amphi::Error::BrokenBarrier));
    /// assert!(!barrier.broken(), "ready for a new round");
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn reset(&self) -> Result<(), Error> {
        self.raw.reset()
    }

    /// Breaks the barrier: every waiter and later caller gets [`Error::BrokenBarrier`] until
    /// [`reset`](Barrier::reset). Use it to stop a rendezvous that can no longer complete.
    ///
    /// # Examples
    ///
    /// ```
    /// let barrier = amphi::Barrier::new(2)?;
    /// barrier.abort()?;
    /// assert_eq!(barrier.wait(), Err(amphi::Error::BrokenBarrier));
    /// barrier.reset()?;
    /// assert!(!barrier.broken());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn abort(&self) -> Result<(), Error> {
        self.raw.abort()
    }
}

/// The action as the plain `dyn Fn()` that [`RawBarrier`] takes.
fn as_fn(action: &(dyn Fn() + Send + Sync)) -> &dyn Fn() {
    action
}

impl<W: Word> RawBarrier<W> {
    /// A barrier in four words, which must hold 0 (`UNLOCKED`, `FILLING`, 0, any) when new.
    pub(crate) const fn from_words(lock: W, state: W, count: W, changed: W) -> RawBarrier<W> {
        RawBarrier {
            lock: RawLock::from_word(lock),
            state,
            count,
            changed,
        }
    }

    /// How many parties wait in the current round (a snapshot).
    pub(crate) fn n_waiting(&self) -> u32 {
        if self.state.load(Ordering::Relaxed) == FILLING {
            self.count.load(Ordering::Relaxed)
        } else {
            0
        }
    }

    /// Whether the barrier is broken (a snapshot).
    pub(crate) fn broken(&self) -> bool {
        self.state.load(Ordering::Relaxed) == BROKEN
    }

    /// Waits for `parties` parties until `deadline`; the last to arrive runs `action`.
    pub(crate) fn wait_until(
        &self,
        parties: u32,
        action: Option<&dyn Fn()>,
        deadline: Deadline,
    ) -> Result<u32, Error> {
        let mut guard = self.acquire()?;
        while !self.may_enter()? {
            guard = self.changed(guard, Deadline::NEVER)?;
        }
        let index = self.arrive();
        let outcome = if index + 1 == parties {
            self.run_action_and_release(action)
        } else {
            loop {
                if let Some(outcome) = self.released() {
                    break outcome;
                }
                if deadline.remaining().is_err() {
                    self.set_state(BROKEN);
                    break Err(Error::BrokenBarrier);
                }
                guard = self.changed(guard, deadline)?;
            }
        };
        self.leave();
        drop(guard);
        outcome.map(|()| index)
    }

    /// [`wait_until`](Self::wait_until) without a deadline, never blocking the thread.
    pub(crate) async fn wait_async(
        &self,
        parties: u32,
        action: Option<&dyn Fn()>,
    ) -> Result<u32, Error> {
        let mut guard = self.acquire_async().await;
        while !self.may_enter()? {
            guard = self.changed_async(guard).await;
        }
        let index = self.arrive();
        let outcome = if index + 1 == parties {
            self.run_action_and_release(action)
        } else {
            loop {
                if let Some(outcome) = self.released() {
                    break outcome;
                }
                guard = self.changed_async(guard).await;
            }
        };
        self.leave();
        drop(guard);
        outcome.map(|()| index)
    }

    /// Python's `reset()`.
    pub(crate) fn reset(&self) -> Result<(), Error> {
        let _held = self.acquire()?;
        let state = self.state.load(Ordering::Relaxed);
        if self.count.load(Ordering::Relaxed) > 0 {
            if state == FILLING || state == BROKEN {
                self.set_state(RESETTING);
            }
        } else {
            self.set_state(FILLING);
        }
        Ok(())
    }

    /// Python's `abort()`.
    pub(crate) fn abort(&self) -> Result<(), Error> {
        let _held = self.acquire()?;
        self.set_state(BROKEN);
        Ok(())
    }

    fn acquire(&self) -> Result<Held<'_, W>, Error> {
        self.lock.lock_until(Deadline::NEVER)?;
        Ok(Held(&self.lock))
    }

    async fn acquire_async(&self) -> Held<'_, W> {
        self.lock.lock_async().await;
        Held(&self.lock)
    }

    /// False while the previous round drains or resets; an error if broken.
    fn may_enter(&self) -> Result<bool, Error> {
        match self.state.load(Ordering::Relaxed) {
            FILLING => Ok(true),
            BROKEN => Err(Error::BrokenBarrier),
            _draining_or_resetting => Ok(false),
        }
    }

    fn arrive(&self) -> u32 {
        self.count.fetch_add(1, Ordering::Relaxed)
    }

    fn run_action_and_release(&self, action: Option<&dyn Fn()>) -> Result<(), Error> {
        if let Some(action) = action {
            let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(action));
            if let Err(panic) = ran {
                self.set_state(BROKEN);
                self.leave();
                std::panic::resume_unwind(panic);
            }
        }
        self.set_state(DRAINING);
        Ok(())
    }

    /// `None` while the round is filling; then how this waiter leaves.
    fn released(&self) -> Option<Result<(), Error>> {
        match self.state.load(Ordering::Relaxed) {
            FILLING => None,
            DRAINING => Some(Ok(())),
            _reset_or_broken => Some(Err(Error::BrokenBarrier)),
        }
    }

    /// Leaves `wait`; the last one out of a drained or reset round opens the next.
    fn leave(&self) {
        let left = self.count.fetch_sub(1, Ordering::Relaxed) - 1;
        let state = self.state.load(Ordering::Relaxed);
        if left == 0 && (state == DRAINING || state == RESETTING) {
            self.set_state(FILLING);
        }
    }

    fn set_state(&self, state: u32) {
        self.state.swap(state, Ordering::Relaxed);
        self.changed.fetch_add(1, Ordering::Release);
        self.changed.wake_all();
    }

    /// Releases the lock, sleeps until `changed` moves (or the deadline passes), re-locks.
    fn changed<'a>(&'a self, guard: Held<'a, W>, deadline: Deadline) -> Result<Held<'a, W>, Error> {
        let seen = self.changed.load(Ordering::Acquire);
        drop(guard);
        while self.changed.load(Ordering::Acquire) == seen {
            match deadline.remaining() {
                Ok(left) => {
                    self.changed.wait(seen, left);
                }
                Err(_) => break,
            }
        }
        self.acquire()
    }

    async fn changed_async<'a>(&'a self, guard: Held<'a, W>) -> Held<'a, W> {
        let seen = self.changed.load(Ordering::Acquire);
        drop(guard);
        while self.changed.load(Ordering::Acquire) == seen {
            self.changed.wait_async(seen).await;
        }
        self.acquire_async().await
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Barrier")
            .field("parties", &self.parties)
            .field("n_waiting", &self.n_waiting())
            .field("broken", &self.broken())
            .finish()
    }
}
