//! [`Manager`]: Python's `multiprocessing.Manager()`, a server process holding dicts, lists,
//! namespaces and values that every process of the tree reaches through proxies.
//!
//! [`Manager::start`] starts the server, a daemonic amphi process (natively a re-executed
//! child, in the browser an isolated process worker, as a process [`Pool`](super::Pool)'s
//! workers are), and returns the handle that makes objects: [`dict`](Manager::dict),
//! [`list`](Manager::list), [`namespace`](Manager::namespace), [`value`](Manager::value).
//! Each is a proxy ([`DictProxy`], [`ListProxy`], [`NamespaceProxy`], [`ValueProxy`]): a small
//! token that is passed to children as (part of) a process's arguments like any other amphi
//! object, and whose every call (blocking, `_timeout` and `_async`) is one round trip to the
//! server. The synchronisation objects of Python's `SyncManager` ([`lock`](Manager::lock),
//! [`rlock`](Manager::rlock), [`semaphore`](Manager::semaphore), [`event`](Manager::event),
//! [`condition`](Manager::condition), [`barrier`](Manager::barrier),
//! [`queue`](Manager::queue), ...) are amphi's shared-memory objects: within one process tree
//! they need no server, and do what the proxies would.
//!
//! # Lifetimes and deaths
//!
//! [`shutdown`](Manager::shutdown) stops the server, and so does dropping the last
//! `Manager` handle. A manager that is gone (shut down, or its process killed) makes every
//! proxy call fail with [`Error::ManagerGone`](crate::Error::ManagerGone) within a fraction of
//! a second, also a call already waiting for its reply: never a hang. An object lives while
//! some process holds a proxy to it, or another object stores one; the references of a
//! process that died are released within a fraction of a second (the server watches its
//! clients' pids), and an object nobody refers to is freed.
//!
//! # Modules, and the boundary a socket transport plugs into
//!
//! - `protocol`: the session layer: what a client asks ([`Request`](protocol::Request)) and
//!   what the server answers, as JSON, whatever carries it;
//! - `objects`: the served objects and their methods; `state`: the objects' references, and
//!   the server's one entry, `State::dispatch(&self, client, request_bytes) -> Option<reply>`
//!   (thread-safe; `None` for a message that has no reply), with `State::client_gone(client)`
//!   releasing a dead client's references;
//! - `channel`: the client's one entry, the `Channel` trait (`call(request, deadline)`,
//!   `call_async(request)`, `post(request)`, over bytes), and the `Session` every proxy
//!   speaks through, one per manager and process, found from the manager's `Address`;
//! - `rings`: the transport inside the process tree: a `Channel` over the shared region's
//!   rings, and the server's loop around `State::dispatch`, which needs no thread;
//! - `proxy`: what a proxy is made of (its reference, its token) and the macro that gives
//!   each call its three forms; `dict` ([`DictProxy`], [`ProxyIter`]), `list` ([`ListProxy`]),
//!   `namespace` ([`NamespaceProxy`], [`ValueProxy`]).
//!
//! - `socket`: the transport between unrelated processes, natively: [`Manager::listen`] and
//!   [`Manager::connect`] return a [`SocketManager`]; an `Address` variant, a `Channel` over
//!   an authenticated socket (the client side), and a serving thread per connection that
//!   calls `State::dispatch` with the connection's client id and `State::client_gone` when
//!   the connection ends (the server side);
//! - `served`: a socket manager's synchronisation objects, each in a module of its own, whose
//!   calls may wait in the serving thread of the caller's connection; `sync_proxy`: their
//!   proxies ([`LockProxy`], [`QueueProxy`], ...), which call over a connection per thread.

mod channel;
mod dict;
mod list;
mod namespace;
mod objects;
mod protocol;
mod proxy;
mod rings;
mod served;
mod socket;
mod state;
mod sync_proxy;

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::region::Object;
use super::{
    Barrier, BoundedSemaphore, Builder, Condition, Event, JoinableQueue, Lock, Process, Queue,
    RLock, Semaphore,
};
use crate::Error;
use channel::{Address, Session};
pub use dict::{DictProxy, ProxyIter};
pub use list::ListProxy;
pub use namespace::{NamespaceProxy, ValueProxy};
pub use protocol::ManagerStats;
use protocol::Request;
use proxy::Remote;
use rings::{RingAddress, ServerStart};
pub use socket::SocketManager;
pub use sync_proxy::{
    BarrierProxy, ConditionProxy, EventProxy, JoinableQueueProxy, LockProxy, QueueProxy,
    RLockProxy, SemaphoreProxy,
};

