//! [`Ring`]: the bounded store of a queue between threads, a ring of slots allocated up front
//! whose tail carries the queue's closed flag, so that "push unless closed" is one
//! compare-and-swap.
//!
//! The design is that of crossbeam-channel's array flavour (Dmitry Vyukov's bounded MPMC
//! queue, with a mark bit for disconnection); this is amphi's own code, shaped for amphi's
//! protocol (`core.rs`).
//!
//! # Positions and stamps
//!
//! `head` and `tail` are positions: the slot index in the low bits, a lap count above it
//! (`one_lap` is a power of two greater than twice the capacity). `tail` also carries `MARK`
//! (the bit between index and lap), set by [`close`](Ring::close). Every slot has a stamp:
//!
//! - `stamp == tail` (the position a put would claim): the slot is free for that put;
//! - `stamp == head + 1`: the slot holds the item a get at `head` takes;
//! - once taken, the stamp becomes `head + one_lap`: free for the put one lap later.
//!
//! A put claims its position with a compare-and-swap of `tail` (refused if `MARK` is set: the
//! queue is closed, and the item goes back), writes the item and publishes it with a
//! `Release` store of the stamp. A get claims `head` the same way, reads the item and frees
//! the slot with the stamp. Between the claim and the stamp the other side sees a position
//! taken but a slot not yet ready, and waits those few instructions ([`Backoff::pause`]:
//! spinning, then yielding).
//!
//! A get that finds the slot at `head` empty answers `Empty` only if `tail` (read after)
//! equals `head`, and `Closed` if `tail` also carries `MARK`: every put that claimed a position
//! before `close` is ahead of `head` until its item is taken, so no item slips in after a get
//! answered `Closed`. A put that finds the slot at `tail` still full answers `Full` only if
//! `head` (read after) is a lap behind.
//!
//! # Memory ordering
//!
//! The stamps order the items: a put's `Release` stamp store is read by the get's `Acquire`
//! load before it reads the item, and the other way round for the slot's reuse.
//!
//! The claims of `tail` and `head`, and the reads of them that conclude `Empty`, `Closed` or
//! `Full`, are `SeqCst`. `core.rs` relies on it: a putter that claimed `tail` then reads
//! the count of sleeping getters (`SeqCst`), and a getter that counted itself asleep (a
//! `SeqCst` read-modify-write) then reads `tail` through its last pop, so that in the single
//! order of `SeqCst` operations at least one sees the other; the same between gets (`head`)
//! and sleeping putters.

use std::mem::MaybeUninit;

use crossbeam_utils::CachePadded;

use crate::sync::atomic::{AtomicUsize, Ordering, UnsafeCell};
use crate::sync::Backoff;

/// One slot: its stamp (see the module docs) and room for an item.
struct Slot<T> {
    stamp: AtomicUsize,
    item: UnsafeCell<MaybeUninit<T>>,
}

/// Why a push went nowhere (the item comes back).
pub(crate) enum Refused<T> {
    Full(T),
    Closed(T),
}

/// Why a pop found nothing.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Drained {
    /// No item right now.
    Empty,
    /// Closed, and every item put before `close` was taken.
    Closed,
}

/// A bounded multi-producer, multi-consumer ring that can be closed (see the module docs).
pub(crate) struct Ring<T> {
    /// The next position to take from.
    head: CachePadded<AtomicUsize>,
    /// The next position to put at, with `mark` once closed.
    tail: CachePadded<AtomicUsize>,
    slots: Box<[Slot<T>]>,
    /// How many items it holds at most (`slots.len()`).
    capacity: usize,
    /// `tail`: closed. Also the number one above the largest index.
    mark: usize,
    /// The distance between a position and the same slot one lap later.
    one_lap: usize,
}

// SAFETY: a `Ring` owns its items and hands each to exactly one thread (the get that claimed
// its position, or `Drop`), so sending or sharing it only moves items between threads, which
// `T: Send` allows; the slots' `UnsafeCell`s are only accessed by the one thread holding the
// slot's claim (see `push` and `pop`).
unsafe impl<T: Send> Send for Ring<T> {}
// SAFETY: as above: through `&Ring` a thread only moves items in and out, never shares one.
unsafe impl<T: Send> Sync for Ring<T> {}
// A panic in a put or a get (a `T`'s move cannot panic; a caller's code runs outside the ring)
// leaves no slot half-written: a slot's value is written whole before its stamp publishes it, and
// taken whole after. So a queue may be held across `catch_unwind`, as crossbeam's channels and
// `SegQueue` (the unbounded store) may.
impl<T> std::panic::RefUnwindSafe for Ring<T> {}

