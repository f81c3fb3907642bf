//! [`RawRLock`]: the state machine of Python's `RLock` (a lock its owner may take again),
//! written once for the thread and the process families.
//!
//! # State machine
//!
//! An inner lock plus two cells: the owner (the holding thread's identity, none when free) and
//! the depth (how many times the owner holds it). Only the owner writes the depth; the owner
//! cell is written by the thread that just took the inner lock (to its own identity) and by the
//! owner on its last release (to none), so a thread reading its own identity there knows it is
//! the owner. A condition's wait releases every level at once ([`RawRLock::release_all`]) and
//! restores them afterwards ([`RawRLock::restore`]).
//!
//! [`RawRLock`] is generic over the inner lock ([`InnerLock`]: each family's `Lock`) and over
//! where the owner and the depth live ([`OwnerCell`], [`DepthCell`]); the families supply
//! them. The thread family's owner is the holding thread's token (a non-zero number unique
//! among the process's live amphi threads) in an `AtomicU32`; the process family's is
//! `pid << 32 | token` in one 64-bit word of the shared region.
//!
//! # Memory ordering
//!
//! The inner lock orders the critical sections. The owner and depth cells are `Relaxed`: a
//! thread only ever compares the owner with its own identity, and the only write of its
//! identity was its own.

use super::{AsyncInnerLock, InnerLock};
use crate::sync::atomic::{AtomicU32, Ordering};
use crate::time::Deadline;
use crate::Error;

/// Where a [`RawRLock`] records its owner: the calling thread's identity, or none.
pub(crate) trait OwnerCell {
    /// Whether the cell names the calling thread.
    fn names_caller(&self) -> bool;
    /// Records the calling thread as the owner.
    fn set_to_caller(&self);
    /// Records that nobody owns the lock.
    fn clear(&self);
}

/// Where a [`RawRLock`] keeps its depth; written by the owner only.
pub(crate) trait DepthCell {
    /// The depth.
    fn get(&self) -> u32;
    /// Sets the depth.
    fn set(&self, depth: u32);
}

/// The re-entrant lock's state machine (see the module docs).
pub(crate) struct RawRLock<L, O, D> {
    lock: L,
    owner: O,
    depth: D,
}

impl<L: InnerLock, O: OwnerCell, D: DepthCell> RawRLock<L, O, D> {
    /// A re-entrant lock over `lock` (which must be free), with a clear owner and a zero depth.
    pub(crate) const fn from_parts(lock: L, owner: O, depth: D) -> RawRLock<L, O, D> {
        RawRLock { lock, owner, depth }
    }

    /// Acquires one level, sleeping for the inner lock as long as it takes.
    pub(crate) fn acquire(&self) -> Result<(), Error> {
        self.acquire_with(L::lock)
    }

    /// Acquires one level, or [`Error::Timeout`] once `deadline` has passed.
    pub(crate) fn acquire_until(&self, deadline: Deadline) -> Result<(), Error> {
        self.acquire_with(|lock| lock.lock_until(deadline))
    }

    /// Acquires one level if the caller owns the lock or it is free right now.
    pub(crate) fn try_acquire(&self) -> bool {
        self.acquire_with(|lock| lock.try_lock().then_some(()).ok_or(Error::Timeout))
            .is_ok()
    }

    /// Acquires one level without blocking the thread.
    pub(crate) async fn acquire_async(&self)
    where
        L: AsyncInnerLock,
    {
        if !self.reenter() {
            self.lock.lock_async().await;
            self.take_ownership(1);
        }
    }

    /// Releases one level; [`Error::NotOwner`] if the caller does not hold the lock.
    pub(crate) fn release(&self) -> Result<(), Error> {
        if !self.is_owned() {
            return Err(Error::NotOwner);
        }
        let depth = self.depth.get().saturating_sub(1);
        self.depth.set(depth);
        if depth == 0 {
            self.owner.clear();
            self.lock.unlock()?;
        }
        Ok(())
    }

    /// Releases every level the caller holds and returns how many (for a condition's wait);
    /// [`Error::NotOwner`] if the caller does not hold the lock.
    pub(crate) fn release_all(&self) -> Result<u32, Error> {
        if !self.is_owned() {
            return Err(Error::NotOwner);
        }
        let depth = self.depth.get();
        self.depth.set(0);
        self.owner.clear();
        self.lock.unlock()?;
        Ok(depth)
    }

    /// Takes the inner lock again and restores the `depth` levels that
    /// [`release_all`](Self::release_all) returned.
    pub(crate) fn restore(&self, depth: u32) -> Result<(), Error> {
        self.lock.lock()?;
        self.take_ownership(depth);
        Ok(())
    }

    /// The same without blocking the thread.
    pub(crate) async fn restore_async(&self, depth: u32)
    where
        L: AsyncInnerLock,
    {
        self.lock.lock_async().await;
        self.take_ownership(depth);
    }

    /// Whether the calling thread holds the lock.
    pub(crate) fn is_owned(&self) -> bool {
        self.owner.names_caller()
    }

    /// Whether anyone holds the lock (a snapshot).
    pub(crate) fn locked(&self) -> bool {
        self.lock.is_locked()
    }

    /// How many times the calling thread holds the lock (0 if it does not own it).
    pub(crate) fn depth(&self) -> u32 {
        if self.is_owned() {
            self.depth.get()
        } else {
            0
        }
    }

    /// Makes the caller the owner at `depth` once it holds the inner lock.
    fn take_ownership(&self, depth: u32) {
        self.owner.set_to_caller();
        self.depth.set(depth);
    }

    /// Takes one more level if the caller already owns the lock.
    fn reenter(&self) -> bool {
        if !self.is_owned() {
            return false;
        }
        self.depth.set(self.depth.get().saturating_add(1));
        true
    }

    fn acquire_with(&self, take_inner: impl FnOnce(&L) -> Result<(), Error>) -> Result<(), Error> {
        if !self.reenter() {
            take_inner(&self.lock)?;
            self.take_ownership(1);
        }
        Ok(())
    }
}

/// A thread family's depth: an ordinary atomic.
impl DepthCell for AtomicU32 {
    fn get(&self) -> u32 {
        self.load(Ordering::Relaxed)
    }
    fn set(&self, depth: u32) {
        self.store(depth, Ordering::Relaxed);
    }
}
