//! Objects shared by processes: Python's `multiprocessing` synchronisation primitives and
//! shared `Value`/`Array`, in one memory region mapped by a whole process tree.
//!
//! The first process that creates a shared object creates the region (natively an anonymous
//! `memfd`, never a named file; 16 MiB, sparse), and every child amphi starts afterwards maps
//! the same region. Objects are allocated in it and never freed. Each public type is a handle
//! (an offset, a kind and a checksum): clone it, or pass it to a child as (part of) a
//! [`Process`](super::Process)'s arguments, and every copy names the same object. Opening a
//! handle validates it, so a corrupt or hostile one is an error, never undefined behaviour.
//!
//! The primitives are the thread primitives' state machines (`RawLock`, `RawSemaphore`,
//! `RawEvent`, `RawBarrier`) over words in the region ([`object::SharedWord`]), which sleep on
//! shared futexes natively. [`RLock`] is the thread `RLock`'s scheme over a process [`Lock`],
//! with an owner word naming a (process, thread) pair; [`Condition`] keeps the thread
//! `Condition`'s FIFO of one word per waiter, as a fixed number of slots in the region. Their
//! blocking calls have `try_` and `_timeout` forms; of them only [`Event`] has an `_async`
//! form yet (see [`Lock`] for why).
//!
//! A process that dies holding a [`Lock`] leaves it locked, as in Python, but an acquirer
//! learns it as [`Error::OwnerDied`](crate::Error::OwnerDied) instead of waiting forever (see
//! [`Lock`]). Semaphore permits and events have no owner; use their `_timeout` forms where a
//! child may die first.
//!
//! In the browser the region is a `SharedArrayBuffer` handed to every worker of the page's
//! process tree and reached through `Atomics`; the same objects and state machines serve it.
//! Under loom there is no region: creating an object returns
//! [`Error::SharedMemory`](crate::Error::SharedMemory).
//!
//! [`Queue`] and [`Pipe`]'s [`Connection`]s carry serialised items through rings of bytes in
//! the region (`ring`): a frame per item, streamed through in chunks when it is longer than
//! the ring. Their calls come in all four forms, `_async` included: each is a state machine
//! (`ring`'s ops) run by a blocking driver or as a future (`drive`), which sleeps in
//! `Atomics.waitAsync` in the browser and in the process's watcher thread natively. A process
//! that dies in the middle of an item breaks the queue or pipe
//! ([`Error::PeerDied`](crate::Error::PeerDied)) rather than leaving the others waiting
//! forever. [`JoinableQueue`] is a [`Queue`] plus a
//! count of unfinished tasks in the region (two words: the count, and a generation that
//! `join` sleeps on); [`SimpleQueue`] is an unbounded [`Queue`] with Python's smaller API.
//!
//! Sub-modules: `region` (the mapping and its allocator), `object` (object headers, handles,
//! `SharedWord`), `lock`, `rlock`, `semaphore`, `event`, `condition`, `barrier`, `value`
//! (`Value`, `Array`), `ring` (a byte ring of frames), `drive` (running
//! a ring's ops, blocking or as futures), `queue`, `joinable` (`JoinableQueue`),
//! `simple` (`SimpleQueue`), `pipe` (`Pipe`, `Connection`).

mod barrier;
mod condition;
mod drive;
mod event;
mod joinable;
mod lock;
mod object;
mod pipe;
mod queue;
mod region;
mod ring;
mod rlock;
mod semaphore;
mod simple;
mod value;

pub use barrier::Barrier;
pub use condition::{Condition, ConditionLock};
pub use event::Event;
pub use joinable::JoinableQueue;
pub use lock::{Lock, LockGuard};
pub use pipe::{Connection, Pipe};
pub use queue::Queue;
pub use rlock::{RLock, RLockGuard};
pub use semaphore::{BoundedSemaphore, Semaphore, SemaphoreGuard};
pub use simple::SimpleQueue;
pub use value::{Array, Integer, Number, Value};
