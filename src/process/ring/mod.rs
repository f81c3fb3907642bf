//! Rings of bytes in the shared region, the channels under process queues and pipes, and the
//! drivers that run their operations.
//!
//! - `frames`: a ring carrying frames (one per item, streamed through in chunks when longer
//!   than the ring), its locks, and its operations as state machines (`Sending`, `Receiving`,
//!   `Polling`);
//! - `drive`: runs an operation to its end, blocking the thread (the blocking, `try_` and
//!   `_timeout` forms) or as a future (the `_async` forms), noticing dead peers the same way
//!   in both.

pub(crate) mod drive;
mod frames;

pub(crate) use frames::*;
