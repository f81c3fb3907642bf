//! The backends the shared conformance suite runs over, after CPython's `lock_tests.py`, whose
//! bodies are written once and installed per backend (`install_tests_in_module_dict`). The
//! suite is `tests/conformance_{lock,semaphore,event,queue,pipe}.rs`: `Lock`, `RLock`,
//! `Semaphore`, `BoundedSemaphore`, `Event`, `Condition`, `Barrier`, `Queue`, `JoinableQueue`
//! and `Pipe`; what only one family has stays in that family's own suites.
//!
//! A body is a generic `fn name<B: Backend>()`: it makes its primitives with `B`'s constructors,
//! starts peers with [`Backend::start`] (a plain `fn(A) -> R` whose arguments are the handles,
//! as a process target must be) and calls the primitives through the traits below, which both
//! families implement with the same meaning. [`every_backend!`] stamps each body into one test
//! per backend:
//!
//! - `threads`: thread primitives (`amphi::Lock`, ...), peers on `amphi::Thread`s;
//! - `processes`: process primitives (`amphi::process::Lock`, ...), peers in child processes
//!   (in the browser, process workers);
//! - `process_objects_thread_peers`: process primitives, peers on threads of this process.
//!
//! Process backends cannot run under Miri, so there only `threads` is stamped. Thread
//! primitives are wrapped in [`Local`] (an `Arc` that, like Python's `threading.Lock`, refuses
//! to be serialised), so every backend's handles meet the same bounds. Peers report how a call
//! ended as an [`Outcome`] (errors do not travel between processes), and the queue and pipe
//! traits report their errors that way too, so one comparison serves every error type.

#![allow(dead_code)]

use std::fmt;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use amphi::process::Process;
use amphi::{Error, Thread};

use crate::common::PATIENCE;

/// What a peer is given: its handles (and plain numbers), movable to a thread and, for process
/// primitives, to a child process.
pub(crate) trait Args: Serialize + DeserializeOwned + Send + 'static {}
impl<T: Serialize + DeserializeOwned + Send + 'static> Args for T {}

/// A handle to a primitive: cloned to share it, passed to peers as an argument.
pub(crate) trait Handle: Args + Clone + Sync {}
impl<T: Args + Clone + Sync> Handle for T {}

/// A thread primitive shared by the threads of one process. Like Python's `threading.Lock`,
/// which cannot be pickled, it refuses to be serialised: it cannot leave its process.
pub(crate) struct Local<T>(Arc<T>);

impl<T> Local<T> {
    fn new(inner: T) -> Local<T> {
        Local(Arc::new(inner))
    }
}

impl<T> Clone for Local<T> {
    fn clone(&self) -> Self {
        Local(Arc::clone(&self.0))
    }
}

impl<T> Serialize for Local<T> {
    fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom(
            "a thread primitive cannot be sent to another process",
        ))
    }
}

impl<'de, T> Deserialize<'de> for Local<T> {
    fn deserialize<D: Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
        Err(serde::de::Error::custom(
            "a thread primitive cannot come from another process",
        ))
    }
}

/// A started peer: a thread or a child process running a `fn(A) -> R`.
pub(crate) enum Peer<R> {
    Thread(Thread<R>),
    Process(Process<R>),
}

impl<R: Args> Peer<R> {
    /// The peer's result, within [`PATIENCE`]; a peer that failed or hung fails the test.
    pub(crate) fn join(self) -> R {
        let outcome = match &self {
            Peer::Thread(thread) => thread.join_timeout(PATIENCE),
            Peer::Process(process) => process.join_timeout(PATIENCE),
        };
        outcome.unwrap_or_else(|error| panic!("a peer failed: {error}"))
    }

    /// Whether the peer still runs.
    pub(crate) fn is_alive(&self) -> bool {
        match self {
            Peer::Thread(thread) => thread.is_alive(),
            Peer::Process(process) => process.is_alive(),
        }
    }
}

/// Joins every peer (each within [`PATIENCE`]); their results, in order.
pub(crate) fn join_all<R: Args>(peers: Vec<Peer<R>>) -> Vec<R> {
    peers.into_iter().map(Peer::join).collect()
}

