//! The channel under the thread family's queues and pipes: items in a lock-free store, and the
//! state machine that makes puts and gets sleep and wake each other.
//!
//! - `core`: [`Core`], the protocol (when a put or a get may go ahead, how they wait, what
//!   `close` does), whatever [`Store`](store::Store) holds the items;
//! - `store`: [`LocalStore`], the items between threads: a `slot_ring` when bounded,
//!   crossbeam-queue's `SegQueue` when not;
//! - `slot_ring`: amphi's bounded ring of slots (after crossbeam-channel's array flavour), whose
//!   tail carries the closed flag as a mark bit.
//!
//! The process family's queues and pipes carry serialised items through rings of bytes in the
//! shared region instead (`crate::process`'s `ring`).

mod core;
mod slot_ring;
mod store;

pub(crate) use self::core::Core;
pub(crate) use store::LocalStore;
