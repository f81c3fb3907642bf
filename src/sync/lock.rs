//! [`RawLock`]: the state machine of Python's `Lock` (a mutual-exclusion lock not tied to its
//! owner), written once for the thread and the process families.
//!
//! # State machine
//!
//! The lock is one 32-bit word:
//!
//! | value | name | meaning |
//! |---|---|---|
//! | 0 | `UNLOCKED` | free |
//! | 1 | `LOCKED` | held, and no thread has gone to sleep waiting for it |
//! | 2 | `CONTENDED` | held, and a waiter may be asleep: the releaser must wake one |
//!
//! Acquire is one compare-and-swap `UNLOCKED -> LOCKED` on the fast path. The slow path spins
//! briefly while the holder is `LOCKED` (reading the word up to 127 times: the polling spin of
//! [`Backoff`]; std's spins 100), takes the lock with one more compare-and-swap if the spin saw
//! it free, else swaps in `CONTENDED` (acquiring if that swap saw `UNLOCKED`) and sleeps while
//! the word stays `CONTENDED`; after each wake-up it spins again before re-announcing itself.
//! Release swaps in `UNLOCKED` and wakes one sleeper only if it saw `CONTENDED`. This is the
//! futex mutex of std and of Drepper's "Futexes Are Tricky": the same atomic operations in the
//! same order (only the spin is longer), no counter, clock or extra atomic on either path. An
//! untimed wait reads no clock (`Deadline::NEVER` has nothing to compute).
//!
//! # Guarantees
//!
//! - No lost wake-ups: a sleeper only sleeps while the word is `CONTENDED`, and every release
//!   of a `CONTENDED` lock wakes one sleeper, which marks the word `CONTENDED` again before it
//!   sleeps, so remaining sleepers are woken in turn.
//! - Spurious wake-ups are absorbed by the loop; timed waits re-compute what is left.
//! - Not fair: a thread arriving at the right moment can overtake a woken sleeper (as with
//!   std's and Python's locks). Throughput wins over strict FIFO order.
//!
//! # Memory ordering
//!
//! Taking the lock is an `Acquire` operation and releasing it a `Release` operation, so
//! everything written while holding the lock happens-before everything read by the next holder.
//! Nothing else needs ordering: the word is the only shared state.

use crate::sync::atomic::Ordering;
use crate::sync::Backoff;
use crate::sync::Word;
use crate::time::Deadline;
use crate::{sys, Error};

pub(crate) const UNLOCKED: u32 = 0;
const LOCKED: u32 = 1;
const CONTENDED: u32 = 2;

/// The lock's state machine over any [`Word`]: the thread `Lock` and the process-shared lock
/// are this, over different words.
pub(crate) struct RawLock<W> {
    /// `UNLOCKED`, `LOCKED` or `CONTENDED`; see the module docs.
    state: W,
}

impl<W: Word> RawLock<W> {
    /// A lock living in `state`, which must hold `UNLOCKED` (0) for a new lock.
    pub(crate) const fn from_word(state: W) -> RawLock<W> {
        RawLock { state }
    }

    /// Whether anyone holds the lock (a snapshot).
    #[inline]
    pub(crate) fn locked(&self) -> bool {
        self.state.load(Ordering::Relaxed) != UNLOCKED
    }

    /// Takes the lock if it is free; never blocks.
    #[inline]
    pub(crate) fn try_lock(&self) -> bool {
        self.state
            .compare_exchange(UNLOCKED, LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    /// Takes the lock, sleeping until `deadline`; refuses on threads that may not block.
    #[inline]
    pub(crate) fn lock_until(&self, deadline: Deadline) -> Result<(), Error> {
        if !sys::can_block() {
            return Err(Error::WouldBlock);
        }
        if !self.try_lock() {
            self.lock_slow(deadline)?;
        }
        Ok(())
    }

    /// Takes the lock without blocking the thread.
    pub(crate) async fn lock_async(&self) {
        while !self.try_lock_or_announce() {
            self.state.wait_async(CONTENDED).await;
        }
    }

    /// Takes the lock if it is free; otherwise marks it contended, so that its release wakes
    /// the sleepers of its word, and returns `false`. For a future: it then sleeps on the word
    /// while it holds `CONTENDED`, and tries again when woken. A caller that gives up instead
    /// costs at most one unneeded wake-up at release.
    pub(crate) fn try_lock_or_announce(&self) -> bool {
        self.try_lock() || self.state.swap(CONTENDED, Ordering::Acquire) == UNLOCKED
    }

    /// Python's `release()`: [`Error::NotLocked`] (and no change) if the lock is free.
    pub(crate) fn release(&self) -> Result<(), Error> {
        match self.state.swap(UNLOCKED, Ordering::Release) {
            UNLOCKED => Err(Error::NotLocked),
            CONTENDED => {
                self.state.wake_one();
                Ok(())
            }
            _ => Ok(()),
        }
    }

    #[cold]
    fn lock_slow(&self, deadline: Deadline) -> Result<(), Error> {
        let mut state = self.spin();
        if state == UNLOCKED {
            // Free: take it without announcing a sleeper. If another thread took it first,
            // go on with the state that thread left (a CONTENDED word needs no second swap).
            match self.state.compare_exchange(
                UNLOCKED,
                LOCKED,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Ok(()),
                Err(now) => state = now,
            }
        }
        let _wait = crate::trace::span!("wait.lock");
        loop {
            // Announce a sleeper; if the lock was free, the swap took it (marked CONTENDED,
            // which at worst costs one unneeded wake at release).
            if state != CONTENDED && self.state.swap(CONTENDED, Ordering::Acquire) == UNLOCKED {
                return Ok(());
            }
            self.state.wait(CONTENDED, deadline)?;
            // Woken: spin again while the lock is briefly held before re-announcing a sleeper,
            // as std's futex mutex does.
            state = self.spin();
        }
    }

    /// Polls while the lock is held without sleepers (the spin phase of [`Backoff`]),
    /// returning the last state seen.
    fn spin(&self) -> u32 {
        let mut backoff = Backoff::new();
        loop {
            let state = self.state.load(Ordering::Relaxed);
            if state != LOCKED || !backoff.poll() {
                return state;
            }
        }
    }

    /// Releases a lock known to be held (by a guard).
    #[inline]
    pub(crate) fn unlock(&self) {
        if self.state.swap(UNLOCKED, Ordering::Release) == CONTENDED {
            self.wake_one_slow();
        }
    }

    #[cold]
    fn wake_one_slow(&self) {
        self.state.wake_one();
    }
}