/// How long [`Manager::shutdown`] waits for the server to end before it kills it.
const SHUTDOWN_PATIENCE: Duration = Duration::from_secs(5);

/// A manager: a server process holding shared dicts, lists, namespaces and values, reached
/// through proxies (Python's `multiprocessing.Manager()`, a `SyncManager`).
///
/// The server is a daemonic amphi process (natively a re-executed child, in the browser a
/// process worker) that waits on one doorbell word of the shared region, with no thread, and
/// serves each client connection's rings (a client killed at any instant costs only its own
/// connections). A proxy ([`DictProxy`], [`ListProxy`], [`NamespaceProxy`], [`ValueProxy`]) is
/// a small token, passed to children as (part of) a process's arguments; each of its calls is
/// one round trip, in blocking, `_timeout` and `_async` forms. A manager that is gone (shut
/// down or killed) makes every call fail with [`Error::ManagerGone`] within a fraction of a
/// second, never a hang; the references of a process that died are released, and an object nobody refers to is
/// freed. The synchronisation objects ([`lock`](Manager::lock), [`event`](Manager::event),
/// [`queue`](Manager::queue), ...) are amphi's shared-memory objects, which need no server
/// within one process tree.
///
/// A handle: clone it freely; the server stops when [`shutdown`](Manager::shutdown) is
/// called or the last handle is dropped. Proxies, not the manager, are what children are
/// given.
///
/// # Examples
///
/// ```
/// use amphi::process::{DictProxy, ListProxy, Manager, Process};
///
/// fn record(shared: (ListProxy<u32>, DictProxy<String, i64>)) {
///     let (pids, counts) = shared;
///     pids.push(&amphi::process::current_process().pid).unwrap();
///     counts.add(&"children".into(), &1).unwrap();
/// }
///
/// let manager = Manager::start()?;
/// let pids = manager.list::<u32>()?;
/// let counts = manager.dict::<String, i64>()?;
/// let child = Process::new(record, (pids.clone(), counts.clone()));
/// child.start()?;
/// child.join()?;
/// assert_eq!(pids.len()?, 1);
/// assert_eq!(counts.get(&"children".into())?, Some(1));
/// manager.shutdown()?;
/// assert_eq!(pids.len(), Err(amphi::Error::ManagerGone));
/// # Ok::<(), amphi::Error>(())
/// ```
#[derive(Clone)]
pub struct Manager {
    inner: Arc<Inner>,
}

struct Inner {
    process: Process<()>,
    session: Arc<Session>,
    registry: Object,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The server ends once it sees its ring closed; nothing waits here.
        rings::close_registry(&self.registry);
    }
}

