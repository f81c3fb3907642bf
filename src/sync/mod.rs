//! The engines: every primitive's state machine, written once over 32-bit words, below both
//! families.
//!
//! Each engine is generic over [`Word`], the interface of a word a thread can sleep on. The
//! thread family ([`crate::thread`]) instantiates the engines over ordinary atomics in its own
//! memory; the process family ([`crate::process`]) over words in a region shared by a process
//! tree. Neither family is imported here: dependencies point down only, from the families to
//! `sync` and from `sync` to `sys` and `time`.
//!
//! | module | engine | state |
//! |---|---|---|
//! | `lock` | [`RawLock`] | one word: free, held, held with sleepers |
//! | `owned_lock` | [`RawOwnedLock`] | one word: free, or its holder's id, with or without sleepers |
//! | `inner_lock` | [`InnerLock`] | the one trait the lock-built engines need from a lock |
//! | `rlock` | [`RawRLock`] | an [`InnerLock`], an owner and a depth |
//! | `semaphore` | [`RawSemaphore`] | permits and sleepers |
//! | `event` | [`RawEvent`] | the flag and a generation |
//! | `condition` | [`RawCondition`] | a FIFO of one word per waiter ([`WaiterQueue`]) |
//! | `barrier` | [`RawBarrier`] | a [`RawOwnedLock`], three words and its family's [`Parties`] |
//!
//! Below them: `atomic` (the atomics and `UnsafeCell`, swapped for loom's under
//! `--cfg amphi_loom`), `word` ([`Word`]), `backoff` ([`Backoff`], the one spin policy: spin,
//! then yield, then sleep on the word) and `spin` (a spin-locked `std` mutex for tiny internal
//! critical sections).

pub(crate) mod atomic;
mod backoff;
mod barrier;
mod condition;
mod event;
mod inner_lock;
mod lock;
mod owned_lock;
mod rlock;
mod semaphore;
pub(crate) mod spin;
mod word;

pub(crate) use backoff::Backoff;
pub(crate) use barrier::{Parties, RawBarrier, FILLING};
pub(crate) use condition::{RawCondition, WaiterQueue, WAITING};
pub(crate) use event::RawEvent;
pub(crate) use inner_lock::{AsyncInnerLock, InnerLock};
pub(crate) use lock::{RawLock, UNLOCKED};
pub(crate) use owned_lock::RawOwnedLock;
#[cfg(test)]
pub(crate) use owned_lock::SLEEPERS;
pub(crate) use rlock::{DepthCell, OwnerCell, RawRLock};
pub(crate) use semaphore::RawSemaphore;
pub(crate) use word::Word;