impl<T> Ring<T> {
    /// An empty, open ring of `capacity` slots (`capacity` > 0).
    pub(crate) fn new(capacity: usize) -> Ring<T> {
        assert!(capacity > 0, "a ring needs a slot");
        let mark = (capacity + 1).next_power_of_two();
        let one_lap = mark * 2;
        let slots = (0..capacity)
            .map(|index| Slot {
                stamp: AtomicUsize::new(index),
                item: UnsafeCell::new(MaybeUninit::uninit()),
            })
            .collect();
        Ring {
            head: CachePadded::new(AtomicUsize::new(0)),
            tail: CachePadded::new(AtomicUsize::new(0)),
            slots,
            capacity,
            mark,
            one_lap,
        }
    }

    /// The position after `position` (next slot, or the first slot of the next lap).
    #[inline]
    fn next(&self, position: usize) -> usize {
        let index = position & (self.mark - 1);
        if index + 1 < self.capacity {
            position + 1
        } else {
            (position & !(self.one_lap - 1)).wrapping_add(self.one_lap)
        }
    }

    /// Appends `item` unless the ring is full or closed.
    #[inline]
    pub(crate) fn push(&self, item: T) -> Result<(), Refused<T>> {
        let mut tail = self.tail.load(Ordering::Relaxed);
        let mut backoff = Backoff::new();
        loop {
            if tail & self.mark != 0 {
                return Err(Refused::Closed(item));
            }
            let slot = &self.slots[tail & (self.mark - 1)];
            let stamp = slot.stamp.load(Ordering::Acquire);
            if stamp == tail {
                match self.tail.compare_exchange_weak(
                    tail,
                    self.next(tail),
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        // SAFETY: the compare-and-swap claimed position `tail`, whose slot's
                        // stamp said free (its last item taken, the `Acquire` load ordering
                        // that take before this write); no other put claims it before the
                        // stamp below publishes the item, and no get reads it before then.
                        slot.item.with_mut(|cell| unsafe { (*cell).write(item) });
                        slot.stamp.store(tail + 1, Ordering::Release);
                        return Ok(());
                    }
                    Err(seen) => tail = seen,
                }
            } else if stamp.wrapping_add(self.one_lap) == tail + 1 {
                // The slot still holds the item of the lap before: full, unless a get has
                // claimed it and is reading it right now.
                let head = self.head.load(Ordering::SeqCst);
                if head.wrapping_add(self.one_lap) == tail {
                    return Err(Refused::Full(item));
                }
                backoff.pause();
                tail = self.tail.load(Ordering::Relaxed);
            } else {
                // Another put claimed `tail` and moved on; look again.
                backoff.pause();
                tail = self.tail.load(Ordering::Relaxed);
            }
        }
    }

    /// Takes the front item, or says why there is none.
    #[inline]
    pub(crate) fn pop(&self) -> Result<T, Drained> {
        let mut head = self.head.load(Ordering::Relaxed);
        let mut backoff = Backoff::new();
        loop {
            let slot = &self.slots[head & (self.mark - 1)];
            let stamp = slot.stamp.load(Ordering::Acquire);
            if stamp == head + 1 {
                match self.head.compare_exchange_weak(
                    head,
                    self.next(head),
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        // SAFETY: the compare-and-swap claimed position `head`, whose slot's
                        // stamp (read with `Acquire`, after the put's `Release` store) says it
                        // holds the item written for it; no other get claims it, and no put
                        // writes it before the stamp below frees it.
                        let item = slot.item.with(|cell| unsafe { (*cell).assume_init_read() });
                        slot.stamp
                            .store(head.wrapping_add(self.one_lap), Ordering::Release);
                        return Ok(item);
                    }
                    Err(seen) => head = seen,
                }
            } else if stamp == head {
                // The slot awaits this lap's item: empty, unless a put has claimed it and is
                // writing it right now.
                let tail = self.tail.load(Ordering::SeqCst);
                if tail & !self.mark == head {
                    return Err(if tail & self.mark != 0 {
                        Drained::Closed
                    } else {
                        Drained::Empty
                    });
                }
                backoff.pause();
                head = self.head.load(Ordering::Relaxed);
            } else {
                // Another get took `head` and moved on; look again.
                backoff.pause();
                head = self.head.load(Ordering::Relaxed);
            }
        }
    }

    /// Sets the closed mark; true for the call that set it.
    pub(crate) fn close(&self) -> bool {
        self.tail.fetch_or(self.mark, Ordering::SeqCst) & self.mark == 0
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.tail.load(Ordering::SeqCst) & self.mark != 0
    }

    /// How many items it holds (a snapshot: counts the puts and gets under way as done).
    pub(crate) fn len(&self) -> usize {
        loop {
            let tail = self.tail.load(Ordering::SeqCst);
            let head = self.head.load(Ordering::SeqCst);
            // A consistent pair: `tail` did not move while `head` was read.
            if self.tail.load(Ordering::SeqCst) == tail {
                let tail = tail & !self.mark;
                let head_index = head & (self.mark - 1);
                let tail_index = tail & (self.mark - 1);
                return if head_index < tail_index {
                    tail_index - head_index
                } else if head_index > tail_index {
                    self.capacity - head_index + tail_index
                } else if tail == head {
                    0
                } else {
                    self.capacity
                };
            }
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        let head = self.head.load(Ordering::SeqCst);
        let tail = self.tail.load(Ordering::SeqCst);
        tail & !self.mark == head
    }
}

