//! The queue's state machine: when a put or a get may go ahead, how they wait, and what
//! `close` does, whatever [`Store`] holds the items.
//!
//! # State machine
//!
//! | part | what it holds | written by |
//! |---|---|---|
//! | the store | the items, in order; refuses a push when full | puts and gets |
//! | `state` | `CLOSED`, the puts under way, the getters counted as asleep | every put (twice); a get only to sleep |
//! | `putters` | the putters counted as asleep (bounded queues) | a put only to sleep; read after every get |
//! | `closed` | a copy of `CLOSED`, set after it, for gets to read | `close` |
//! | `items_seq`, `slots_seq` | words getters and putters sleep on; bumped to wake them | wakers |
//!
//! - put: enter (add one put under way to `state`; refused if `CLOSED`), push, leave (take it
//!   off again, which also reads how many getters sleep: wake one if any and the push went in).
//! - get: pop. Then, on a bounded queue, a `SeqCst` fence and a read of `putters`: wake one if
//!   any. A get that finds the store empty reads `closed`: not closed is `Empty`; closed, it
//!   waits until `state` shows no put under way (a handful of instructions each), pops once
//!   more, and answers with that item or `Closed`.
//! - close: set `CLOSED`, then wake every sleeper.
//!
//! A put whose enter finds `CLOSED` pushes nothing, and one that entered before it finishes
//! its push before any get answers `Closed`: "push unless closed" is one step, so no item
//! slips in after a getter was told the queue is closed and drained.
//!
//! # Waiting
//!
//! A blocking put or get retries for a moment (spinning, then yielding) before it sleeps,
//! since the other side usually frees a slot or adds an item within that time; see `Backoff`.
//! To sleep, it reads the sequence word it will sleep on, counts itself as asleep (`state` for
//! a getter, `putters` for a putter), tries once more, and sleeps while the sequence word still
//! holds what it read (a futex wait; `Atomics.waitAsync` or a registered waker for futures).
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
//! then look at the condition": at least one side must see the other.
//!
//! - Puts and sleeping getters meet on one word: a put leaves `state` with an `AcqRel`
//!   read-modify-write after its push, and a getter counts itself into `state` with another
//!   before its last try. The two are ordered in `state`'s modification order: either the
//!   put's sees the getter counted, or the getter's synchronises with the put's, and its pop
//!   then finds the item. This costs a put nothing beyond the leave it makes anyway.
//! - Gets and sleeping putters meet through `SeqCst` fences: a get fences between its pop and
//!   its read of `putters`, a putter between counting itself there and its last push.
//! - A waker claims a sleeper (`Acquire`) before it bumps the sequence word (`Release`), and a
//!   sleeper reads the sequence word before it counts itself (`Release`), so a claimed sleeper
//!   read the old value and either never sleeps or is woken.
//! - A get that answers `Closed` read `state` with `CLOSED` set and no put under way, after
//!   every put that entered before `close` left (`Release`), so their items were visible to
//!   its last pop.

use std::sync::atomic::{fence, AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use super::store::Store;
use super::{GetError, PutError};
use crate::atomic::AtomicU32;
use crate::time::Deadline;
use crate::word::Word;
use crate::{sys, Error};

/// Bounded queues hold at most `u32::MAX - 1` items: larger capacities are lowered to it (the
/// limit of the queue's first, semaphore-based design, kept so that `maxsize` reads the same).
pub(crate) const MAX_CAPACITY: usize = (u32::MAX - 1) as usize;

/// `state`: set once the queue is closed.
const CLOSED: u64 = 1 << 63;
/// `state`: one put under way (bits 40 to 62).
const PUTTER: u64 = 1 << 40;
/// `state`: the puts under way.
const PUTTERS: u64 = !CLOSED & !(PUTTER - 1);
/// `state`: one getter counted as asleep (bits 0 to 39).
const GETTER: u64 = 1;
/// `state`: the getters counted as asleep.
const GETTERS: u64 = PUTTER - 1;

/// Whether a wake claims every sleeper of a word and wakes them all (the browser: see the
/// module docs) rather than one.
const WAKE_ALL: bool = cfg!(target_arch = "wasm32");

/// A value alone on its cache line(s), so that words written by different sides of the queue
/// do not share one.
#[cfg_attr(any(target_arch = "x86_64", target_arch = "aarch64"), repr(align(128)))]
#[cfg_attr(
    not(any(target_arch = "x86_64", target_arch = "aarch64")),
    repr(align(64))
)]
struct Padded<T>(T);

