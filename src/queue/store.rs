//! Where a queue's items live: the [`Store`] a [`Core`](super::permits::Core) runs its protocol
//! over, and [`LocalStore`], the store for queues between threads.
//!
//! A store keeps the items in FIFO order and refuses a push when it is full; it never waits
//! (waiting is the core's business) and knows nothing of closing (the core's state word does).
//! Between threads the items sit in one of `crossbeam-queue`'s lock-free queues, pure atomics
//! that build for every target amphi supports, the browser's included:
//!
//! | queue | store |
//! |---|---|
//! | bounded, slots that fit in 1 MiB (or at most 1,024) | an `ArrayQueue`: a ring of `maxsize` slots allocated up front, head and tail on separate cache lines |
//! | bounded, larger | a `SegQueue` plus a count of the items, which a push raises only below `maxsize` (a ring that large would be allocated for nothing) |
//! | unbounded | a `SegQueue`: a list of blocks of slots, allocated as it grows |
//!
//! No lock is taken, so no thread can leave the store locked, and the browser's main thread
//! uses it like any other.

use std::sync::atomic::{AtomicUsize, Ordering};

use crossbeam_queue::{ArrayQueue, SegQueue};

/// Storage for a queue's items. Implementations never block.
pub(crate) trait Store {
    /// What the queue carries.
    type Item;
    /// The same store, limited to `maxsize` items (`maxsize` > 0; called once, while empty).
    fn limited(self, maxsize: usize) -> Self;
    /// Appends `item` at the back, or hands it back if the store is full.
    fn push(&self, item: Self::Item) -> Result<(), Self::Item>;
    /// Takes the front item, if any.
    fn pop(&self) -> Option<Self::Item>;
    /// How many items it holds (a snapshot).
    fn len(&self) -> usize;
    /// Whether it holds no item (a snapshot).
    fn is_empty(&self) -> bool;
}

/// The items of a queue between threads, moved in and out as they are.
pub(crate) struct LocalStore<T> {
    items: Items<T>,
}

enum Items<T> {
    /// Bounded, the slots allocated up front.
    Ring(ArrayQueue<T>),
    /// Bounded by `len`, raised below `capacity` before a push and lowered after a pop.
    Counted {
        items: SegQueue<T>,
        len: AtomicUsize,
        capacity: usize,
    },
    /// Unbounded.
    List(SegQueue<T>),
}

/// The most bytes of slots a bounded store allocates up front (see the module docs).
const RING_BYTES: usize = 1 << 20;
/// Rings of up to this many slots are allocated whatever their size in bytes.
const RING_SLOTS: usize = 1024;

impl<T> LocalStore<T> {
    /// An empty, unbounded store (it allocates nothing until the first push).
    pub(crate) fn new() -> LocalStore<T> {
        LocalStore {
            items: Items::List(SegQueue::new()),
        }
    }
}

impl<T> Store for LocalStore<T> {
    type Item = T;

    fn limited(self, maxsize: usize) -> LocalStore<T> {
        debug_assert!(maxsize > 0 && self.is_empty());
        let slot = std::mem::size_of::<T>() + std::mem::size_of::<usize>();
        let items = if maxsize <= RING_SLOTS || maxsize.saturating_mul(slot) <= RING_BYTES {
            Items::Ring(ArrayQueue::new(maxsize))
        } else {
            Items::Counted {
                items: SegQueue::new(),
                len: AtomicUsize::new(0),
                capacity: maxsize,
            }
        };
        LocalStore { items }
    }

    #[inline]
    fn push(&self, item: T) -> Result<(), T> {
        match &self.items {
            Items::Ring(ring) => ring.push(item),
            Items::Counted {
                items,
                len,
                capacity,
            } => {
                let mut held = len.load(Ordering::Relaxed);
                loop {
                    if held >= *capacity {
                        return Err(item);
                    }
                    match len.compare_exchange_weak(
                        held,
                        held + 1,
                        Ordering::Relaxed,
                        Ordering::Relaxed,
                    ) {
                        Ok(_) => break,
                        Err(seen) => held = seen,
                    }
                }
                items.push(item);
                Ok(())
            }
            Items::List(list) => {
                list.push(item);
                Ok(())
            }
        }
    }

    #[inline]
    fn pop(&self) -> Option<T> {
        match &self.items {
            Items::Ring(ring) => ring.pop(),
            Items::Counted { items, len, .. } => {
                let item = items.pop()?;
                len.fetch_sub(1, Ordering::Relaxed);
                Some(item)
            }
            Items::List(list) => list.pop(),
        }
    }

    fn len(&self) -> usize {
        match &self.items {
            Items::Ring(ring) => ring.len(),
            // The count runs ahead of the items by the pushes under way; never behind.
            Items::Counted { len, .. } => len.load(Ordering::Relaxed),
            Items::List(list) => list.len(),
        }
    }

    fn is_empty(&self) -> bool {
        match &self.items {
            Items::Ring(ring) => ring.is_empty(),
            Items::Counted { items, .. } => items.is_empty(),
            Items::List(list) => list.is_empty(),
        }
    }
}