/// A primitive's guard: dropping it releases; leaking it keeps what it holds.
pub(crate) trait Guard {
    fn leak(self);
}

macro_rules! guards {
    ($($guard:ty),*) => {$(
        impl Guard for $guard {
            fn leak(self) {
                <$guard>::leak(self)
            }
        }
    )*};
}

guards!(
    amphi::LockGuard<'_>,
    amphi::RLockGuard<'_>,
    amphi::SemaphoreGuard<'_>,
    amphi::process::LockGuard<'_>,
    amphi::process::RLockGuard<'_>,
    amphi::process::SemaphoreGuard<'_>
);

/// Python's `Lock` (also the mutual-exclusion half of `RLock`).
pub(crate) trait Lock: Handle {
    type Guard<'a>: Guard
    where
        Self: 'a;
    fn acquire(&self) -> Result<Self::Guard<'_>, Error>;
    fn acquire_timeout(&self, timeout: Duration) -> Result<Self::Guard<'_>, Error>;
    fn try_acquire(&self) -> Option<Self::Guard<'_>>;
    fn release(&self) -> Result<(), Error>;
    fn locked(&self) -> bool;
}

/// Python's `RLock`: a [`Lock`] that its owner may take again.
pub(crate) trait RLock: Lock {
    fn is_owned(&self) -> bool;
    fn depth(&self) -> u32;
}

/// Python's `Semaphore` and `BoundedSemaphore`.
pub(crate) trait Semaphore: Handle {
    type Guard<'a>: Guard
    where
        Self: 'a;
    fn acquire(&self) -> Result<Self::Guard<'_>, Error>;
    fn acquire_timeout(&self, timeout: Duration) -> Result<Self::Guard<'_>, Error>;
    fn try_acquire(&self) -> Option<Self::Guard<'_>>;
    fn release(&self, n: u32) -> Result<(), Error>;
    fn value(&self) -> u32;
}

/// Python's `Event`.
pub(crate) trait Event: Handle {
    fn is_set(&self) -> bool;
    fn set(&self);
    fn clear(&self);
    fn wait(&self) -> Result<(), Error>;
    fn wait_timeout(&self, timeout: Duration) -> Result<(), Error>;
}

/// Python's `Condition` over its default `RLock`.
pub(crate) trait Condition: Handle {
    type Guard<'a>: Guard
    where
        Self: 'a;
    fn acquire(&self) -> Result<Self::Guard<'_>, Error>;
    fn wait(&self) -> Result<(), Error>;
    fn wait_timeout(&self, timeout: Duration) -> Result<(), Error>;
    fn wait_for_timeout(
        &self,
        predicate: &mut dyn FnMut() -> bool,
        timeout: Duration,
    ) -> Result<(), Error>;
    fn notify(&self, n: usize) -> Result<usize, Error>;
    fn notify_all(&self) -> Result<usize, Error>;
    fn waiting(&self) -> usize;
}

/// Python's `Barrier` (without an action: the process one has none yet).
pub(crate) trait Barrier: Handle {
    fn parties(&self) -> u32;
    fn n_waiting(&self) -> u32;
    fn broken(&self) -> bool;
    fn wait(&self) -> Result<u32, Error>;
    fn wait_timeout(&self, timeout: Duration) -> Result<u32, Error>;
    fn reset(&self) -> Result<(), Error>;
    fn abort(&self) -> Result<(), Error>;
}

/// Python's `queue.Queue` / `multiprocessing.Queue`, of `u32` items; a call reports how it
/// ended as an [`Outcome`].
pub(crate) trait Queue: Handle {
    fn put(&self, item: u32) -> Outcome;
    fn try_put(&self, item: u32) -> Outcome;
    fn put_timeout(&self, item: u32, timeout: Duration) -> Outcome;
    fn get(&self) -> Result<u32, Outcome>;
    fn try_get(&self) -> Result<u32, Outcome>;
    fn get_timeout(&self, timeout: Duration) -> Result<u32, Outcome>;
    fn qsize(&self) -> usize;
    fn empty(&self) -> bool;
    fn full(&self) -> bool;
    fn maxsize(&self) -> usize;
    fn close(&self);
    fn is_closed(&self) -> bool;
}

