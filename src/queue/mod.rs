//! Queues between threads: Python's `queue` module and the queues of `multiprocessing`.
//!
//! ## A tour
//!
//! - [`Queue`]: first in, first out; bounded ([`Queue::bounded`]) or not
//!   ([`Queue::unbounded`]; `Queue::new(0)` as in Python); any number of producers and
//!   consumers. [`put`](Queue::put) and [`get`](Queue::get) come in four forms: blocking,
//!   `try_` (Python's `put_nowait`/`get_nowait`), `_timeout` and `_async`. Plus
//!   [`qsize`](Queue::qsize), [`empty`](Queue::empty), [`full`](Queue::full) and
//!   [`close`](Queue::close).
//! - [`SimpleQueue`]: unbounded, with a `put` that never waits.
//! - [`JoinableQueue`]: a queue whose producer can [`join`](JoinableQueue::join) until every
//!   item was marked [`task_done`](JoinableQueue::task_done) by a consumer.
//! - [`PutError`] hands the item back (`Full`, `Closed`, `Timeout`, `WouldBlock`);
//!   [`GetError`] says why nothing came (`Empty`, `Closed`, `Timeout`, `WouldBlock`). Both
//!   convert into [`crate::Error`] for `?`.
//!
//! Between threads an item moves as it is: no copy, no serialisation, any `T: Send`.
//!
//! ```
//! use std::sync::Arc;
//! use amphi::{Queue, Thread};
//!
//! let queue = Arc::new(Queue::new(10));
//! let consumer = {
//!     let queue = Arc::clone(&queue);
//!     Thread::spawn(move || {
//!         let mut total = 0;
//!         while let Some(n) = queue.get()? {
//!             total += n;
//!         }
//!         Ok::<_, amphi::Error>(total)
//!     })?
//! };
//! for n in 1..=4 {
//!     queue.put(Some(n))?;
//! }
//! queue.put(None)?; // the sentinel: no more work
//! assert_eq!(consumer.join()??, 10);
//! # Ok::<(), amphi::Error>(())
//! ```
//!
//! ## Closing
//!
//! After [`Queue::close`], puts fail with `Closed` (the item handed back); gets take the items
//! left and then fail with `Closed`; threads asleep in a put or a get wake up with `Closed`.
//! Closing is how a producer says "no more", without a sentinel per consumer.
//!
//! ## When a producer or consumer dies
//!
//! No lock is held while user code runs, so a thread that panics (or a browser worker that is
//! lost) never leaves a queue locked or inconsistent: the survivors keep using it.
//!
//! - A consumer that dies loses only the item it had taken. The other consumers go on taking
//!   the rest. A [`JoinableQueue`] still counts the dead consumer's task as unfinished, so
//!   `join` would wait for it: use `join_timeout`, or have the thread that joins the
//!   consumers (and sees [`Error::Panicked`](crate::Error::Panicked)) call `task_done` for it.
//! - A producer that dies simply puts no more. Consumers blocked in `get` wait for the other
//!   producers; if none is left they would wait forever, so whoever joins the producers
//!   closes the queue once they have all ended, however they ended: [`Thread::join`] reports
//!   a panic on both targets, and the consumers then drain the queue and see `Closed`.
//!   Alternatively, consumers use `get_timeout`.
//!
//! [`Thread::join`]: crate::Thread::join
//!
//! ## How it is built
//!
//! The items sit in a lock-free store (`store.rs`): when bounded, a ring of amphi's own
//! (`ring.rs`, after crossbeam-channel's array flavour) whose tail carries the closed flag as
//! a mark bit, so a put is one compare-and-swap and a slot write; when unbounded (or bounded
//! beyond 1 MiB of slots), `crossbeam-queue`'s `SegQueue` with a word counting the pushes
//! under way. The state machine around it (`permits.rs`: how puts and gets sleep and wake
//! each other, what `close` does to sleepers) adds one read of a line that the other side
//! writes only to sleep; a system call only when a thread sleeps or must be woken.

mod error;
mod fifo;
mod joinable;
mod permits;
mod ring;
mod simple;
mod store;

pub use error::{GetError, PutError};
pub use fifo::Queue;
pub use joinable::JoinableQueue;
pub(crate) use permits::Core;
pub use simple::SimpleQueue;
pub(crate) use store::LocalStore;
