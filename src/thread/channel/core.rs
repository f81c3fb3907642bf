//! The queue's state machine: when a put or a get may go ahead, how they wait, and what
//! `close` does, whatever [`Store`] holds the items.
//!
//! # State machine
//!
//! | part | what it holds | written by |
//! |---|---|---|
//! | the store | the items, in order, and the closed flag; refuses a push when full or closed | puts, gets, `close` |
//! | `getters` | the getters counted as asleep | a get only to sleep; read after every put |
//! | `putters` | the putters counted as asleep (bounded queues) | a put only to sleep; read after every get |
//! | `items_seq`, `slots_seq` | words getters and putters sleep on; bumped to wake them | wakers |
//!
//! - put: push (the store refuses it once closed: "push unless closed" is one step of the
//!   store, for a bounded queue one compare-and-swap of the ring's tail, which carries the
//!   closed flag as a mark bit), then a read of `getters`: wake one if any.
//! - get: pop. Then, on a bounded queue, a read of `putters`: wake one if any. The store
//!   answers `Closed` only once closed and drained of every item pushed before `close`, so no
//!   item slips in after a getter was told the queue is closed.
//! - close: close the store, then wake every sleeper.
//!
//! When nobody sleeps, a put of a bounded queue costs its compare-and-swap, the slot write and
//! a read of a line no put writes; a get the same on the other side.
//!
//! # Waiting
//!
//! A blocking put or get retries for a moment (spinning, then yielding: `Backoff::snooze`)
//! before it sleeps, since the other side usually frees a slot or adds an item within that time,
//! and a sleeper costs a wake-up system call on the other side.
//! To sleep, it reads the sequence word it will sleep on, counts itself as asleep (`getters`
//! or `putters`), tries once more, and sleeps while the sequence word still holds what it read
//! (a futex wait; `Atomics.waitAsync` or a registered waker for futures).
//!
//! A waker *claims* a sleeper: it takes one off the count, bumps the sequence word and wakes
//! one thread (natively; futures waiting on the word are all woken and re-check). Once every
//! sleeper is claimed the count is 0, so the puts and gets that follow make no system call
//! while the woken thread is still getting back on a core. A sleeper never takes itself off
//! the count (after a timeout, or after its last try found what it wanted): it could not tell
//! whether a waker already claimed it, and taking a count that stands for another sleeper
//! would lose that sleeper's wake-up. The count only ever runs ahead of the threads asleep,
//! which costs one needless wake-up later, never a missed one. In the browser a wake wakes all
//! of the word's waiters and claims them all: a dropped future's `Atomics.waitAsync` stays
//! among a word's waiters until notified, and could swallow a single wake-up.
//!
//! # Guarantees
//!
//! Items come out in the order they went in (FIFO, per producer), each exactly once. Not fair
//! (a newcomer may overtake a woken sleeper), as with Python's queues under contention. No
//! lock is held while the caller's code runs, and none across an `.await`: dropping an async
//! put or get before it completes takes nothing and loses nothing (except, for a put, the item
//! the dropped future owned).
//!
//! # Memory ordering
//!
//! The store orders the items themselves. The wake-up handshakes are the store-buffering
//! pattern, "I change the condition, then look for sleepers" against "I count myself asleep,
//! then look at the condition": at least one side must see the other. Both sides use `SeqCst`
//! operations, so in their single total order one comes first and the other sees it:
//!
//! - A put publishes its item with a `SeqCst` read-modify-write in the store (the ring's claim
//!   of its tail; the list store's leave of its state word), then reads `getters` (`SeqCst`,
//!   a plain load on x86). A getter counts itself into `getters` (`SeqCst`), then reads that
//!   word of the store with `SeqCst` (the ring's pop reads its tail before it answers `Empty`;
//!   the list store's [`Store::sync_puts`], which also synchronises with the leave, so the
//!   pop finds the item). The ring's pop that sees a tail claimed and the slot not yet written
//!   waits for the slot.
//! - Gets and sleeping putters likewise: a get frees its slot with a `SeqCst`
//!   read-modify-write (the ring's head, the list store's count) and then reads `putters`; a
//!   putter counts itself there and its last push concludes `Full` from a `SeqCst` read of
//!   that word.
//! - Under loom, which models `SeqCst` accesses as `AcqRel`, a `SeqCst` fence stands between
//!   each side's write and read (`seq_cst_handshake`); it compiles to nothing otherwise.
//! - A waker claims a sleeper (`Acquire`) before it bumps the sequence word (`Release`), and a
//!   sleeper reads the sequence word before it counts itself, so a claimed sleeper read the
//!   old value and either never sleeps or is woken.

use crossbeam_utils::CachePadded;

use super::store::{Drained, Refused, Store};
use crate::error::{GetError, PutError};
use crate::sync::atomic::{seq_cst_handshake, AtomicU32, AtomicU64, Ordering};
use crate::sync::{Backoff, Word};
use crate::time::Deadline;
use crate::{sys, Error};