/// Python's `JoinableQueue`: a [`Queue`] that counts unfinished tasks.
pub(crate) trait JoinableQueue: Queue {
    fn task_done(&self) -> Outcome;
    fn join_timeout(&self, timeout: Duration) -> Outcome;
    fn try_join(&self) -> bool;
    fn unfinished_tasks(&self) -> u64;
}

/// One end of Python's `multiprocessing.Pipe`, carrying `String`s.
pub(crate) trait Connection: Handle {
    fn send(&self, message: String) -> Outcome;
    fn recv(&self) -> Result<String, Outcome>;
    fn try_recv(&self) -> Result<String, Outcome>;
    fn recv_timeout(&self, timeout: Duration) -> Result<String, Outcome>;
    fn poll(&self, timeout: Duration) -> Result<bool, Outcome>;
    fn close(&self);
    fn is_closed(&self) -> bool;
    fn readable(&self) -> bool;
    fn writable(&self) -> bool;
}

/// A shared number for the bodies' bookkeeping (the process family's `Value<u32>`).
pub(crate) trait Counter: Handle {
    fn get(&self) -> u32;
    fn set(&self, value: u32);
    /// Adds `n`; the value before.
    fn fetch_add(&self, n: u32) -> u32;
    /// Subtracts `n`; the value before.
    fn fetch_sub(&self, n: u32) -> u32;
}

/// One backend: the primitives of a family and the kind of peer that shares them.
pub(crate) trait Backend: 'static {
    type Lock: Lock;
    type RLock: RLock;
    type Semaphore: Semaphore;
    type BoundedSemaphore: Semaphore;
    type Event: Event;
    type Condition: Condition;
    type Barrier: Barrier;
    type Counter: Counter;
    type Queue: Queue;
    type JoinableQueue: JoinableQueue;
    type Connection: Connection;

    fn lock() -> Self::Lock;
    fn rlock() -> Self::RLock;
    fn semaphore(permits: u32) -> Self::Semaphore;
    fn bounded_semaphore(permits: u32) -> Self::BoundedSemaphore;
    /// The bound of a bounded semaphore (its initial value).
    fn initial(semaphore: &Self::BoundedSemaphore) -> u32;
    fn event() -> Self::Event;
    fn condition() -> Self::Condition;
    fn barrier(parties: u32) -> Result<Self::Barrier, Error>;
    fn counter(initial: u32) -> Self::Counter;
    /// A queue of at most `maxsize` items (0: unbounded).
    fn queue(maxsize: usize) -> Self::Queue;
    /// A joinable queue of at most `maxsize` items (0: unbounded).
    fn joinable_queue(maxsize: usize) -> Self::JoinableQueue;
    /// Two connected ends; with `duplex` false the first only receives, the second only sends.
    fn pipe(duplex: bool) -> (Self::Connection, Self::Connection);

    /// Starts a peer running `target(args)`.
    fn start<A: Args, R: Args>(target: fn(A) -> R, args: A) -> Peer<R>;
}

// The thread family.

macro_rules! lock_like {
    ($ty:ty, $guard:ident) => {
        impl Lock for $ty {
            type Guard<'a> = $guard<'a>;
            fn acquire(&self) -> Result<$guard<'_>, Error> {
                self.inner().acquire()
            }
            fn acquire_timeout(&self, timeout: Duration) -> Result<$guard<'_>, Error> {
                self.inner().acquire_timeout(timeout)
            }
            fn try_acquire(&self) -> Option<$guard<'_>> {
                self.inner().try_acquire()
            }
            fn release(&self) -> Result<(), Error> {
                self.inner().release()
            }
            fn locked(&self) -> bool {
                self.inner().locked()
            }
        }
    };
}

macro_rules! rlock_like {
    ($ty:ty) => {
        impl RLock for $ty {
            fn is_owned(&self) -> bool {
                self.inner().is_owned()
            }
            fn depth(&self) -> u32 {
                self.inner().depth()
            }
        }
    };
}