impl<T> Drop for Ring<T> {
    fn drop(&mut self) {
        if std::mem::needs_drop::<T>() {
            while self.pop().is_ok() {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Drained, Refused, Ring};
    use std::sync::Arc;

    #[test]
    fn fifo_over_many_laps() {
        let ring = Ring::new(3);
        let (mut put, mut got) = (0, 0);
        for round in 0..20 {
            for _ in 0..(round % 3) + 1 {
                assert!(ring.push(put).is_ok());
                put += 1;
            }
            assert_eq!(ring.len(), (round % 3) + 1);
            while let Ok(item) = ring.pop() {
                assert_eq!(item, got);
                got += 1;
            }
            assert!(ring.is_empty());
        }
        assert_eq!((put, got), (39, 39));
    }

    #[test]
    fn full_and_closed_hand_the_item_back() {
        let ring = Ring::new(2);
        assert!(ring.push('a').is_ok());
        assert!(ring.push('b').is_ok());
        assert_eq!(ring.len(), 2);
        assert!(matches!(ring.push('c'), Err(Refused::Full('c'))));
        assert!(ring.close());
        assert!(!ring.close());
        assert!(ring.is_closed());
        assert!(matches!(ring.push('d'), Err(Refused::Closed('d'))));
        assert_eq!(ring.len(), 2);
        assert_eq!(ring.pop(), Ok('a'));
        assert_eq!(ring.pop(), Ok('b'));
        assert_eq!(ring.pop(), Err(Drained::Closed));
        let open: Ring<()> = Ring::new(1);
        assert_eq!(open.pop(), Err(Drained::Empty));
    }

    #[test]
    fn dropping_drops_the_items_left() {
        let token = Arc::new(());
        let ring = Ring::new(4);
        for _ in 0..3 {
            assert!(ring.push(Arc::clone(&token)).is_ok());
        }
        drop(ring.pop());
        assert_eq!(Arc::strong_count(&token), 3);
        drop(ring);
        assert_eq!(Arc::strong_count(&token), 1);
    }

    #[test]
    fn many_threads_each_item_once() {
        const PER_THREAD: usize = if cfg!(miri) { 50 } else { 10_000 };
        let ring = Arc::new(Ring::new(4));
        let producers: Vec<_> = (0..2)
            .map(|p| {
                let ring = Arc::clone(&ring);
                std::thread::spawn(move || {
                    for i in 0..PER_THREAD {
                        let mut item = p * PER_THREAD + i;
                        loop {
                            match ring.push(item) {
                                Ok(()) => break,
                                Err(Refused::Full(back)) => item = back,
                                Err(Refused::Closed(_)) => unreachable!(),
                            }
                            std::thread::yield_now();
                        }
                    }
                })
            })
            .collect();
        let consumers: Vec<_> = (0..2)
            .map(|_| {
                let ring = Arc::clone(&ring);
                std::thread::spawn(move || {
                    let mut got = Vec::new();
                    loop {
                        match ring.pop() {
                            Ok(item) => got.push(item),
                            Err(Drained::Closed) => return got,
                            Err(Drained::Empty) => std::thread::yield_now(),
                        }
                    }
                })
            })
            .collect();
        for producer in producers {
            producer.join().unwrap();
        }
        ring.close();
        let mut all: Vec<usize> = consumers
            .into_iter()
            .flat_map(|consumer| consumer.join().unwrap())
            .collect();
        all.sort_unstable();
        assert_eq!(all, (0..2 * PER_THREAD).collect::<Vec<_>>());
    }
}
