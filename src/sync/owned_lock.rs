//! [`RawOwnedLock`]: a mutual-exclusion lock whose one word names its holder, so that the lock
//! and its owner change together, in one atomic operation.
//!
//! # State machine
//!
//! The lock is one 32-bit word:
//!
//! | value | meaning |
//! |---|---|
//! | 0 (`FREE`) | free |
//! | `id` | held by the caller that took it as `id` (non-zero, below [`SLEEPERS`]); nobody sleeps on it |
//! | `id \| SLEEPERS` | held by `id`, and a waiter may be asleep: the releaser must wake one |
//!
//! Acquire is one compare-and-swap `FREE -> id` on the fast path. The slow path spins briefly
//! while the lock is held without sleepers (the spin phase of [`Backoff`]), then sets
//! `SLEEPERS` in the word it saw (or takes a free word as `id | SLEEPERS`: others may still
//! sleep on it) and sleeps while the word keeps that value. Release swaps in `FREE` and wakes
//! one sleeper if it saw `SLEEPERS`. This is [`RawLock`](super::RawLock)'s futex mutex with
//! `LOCKED` replaced by the holder's id and `CONTENDED` by the id with `SLEEPERS` set.
//!
//! # Why the holder lives in the word
//!
//! The process family gives every caller its process id as `id`, so a process killed at any
//! instruction leaves either a free word or a word naming it: there is no moment at which the
//! lock is held and its holder unrecorded, or recorded and already released. Whoever finds the
//! word unchanged for a while asks whether the process it names still runs, and reports or
//! takes over ([`take_over`](RawOwnedLock::take_over)) a lock whose holder ended. The process
//! `Lock` and `RLock` report [`Error::OwnerDied`]; the process `Condition`'s internal mutex
//! and the process `Barrier`'s internal lock take over, as every step of their sections leaves
//! their state consistent. The thread family's barrier runs over it with one constant id
//! (threads do not die alone), which is also how loom models it.
//!
//! # Guarantees and memory ordering
//!
//! As [`RawLock`](super::RawLock)'s: no lost wake-ups (a sleeper sleeps only on a word with
//! `SLEEPERS` set, every release of such a word wakes one sleeper, which sets `SLEEPERS` again
//! when it takes the lock), spurious wake-ups absorbed by the loop, not fair. Taking the lock
//! (a successful compare-and-swap, or a take-over) is an `Acquire` operation, releasing it a
//! `Release` operation.

use std::time::Duration;

use crate::sync::atomic::Ordering;
use crate::sync::Backoff;
use crate::sync::Word;
use crate::time::Deadline;
use crate::{sys, Error};

/// The word of a free lock.
const FREE: u32 = 0;
/// Set in the word of a held lock once a waiter may sleep on it; ids stay below it.
pub(crate) const SLEEPERS: u32 = 1 << 31;

/// The lock's state machine over any [`Word`] (see the module docs). Each call names the
/// caller's id: non-zero and below [`SLEEPERS`].
pub(crate) struct RawOwnedLock<W> {
    /// `FREE`, or the holder's id, with `SLEEPERS` once a waiter may sleep on it.
    word: W,
}

impl<W: Word> RawOwnedLock<W> {
    /// A lock living in `word`, which must hold 0 for a new lock.
    pub(crate) const fn from_word(word: W) -> RawOwnedLock<W> {
        RawOwnedLock { word }
    }

    /// The id of the holder (a snapshot), `None` while the lock is free.
    #[inline]
    pub(crate) fn holder(&self) -> Option<u32> {
        match self.word.load(Ordering::Relaxed) {
            FREE => None,
            word => Some(word & !SLEEPERS),
        }
    }

    /// The word the lock lives in.
    #[cfg(test)]
    pub(crate) fn word(&self) -> &W {
        &self.word
    }

    /// Whether anyone holds the lock (a snapshot).
    #[inline]
    pub(crate) fn locked(&self) -> bool {
        self.word.load(Ordering::Relaxed) != FREE
    }