macro_rules! semaphore_like {
    ($ty:ty, $guard:ident) => {
        impl Semaphore for $ty {
            type Guard<'a> = $guard<'a>;
            fn acquire(&self) -> Result<$guard<'_>, Error> {
                self.inner().acquire()
            }
            fn acquire_timeout(&self, timeout: Duration) -> Result<$guard<'_>, Error> {
                self.inner().acquire_timeout(timeout)
            }
            fn try_acquire(&self) -> Option<$guard<'_>> {
                self.inner().try_acquire()
            }
            fn release(&self, n: u32) -> Result<(), Error> {
                self.inner().release(n)
            }
            fn value(&self) -> u32 {
                self.inner().value()
            }
        }
    };
}

macro_rules! event_like {
    ($ty:ty) => {
        impl Event for $ty {
            fn is_set(&self) -> bool {
                self.inner().is_set()
            }
            fn set(&self) {
                self.inner().set()
            }
            fn clear(&self) {
                self.inner().clear()
            }
            fn wait(&self) -> Result<(), Error> {
                self.inner().wait()
            }
            fn wait_timeout(&self, timeout: Duration) -> Result<(), Error> {
                self.inner().wait_timeout(timeout)
            }
        }
    };
}

macro_rules! condition_like {
    ($ty:ty, $guard:ident) => {
        impl Condition for $ty {
            type Guard<'a> = $guard<'a>;
            fn acquire(&self) -> Result<$guard<'_>, Error> {
                self.inner().acquire()
            }
            fn wait(&self) -> Result<(), Error> {
                self.inner().wait()
            }
            fn wait_timeout(&self, timeout: Duration) -> Result<(), Error> {
                self.inner().wait_timeout(timeout)
            }
            fn wait_for_timeout(
                &self,
                predicate: &mut dyn FnMut() -> bool,
                timeout: Duration,
            ) -> Result<(), Error> {
                self.inner().wait_for_timeout(predicate, timeout)
            }
            fn notify(&self, n: usize) -> Result<usize, Error> {
                self.inner().notify(n)
            }
            fn notify_all(&self) -> Result<usize, Error> {
                self.inner().notify_all()
            }
            fn waiting(&self) -> usize {
                self.inner().waiting()
            }
        }
    };
}

macro_rules! barrier_like {
    ($ty:ty) => {
        impl Barrier for $ty {
            fn parties(&self) -> u32 {
                self.inner().parties()
            }
            fn n_waiting(&self) -> u32 {
                self.inner().n_waiting()
            }
            fn broken(&self) -> bool {
                self.inner().broken()
            }
            fn wait(&self) -> Result<u32, Error> {
                self.inner().wait()
            }
            fn wait_timeout(&self, timeout: Duration) -> Result<u32, Error> {
                self.inner().wait_timeout(timeout)
            }
            fn reset(&self) -> Result<(), Error> {
                self.inner().reset()
            }
            fn abort(&self) -> Result<(), Error> {
                self.inner().abort()
            }
        }
    };
}

/// The primitive behind a handle (the handle itself for the process family).
trait Inner {
    type Target;
    fn inner(&self) -> &Self::Target;
}

impl<T> Inner for Local<T> {
    type Target = T;
    fn inner(&self) -> &T {
        &self.0
    }
}

macro_rules! itself {
    ($($ty:ty),*) => {$(
        impl Inner for $ty {
            type Target = $ty;
            fn inner(&self) -> &$ty {
                self
            }
        }
    )*};
}

itself!(
    amphi::process::Lock,
    amphi::process::RLock,
    amphi::process::Semaphore,
    amphi::process::BoundedSemaphore,
    amphi::process::Event,
    amphi::process::Condition,
    amphi::process::Barrier,
    amphi::process::Queue<u32>,
    amphi::process::JoinableQueue<u32>,
    amphi::process::Connection<String>
);

use amphi::process::{
    LockGuard as ProcessLockGuard, RLockGuard as ProcessRLockGuard,
    SemaphoreGuard as ProcessSemaphoreGuard,
};
use amphi::{LockGuard, RLockGuard, SemaphoreGuard};

