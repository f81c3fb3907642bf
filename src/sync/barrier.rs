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
//! Every wait honours its deadline, also while it waits for the previous round to drain: a
//! caller whose deadline passes there breaks the barrier, as a timeout inside a round does
//! (Python waits for the drain without a timeout).
//!
//! # Parties that die
//!
//! The internal lock is a [`RawOwnedLock`], and each family says through [`Parties`] who the
//! caller is and whether parties can die. The thread family's cannot ([`Unwatched`]: one
//! constant id, sleeps as long as the deadline says, no bookkeeping). The process family
//! records each party's process in a slot per arrival index ([`Parties::entered`],
//! [`Parties::left`]) and sleeps in slices; after a slice in which nothing changed, and in
//! `reset` and `abort`, it *repairs* the barrier under the lock: the parties whose process
//! ended are forgotten ([`Parties::reclaim_dead`] returns how many live ones are inside, which
//! becomes `count`); a round that was filling breaks (`BrokenBarrier` for the others), and a
//! round that was draining or resetting opens the next once no live party is left in it. A
//! lock held by a process that ended is taken over after a slice, followed by a repair. Every
//! step under the lock leaves words a repair can put right: `count` is recomputed from the
//! slots, a party records its slot before it counts itself, and waiters sleeping in slices
//! notice a change of `state` even if its `changed` bump was lost with its process.
//!
//! # Memory ordering
//!
//! Everything is read and written under the internal lock, whose acquire and release (or
//! take-over) order it; the words are atomics only so that they can be shared without `unsafe`.

use std::time::Duration;

use super::RawOwnedLock;
use crate::sync::atomic::Ordering;
use crate::sync::Word;
use crate::time::Deadline;
use crate::Error;

pub(crate) const FILLING: u32 = 0;
const DRAINING: u32 = 1;
const RESETTING: u32 = 2;
const BROKEN: u32 = 3;

/// What a family adds to its barrier: the caller's id on the internal lock, and, where parties
/// can die, the record of who is inside (see the module docs). Called under the internal lock,
/// except [`me`](Parties::me), [`ended`](Parties::ended) and [`SLICE`](Parties::SLICE).
pub(crate) trait Parties {
    /// How long a caller sleeps at most before it checks for dead parties and a dead holder
    /// of the internal lock; `None` where parties cannot die.
    const SLICE: Option<Duration>;
    /// The caller's id on the internal lock (non-zero, below `SLEEPERS`).
    fn me(&self) -> u32;
    /// Whether the holder of the internal lock with id `id` has ended.
    fn ended(&self, id: u32) -> bool;
    /// Records the caller as the party with arrival `index`.
    fn entered(&self, index: u32);
    /// Forgets the party with arrival `index`, which leaves.
    fn left(&self, index: u32);
    /// Forgets every party whose process ended; returns how many parties are still inside,
    /// or `None` where parties cannot die.
    fn reclaim_dead(&self) -> Option<u32>;
}

/// The parties of a barrier whose parties cannot die on their own: threads of one process.
pub(crate) struct Unwatched;

impl Parties for Unwatched {
    const SLICE: Option<Duration> = None;
    #[inline]
    fn me(&self) -> u32 {
        1
    }
    fn ended(&self, _id: u32) -> bool {
        false
    }
    #[inline]
    fn entered(&self, _index: u32) {}
    #[inline]
    fn left(&self, _index: u32) {}
    fn reclaim_dead(&self) -> Option<u32> {
        None
    }
}

/// The barrier's state machine over any [`Word`]; the number of parties and the action are
/// passed to each wait, so the words (and the family's [`Parties`]) hold the shared state.
pub(crate) struct RawBarrier<W, P = Unwatched> {
    lock: RawOwnedLock<W>,
    /// `FILLING`, `DRAINING`, `RESETTING` or `BROKEN`; under `lock`.
    state: W,
    /// Parties inside `wait`; under `lock`.
    count: W,
    /// Bumped on every change of `state`; waiters sleep on it.
    changed: W,
    parties: P,
}

/// Holds a [`RawBarrier`]'s lock; releases it when dropped (also while a panicking action
/// unwinds).
struct Held<'a, W: Word>(&'a RawOwnedLock<W>);

impl<W: Word> Drop for Held<'_, W> {
    fn drop(&mut self) {
        self.0.unlock();
    }
}

impl<W: Word> RawBarrier<W, Unwatched> {
    /// A barrier of threads in four words, which must hold 0 (free, `FILLING`, 0, any) when
    /// new.
    pub(crate) const fn from_words(lock: W, state: W, count: W, changed: W) -> RawBarrier<W> {
        RawBarrier::with_parties(lock, state, count, changed, Unwatched)
    }
}