impl<T> std::ops::Deref for Padded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// The protocol over a store (see the module docs).
pub(crate) struct Core<S> {
    /// `CLOSED`, puts under way and getters asleep: written by every put.
    state: Padded<AtomicU64>,
    store: S,
    /// Putters counted as asleep: read by every get of a bounded queue.
    putters: Padded<AtomicU64>,
    /// Set by `close` after `CLOSED`: what a get that found the store empty reads, on a line
    /// that no put writes (reading `state` there would take it from the putters each time).
    closed: Padded<AtomicBool>,
    /// Getters sleep on this word; wakers bump it.
    items_seq: Padded<AtomicU32>,
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
            state: Padded(AtomicU64::new(0)),
            store,
            putters: Padded(AtomicU64::new(0)),
            closed: Padded(AtomicBool::new(false)),
            items_seq: Padded(AtomicU32::new(0)),
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
        self.closed.load(Ordering::Acquire)
    }

    /// Closes the queue and wakes every sleeper; true for the call that closed it.
    pub(crate) fn close(&self) -> bool {
        let before = self.state.fetch_or(CLOSED, Ordering::AcqRel);
        if before & CLOSED != 0 {
            return false;
        }
        self.closed.store(true, Ordering::Release);
        // Claim every sleeper; those counting themselves from now on see `CLOSED` first.
        self.state.fetch_and(!GETTERS, Ordering::AcqRel);
        self.items_seq.fetch_add(1, Ordering::Release);
        self.items_seq.wake_all();
        self.putters.swap(0, Ordering::AcqRel);
        self.slots_seq.fetch_add(1, Ordering::Release);
        self.slots_seq.wake_all();
        true
    }

    /// Takes every item left (only once closed; getters then wait for nothing).
    pub(crate) fn discard_after_close(&self) {
        debug_assert!(self.is_closed());
        self.puts_finished();
        while self.store.pop().is_some() {}
    }

    pub(crate) fn try_put(&self, item: S::Item) -> Result<(), PutError<S::Item>> {
        self.push(item)
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
        let deadline = timeout.map_or(Deadline::NEVER, Deadline::after);
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
        loop {
            let seq = self.slots_seq.load(Ordering::Acquire);
            self.putters.fetch_add(1, Ordering::AcqRel);
            fence(Ordering::SeqCst);
            item = match self.push(item) {
                Err(PutError::Full(item)) => item,
                done => return done,
            };
            let Ok(left) = deadline.remaining() else {
                return Err(PutError::Timeout(item));
            };
            self.slots_seq.wait(seq, left);
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
            self.putters.fetch_add(1, Ordering::AcqRel);
            fence(Ordering::SeqCst);
            item = match self.push(item) {
                Err(PutError::Full(item)) => item,
                done => return done,
            };
            self.slots_seq.wait_async(seq).await;
        }
    }

    pub(crate) fn try_get(&self) -> Result<S::Item, GetError> {
        match self.pop() {
            Some(item) => Ok(item),
            None => self.found_empty(),
        }
    }

    /// The blocking get: forever when `timeout` is `None`.
    pub(crate) fn get(&self, timeout: Option<Duration>) -> Result<S::Item, GetError> {
        if !sys::can_block() {
            return Err(GetError::WouldBlock);
        }
        let deadline = timeout.map_or(Deadline::NEVER, Deadline::after);
        let mut backoff = Backoff::new();
        loop {
            match self.try_get() {
                Err(GetError::Empty) if backoff.snooze() => {}
                Err(GetError::Empty) => break,
                done => return done,
            }
        }
        loop {
            let seq = self.sleep_as_getter();
            match self.try_get() {
                Err(GetError::Empty) => {}
                done => return done,
            }
            let Ok(left) = deadline.remaining() else {
                return Err(GetError::Timeout);
            };
            self.items_seq.wait(seq, left);
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
    /// `Ok(false)` on timeout. Forever when `timeout` is `None`.
    pub(crate) fn wait_ready(&self, timeout: Option<Duration>) -> Result<bool, Error> {
        if !sys::can_block() {
            return Err(Error::WouldBlock);
        }
        let deadline = timeout.map_or(Deadline::NEVER, Deadline::after);
        if self.is_ready() {
            return Ok(true);
        }
        loop {
            let seq = self.sleep_as_getter();
            if self.is_ready() {
                self.pass_on();
                return Ok(true);
            }
            let Ok(left) = deadline.remaining() else {
                return Ok(false);
            };
            self.items_seq.wait(seq, left);
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

    /// One put: enter, push, leave (see the module docs).
    #[inline]
    fn push(&self, item: S::Item) -> Result<(), PutError<S::Item>> {
        let entered = self.state.fetch_add(PUTTER, Ordering::AcqRel);
        if entered & CLOSED != 0 {
            self.state.fetch_sub(PUTTER, Ordering::Release);
            return Err(PutError::Closed(item));
        }
        let pushed = self.store.push(item);
        let left = self.state.fetch_sub(PUTTER, Ordering::AcqRel);
        match pushed {
            Ok(()) => {
                if left & GETTERS != 0 {
                    self.wake_getter();
                }
                Ok(())
            }
            Err(item) => Err(PutError::Full(item)),
        }
    }

    /// One pop; on a bounded queue, wakes a putter counted as asleep.
    #[inline]
    fn pop(&self) -> Option<S::Item> {
        let item = self.store.pop()?;
        if self.maxsize != 0 {
            fence(Ordering::SeqCst);
            if self.putters.load(Ordering::Relaxed) != 0 {
                self.wake_putter();
            }
        }
        Some(item)
    }

    /// What a get that found the store empty answers: `Empty` while open; once closed, the
    /// item a put that entered before `close` has just pushed, or `Closed`.
    fn found_empty(&self) -> Result<S::Item, GetError> {
        if !self.is_closed() {
            return Err(GetError::Empty);
        }
        self.puts_finished();
        self.pop().ok_or(GetError::Closed)
    }

    /// Waits out the puts under way (once closed, no new one pushes; each is a handful of
    /// instructions, no user code).
    fn puts_finished(&self) {
        let mut backoff = Backoff::new();
        while self.state.load(Ordering::Acquire) & PUTTERS != 0 {
            if !backoff.snooze() {
                std::thread::yield_now();
            }
        }
    }

    /// Counts the caller as a getter asleep; returns the sequence word's value to sleep on.
    fn sleep_as_getter(&self) -> u32 {
        let seq = self.items_seq.load(Ordering::Acquire);
        self.state.fetch_add(GETTER, Ordering::AcqRel);
        seq
    }

    /// A poller that was woken leaves the item: it wakes another getter, if one is counted,
    /// in case the wake-up was meant for that getter.
    fn pass_on(&self) {
        if self.state.load(Ordering::Relaxed) & GETTERS != 0 {
            self.wake_getter();
        }
    }

    /// Claims a getter counted as asleep (all of them in the browser) and wakes it.
    #[cold]
    fn wake_getter(&self) {
        if WAKE_ALL {
            if self.state.fetch_and(!GETTERS, Ordering::AcqRel) & GETTERS == 0 {
                return;
            }
        } else {
            let mut state = self.state.load(Ordering::Relaxed);
            loop {
                if state & GETTERS == 0 {
                    return;
                }
                match self.state.compare_exchange_weak(
                    state,
                    state - GETTER,
                    Ordering::AcqRel,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => break,
                    Err(seen) => state = seen,
                }
            }
        }
        wake(&self.items_seq);
    }

    /// Claims a putter counted as asleep (all of them in the browser) and wakes it.
    #[cold]
    fn wake_putter(&self) {
        if WAKE_ALL {
            if self.putters.swap(0, Ordering::AcqRel) == 0 {
                return;
            }
        } else {
            let mut count = self.putters.load(Ordering::Relaxed);
            loop {
                if count == 0 {
                    return;
                }
                match self.putters.compare_exchange_weak(
                    count,
                    count - 1,
                    Ordering::AcqRel,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => break,
                    Err(seen) => count = seen,
                }
            }
        }
        wake(&self.slots_seq);
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

/// How a blocking put or get retries before it sleeps: 1, 2, 4, ... 64 spin-loop pauses
/// between tries, then `YIELDS` tries with a `yield_now` between them (crossbeam-channel's
/// backoff). A queue's other side usually frees a slot or adds an item within that time, and
/// a sleeper costs a wake-up system call on the other side.
struct Backoff {
    step: u32,
}

const SPINS: u32 = if cfg!(amphi_loom) { 0 } else { 7 };
const YIELDS: u32 = if cfg!(amphi_loom) { 0 } else { 4 };

impl Backoff {
    fn new() -> Backoff {
        Backoff { step: 0 }
    }

    /// Waits a little longer than last time; false (without waiting) once it is time to sleep.
    fn snooze(&mut self) -> bool {
        if self.step < SPINS {
            for _ in 0..1u32 << self.step {
                std::hint::spin_loop();
            }
        } else if self.step < SPINS + YIELDS {
            std::thread::yield_now();
        } else {
            return false;
        }
        self.step += 1;
        true
    }
}
