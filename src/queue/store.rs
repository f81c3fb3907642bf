//! Where a queue's items live: the [`Store`] a [`Core`](super::permits::Core) runs its permits
//! over, and [`LocalStore`], the store for queues between threads.
//!
//! A store keeps the items in FIFO order together with the queue's closed flag, so that "push
//! unless closed" is one step: no item can slip in after `close`. A store never waits; waiting
//! is the core's business. Between threads the items sit in a `VecDeque` behind a
//! `std::sync::Mutex` that is held for a handful of instructions (locked by spinning, so the
//! browser's main thread may use it too) and never while user code runs: items are dropped
//! after the lock is released.
//!
//! A queue between processes will implement the same trait over serialised messages in memory
//! the processes share, and reuse the core unchanged.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, TryLockError};

/// Storage for a queue's items and its closed flag. Implementations never block.
pub(crate) trait Store {
    /// What the queue carries.
    type Item;
    /// Appends `item` at the back, or hands it back if the store is closed.
    fn push(&self, item: Self::Item) -> Result<(), Self::Item>;
    /// Takes the front item, if any (a closed store still gives its remaining items).
    fn pop(&self) -> Option<Self::Item>;
    /// Marks the store closed; true only for the call that closed it.
    fn close(&self) -> bool;
    /// Whether the store is closed (a snapshot).
    fn is_closed(&self) -> bool;
    /// How many items it holds (a snapshot).
    fn len(&self) -> usize;
}

/// The items of a queue between threads, moved in and out as they are.
pub(crate) struct LocalStore<T> {
    state: Mutex<Local<T>>,
}

struct Local<T> {
    items: VecDeque<T>,
    closed: bool,
}

impl<T> LocalStore<T> {
    /// An empty, open store.
    pub(crate) fn new() -> LocalStore<T> {
        LocalStore {
            state: Mutex::new(Local {
                items: VecDeque::new(),
                closed: false,
            }),
        }
    }
}

impl<T> Store for LocalStore<T> {
    type Item = T;

    fn push(&self, item: T) -> Result<(), T> {
        let mut state = lock(&self.state);
        if state.closed {
            return Err(item);
        }
        state.items.push_back(item);
        Ok(())
    }

    fn pop(&self) -> Option<T> {
        lock(&self.state).items.pop_front()
    }

    fn close(&self) -> bool {
        !std::mem::replace(&mut lock(&self.state).closed, true)
    }

    fn is_closed(&self) -> bool {
        lock(&self.state).closed
    }

    fn len(&self) -> usize {
        lock(&self.state).items.len()
    }
}

/// Locks a store by spinning on `try_lock` (poison is ignored: no user code runs under it),
/// as `crate::spin::lock` does, but backing off between tries: 1, 2, 4, ... up to 64 pauses.
/// A producer and a consumer take this lock for every item, and retrying at once would keep
/// taking the mutex's cache line from the thread that holds it and is about to release it.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    let mut pauses = 1u32;
    loop {
        match mutex.try_lock() {
            Ok(guard) => return guard,
            Err(TryLockError::Poisoned(poison)) => return poison.into_inner(),
            Err(TryLockError::WouldBlock) => {
                for _ in 0..pauses {
                    std::hint::spin_loop();
                }
                pauses = (pauses * 2).min(64);
            }
        }
    }
}