lock_like!(Local<amphi::Lock>, LockGuard);
lock_like!(Local<amphi::RLock>, RLockGuard);
rlock_like!(Local<amphi::RLock>);
semaphore_like!(Local<amphi::Semaphore>, SemaphoreGuard);
semaphore_like!(Local<amphi::BoundedSemaphore>, SemaphoreGuard);
event_like!(Local<amphi::Event>);
condition_like!(Local<amphi::Condition>, RLockGuard);
barrier_like!(Local<amphi::Barrier>);

lock_like!(amphi::process::Lock, ProcessLockGuard);
lock_like!(amphi::process::RLock, ProcessRLockGuard);
rlock_like!(amphi::process::RLock);
semaphore_like!(amphi::process::Semaphore, ProcessSemaphoreGuard);
semaphore_like!(amphi::process::BoundedSemaphore, ProcessSemaphoreGuard);
event_like!(amphi::process::Event);
condition_like!(amphi::process::Condition, ProcessRLockGuard);
barrier_like!(amphi::process::Barrier);

/// How a put ended (the refused item is dropped: the bodies check by value).
fn put_outcome(result: Result<(), amphi::PutError<u32>>) -> Outcome {
    match result {
        Ok(()) => Outcome::Ok,
        Err(amphi::PutError::Full(_)) => Outcome::Full,
        Err(amphi::PutError::Closed(_)) => Outcome::Closed,
        Err(amphi::PutError::Timeout(_)) => Outcome::Timeout,
        Err(_) => Outcome::Other,
    }
}

/// How a get ended.
fn get_outcome(result: Result<u32, amphi::GetError>) -> Result<u32, Outcome> {
    result.map_err(|error| match error {
        amphi::GetError::Empty => Outcome::Empty,
        amphi::GetError::Closed => Outcome::Closed,
        amphi::GetError::Timeout => Outcome::Timeout,
        _ => Outcome::Other,
    })
}

/// The queues of both families have the same calls and error types.
macro_rules! queue_like {
    ($($ty:ty),*) => {$(
        impl Queue for $ty {
            fn put(&self, item: u32) -> Outcome {
                put_outcome(self.inner().put(item))
            }
            fn try_put(&self, item: u32) -> Outcome {
                put_outcome(self.inner().try_put(item))
            }
            fn put_timeout(&self, item: u32, timeout: Duration) -> Outcome {
                put_outcome(self.inner().put_timeout(item, timeout))
            }
            fn get(&self) -> Result<u32, Outcome> {
                get_outcome(self.inner().get())
            }
            fn try_get(&self) -> Result<u32, Outcome> {
                get_outcome(self.inner().try_get())
            }
            fn get_timeout(&self, timeout: Duration) -> Result<u32, Outcome> {
                get_outcome(self.inner().get_timeout(timeout))
            }
            fn qsize(&self) -> usize {
                self.inner().qsize()
            }
            fn empty(&self) -> bool {
                self.inner().empty()
            }
            fn full(&self) -> bool {
                self.inner().full()
            }
            fn maxsize(&self) -> usize {
                self.inner().maxsize()
            }
            fn close(&self) {
                self.inner().close()
            }
            fn is_closed(&self) -> bool {
                self.inner().is_closed()
            }
        }
    )*};
}

queue_like!(
    Local<amphi::Queue<u32>>,
    Local<amphi::JoinableQueue<u32>>,
    amphi::process::Queue<u32>,
    amphi::process::JoinableQueue<u32>
);

impl JoinableQueue for Local<amphi::JoinableQueue<u32>> {
    fn task_done(&self) -> Outcome {
        self.0.task_done().into()
    }
    fn join_timeout(&self, timeout: Duration) -> Outcome {
        self.0.join_timeout(timeout).into()
    }
    fn try_join(&self) -> bool {
        self.0.try_join()
    }
    fn unfinished_tasks(&self) -> u64 {
        self.0.unfinished_tasks()
    }
}

impl JoinableQueue for amphi::process::JoinableQueue<u32> {
    fn task_done(&self) -> Outcome {
        amphi::process::JoinableQueue::task_done(self).into()
    }
    fn join_timeout(&self, timeout: Duration) -> Outcome {
        amphi::process::JoinableQueue::join_timeout(self, timeout).into()
    }
    fn try_join(&self) -> bool {
        amphi::process::JoinableQueue::try_join(self)
    }
    fn unfinished_tasks(&self) -> u64 {
        amphi::process::JoinableQueue::unfinished_tasks(self) as u64
    }
}

