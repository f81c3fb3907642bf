//! Where a queue's items live: the [`Store`] a [`Core`](super::Core) runs its protocol
//! over, and [`LocalStore`], the store for queues between threads.
//!
//! A store keeps the items in FIFO order, refuses a push when it is full, and owns the closed
//! flag: "push unless closed" is one step of the store, and a pop answers `Closed` only once
//! closed and every item pushed before `close` was taken. It never waits (waiting is the
//! core's business). Between threads the items sit in lock-free structures, pure atomics that
//! build for every target amphi supports, the browser's included:
//!
//! | queue | store |
//! |---|---|
//! | bounded, slots that fit in 1 MiB (or at most 1,024) | a [`Ring`]: `maxsize` slots allocated up front, head and tail on separate cache lines, the closed flag a mark bit in the tail |
//! | bounded, larger | a `crossbeam-queue` `SegQueue` plus a count of the items, which a push raises only below `maxsize` (a ring that large would be allocated for nothing) |
//! | unbounded | a `SegQueue`: a list of blocks of slots, allocated as it grows |
//!
//! A `SegQueue` keeps its tail private, so around it the store keeps a word of its own
//! (`state`: the closed flag and the pushes under way): a push enters it (refused once
//! closed) and leaves it with a read-modify-write each, and a pop that finds the list empty
//! on a closed queue waits out the pushes under way before it answers `Closed`.
//!
//! No lock is taken, so no thread can leave the store locked, and the browser's main thread
//! uses it like any other.
//!
//! # Under loom
//!
//! The words around the list (`state`, `len`, `closed`) and the ring are built on the
//! `crate::sync::atomic` facade, so loom models them. A `SegQueue` is not: its atomics are
//! crossbeam's own, invisible to loom. Under `--cfg amphi_loom` the list is therefore a
//! stand-in with the same interface and the same FIFO behaviour, a `VecDeque` behind a loom
//! `Mutex` (`modelled::SegQueue`). What the queue's protocol relies on is the store's words,
//! not the list's internals, and those are what the models check.
//!
//! # What the core relies on
//!
//! A successful push ends with a `SeqCst` read-modify-write that publishes the item (the
//! ring's claim of its tail, the list's leave of `state`); [`Store::sync_puts`] is the
//! `SeqCst` read a sleeping getter makes of that word before its last pop (the ring needs none:
//! its pop reads `tail` with `SeqCst` before it answers `Empty`). Likewise a pop of a bounded
//! store frees its slot with a `SeqCst` read-modify-write (`head`, or the count), and a push
//! concludes `Full` from a `SeqCst` read of it.

#[cfg(not(amphi_loom))]
use crossbeam_queue::SegQueue;
use crossbeam_utils::CachePadded;

#[cfg(amphi_loom)]
use self::modelled::SegQueue;
use super::slot_ring::Ring;
pub(crate) use super::slot_ring::{Drained, Refused};
use crate::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use crate::sync::Backoff;

/// Storage for a queue's items. Implementations never block for long (a ring waits out a
/// claim another thread is finishing, a handful of instructions).
pub(crate) trait Store {
    /// What the queue carries.
    type Item;
    /// The same store, limited to `maxsize` items (`maxsize` > 0; called once, while empty).
    fn limited(self, maxsize: usize) -> Self;
    /// Appends `item` at the back, or hands it back if the store is full or closed.
    fn push(&self, item: Self::Item) -> Result<(), Refused<Self::Item>>;
    /// Takes the front item, if any; `Closed` once closed and drained.
    fn pop(&self) -> Result<Self::Item, Drained>;
    /// Refuses every push from now on; true for the call that closed it.
    fn close(&self) -> bool;
    /// Whether [`close`](Store::close) was called.
    fn is_closed(&self) -> bool;
    /// A `SeqCst` read of the word a push publishes with (see the module docs), for a getter
    /// that counted itself asleep, before its last pop.
    fn sync_puts(&self);
    /// How many items it holds (a snapshot).
    fn len(&self) -> usize;
    /// Whether it holds no item (a snapshot).
    fn is_empty(&self) -> bool;
}

/// The items of a queue between threads, moved in and out as they are.
pub(crate) struct LocalStore<T> {
    items: Items<T>,
}

// The variants are a few cache lines each (their words padded apart); a queue is made once
// and shared, so the size matters less than an indirection on every put and get would.
#[allow(clippy::large_enum_variant)]
enum Items<T> {
    /// Bounded, the slots allocated up front.
    Ring(Ring<T>),
    /// A `SegQueue`, bounded or not.
    List(Listed<T>),
}

/// A `SegQueue` and the words around it.
struct Listed<T> {
    /// `CLOSED` and the pushes under way.
    state: CachePadded<AtomicU64>,
    items: SegQueue<T>,
    /// The items held or being pushed: raised below `capacity` before a push, lowered after a
    /// pop (only when bounded).
    len: CachePadded<AtomicUsize>,
    /// 0: unbounded.
    capacity: usize,
    /// A copy of `CLOSED`, set after it, for pops that found the list empty to read, on a
    /// line that no push writes.
    closed: CachePadded<AtomicBool>,
}

/// `state`: set once closed.
const CLOSED: u64 = 1 << 63;
/// `state`: one push under way.
const PUSHER: u64 = 1;

/// The most bytes of slots a bounded store allocates up front (see the module docs).
const RING_BYTES: usize = 1 << 20;
/// Rings of up to this many slots are allocated whatever their size in bytes.
const RING_SLOTS: usize = 1024;

