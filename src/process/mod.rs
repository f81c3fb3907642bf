//! Processes: Python's `multiprocessing.Process`, natively on child OS processes.
//!
//! A [`Process`] runs a plain function of this program, `fn(A) -> R`, in a child process, with
//! arguments and result carried as JSON (`serde`): [`start`](Process::start), then
//! [`join`](Process::join) (also [`join_timeout`](Process::join_timeout) and
//! [`join_async`](Process::join_async)), [`is_alive`](Process::is_alive),
//! [`exitcode`](Process::exitcode), [`terminate`](Process::terminate),
//! [`kill`](Process::kill), [`close`](Process::close). [`current_process`], [`parent_process`]
//! and [`active_children`] answer as in Python, and a child ends with a code of its own with
//! [`exit`] (Python's `sys.exit(code)`).
//!
//! ```
//! use amphi::process::Process;
//!
//! fn cube(x: i64) -> i64 {
//!     x * x * x
//! }
//!
//! let child = Process::new(cube, 3);
//! child.start()?;
//! assert_eq!(child.join()?, 27);
//! # Ok::<(), amphi::Error>(())
//! ```
//!
//! ## How a child starts (natively)
//!
//! Python's "spawn": the child is the current executable started again. It recognises its role
//! in a constructor that runs before `main`, so nothing has to be called by the program: the
//! same code works in a binary, the `amphi` CLI, `cargo test` test binaries and doctests. The
//! child finds the target as an offset in its copy of the executable (after checking it is
//! the same file as its parent's), calls it, sends back the return value or the panic, and
//! exits without running `main`. Exit codes follow Python: 0 after the target returned, 1 after
//! a panic, `-N` after signal `N`, and the code given to [`exit`].
//!
//! Nothing waits forever on a dead child: every join wakes whatever ended it, and
//! `join_timeout` gives up on time. Daemonic children are killed when their parent ends, also
//! when it is killed; non-daemonic children outlive it (unlike Python, a program that returns
//! from `main` does not wait for them: join them).
//!
//! ## Shared objects
//!
//! [`Lock`], [`RLock`], [`Semaphore`], [`BoundedSemaphore`], [`Event`], [`Condition`],
//! [`Barrier`], [`Value`] and [`Array`] live in memory shared by the whole process tree: create
//! them in the parent and pass them to children as arguments (see `region`). As the thread
//! family's, a [`Barrier`] may have an action (a plain function and its serialised argument,
//! run by whichever process arrives last) and a default timeout; an [`Array`] can be made
//! zero-filled from a length and read and written by ranges. So do
//! [`Queue`], [`JoinableQueue`] (a queue that counts unfinished tasks, with `task_done` and
//! `join`), [`SimpleQueue`] and the [`Connection`]s of a [`Pipe`], whose items travel
//! serialised; an unbounded `Queue`'s or `JoinableQueue`'s put never waits (its items wait in
//! the sender, as with Python's feeder thread).
//!
//! An object lives as long as some process of the tree holds a handle to it, and its memory
//! is reused once the last one is gone, also when the last holders died (killed or ended
//! without dropping their handles): the next process that needs memory, or asks
//! [`shared_memory_usage`], releases what dead processes held. A handle passed to a child in
//! its arguments keeps the object alive until the child holds it, even if the parent drops
//! its own at once. A handle sent as part of a message (through a queue or a pipe, or in a
//! child's return value) keeps nothing alive while in transit, as in Python, where such objects are shared by
//! inheritance only: if no process holds the object when it is received, opening it is a
//! decode error. The memory is 16 MiB unless [`set_shared_memory_size`] asked for another size
//! before its first use; full, creating an object is
//! [`Error::SharedMemory`](crate::Error::SharedMemory).
//!
//! ## In the browser
//!
//! A child is a Web Worker with its own instance of the module and its own memory, so
//! [`terminate`](Process::terminate) (`Worker.terminate()`) cannot corrupt its parent. The same
//! API works there: `start`, the four joins (only [`join_async`](Process::join_async) on the
//! page's main thread, which may not block), `is_alive`, `exitcode` (0; 1 after a panic, with
//! its message and location; -15 after `terminate`, -9 after `kill`; the code given to [`exit`]),
//! `close`, `pid` (ids of the page's process tree: the page is 1), `name`, `daemon`.
//! Differences: a process's children end with it (a worker ends the workers it started), so a
//! process waits for its non-daemonic children before it ends, as a Python process does; the
//! page's own process cannot end itself ([`exit`] there returns
//! [`Error::CannotExit`](crate::Error::CannotExit)); and the page must be cross-origin isolated,
//! as for threads.
//!
//! Sub-modules, one concept each, mirroring [`crate::thread`] file for file where the two
//! families share a concept:
//! - `process`: [`Process`]; `builder`: [`Builder`] (name, daemon);
//! - `current`: [`current_process`], [`parent_process`], [`ProcessInfo`], default names;
//! - `start_method`: [`get_start_method`], [`get_all_start_methods`], [`StartMethod`]: how a
//!   child starts here (natively "spawn", in the browser an isolated "worker");
//! - `children`: [`active_children`], [`ChildProcess`];
//! - `packet`: what a process's handles share with the platform (exit word, code, report);
//! - `child`: the entry a child runs, its panic capture, [`exit`]; `wire`: what parent and child send
//!   each other;
//! - `lock`, `rlock`, `semaphore`, `event`, `condition`, `barrier`: the primitives, the
//!   engines of `crate::sync` over words in the shared region;
//! - `value`: [`Value`] and [`Array`];
//! - `queue`, `joinable`, `simple`, `pipe`: [`Queue`], [`JoinableQueue`], [`SimpleQueue`],
//!   [`Pipe`] and its [`Connection`]s, over the byte rings of `ring`;
//! - `manager`: [`Manager`], Python's `multiprocessing.Manager()`: a server process holding
//!   dicts, lists, namespaces and values, reached through [`DictProxy`], [`ListProxy`],
//!   [`NamespaceProxy`] and [`ValueProxy`];
//! - `pool`: [`Pool`] and its [`PoolBuilder`], [`Imap`] and [`ImapUnordered`]: Python's
//!   `multiprocessing.Pool` on worker processes, which survives its workers' deaths; and
//!   [`Executor`], `ProcessPoolExecutor`, which breaks on one; with the feature `redis`
//!   (native only), the same pools over Redis Streams, whose workers may run on other
//!   machines (`Pool::connect`, `Executor::connect`, `RedisBuilder`, `redis_worker`,
//!   `LocalRedisServer`);
//! - [`connection`]: Python's `multiprocessing.connection`, natively: authenticated message
//!   connections between unrelated processes over Unix sockets and TCP (a public module of
//!   its own, whose [`connection::SocketConnection`] is not a pipe's [`Connection`]);
//! - `region`: the memory a process tree shares, its allocator, object headers and handles;
//! - `ring`: rings of bytes carrying frames in the region, and the drivers that run their
//!   operations blocking or as futures.