/// How a send ended (the refused message is dropped: the bodies check by value).
fn send_outcome(result: Result<(), amphi::SendError<String>>) -> Outcome {
    match result {
        Ok(()) => Outcome::Ok,
        Err(amphi::SendError::Closed(_)) => Outcome::Closed,
        Err(amphi::SendError::BrokenPipe(_)) => Outcome::BrokenPipe,
        Err(amphi::SendError::NotWritable(_)) => Outcome::NotWritable,
        Err(amphi::SendError::Full(_)) => Outcome::Full,
        Err(_) => Outcome::Other,
    }
}

/// How a receive (or a poll) ended.
fn recv_outcome<T>(result: Result<T, amphi::RecvError>) -> Result<T, Outcome> {
    result.map_err(|error| match error {
        amphi::RecvError::Empty => Outcome::Empty,
        amphi::RecvError::Timeout => Outcome::Timeout,
        amphi::RecvError::Eof => Outcome::Eof,
        amphi::RecvError::Closed => Outcome::Closed,
        amphi::RecvError::NotReadable => Outcome::NotReadable,
        _ => Outcome::Other,
    })
}

/// The pipe ends of both families have the same calls and error types.
macro_rules! connection_like {
    ($($ty:ty),*) => {$(
        impl Connection for $ty {
            fn send(&self, message: String) -> Outcome {
                send_outcome(self.inner().send(message))
            }
            fn recv(&self) -> Result<String, Outcome> {
                recv_outcome(self.inner().recv())
            }
            fn try_recv(&self) -> Result<String, Outcome> {
                recv_outcome(self.inner().try_recv())
            }
            fn recv_timeout(&self, timeout: Duration) -> Result<String, Outcome> {
                recv_outcome(self.inner().recv_timeout(timeout))
            }
            fn poll(&self, timeout: Duration) -> Result<bool, Outcome> {
                recv_outcome(self.inner().poll(timeout))
            }
            fn close(&self) {
                self.inner().close()
            }
            fn is_closed(&self) -> bool {
                self.inner().is_closed()
            }
            fn readable(&self) -> bool {
                self.inner().readable()
            }
            fn writable(&self) -> bool {
                self.inner().writable()
            }
        }
    )*};
}

connection_like!(
    Local<amphi::Connection<String>>,
    amphi::process::Connection<String>
);

impl Counter for Local<AtomicU32> {
    fn get(&self) -> u32 {
        self.0.load(Ordering::SeqCst)
    }
    fn set(&self, value: u32) {
        self.0.store(value, Ordering::SeqCst)
    }
    fn fetch_add(&self, n: u32) -> u32 {
        self.0.fetch_add(n, Ordering::SeqCst)
    }
    fn fetch_sub(&self, n: u32) -> u32 {
        self.0.fetch_sub(n, Ordering::SeqCst)
    }
}

impl Counter for amphi::process::Value<u32> {
    fn get(&self) -> u32 {
        amphi::process::Value::get(self)
    }
    fn set(&self, value: u32) {
        amphi::process::Value::set(self, value)
    }
    fn fetch_add(&self, n: u32) -> u32 {
        amphi::process::Value::fetch_add(self, n)
    }
    fn fetch_sub(&self, n: u32) -> u32 {
        amphi::process::Value::fetch_sub(self, n)
    }
}

/// Thread primitives shared by thread peers.
pub(crate) struct Threads;

impl Backend for Threads {
    type Lock = Local<amphi::Lock>;
    type RLock = Local<amphi::RLock>;
    type Semaphore = Local<amphi::Semaphore>;
    type BoundedSemaphore = Local<amphi::BoundedSemaphore>;
    type Event = Local<amphi::Event>;
    type Condition = Local<amphi::Condition>;
    type Barrier = Local<amphi::Barrier>;
    type Counter = Local<AtomicU32>;
    type Queue = Local<amphi::Queue<u32>>;
    type JoinableQueue = Local<amphi::JoinableQueue<u32>>;
    type Connection = Local<amphi::Connection<String>>;

