//! The queue's state machine: permits that say when a put or a get may go ahead, whatever
//! [`Store`] holds the items.
//!
//! # State machine
//!
//! | part | what it counts |
//! |---|---|
//! | `items` ([`Semaphore`]) | items a getter may take now (plus the closed baton, below) |
//! | `slots` ([`Semaphore`]) | free places a putter may fill now (plus the closed baton) |
//! | the store | the items, in order, and the closed flag, changed together |
//!
//! - put: take a slot (this is where a full queue waits), push the item, add an item permit.
//! - get: take an item permit (this is where an empty queue waits), pop, add a slot.
//! - close: mark the store closed, then add one item permit and one slot: the *closed baton*.
//!
//! A blocking put or get retries its permit for a moment (spinning, then yielding) before it
//! sleeps on the semaphore, since the other side usually frees a slot or adds an item within
//! that time; see `spin_acquire`.
//!
//! Before `close`, item permits never outnumber the items in the store, so a getter holding a
//! permit always finds an item. After `close`, a getter that finds the store empty knows the
//! queue is closed and drained: it gives its permit back (passing the baton on) and returns
//! `Closed`. A putter holding a slot finds the store refusing the push: it gives the slot back
//! and returns `Closed(item)`. So every sleeper wakes in turn and every later caller finds a
//! permit at once; the counts stay within `capacity + 1`, which is why the largest capacity is
//! [`MAX_CAPACITY`].
//!
//! # Guarantees
//!
//! Items come out in the order they went in (FIFO), each exactly once. The semaphores are not
//! fair (a newcomer may overtake a woken sleeper), as with Python's queues under contention. No
//! lock is held while the caller's code runs, and none across an `.await`: dropping an async
//! put or get before it completes takes nothing and loses nothing (except, for a put, the item
//! the dropped future owned).
//!
//! # What a queue between processes reuses
//!
//! The protocol uses only a semaphore's `try_acquire`, `acquire`, `acquire_timeout`,
//! `acquire_async` and `release`, and the [`Store`] trait. A process queue keeps this protocol
//! and the error types, with semaphores whose words live in the shared region (the primitives'
//! state machines are already generic over where their words live) and a store of serialised
//! messages there.
//!
//! # Memory ordering
//!
//! The store's mutex orders the items themselves; the semaphores' `Release`/`Acquire` order a
//! push before the get that its item permit lets through.

use std::time::Duration;

use super::store::Store;
use super::{GetError, PutError};
use crate::{sys, Error, Semaphore, SemaphoreGuard};

/// The most items a queue can hold: `u32::MAX - 1`, leaving room in the semaphores' 32-bit
/// counts for the closed baton. Larger capacities (and "unbounded") are lowered to it.
pub(crate) const MAX_CAPACITY: usize = (u32::MAX - 1) as usize;

/// The permit protocol over a store (see the module docs).
pub(crate) struct Core<S> {
    store: S,
    items: Semaphore,
    slots: Semaphore,
    /// Python's `maxsize`: 0 for unbounded, else the capacity.
    maxsize: usize,
}

impl<S: Store> Core<S> {
    /// A core over `store` holding at most `maxsize` items (0: unbounded, as in Python).
    pub(crate) fn new(store: S, maxsize: usize) -> Core<S> {
        let maxsize = maxsize.min(MAX_CAPACITY);
        let capacity = if maxsize == 0 { MAX_CAPACITY } else { maxsize };
        Core {
            store,
            items: Semaphore::new(0),
            slots: Semaphore::new(u32::try_from(capacity).unwrap_or(u32::MAX - 1)),
            maxsize,
        }
    }

    pub(crate) fn maxsize(&self) -> usize {
        self.maxsize
    }

    pub(crate) fn len(&self) -> usize {
        self.store.len()
    }

    pub(crate) fn is_full(&self) -> bool {
        self.maxsize != 0 && self.store.len() >= self.maxsize
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.store.is_closed()
    }

    /// Closes the store and hands out the closed baton; true for the call that closed it.
    pub(crate) fn close(&self) -> bool {
        let closed_now = self.store.close();
        if closed_now {
            give_back(&self.items);
            give_back(&self.slots);
        }
        closed_now
    }

    /// Takes every item left, without permits (only once closed: getters then need none).
    pub(crate) fn discard_after_close(&self) {
        debug_assert!(self.store.is_closed());
        while self.store.pop().is_some() {}
    }

    pub(crate) fn try_put(&self, item: S::Item) -> Result<(), PutError<S::Item>> {
        match self.slots.try_acquire() {
            Some(slot) => self.fill(slot, item),
            None if self.store.is_closed() => Err(PutError::Closed(item)),
            None => Err(PutError::Full(item)),
        }
    }

    /// The blocking put: forever when `timeout` is `None`.
    pub(crate) fn put(
        &self,
        item: S::Item,
        timeout: Option<Duration>,
    ) -> Result<(), PutError<S::Item>> {
        if !sys::can_block() {
            return Err(PutError::WouldBlock(item));
        }
        // A free slot: `fill` refuses the push if the queue is closed, so the closed flag
        // (behind the store's lock) is only read before waiting.
        if let Some(slot) = spin_acquire(&self.slots) {
            return self.fill(slot, item);
        }
        if self.store.is_closed() {
            return Err(PutError::Closed(item));
        }
        let slot = match timeout {
            None => self.slots.acquire(),
            Some(timeout) => self.slots.acquire_timeout(timeout),
        };
        match slot {
            Ok(slot) => self.fill(slot, item),
            Err(Error::Timeout) => Err(PutError::Timeout(item)),
            // A semaphore fails only by timing out or by refusing to block.
            Err(_) => Err(PutError::WouldBlock(item)),
        }
    }