impl<W: Word, P: Parties> RawBarrier<W, P> {
    /// A barrier in four words, as [`from_words`](RawBarrier::from_words), whose parties are
    /// recorded by `parties`.
    pub(crate) const fn with_parties(
        lock: W,
        state: W,
        count: W,
        changed: W,
        parties: P,
    ) -> RawBarrier<W, P> {
        RawBarrier {
            lock: RawOwnedLock::from_word(lock),
            state,
            count,
            changed,
            parties,
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
        // From a party's first sleep to its return (the last party to arrive does not sleep).
        let mut wait = None;
        let mut guard = self.acquire()?;
        while !self.may_enter()? {
            if deadline.passed() {
                self.set_state(BROKEN);
                return Err(Error::BrokenBarrier);
            }
            if wait.is_none() {
                wait = Some(crate::trace::span!("wait.barrier"));
            }
            guard = self.changed(guard, deadline)?;
        }
        let index = self.arrive();
        let outcome = if index + 1 == parties {
            self.run_action_and_release(index, action)
        } else {
            loop {
                if let Some(outcome) = self.released() {
                    break outcome;
                }
                if deadline.passed() {
                    self.set_state(BROKEN);
                    break Err(Error::BrokenBarrier);
                }
                if wait.is_none() {
                    wait = Some(crate::trace::span!("wait.barrier"));
                }
                guard = self.changed(guard, deadline)?;
            }
        };
        self.leave(index);
        drop(guard);
        outcome.map(|()| index)
    }

    /// [`wait_until`](Self::wait_until) without a deadline, never blocking the thread (for
    /// parties that cannot die: it sleeps without slices).
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
            self.run_action_and_release(index, action)
        } else {
            loop {
                if let Some(outcome) = self.released() {
                    break outcome;
                }
                guard = self.changed_async(guard).await;
            }
        };
        self.leave(index);
        drop(guard);
        outcome.map(|()| index)
    }

    /// Python's `reset()`; first forgets parties that died.
    pub(crate) fn reset(&self) -> Result<(), Error> {
        let _held = self.acquire()?;
        self.repair();
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

    /// Python's `abort()`; first forgets parties that died.
    pub(crate) fn abort(&self) -> Result<(), Error> {
        let _held = self.acquire()?;
        self.repair();
        self.set_state(BROKEN);
        Ok(())
    }

    /// Runs `f` under the internal lock, where the party that runs the action reads it (the
    /// process barrier updates its action record there, so it is never read half-written).
    pub(crate) fn with_lock<T>(&self, f: impl FnOnce() -> T) -> Result<T, Error> {
        let _held = self.acquire()?;
        Ok(f())
    }

    /// Takes the internal lock; where parties can die, sleeps in slices and takes over a lock
    /// whose holder ended, then repairs the barrier.
    fn acquire(&self) -> Result<Held<'_, W>, Error> {
        let me = self.parties.me();
        let Some(slice) = P::SLICE else {
            self.lock.lock_until(me, Deadline::NEVER)?;
            return Ok(Held(&self.lock));
        };
        let took_over = self
            .lock
            .lock_taking_over(me, slice, |holder| self.parties.ended(holder))?;
        let held = Held(&self.lock);
        if took_over {
            self.repair();
        }
        Ok(held)
    }

    async fn acquire_async(&self) -> Held<'_, W> {
        self.lock.lock_async(self.parties.me()).await;
        Held(&self.lock)
    }

    /// Forgets the parties that died, under the lock: a filling round breaks, a draining or
    /// resetting one with no live party left opens the next (see the module docs).
    fn repair(&self) {
        let Some(live) = self.parties.reclaim_dead() else {
            return;
        };
        if self.count.swap(live, Ordering::Relaxed) == live {
            return;
        }
        match self.state.load(Ordering::Relaxed) {
            FILLING => self.set_state(BROKEN),
            DRAINING | RESETTING if live == 0 => self.set_state(FILLING),
            _ => {}
        }
    }

    /// False while the previous round drains or resets; an error if broken.
    fn may_enter(&self) -> Result<bool, Error> {
        match self.state.load(Ordering::Relaxed) {
            FILLING => Ok(true),
            BROKEN => Err(Error::BrokenBarrier),
            _draining_or_resetting => Ok(false),
        }
    }

    /// Counts the caller in; its index. The party is recorded before it is counted, so a
    /// process that dies in between is never counted without a record.
    fn arrive(&self) -> u32 {
        let index = self.count.load(Ordering::Relaxed);
        self.parties.entered(index);
        self.count.swap(index + 1, Ordering::Relaxed);
        index
    }

    fn run_action_and_release(&self, index: u32, action: Option<&dyn Fn()>) -> Result<(), Error> {
        if let Some(action) = action {
            let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(action));
            if let Err(panic) = ran {
                self.set_state(BROKEN);
                self.leave(index);
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
    fn leave(&self, index: u32) {
        self.parties.left(index);
        let left = self.count.fetch_sub(1, Ordering::Relaxed).saturating_sub(1);
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
    /// Where parties can die, sleeps at most a slice, and repairs the barrier after a slice in
    /// which nothing changed.
    fn changed<'a>(&'a self, guard: Held<'a, W>, deadline: Deadline) -> Result<Held<'a, W>, Error> {
        let seen = self.changed.load(Ordering::Acquire);
        drop(guard);
        let until = match P::SLICE {
            Some(slice) => deadline.capped(slice).unwrap_or(deadline),
            None => deadline,
        };
        while self.changed.load(Ordering::Acquire) == seen {
            if self.changed.wait(seen, until).is_err() {
                break;
            }
        }
        let guard = self.acquire()?;
        if P::SLICE.is_some() && self.changed.load(Ordering::Relaxed) == seen {
            self.repair();
        }
        Ok(guard)
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