impl Manager {
    /// Starts a manager's server (a daemonic process named `SyncManager-N`) and returns its
    /// handle at once: the first call waits for the server to be up. A daemonic process may
    /// not start one ([`Error::ProcessStart`], as it may start no process);
    /// [`Error::SharedMemory`] when the shared region cannot be had.
    ///
    /// # Examples
    ///
    /// ```
    /// let manager = amphi::process::Manager::start()?;
    /// assert!(manager.is_alive());
    /// manager.shutdown()?;
    /// assert!(!manager.is_alive());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn start() -> Result<Manager, Error> {
        static STARTED: AtomicUsize = AtomicUsize::new(0);
        let number = STARTED.fetch_add(1, Ordering::Relaxed) + 1;
        let registry = rings::create_registry()?;
        let process = Builder::new()
            .name(format!("SyncManager-{number}"))
            .daemon(true)
            .build(
                rings::serve,
                ServerStart {
                    registry: registry.handle(),
                },
            );
        process.start()?;
        let server = process.pid().ok_or_else(|| Error::ProcessStart {
            name: process.name().to_owned(),
            reason: "the server has no pid".into(),
        })?;
        let address = Address::Rings(RingAddress::new(&registry, server));
        let session = match Session::to(&address) {
            Ok(session) => session,
            Err(error) => {
                rings::close_registry(&registry);
                return Err(error);
            }
        };
        Ok(Manager {
            inner: Arc::new(Inner {
                process,
                session,
                registry,
            }),
        })
    }

    fn session(&self) -> &Session {
        &self.inner.session
    }

    fn proxy(&self, reply: Value) -> Result<Arc<Remote>, Error> {
        Remote::created(&self.inner.session, reply)
    }

    proxy::object_constructors!();

    /// Stops the server and waits for it to end (killing it if it has not ended within 5 s).
    /// Every proxy call then fails with [`Error::ManagerGone`]. Stopping a manager that is
    /// gone already is not an error. [`Error::WouldBlock`] on the browser's main thread: use
    /// [`shutdown_async`](Manager::shutdown_async) there.
    pub fn shutdown(&self) -> Result<(), Error> {
        match self.session().call(
            &Request::Shutdown,
            crate::time::Deadline::after(SHUTDOWN_PATIENCE),
        ) {
            Ok(_) | Err(Error::ManagerGone | Error::Timeout) => {}
            Err(error) => return Err(error),
        }
        rings::close_registry(&self.inner.registry);
        match self.inner.process.join_timeout(SHUTDOWN_PATIENCE) {
            Err(Error::Timeout) => {
                self.inner.process.kill()?;
                self.inner
                    .process
                    .join_timeout(SHUTDOWN_PATIENCE)
                    .map(drop)
                    .or_else(ended)
            }
            joined => joined.or_else(ended),
        }
    }

    /// [`shutdown`](Manager::shutdown) without blocking the thread (also on the browser's
    /// main thread).
    pub async fn shutdown_async(&self) -> Result<(), Error> {
        match self.session().call_async(&Request::Shutdown).await {
            Ok(_) | Err(Error::ManagerGone) => {}
            Err(error) => return Err(error),
        }
        rings::close_registry(&self.inner.registry);
        self.inner.process.join_async().await.or_else(ended)
    }

    /// Whether the server process runs.
    pub fn is_alive(&self) -> bool {
        self.inner.process.is_alive()
    }

    /// The server process's id.
    pub fn pid(&self) -> Option<u32> {
        self.inner.process.pid()
    }

    /// A lock (Python's `manager.Lock()`): amphi's shared-memory [`Lock`], which every process
    /// of the tree uses directly (no server round trip), with the semantics of a lock proxy.
    pub fn lock(&self) -> Result<Lock, Error> {
        Lock::new()
    }

    /// A reentrant lock (Python's `manager.RLock()`): amphi's shared-memory [`RLock`].
    pub fn rlock(&self) -> Result<RLock, Error> {
        RLock::new()
    }

    /// A semaphore (Python's `manager.Semaphore(value)`): amphi's shared-memory [`Semaphore`].
    pub fn semaphore(&self, value: u32) -> Result<Semaphore, Error> {
        Semaphore::new(value)
    }

    /// A bounded semaphore (Python's `manager.BoundedSemaphore(value)`).
    pub fn bounded_semaphore(&self, value: u32) -> Result<BoundedSemaphore, Error> {
        BoundedSemaphore::new(value)
    }

    /// An event (Python's `manager.Event()`): amphi's shared-memory [`Event`].
    pub fn event(&self) -> Result<Event, Error> {
        Event::new()
    }

    /// A condition over a new reentrant lock (Python's `manager.Condition()`).
    pub fn condition(&self) -> Result<Condition<RLock>, Error> {
        Condition::new()
    }

    /// A barrier for `parties` processes (Python's `manager.Barrier(parties)`).
    pub fn barrier(&self, parties: u32) -> Result<Barrier, Error> {
        Barrier::new(parties)
    }

    /// A queue (Python's `manager.Queue(maxsize)`; 0: unbounded): amphi's process [`Queue`].
    pub fn queue<T: Serialize + DeserializeOwned>(
        &self,
        maxsize: usize,
    ) -> Result<Queue<T>, Error> {
        Queue::new(maxsize)
    }

    /// A joinable queue (Python's `manager.JoinableQueue(maxsize)`).
    pub fn joinable_queue<T: Serialize + DeserializeOwned>(
        &self,
        maxsize: usize,
    ) -> Result<JoinableQueue<T>, Error> {
        JoinableQueue::new(maxsize)
    }
}

/// A server that ended otherwise than by returning (killed) has still ended.
fn ended(error: Error) -> Result<(), Error> {
    match error {
        Error::ProcessFailed { .. } | Error::ProcessBroken { .. } => Ok(()),
        error => Err(error),
    }
}

impl fmt::Debug for Manager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Manager")
            .field("name", &self.inner.process.name())
            .field("pid", &self.pid())
            .field("alive", &self.is_alive())
            .finish()
    }
}