impl<T> LocalStore<T> {
    /// An empty, unbounded store (it allocates nothing until the first push).
    pub(crate) fn new() -> LocalStore<T> {
        LocalStore {
            items: Items::List(Listed::new(0)),
        }
    }
}

impl<T> Listed<T> {
    fn new(capacity: usize) -> Listed<T> {
        Listed {
            state: CachePadded::new(AtomicU64::new(0)),
            items: SegQueue::new(),
            len: CachePadded::new(AtomicUsize::new(0)),
            capacity,
            closed: CachePadded::new(AtomicBool::new(false)),
        }
    }

    #[inline]
    fn push(&self, item: T) -> Result<(), Refused<T>> {
        let entered = self.state.fetch_add(PUSHER, Ordering::AcqRel);
        if entered & CLOSED != 0 {
            self.state.fetch_sub(PUSHER, Ordering::Release);
            return Err(Refused::Closed(item));
        }
        if self.capacity != 0 {
            let mut held = self.len.load(Ordering::SeqCst);
            loop {
                if held >= self.capacity {
                    self.state.fetch_sub(PUSHER, Ordering::Release);
                    return Err(Refused::Full(item));
                }
                match self.len.compare_exchange_weak(
                    held,
                    held + 1,
                    Ordering::SeqCst,
                    Ordering::SeqCst,
                ) {
                    Ok(_) => break,
                    Err(seen) => held = seen,
                }
            }
        }
        self.items.push(item);
        self.state.fetch_sub(PUSHER, Ordering::SeqCst);
        Ok(())
    }

    #[inline]
    fn pop(&self) -> Result<T, Drained> {
        if let Some(item) = self.take() {
            return Ok(item);
        }
        if !self.closed.load(Ordering::Acquire) {
            return Err(Drained::Empty);
        }
        // Closed: no new push goes in; wait out those under way (a handful of instructions
        // each, no user code), then look once more.
        let mut backoff = Backoff::new();
        while self.state.load(Ordering::Acquire) & !CLOSED != 0 {
            backoff.pause();
        }
        self.take().ok_or(Drained::Closed)
    }

    #[inline]
    fn take(&self) -> Option<T> {
        let item = self.items.pop()?;
        if self.capacity != 0 {
            self.len.fetch_sub(1, Ordering::SeqCst);
        }
        Some(item)
    }

    fn close(&self) -> bool {
        let before = self.state.fetch_or(CLOSED, Ordering::SeqCst);
        self.closed.store(true, Ordering::Release);
        before & CLOSED == 0
    }

    fn len(&self) -> usize {
        if self.capacity != 0 {
            // The count runs ahead of the items by the pushes under way; never behind.
            self.len.load(Ordering::Relaxed)
        } else {
            self.items.len()
        }
    }
}

impl<T> Store for LocalStore<T> {
    type Item = T;

    fn limited(self, maxsize: usize) -> LocalStore<T> {
        debug_assert!(maxsize > 0 && self.is_empty());
        let slot = std::mem::size_of::<T>() + std::mem::size_of::<usize>();
        let items = if maxsize <= RING_SLOTS || maxsize.saturating_mul(slot) <= RING_BYTES {
            Items::Ring(Ring::new(maxsize))
        } else {
            Items::List(Listed::new(maxsize))
        };
        LocalStore { items }
    }

    #[inline]
    fn push(&self, item: T) -> Result<(), Refused<T>> {
        match &self.items {
            Items::Ring(ring) => ring.push(item),
            Items::List(list) => list.push(item),
        }
    }

    #[inline]
    fn pop(&self) -> Result<T, Drained> {
        match &self.items {
            Items::Ring(ring) => ring.pop(),
            Items::List(list) => list.pop(),
        }
    }

    fn close(&self) -> bool {
        match &self.items {
            Items::Ring(ring) => ring.close(),
            Items::List(list) => list.close(),
        }
    }

    fn is_closed(&self) -> bool {
        match &self.items {
            Items::Ring(ring) => ring.is_closed(),
            Items::List(list) => list.closed.load(Ordering::Acquire),
        }
    }

    fn sync_puts(&self) {
        match &self.items {
            Items::Ring(_) => {}
            Items::List(list) => {
                list.state.load(Ordering::SeqCst);
            }
        }
    }

    fn len(&self) -> usize {
        match &self.items {
            Items::Ring(ring) => ring.len(),
            Items::List(list) => list.len(),
        }
    }

    fn is_empty(&self) -> bool {
        match &self.items {
            Items::Ring(ring) => ring.is_empty(),
            Items::List(list) => list.items.is_empty(),
        }
    }
}

/// The stand-in for `crossbeam_queue::SegQueue` under loom (see the module docs).
#[cfg(amphi_loom)]
mod modelled {
    use std::collections::VecDeque;

    use loom::sync::Mutex;

    /// A FIFO list behind a loom `Mutex`, with the part of `SegQueue`'s interface the store
    /// uses.
    pub(super) struct SegQueue<T>(Mutex<VecDeque<T>>);

    impl<T> SegQueue<T> {
        pub(super) fn new() -> SegQueue<T> {
            SegQueue(Mutex::new(VecDeque::new()))
        }
        pub(super) fn push(&self, item: T) {
            self.0.lock().unwrap().push_back(item);
        }
        pub(super) fn pop(&self) -> Option<T> {
            self.0.lock().unwrap().pop_front()
        }
        pub(super) fn len(&self) -> usize {
            self.0.lock().unwrap().len()
        }
        pub(super) fn is_empty(&self) -> bool {
            self.0.lock().unwrap().is_empty()
        }
    }
}