    fn lock() -> Self::Lock {
        Local::new(amphi::Lock::new())
    }
    fn rlock() -> Self::RLock {
        Local::new(amphi::RLock::new())
    }
    fn semaphore(permits: u32) -> Self::Semaphore {
        Local::new(amphi::Semaphore::new(permits))
    }
    fn bounded_semaphore(permits: u32) -> Self::BoundedSemaphore {
        Local::new(amphi::BoundedSemaphore::new(permits))
    }
    fn initial(semaphore: &Self::BoundedSemaphore) -> u32 {
        semaphore.0.initial()
    }
    fn event() -> Self::Event {
        Local::new(amphi::Event::new())
    }
    fn condition() -> Self::Condition {
        Local::new(amphi::Condition::new())
    }
    fn barrier(parties: u32) -> Result<Self::Barrier, Error> {
        amphi::Barrier::new(parties).map(Local::new)
    }
    fn counter(initial: u32) -> Self::Counter {
        Local::new(AtomicU32::new(initial))
    }
    fn queue(maxsize: usize) -> Self::Queue {
        Local::new(amphi::Queue::new(maxsize))
    }
    fn joinable_queue(maxsize: usize) -> Self::JoinableQueue {
        Local::new(amphi::JoinableQueue::new(maxsize))
    }
    fn pipe(duplex: bool) -> (Self::Connection, Self::Connection) {
        let (first, second) = amphi::Pipe::new(duplex);
        (Local::new(first), Local::new(second))
    }
    fn start<A: Args, R: Args>(target: fn(A) -> R, args: A) -> Peer<R> {
        on_thread(target, args)
    }
}

fn on_thread<A: Args, R: Args>(target: fn(A) -> R, args: A) -> Peer<R> {
    let thread = amphi::thread::Builder::new()
        .name("peer")
        .spawn(move || target(args))
        .expect("start a peer thread");
    Peer::Thread(thread)
}

fn in_child<A: Args, R: Args>(target: fn(A) -> R, args: A) -> Peer<R> {
    let process = Process::new(target, args);
    process.start().expect("start a peer process");
    Peer::Process(process)
}

/// Where the peers of a backend over process primitives run.
pub(crate) trait PeerKind: 'static {
    fn start<A: Args, R: Args>(target: fn(A) -> R, args: A) -> Peer<R>;
}

/// Peers in child processes.
pub(crate) struct Children;

impl PeerKind for Children {
    fn start<A: Args, R: Args>(target: fn(A) -> R, args: A) -> Peer<R> {
        in_child(target, args)
    }
}

/// Peers on threads of this process.
pub(crate) struct ThreadPeers;

impl PeerKind for ThreadPeers {
    fn start<A: Args, R: Args>(target: fn(A) -> R, args: A) -> Peer<R> {
        on_thread(target, args)
    }
}

/// Process primitives shared by peers of kind `P`.
pub(crate) struct ProcessObjects<P>(PhantomData<P>);

/// Process primitives shared by child processes.
pub(crate) type Processes = ProcessObjects<Children>;

/// Process primitives shared by threads of one process.
pub(crate) type ProcessObjectsThreadPeers = ProcessObjects<ThreadPeers>;

impl<P: PeerKind> Backend for ProcessObjects<P> {
    type Lock = amphi::process::Lock;
    type RLock = amphi::process::RLock;
    type Semaphore = amphi::process::Semaphore;
    type BoundedSemaphore = amphi::process::BoundedSemaphore;
    type Event = amphi::process::Event;
    type Condition = amphi::process::Condition;
    type Barrier = amphi::process::Barrier;
    type Counter = amphi::process::Value<u32>;
    type Queue = amphi::process::Queue<u32>;
    type JoinableQueue = amphi::process::JoinableQueue<u32>;
    type Connection = amphi::process::Connection<String>;

