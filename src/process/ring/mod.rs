//! Rings of bytes in the shared region, the channels under process queues and pipes, and the
//! drivers that run their operations.
//!
//! - `frames`: a ring carrying frames (one per item, streamed through in chunks when longer
//!   than the ring), its locks, and its operations as state machines (`Sending`, `Receiving`,
//!   `Polling`);
//! - `drive`: runs an operation to its end, blocking the thread (the blocking, `try_` and
//!   `_timeout` forms) or as a future (the `_async` forms), noticing dead peers the same way
//!   in both;
//! - `feeder`: the sender-side buffer and thread of an unbounded queue, so that its puts never
//!   wait.

pub(crate) mod drive;
mod feeder;
mod frames;

pub(crate) use feeder::{flush_at_exit, Feeder};
pub(crate) use frames::*;