/// Bounded queues hold at most `u32::MAX - 1` items: larger capacities are lowered to it (the
/// limit of the queue's first, semaphore-based design, kept so that `maxsize` reads the same).
pub(crate) const MAX_CAPACITY: usize = (u32::MAX - 1) as usize;

/// Whether a wake claims every sleeper of a word and wakes them all rather than one: where a
/// single wake-up can be swallowed by a dropped future (the browser: see the module docs).
const WAKE_ALL: bool = sys::WAKE_ONE_CAN_BE_SWALLOWED;

/// The protocol over a store (see the module docs).
pub(crate) struct Core<S> {
    store: S,
    /// Getters counted as asleep: read by every put, written only to sleep or to wake.
    getters: CachePadded<AtomicU64>,
    /// Putters counted as asleep: read by every get of a bounded queue.
    putters: CachePadded<AtomicU64>,
    /// Getters sleep on this word; wakers bump it.
    items_seq: CachePadded<AtomicU32>,
    /// Putters sleep on this word; wakers bump it.
    slots_seq: AtomicU32,
    /// Python's `maxsize`: 0 for unbounded, else the capacity.
    maxsize: usize,
}

impl<S: Store> Core<S> {
    /// A core over `store` (empty) holding at most `maxsize` items (0: unbounded, as in Python).
    pub(crate) fn new(store: S, maxsize: usize) -> Core<S> {
        let maxsize = maxsize.min(MAX_CAPACITY);
        let store = if maxsize == 0 {
            store
        } else {
            store.limited(maxsize)
        };
        Core {
            store,
            getters: CachePadded::new(AtomicU64::new(0)),
            putters: CachePadded::new(AtomicU64::new(0)),
            items_seq: CachePadded::new(AtomicU32::new(0)),
            slots_seq: AtomicU32::new(0),
            maxsize,
        }
    }

    pub(crate) fn maxsize(&self) -> usize {
        self.maxsize
    }

    pub(crate) fn len(&self) -> usize {
        self.store.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.store.is_empty()
    }

    pub(crate) fn is_full(&self) -> bool {
        self.maxsize != 0 && self.store.len() >= self.maxsize
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.store.is_closed()
    }

    /// Closes the queue and wakes every sleeper; true for the call that closed it.
    pub(crate) fn close(&self) -> bool {
        if !self.store.close() {
            return false;
        }
        // Claim every sleeper; those counting themselves from now on find the store closed.
        self.getters.swap(0, Ordering::SeqCst);
        self.items_seq.fetch_add(1, Ordering::Release);
        self.items_seq.wake_all();
        self.putters.swap(0, Ordering::SeqCst);
        self.slots_seq.fetch_add(1, Ordering::Release);
        self.slots_seq.wake_all();
        true
    }

    /// Takes every item left (only once closed; getters then wait for nothing).
    pub(crate) fn discard_after_close(&self) {
        debug_assert!(self.is_closed());
        while self.store.pop().is_ok() {}
    }

    pub(crate) fn try_put(&self, item: S::Item) -> Result<(), PutError<S::Item>> {
        self.push(item)
    }

    /// The blocking put, until `deadline`.
    pub(crate) fn put(&self, item: S::Item, deadline: Deadline) -> Result<(), PutError<S::Item>> {
        if !sys::can_block() {
            return Err(PutError::WouldBlock(item));
        }
        let mut item = match self.push(item) {
            Err(PutError::Full(item)) => item,
            done => return done,
        };
        let mut backoff = Backoff::new();
        while backoff.snooze() {
            item = match self.push(item) {
                Err(PutError::Full(item)) => item,
                done => return done,
            };
        }
        let _wait = crate::trace::span!("wait.put");
        loop {
            let seq = self.slots_seq.load(Ordering::Acquire);
            self.putters.fetch_add(1, Ordering::SeqCst);
            seq_cst_handshake();
            item = match self.push(item) {
                Err(PutError::Full(item)) => item,
                done => return done,
            };
            if self.slots_seq.wait(seq, deadline).is_err() {
                return Err(PutError::Timeout(item));
            }
        }
    }

    pub(crate) async fn put_async(&self, item: S::Item) -> Result<(), PutError<S::Item>> {
        let mut item = item;
        loop {
            item = match self.push(item) {
                Err(PutError::Full(item)) => item,
                done => return done,
            };
            let seq = self.slots_seq.load(Ordering::Acquire);
            self.putters.fetch_add(1, Ordering::SeqCst);
            seq_cst_handshake();
            item = match self.push(item) {
                Err(PutError::Full(item)) => item,
                done => return done,
            };
            self.slots_seq.wait_async(seq).await;
        }
    }

    pub(crate) fn try_get(&self) -> Result<S::Item, GetError> {
        self.pop().map_err(|drained| match drained {
            Drained::Empty => GetError::Empty,
            Drained::Closed => GetError::Closed,
        })
    }