    /// Takes the lock as `me` if it is free; never blocks.
    #[inline]
    pub(crate) fn try_lock(&self, me: u32) -> bool {
        self.word
            .compare_exchange(FREE, me, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    /// Takes the lock if it is free, or becomes free while this thread spins briefly (the
    /// holder has no sleepers waiting). Never sleeps.
    pub(crate) fn try_lock_spinning(&self, me: u32) -> bool {
        self.try_lock(me) || (self.spin() == FREE && self.try_lock(me))
    }

    /// Takes the lock as `me`, sleeping until `deadline`: [`Error::Timeout`] once it has
    /// passed (then the caller does not hold the lock). Refuses on threads that may not block.
    #[inline]
    pub(crate) fn lock_until(&self, me: u32, deadline: Deadline) -> Result<(), Error> {
        if !sys::can_block() {
            return Err(Error::WouldBlock);
        }
        if !self.try_lock(me) {
            self.lock_slow(me, deadline)?;
        }
        Ok(())
    }

    /// Takes the lock as `me` without blocking the thread.
    pub(crate) async fn lock_async(&self, me: u32) {
        loop {
            match self.try_lock_or_announce(me) {
                Ok(()) => return,
                Err(announced) => self.word.wait_async(announced).await,
            }
        }
    }

    /// Takes the lock if it is free; otherwise sets `SLEEPERS` in its word, so that its
    /// release wakes a sleeper, and returns the word to sleep on.
    pub(crate) fn try_lock_or_announce(&self, me: u32) -> Result<(), u32> {
        let mut seen = self.word.load(Ordering::Relaxed);
        loop {
            let (next, taking) = match seen {
                FREE => (me | SLEEPERS, true),
                held if held & SLEEPERS != 0 => return Err(held),
                held => (held | SLEEPERS, false),
            };
            match self
                .word
                .compare_exchange(seen, next, Ordering::Acquire, Ordering::Relaxed)
            {
                Ok(_) if taking => return Ok(()),
                Ok(_) => return Err(next),
                Err(actual) => seen = actual,
            }
        }
    }

    #[cold]
    fn lock_slow(&self, me: u32, deadline: Deadline) -> Result<(), Error> {
        if self.spin() == FREE && self.try_lock(me) {
            return Ok(());
        }
        let _wait = crate::trace::span!("wait.lock");
        loop {
            match self.try_lock_or_announce(me) {
                Ok(()) => return Ok(()),
                Err(announced) => self.word.wait(announced, deadline)?,
            }
            // Woken: spin again while the lock is briefly held before re-announcing a sleeper.
            self.spin();
        }
    }

    /// Polls while the lock is held without sleepers (the spin phase of [`Backoff`]),
    /// returning the last word seen.
    fn spin(&self) -> u32 {
        let mut backoff = Backoff::new();
        loop {
            let word = self.word.load(Ordering::Relaxed);
            if word == FREE || word & SLEEPERS != 0 || !backoff.poll() {
                return word;
            }
        }
    }

    /// Takes the lock as `me`, sleeping in slices of `slice`; after a slice in which it did not
    /// get the lock, takes it over if `ended` says its holder ended. Returns whether it took
    /// the lock over (then the caller repairs what the lock protects, if anything needs it).
    /// Refuses on threads that may not block.
    pub(crate) fn lock_taking_over(
        &self,
        me: u32,
        slice: Duration,
        ended: impl Fn(u32) -> bool,
    ) -> Result<bool, Error> {
        if !sys::can_block() {
            return Err(Error::WouldBlock);
        }
        if self.try_lock_spinning(me) {
            return Ok(false);
        }
        loop {
            match self.lock_until(me, Deadline::after(slice)) {
                Ok(()) => return Ok(false),
                Err(Error::Timeout) => {}
                Err(other) => return Err(other),
            }
            if let Some(holder) = self.holder() {
                if holder != me && ended(holder) && self.take_over(holder, me) {
                    return Ok(true);
                }
            }
        }
    }

    /// Takes the lock over from `holder` as `me`, if the word still names `holder`: for a
    /// caller that found the holder ended (see the module docs). The word keeps `SLEEPERS`,
    /// as others may sleep on it.
    pub(crate) fn take_over(&self, holder: u32, me: u32) -> bool {
        let seen = self.word.load(Ordering::Relaxed);
        seen != FREE
            && seen & !SLEEPERS == holder
            && self
                .word
                .compare_exchange(seen, me | SLEEPERS, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
    }

    /// Releases the lock whoever holds it: [`Error::NotLocked`] (and no change) if it is free.
    pub(crate) fn release(&self) -> Result<(), Error> {
        let seen = self.word.swap(FREE, Ordering::Release);
        if seen == FREE {
            return Err(Error::NotLocked);
        }
        if seen & SLEEPERS != 0 {
            self.word.wake_one();
        }
        Ok(())
    }

    /// Releases a lock known to be held (by the caller).
    #[inline]
    pub(crate) fn unlock(&self) {
        if self.word.swap(FREE, Ordering::Release) & SLEEPERS != 0 {
            self.wake_one_slow();
        }
    }

    #[cold]
    fn wake_one_slow(&self) {
        self.word.wake_one();
    }
}
