//! The one place amphi takes its atomics from, so that loom can model every state machine.
//!
//! Normally these are `std::sync::atomic`'s types. Under `--cfg amphi_loom` they are loom's,
//! and `crate::sys` switches to a loom backend whose wait/wake is a loom `Condvar`, so
//! `tests/loom.rs` explores every interleaving of the primitives' words.

#[cfg(not(amphi_loom))]
pub(crate) use std::sync::atomic::{fence, AtomicU32, Ordering};

#[cfg(amphi_loom)]
pub(crate) use loom::sync::atomic::{fence, AtomicU32, Ordering};