mod barrier;
mod builder;
mod child;
mod children;
mod condition;
pub mod connection;
mod current;
mod event;
mod joinable;
mod lock;
mod manager;
mod packet;
mod pipe;
mod pool;
#[allow(clippy::module_inception)]
// `process::Process` lives in `process/process.rs`, as `thread::Thread` in `thread/thread.rs`
mod process;
mod queue;
mod region;
mod ring;
mod rlock;
mod semaphore;
mod simple;
mod start_method;
mod value;
mod wire;

/// The thread pool's and executor's result handles and callbacks, which the process [`Pool`]
/// and [`Executor`] return and take.
pub use crate::thread::{AsyncResult, Callbacks, Future, MapResults};
pub use barrier::Barrier;
pub use builder::Builder;
pub use child::exit;
pub use children::{active_children, ChildProcess};
pub use condition::{Condition, ConditionLock};
pub use current::{current_process, parent_process, ProcessInfo};
pub use event::Event;
pub use joinable::JoinableQueue;
pub use lock::{Lock, LockGuard};
pub use manager::{
    BarrierProxy, ConditionProxy, DictProxy, EventProxy, JoinableQueueProxy, ListProxy, LockProxy,
    Manager, ManagerStats, NamespaceProxy, ProxyIter, QueueProxy, RLockProxy, SemaphoreProxy,
    SocketManager, ValueProxy,
};
pub use pipe::{Connection, Pipe};
#[cfg(feature = "redis")]
pub use pool::{redis_worker, start_redis_worker, LocalRedisServer, RedisBuilder, WorkerOptions};
pub use pool::{Executor, ExecutorBuilder, Imap, ImapUnordered, Pool, PoolBuilder, StarArgs};
pub use process::Process;
pub use queue::Queue;
pub use region::{set_shared_memory_size, shared_memory_usage, SharedMemoryUsage};
pub use rlock::{RLock, RLockGuard};
pub use semaphore::{BoundedSemaphore, Semaphore, SemaphoreGuard};
pub use simple::SimpleQueue;
pub use start_method::{get_all_start_methods, get_start_method, StartMethod};
pub use value::{Array, Integer, Number, Value};