    pub(crate) async fn put_async(&self, item: S::Item) -> Result<(), PutError<S::Item>> {
        if self.store.is_closed() {
            return Err(PutError::Closed(item));
        }
        let slot = self.slots.acquire_async().await;
        self.fill(slot, item)
    }

    pub(crate) fn try_get(&self) -> Result<S::Item, GetError> {
        match self.items.try_acquire() {
            Some(permit) => self.take(permit),
            None if self.store.is_closed() => Err(GetError::Closed),
            None => Err(GetError::Empty),
        }
    }

    /// The blocking get: forever when `timeout` is `None`.
    pub(crate) fn get(&self, timeout: Option<Duration>) -> Result<S::Item, GetError> {
        if !sys::can_block() {
            return Err(GetError::WouldBlock);
        }
        if let Some(permit) = spin_acquire(&self.items) {
            return self.take(permit);
        }
        let permit = match timeout {
            None => self.items.acquire(),
            Some(timeout) => self.items.acquire_timeout(timeout),
        };
        match permit {
            Ok(permit) => self.take(permit),
            Err(Error::Timeout) => Err(GetError::Timeout),
            // A semaphore fails only by timing out or by refusing to block.
            Err(_) => Err(GetError::WouldBlock),
        }
    }

    pub(crate) async fn get_async(&self) -> Result<S::Item, GetError> {
        let permit = self.items.acquire_async().await;
        self.take(permit)
    }

    /// Waits until a get would not wait (an item, or closed and drained), then leaves the
    /// permit in place: `Ok(true)`, or `Ok(false)` on timeout. Forever when `timeout` is `None`.
    pub(crate) fn wait_ready(&self, timeout: Option<Duration>) -> Result<bool, Error> {
        if !sys::can_block() {
            return Err(Error::WouldBlock);
        }
        let permit = match timeout {
            None => self.items.acquire(),
            Some(timeout) => self.items.acquire_timeout(timeout),
        };
        match permit {
            Ok(_permit_given_back_on_drop) => Ok(true),
            Err(Error::Timeout) => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// Whether a get would not wait right now (the permit stays in place).
    pub(crate) fn is_ready(&self) -> bool {
        self.items.try_acquire().is_some()
    }

    /// As [`wait_ready`](Core::wait_ready), without blocking the thread.
    pub(crate) async fn wait_ready_async(&self) {
        drop(self.items.acquire_async().await);
    }

    /// Pushes into a slot the caller holds; on a closed store, gives the slot back.
    fn fill(&self, slot: SemaphoreGuard<'_>, item: S::Item) -> Result<(), PutError<S::Item>> {
        match self.store.push(item) {
            Ok(()) => {
                slot.leak(); // the slot is now taken by the item, until a get frees it
                give_back(&self.items);
                Ok(())
            }
            Err(item) => Err(PutError::Closed(item)), // the slot guard passes the baton on
        }
    }

    /// Pops with an item permit the caller holds; on a closed, drained store, gives it back.
    fn take(&self, permit: SemaphoreGuard<'_>) -> Result<S::Item, GetError> {
        match self.store.pop() {
            Some(item) => {
                permit.leak(); // the permit left with the item
                give_back(&self.slots);
                Ok(item)
            }
            None => {
                debug_assert!(
                    self.store.is_closed(),
                    "a permit without an item before close"
                );
                Err(GetError::Closed) // the permit guard passes the baton on
            }
        }
    }
}

/// How a blocking put or get retries a permit before it sleeps: tries with 1, 2, 4, ... 64
/// spin-loop pauses between them, then `SPIN_YIELDS` tries with a `yield_now` between them
/// (crossbeam-channel's backoff). A queue's other side usually frees a slot or adds an item
/// within that time. Sleeping costs more than the sleeper's futex wait: until the sleeper has
/// woken and run again, every put or get on the other side finds a sleeper counted and makes
/// a wake system call.
const SPIN_STEPS: u32 = if cfg!(amphi_loom) { 0 } else { 7 };
const SPIN_YIELDS: u32 = if cfg!(amphi_loom) { 0 } else { 4 };

/// A permit taken while backing off (see `SPIN_STEPS`), or `None` (the caller then sleeps).
fn spin_acquire(semaphore: &Semaphore) -> Option<SemaphoreGuard<'_>> {
    for step in 0..=SPIN_STEPS + SPIN_YIELDS {
        if let Some(permit) = semaphore.try_acquire() {
            return Some(permit);
        }
        if step < SPIN_STEPS {
            for _ in 0..1u32 << step {
                std::hint::spin_loop();
            }
        } else if step < SPIN_STEPS + SPIN_YIELDS {
            std::thread::yield_now();
        }
    }
    None
}

/// Adds one permit. Counts stay within `MAX_CAPACITY + 1` (module docs), so this cannot fail.
fn give_back(semaphore: &Semaphore) {
    let added = semaphore.release(1);
    debug_assert!(
        added.is_ok(),
        "a queue's permit count overflowed: {added:?}"
    );
}
