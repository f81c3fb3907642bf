//! # amphi
//!
//! Python's `threading` and `multiprocessing`, for Rust, on two targets from one code base:
//! OS threads natively, and Web Workers over `SharedArrayBuffer` atomics in the browser.
//! The same [`Lock`] and [`Thread`] work unchanged on both.
//!
//! ## A tour
//!
//! - [`Lock`]: Python's `threading.Lock`, with `acquire`, `try_acquire`, `acquire_timeout`,
//!   `acquire_async` and `release`, and a guard that releases on drop.
//! - [`RLock`], [`Semaphore`], [`BoundedSemaphore`], [`Event`], [`Condition`] and [`Barrier`]:
//!   the rest of Python's `threading` primitives, with Python's semantics and its error cases
//!   as typed errors ([`Error::NotOwner`], [`Error::SemaphoreOverflow`],
//!   [`Error::BrokenBarrier`]). Every blocking call has a blocking, a `try_` (where it makes
//!   sense), a `_timeout` and an `_async` form.
//! - [`Thread`]: spawn a named thread, `join`, `join_timeout`, `join_async`, `is_alive`.
//!   A panicking thread is reported to its joiner as [`Error::Panicked`]; a lost browser
//!   worker as [`Error::ThreadLost`]. Nothing waits forever on a dead thread.
//! - Thread information: [`current_thread`], [`main_thread`], [`enumerate`],
//!   [`active_count`], [`get_ident`], [`get_native_id`], each thread described by a
//!   [`thread::ThreadInfo`]; and [`Timer`], Python's `threading.Timer` (cancellable).
//! - [`Queue`], [`SimpleQueue`], [`JoinableQueue`]: Python's queues between threads, bounded
//!   or not, with `put`/`get` in the four forms, `close`, and `task_done`/`join`; a failed put
//!   hands its item back in a [`PutError`], a failed get says why in a [`GetError`].
//! - [`pipe()`] and [`Pipe`]: pairs of [`Connection`]s (both ways or one way) that keep message
//!   boundaries and report the end of file as [`RecvError::Eof`]; a failed send hands its value
//!   back in a [`SendError`]; `send_bytes`/`recv_bytes`/`recv_bytes_into` as Python's. The
//!   process queues and pipes return the same error types.
//! - [`process::Process`]: run a function in a child process (natively a re-execution of the
//!   program), `start`, `join` its result back, `terminate`, `kill`, `exitcode`; with
//!   [`process::current_process`], [`process::parent_process`], [`process::active_children`],
//!   and the start methods ([`process::get_start_method`], [`process::get_all_start_methods`]).
//!   Shared by processes (natively): [`process::Lock`], [`process::RLock`],
//!   [`process::Semaphore`], [`process::BoundedSemaphore`], [`process::Event`],
//!   [`process::Condition`], [`process::Barrier`], [`process::Value`] and [`process::Array`],
//!   handles passed to children as arguments; [`process::Queue`], [`process::JoinableQueue`],
//!   [`process::SimpleQueue`] and [`process::Pipe`] carry serde values between them.
//! - [`process::Pool`] and [`process::Executor`]: Python's `multiprocessing.Pool` and
//!   `ProcessPoolExecutor`, with the thread pools' methods and forms, on worker processes;
//!   a worker's death is a typed error ([`Error::WorkerDied`]) for its task, never a hang.
//! - [`process::Manager`]: Python's `multiprocessing.Manager()`: a server process holding
//!   dicts, lists, namespaces and values behind typed proxies that children share.
//! - [`process::connection`]: Python's `multiprocessing.connection` natively: authenticated
//!   message connections between unrelated processes over Unix sockets and TCP.
//! - [`ThreadPool`] ([`thread::Pool`]): Python's `ThreadPool`, with `map`, `imap`, `starmap`,
//!   `apply_async` and friends, `close`/`terminate`/`join`; and [`ThreadPoolExecutor`]
//!   ([`thread::Executor`]) with [`thread::Future`], [`thread::as_completed`] and
//!   [`thread::wait`]. Both run on one `rayon::ThreadPool` of amphi threads, so
//!   [`ThreadPool::install`] runs rayon's parallel iterators on it, in the browser too.
//! - [`Error`]: one error type; timeouts are [`Error::Timeout`].
//! - [`time::Instant`]: one monotonic clock for every thread, browser workers included.
//!
//! ## Blocking and the browser's main thread
//!
//! The page's main thread must never block (`Atomics.wait` traps there). Every blocking call
//! in amphi checks first and returns [`Error::WouldBlock`] instead; its `_async` twin works
//! there, and `try_` forms work everywhere. Workers block normally.
//!
//! ## How it is built
//!
//! Each primitive is a small state machine over 32-bit words, written once. The platform layer
//! (`sys`) gives it "wait while this word holds X", "wake", a clock and thread spawning: Linux
//! futexes natively, `memory.atomic.wait32`/`notify` and `Atomics.waitAsync` in the browser.
//! See `docs/ARCHITECTURE.md`.

#![cfg_attr(target_feature = "atomics", feature(stdarch_wasm_atomic_wait))]

mod error;
pub mod process;
mod sync;
mod sys;
pub mod thread;
pub mod time;
pub mod trace;

pub use error::{
    Error, GetError, PanicReport, PutError, RecvBytesError, RecvError, Result, SendError,
};
/// Python's `concurrent.futures.ThreadPoolExecutor`: [`thread::Executor`].
pub use thread::Executor as ThreadPoolExecutor;
/// Python's `multiprocessing.pool.ThreadPool`: [`thread::Pool`] under the name that says it
/// runs threads (`amphi::process` keeps `Pool` for processes, as `multiprocessing.Pool`).
pub use thread::Pool as ThreadPool;
/// Python's `threading.current_thread`, `main_thread`, `active_count`, `enumerate`,
/// `get_ident`, `get_native_id` and `Timer`.
pub use thread::{
    active_count, current_thread, enumerate, get_ident, get_native_id, main_thread, Timer,
};
pub use thread::{
    pipe, Barrier, BoundedSemaphore, Condition, ConditionLock, Connection, Event, JoinableQueue,
    Lock, LockGuard, Pipe, Queue, RLock, RLockGuard, Semaphore, SemaphoreGuard, SimpleQueue,
    Thread,
};
