//! [`RawCondition`]: the state machine of Python's `Condition` (over an `RLock` or a given
//! lock), written once for the thread and the process families.
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
//! ([`WaiterQueue`]): the thread family's `HeapQueue`, a queue of words on the heap under a small internal
//! mutex; the process family's slots in the shared region (`process/condition.rs`). Its
//! methods are generic over the lock ([`InnerLock`]): a thread or process `Lock`, or a thread or
//! process `RLock`, whose state machine ([`RawRLock`](super::RawRLock)) saves and restores the
//! recursion level around the wait.
//!
//! # Guarantees
//!
//! Spurious wake-ups of the underlying wait are absorbed (the word is re-checked); `wait` itself
//! returns only when notified or timed out. As in Python, a woken waiter must re-acquire the
//! lock, so the state it waited for may have changed again: use [`Condition::wait_for`](crate::Condition::wait_for).
//!
//! # Memory ordering
//!
//! The lock orders the user's state. A waiter's word is set `NOTIFIED` with `Release` and read
//! with `Acquire`; the queue's own mutex orders the queue.

use super::{AsyncInnerLock, InnerLock};
use crate::sync::atomic::Ordering;
use crate::sync::Word;
use crate::time::Deadline;
use crate::{sys, Error};

/// A queued waiter's word while it waits.
pub(crate) const WAITING: u32 = 1;
/// A waiter's word once a notify chose it.
pub(crate) const NOTIFIED: u32 = 2;

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
    pub(crate) fn wait_until<L: InnerLock + ?Sized>(
        &self,
        lock: &L,
        deadline: Deadline,
    ) -> Result<(), Error> {
        if !sys::can_block() {
            return Err(Error::WouldBlock);
        }
        let _wait = crate::trace::span!("wait.condition");
        let waiter = self.enqueue(lock)?;
        let saved = self.unlock_or_withdraw(lock, &waiter)?;
        let word = Q::word(&waiter);
        let mut outcome = Ok(());
        loop {
            if word.load(Ordering::Acquire) != WAITING {
                self.queue.retire(&waiter);
                break;
            }
            match word.wait(WAITING, deadline) {
                Ok(()) => {}
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
    pub(crate) fn wait_for_until<L: InnerLock + ?Sized>(
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
    pub(crate) async fn wait_async<L: AsyncInnerLock + ?Sized>(
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
    pub(crate) fn notify<L: InnerLock + ?Sized>(&self, lock: &L, n: usize) -> Result<usize, Error> {
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
    fn enqueue<L: InnerLock + ?Sized>(&self, lock: &L) -> Result<Q::Waiter, Error> {
        if !lock.caller_may_wait() {
            return Err(Error::NotOwner);
        }
        self.queue.push()
    }

    /// Releases `lock` for a wait; on failure `waiter` leaves the queue.
    fn unlock_or_withdraw<L: InnerLock + ?Sized>(
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
