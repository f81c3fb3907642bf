//! [`RawSemaphore`]: the state machine of Python's counting semaphores (`Semaphore` and
//! `BoundedSemaphore`), written once for the thread and the process families.
//!
//! # State machine
//!
//! Two words:
//!
//! | word | meaning |
//! |---|---|
//! | `permits` | how many acquires may succeed now; acquirers sleep on this word while it is 0 |
//! | `sleepers` | how many acquirers are (about to be) asleep; releasers wake only if it is non-zero |
//!
//! Acquire is a compare-and-swap `n -> n - 1` for any `n > 0`. Otherwise the acquirer counts
//! itself in `sleepers` and sleeps while `permits` is 0. Release adds to `permits` and wakes one
//! sleeper per permit when `sleepers` is non-zero. A [`BoundedSemaphore`](crate::BoundedSemaphore) refuses a release that
//! would lift `permits` above the initial value, leaving it unchanged.
//!
//! # Guarantees
//!
//! No lost wake-ups; spurious wake-ups are absorbed; not FIFO-fair (a newcomer can take a permit
//! before a woken sleeper), like std's and Python's primitives under contention.
//!
//! # Memory ordering
//!
//! Taking a permit is `Acquire`, adding permits is `Release`, so whatever a releaser did happens
//! before the acquirer's critical section. The `sleepers` handshake is the store-buffering
//! pattern: the acquirer increments `sleepers` then reads `permits`; the releaser increments
//! `permits` then reads `sleepers`, each with a `SeqCst` fence between its write and its read,
//! so at least one of them sees the other (fences, not just `SeqCst` accesses, because loom
//! verifies this pattern only through fences).

use crate::sync::atomic::{fence, Ordering};
use crate::sync::Word;
use crate::time::Deadline;
use crate::{sys, Error};

/// The semaphore's state machine over any [`Word`]: the thread `Semaphore` and the
/// process-shared one are this, over different words.
pub(crate) struct RawSemaphore<W> {
    /// Permits available now.
    permits: W,
    /// Acquirers that are, or are about to be, asleep on `permits`.
    sleepers: W,
}

impl<W: Word> RawSemaphore<W> {
    /// A semaphore living in `permits` (holding the initial value) and `sleepers` (holding 0).
    pub(crate) fn from_words(permits: W, sleepers: W) -> RawSemaphore<W> {
        RawSemaphore { permits, sleepers }
    }

    /// The permits available now (a snapshot).
    pub(crate) fn value(&self) -> u32 {
        self.permits.load(Ordering::Relaxed)
    }

    /// Takes a permit if one is available; never blocks.
    pub(crate) fn try_take(&self) -> bool {
        let mut permits = self.permits.load(Ordering::Relaxed);
        while permits > 0 {
            match self.permits.compare_exchange(
                permits,
                permits - 1,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(seen) => permits = seen,
            }
        }
        false
    }

    /// Takes a permit, sleeping until `deadline`; refuses on threads that may not block.
    pub(crate) fn take_until(&self, deadline: Deadline) -> Result<(), Error> {
        if !sys::can_block() {
            return Err(Error::WouldBlock);
        }
        if self.try_take() {
            return Ok(());
        }
        let _wait = crate::trace::span!("wait.semaphore");
        loop {
            if deadline.passed() {
                return Err(Error::Timeout);
            }
            let sleeping = Sleeping::enter(&self.sleepers);
            let slept = if self.permits.load(Ordering::Relaxed) == 0 {
                self.permits.wait(0, deadline)
            } else {
                Ok(())
            };
            drop(sleeping);
            slept?;
            if self.try_take() {
                return Ok(());
            }
        }
    }

    /// Takes a permit without blocking the thread.
    pub(crate) async fn take_async(&self) {
        while !self.try_take() {
            let sleeping = Sleeping::enter(&self.sleepers);
            if self.permits.load(Ordering::Relaxed) == 0 {
                self.permits.wait_async(0).await;
            }
            drop(sleeping);
        }
    }

    /// Adds `n` permits unless that would exceed `max`; wakes sleepers.
    pub(crate) fn release_checked(&self, n: u32, max: u32) -> Result<(), Error> {
        if n == 0 {
            return Err(Error::InvalidArgument(
                "a semaphore must be released at least once (n >= 1)".into(),
            ));
        }
        let mut permits = self.permits.load(Ordering::Relaxed);
        loop {
            let raised = permits.checked_add(n).filter(|&raised| raised <= max);
            let Some(raised) = raised else {
                return Err(if max == u32::MAX {
                    Error::InvalidArgument("semaphore value would overflow u32".into())
                } else {
                    Error::SemaphoreOverflow { initial: max }
                });
            };
            match self.permits.compare_exchange(
                permits,
                raised,
                Ordering::Release,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(seen) => permits = seen,
            }
        }
        fence(Ordering::SeqCst);
        if self.sleepers.load(Ordering::Relaxed) > 0 {
            if n == 1 {
                self.permits.wake_one();
            } else {
                self.permits.wake_all();
            }
        }
        Ok(())
    }
}

/// Counts the calling acquirer in `sleepers` for as long as it lives (also if a future is
/// dropped while waiting).
struct Sleeping<'a, W: Word>(&'a W);

impl<'a, W: Word> Sleeping<'a, W> {
    /// Counts the caller in; the fence orders this before the caller's next read of `permits`.
    fn enter(sleepers: &'a W) -> Sleeping<'a, W> {
        sleepers.fetch_add(1, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        Sleeping(sleepers)
    }
}

impl<W: Word> Drop for Sleeping<'_, W> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}