    fn lock() -> Self::Lock {
        amphi::process::Lock::new().expect("a process Lock")
    }
    fn rlock() -> Self::RLock {
        amphi::process::RLock::new().expect("a process RLock")
    }
    fn semaphore(permits: u32) -> Self::Semaphore {
        amphi::process::Semaphore::new(permits).expect("a process Semaphore")
    }
    fn bounded_semaphore(permits: u32) -> Self::BoundedSemaphore {
        amphi::process::BoundedSemaphore::new(permits).expect("a process BoundedSemaphore")
    }
    fn initial(semaphore: &Self::BoundedSemaphore) -> u32 {
        semaphore.initial()
    }
    fn event() -> Self::Event {
        amphi::process::Event::new().expect("a process Event")
    }
    fn condition() -> Self::Condition {
        amphi::process::Condition::new().expect("a process Condition")
    }
    fn barrier(parties: u32) -> Result<Self::Barrier, Error> {
        amphi::process::Barrier::new(parties)
    }
    fn counter(initial: u32) -> Self::Counter {
        amphi::process::Value::new(initial).expect("a process Value")
    }
    fn queue(maxsize: usize) -> Self::Queue {
        amphi::process::Queue::new(maxsize).expect("a process Queue")
    }
    fn joinable_queue(maxsize: usize) -> Self::JoinableQueue {
        amphi::process::JoinableQueue::new(maxsize).expect("a process JoinableQueue")
    }
    fn pipe(duplex: bool) -> (Self::Connection, Self::Connection) {
        amphi::process::Pipe::new(duplex).expect("a process Pipe")
    }
    fn start<A: Args, R: Args>(target: fn(A) -> R, args: A) -> Peer<R> {
        P::start(target, args)
    }
}

impl<T> fmt::Debug for Local<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Local")
    }
}

/// Stamps each generic body `fn name<B: Backend>()` of this file into one conformance test per
/// backend: `threads::name`, `processes::name`, `process_objects_thread_peers::name` (the
/// process ones not under Miri).
macro_rules! every_backend {
    ($($name:ident),* $(,)?) => {
        mod threads {
            conformance! {
                $(fn $name() { super::$name::<crate::conformance::Threads>() })*
            }
        }

        #[cfg(not(miri))]
        mod processes {
            conformance! {
                $(fn $name() { super::$name::<crate::conformance::Processes>() })*
            }
        }

        #[cfg(not(miri))]
        mod process_objects_thread_peers {
            conformance! {
                $(fn $name() { super::$name::<crate::conformance::ProcessObjectsThreadPeers>() })*
            }
        }
    };
}

/// How a peer's call ended, as a peer reports it (errors do not travel between processes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Outcome {
    Ok,
    Timeout,
    NotLocked,
    NotOwner,
    BrokenBarrier,
    SemaphoreOverflow,
    Full,
    Empty,
    Closed,
    TooManyTaskDone,
    Eof,
    BrokenPipe,
    NotReadable,
    NotWritable,
    Other,
}

impl<T> From<Result<T, Error>> for Outcome {
    fn from(result: Result<T, Error>) -> Outcome {
        match result {
            Ok(_) => Outcome::Ok,
            Err(Error::Timeout) => Outcome::Timeout,
            Err(Error::NotLocked) => Outcome::NotLocked,
            Err(Error::NotOwner) => Outcome::NotOwner,
            Err(Error::BrokenBarrier) => Outcome::BrokenBarrier,
            Err(Error::SemaphoreOverflow { .. }) => Outcome::SemaphoreOverflow,
            Err(Error::Full) => Outcome::Full,
            Err(Error::Empty) => Outcome::Empty,
            Err(Error::Closed) => Outcome::Closed,
            Err(Error::TooManyTaskDone) => Outcome::TooManyTaskDone,
            Err(Error::Eof) => Outcome::Eof,
            Err(Error::BrokenPipe) => Outcome::BrokenPipe,
            Err(Error::NotReadable) => Outcome::NotReadable,
            Err(Error::NotWritable) => Outcome::NotWritable,
            Err(_) => Outcome::Other,
        }
    }
}

/// Sleeps the calling thread (a short pause that lets a peer reach its wait, as CPython's
/// `_wait()`).
pub(crate) fn pause() {
    amphi::thread::sleep(Duration::from_millis(20)).expect("test threads may block");
}
