//! [`RawBarrier`]: the state machine of Python's `Barrier` (a rendezvous for a fixed number of
//! parties), written once for the thread and the process families.
//!
//! # State machine
//!
//! CPython's algorithm, over an internal lock and words read and written under it. It lives in
//! `RawBarrier<W>`, generic over [`Word`] like the other state machines: the
//! thread [`Barrier`](crate::Barrier) is it over `AtomicU32` plus the optional action, and the process barrier
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

use super::RawLock;
use crate::sync::atomic::Ordering;
use crate::sync::Word;
use crate::time::Deadline;
use crate::Error;

pub(crate) const FILLING: u32 = 0;
const DRAINING: u32 = 1;
const RESETTING: u32 = 2;
const BROKEN: u32 = 3;

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
                if deadline.passed() {
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

    /// Runs `f` under the internal lock, where the party that runs the action reads it (the
    /// process barrier updates its action record there, so it is never read half-written).
    pub(crate) fn with_lock<T>(&self, f: impl FnOnce() -> T) -> Result<T, Error> {
        let _held = self.acquire()?;
        Ok(f())
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
            if self.changed.wait(seen, deadline).is_err() {
                break;
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
