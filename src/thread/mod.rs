//! The thread family: Python's `threading` (and the queues and pipes of `multiprocessing`,
//! between threads), on OS threads natively and on Web Workers sharing the module's memory in
//! the browser.
//!
//! Every type here has a twin in [`crate::process`] with the same methods, shared by processes
//! instead of threads; both stand on the engines of `crate::sync`. The types are re-exported
//! at the crate root, as Python's `threading.Lock` is `amphi::Lock`.
//!
//! Sub-modules, one concept each, mirroring [`crate::process`] file for file:
//! - `thread`: [`Thread`], [`Builder`], [`current_name`], [`sleep`];
//! - `info`: [`current_thread`], [`main_thread`], [`enumerate`], [`active_count`],
//!   [`get_ident`], [`get_native_id`] and the [`ThreadInfo`] they return;
//! - `timer`: [`Timer`], Python's `threading.Timer`: a closure run after an interval on a
//!   thread of its own, unless cancelled first;
//! - `lock`, `rlock`, `semaphore`, `event`, `condition`, `barrier`: the primitives, the engines
//!   over ordinary atomics;
//! - `queue`, `joinable`, `simple`, `pipe`: [`Queue`], [`JoinableQueue`], [`SimpleQueue`],
//!   [`Pipe`] and its [`Connection`]s, over `channel` (items in a lock-free store, and the
//!   protocol that makes puts and gets sleep and wake each other);
//! - `pool`: [`Pool`] (Python's `ThreadPool`, re-exported as `amphi::ThreadPool`), its
//!   [`AsyncResult`]s and the streaming [`Imap`]s, on one `rayon::ThreadPool` of amphi threads;
//! - `executor`: [`Executor`] (Python's `ThreadPoolExecutor`), its [`Future`]s,
//!   [`as_completed`] and [`wait`], on the same engine.
//!
//! ## Queues
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
//! - [`PutError`](crate::PutError) hands the item back (`Full`, `Closed`, `Timeout`, `WouldBlock`);
//!   [`GetError`](crate::GetError) says why nothing came (`Empty`, `Closed`, `Timeout`, `WouldBlock`). Both
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
//! ### Closing
//!
//! After [`Queue::close`], puts fail with `Closed` (the item handed back); gets take the items
//! left and then fail with `Closed`; threads asleep in a put or a get wake up with `Closed`.
//! Closing is how a producer says "no more", without a sentinel per consumer.
//!
//! ### When a producer or consumer dies
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

mod barrier;
mod channel;
mod condition;
mod event;
pub(crate) mod executor;
mod info;
mod joinable;
mod lock;
mod pipe;
pub(crate) mod pool;
mod queue;
mod rlock;
mod semaphore;
mod simple;
#[allow(clippy::module_inception)]
// `thread::Thread` lives in `thread/thread.rs`, as `process::Process` in `process/process.rs`
mod thread;
mod timer;

pub use barrier::Barrier;
pub use condition::{Condition, ConditionLock};
pub use event::Event;
pub use executor::{
    as_completed, as_completed_timeout, wait, wait_async, wait_timeout, AsCompleted,
    DoneAndNotDone, Executor, ExecutorBuilder, Future, MapResults, ReturnWhen,
};
pub use info::{
    active_count, current_thread, enumerate, get_ident, get_native_id, main_thread, ThreadInfo,
};
pub use joinable::JoinableQueue;
pub use lock::{Lock, LockGuard};
pub use pipe::{pipe, Connection, Pipe};
pub use pool::{AsyncResult, Callbacks, Imap, ImapUnordered, Pool, PoolBuilder, StarFn};
pub use queue::Queue;
pub use rlock::{RLock, RLockGuard};
pub use semaphore::{BoundedSemaphore, Semaphore, SemaphoreGuard};
pub use simple::SimpleQueue;
pub(crate) use thread::current_token;
pub use thread::{current_name, sleep, Builder, Thread};
pub use timer::Timer;