    /// The blocking get, until `deadline`.
    pub(crate) fn get(&self, deadline: Deadline) -> Result<S::Item, GetError> {
        if !sys::can_block() {
            return Err(GetError::WouldBlock);
        }
        let mut backoff = Backoff::new();
        loop {
            match self.try_get() {
                Err(GetError::Empty) if backoff.snooze() => {}
                Err(GetError::Empty) => break,
                done => return done,
            }
        }
        let _wait = crate::trace::span!("wait.get");
        loop {
            let seq = self.sleep_as_getter();
            match self.try_get() {
                Err(GetError::Empty) => {}
                done => return done,
            }
            if self.items_seq.wait(seq, deadline).is_err() {
                return Err(GetError::Timeout);
            }
        }
    }

    pub(crate) async fn get_async(&self) -> Result<S::Item, GetError> {
        loop {
            match self.try_get() {
                Err(GetError::Empty) => {}
                done => return done,
            }
            let seq = self.sleep_as_getter();
            match self.try_get() {
                Err(GetError::Empty) => {}
                done => return done,
            }
            self.items_seq.wait_async(seq).await;
        }
    }

    /// Waits until a get would not wait (an item, or closed), taking nothing: `Ok(true)`, or
    /// `Ok(false)` once `deadline` passed.
    pub(crate) fn wait_ready(&self, deadline: Deadline) -> Result<bool, Error> {
        if !sys::can_block() {
            return Err(Error::WouldBlock);
        }
        if self.is_ready() {
            return Ok(true);
        }
        loop {
            let seq = self.sleep_as_getter();
            if self.is_ready() {
                self.pass_on();
                return Ok(true);
            }
            if self.items_seq.wait(seq, deadline).is_err() {
                return Ok(false);
            }
        }
    }

    /// Whether a get would not wait right now (it takes nothing).
    pub(crate) fn is_ready(&self) -> bool {
        !self.store.is_empty() || self.is_closed()
    }

    /// As [`wait_ready`](Core::wait_ready), without blocking the thread.
    pub(crate) async fn wait_ready_async(&self) {
        while !self.is_ready() {
            let seq = self.sleep_as_getter();
            if self.is_ready() {
                self.pass_on();
                return;
            }
            self.items_seq.wait_async(seq).await;
        }
    }

    /// One put: push (unless closed), then wake a getter if one is counted as asleep.
    #[inline]
    fn push(&self, item: S::Item) -> Result<(), PutError<S::Item>> {
        match self.store.push(item) {
            Ok(()) => {
                seq_cst_handshake();
                if self.getters.load(Ordering::SeqCst) != 0 {
                    self.wake_getter();
                }
                Ok(())
            }
            Err(Refused::Full(item)) => Err(PutError::Full(item)),
            Err(Refused::Closed(item)) => Err(PutError::Closed(item)),
        }
    }

    /// One pop; on a bounded queue, wakes a putter counted as asleep.
    #[inline]
    fn pop(&self) -> Result<S::Item, Drained> {
        let item = self.store.pop()?;
        seq_cst_handshake();
        if self.maxsize != 0 && self.putters.load(Ordering::SeqCst) != 0 {
            self.wake_putter();
        }
        Ok(item)
    }

    /// Counts the caller as a getter asleep; returns the sequence word's value to sleep on.
    fn sleep_as_getter(&self) -> u32 {
        let seq = self.items_seq.load(Ordering::Acquire);
        self.getters.fetch_add(1, Ordering::SeqCst);
        seq_cst_handshake();
        self.store.sync_puts();
        seq
    }

    /// A poller that was woken leaves the item: it wakes another getter, if one is counted,
    /// in case the wake-up was meant for that getter.
    fn pass_on(&self) {
        if self.getters.load(Ordering::Relaxed) != 0 {
            self.wake_getter();
        }
    }

    /// Claims a getter counted as asleep (all of them in the browser) and wakes it.
    #[cold]
    fn wake_getter(&self) {
        if claim(&self.getters) {
            wake(&self.items_seq);
        }
    }

    /// Claims a putter counted as asleep (all of them in the browser) and wakes it.
    #[cold]
    fn wake_putter(&self) {
        if claim(&self.putters) {
            wake(&self.slots_seq);
        }
    }
}

/// Takes one sleeper (all of them in the browser) off a count; false if there was none.
fn claim(count: &AtomicU64) -> bool {
    if WAKE_ALL {
        return count.swap(0, Ordering::AcqRel) != 0;
    }
    let mut held = count.load(Ordering::Relaxed);
    loop {
        if held == 0 {
            return false;
        }
        match count.compare_exchange_weak(held, held - 1, Ordering::AcqRel, Ordering::Relaxed) {
            Ok(_) => return true,
            Err(seen) => held = seen,
        }
    }
}

/// Bumps a sequence word and wakes its sleepers: one thread (and every future) natively, all
/// of them in the browser.
fn wake(seq: &AtomicU32) {
    seq.fetch_add(1, Ordering::Release);
    if WAKE_ALL {
        seq.wake_all();
    } else {
        seq.wake_one();
    }
}
