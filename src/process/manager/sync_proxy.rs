//! The proxies of a [`SocketManager`]'s served synchronisation objects ([`LockProxy`],
//! [`RLockProxy`], [`SemaphoreProxy`], [`EventProxy`], [`ConditionProxy`], [`BarrierProxy`],
//! [`QueueProxy`], [`JoinableQueueProxy`]) and the calls that make them.
//!
//! # A connection per thread
//!
//! A call on these objects may wait in the server (see `served`), so it does not go over the
//! manager's shared connection (where it would hold up every other call of the process):
//! each thread has a connection of its own per manager for them ([`Line`]), opened at its
//! first such call and closed when the thread ends. That connection is the caller's identity
//! on the server, as the serving thread is in Python: the owner of a reentrant lock or a
//! condition is the thread that acquired it, and what a thread holds is given back when its
//! connection ends (the thread ended, or its process died). References (which keep an object
//! alive) still go over the shared connection, as every proxy's do.
//!
//! # Timeouts
//!
//! A `_timeout` call sends its timeout, and the server is the one that gives up, so a call
//! that timed out left nothing behind (a timed-out acquire never takes the lock later). The
//! client waits for the server's answer a grace period longer ([`GRACE`]); if none came by
//! then, the thread's connection is closed (the server then gives back what it held) and the
//! call is [`Error::Timeout`].
//!
//! An `_async` call holds its thread's connection until it answers: a thread's calls on one
//! manager's synchronisation objects run one after another, so a thread that awaits an
//! acquire must not expect a release it makes meanwhile (from another future) to go first.
//! Dropping an `_async` call's future does not cancel the call, which completes in the
//! server: an abandoned acquire still takes the lock, for the thread's connection (whose end
//! gives it back), so await what you start.

use std::cell::RefCell;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::channel::{decode_reply, encode_request, Address, Channel};
use super::protocol::{Kind, Request, SyncCall};
use super::proxy::{decode, deserialize_remote, encode, remote_calls, serialize_remote, Remote};
use super::socket::{SocketChannel, SocketManager};
use crate::time::Deadline;
use crate::Error;

/// How much longer than its timeout a call waits for the server's answer.
const GRACE: Duration = Duration::from_secs(10);

thread_local! {
    /// This thread's connections for synchronisation calls, by manager address.
    static LINES: RefCell<Vec<(String, Arc<SocketChannel>)>> = const { RefCell::new(Vec::new()) };
}

/// This thread's connection to the manager at `address`, opened if it has none (or the one
/// it had broke).
fn thread_channel(address: &str) -> Result<Arc<SocketChannel>, Error> {
    let open = || match SocketChannel::open(address) {
        Ok(channel) => Ok(Arc::new(channel)),
        // Nothing listens where the manager was: it is gone.
        Err(Error::Socket(_)) => Err(Error::ManagerGone),
        Err(error) => Err(error),
    };
    LINES
        .try_with(|lines| {
            let mut lines = lines.borrow_mut();
            if let Some(at) = lines.iter().position(|(known, _)| known == address) {
                if !lines[at].1.is_broken() {
                    return Ok(Arc::clone(&lines[at].1));
                }
                lines.swap_remove(at);
            }
            let channel = open()?;
            lines.push((address.to_owned(), Arc::clone(&channel)));
            Ok(channel)
        })
        // The thread is ending: a connection for this call only.
        .unwrap_or_else(|_| open())
}

/// Closes this thread's connection to `address` (the server gives back what it held).
fn close_thread_channel(address: &str) {
    let _ = LINES.try_with(|lines| lines.borrow_mut().retain(|(known, _)| known != address));
}

/// What a served synchronisation proxy's calls go through: the calling thread's connection
/// (see the module docs). The `remote_calls!` forms call it as they call a session.
pub(crate) struct Line<'a> {
    remote: &'a Remote,
}

impl Line<'_> {
    fn address(&self) -> Result<&str, Error> {
        match self.remote.session.address() {
            Address::Socket(address) => Ok(address),
            Address::Rings(_) => Err(Error::InvalidArgument(
                "a served synchronisation object belongs to a socket manager".into(),
            )),
        }
    }

    /// `request` (a `Request::Sync`) with `timeout`, as bytes.
    fn encoded(request: &Request, timeout: Option<Duration>) -> Result<Vec<u8>, Error> {
        let Request::Sync { id, call, .. } = request else {
            return Err(Error::InvalidArgument(
                "not a synchronisation object's call".into(),
            ));
        };
        let timed = Request::Sync {
            id: *id,
            call: call.clone(),
            timeout,
        };
        encode_request(&timed)
    }

    /// Sends `request`, for the server to wait at most until `deadline` (a passed deadline:
    /// not at all), and decodes its answer.
    pub(crate) fn call(&self, request: &Request, deadline: Deadline) -> Result<Value, Error> {
        let timeout = deadline.remaining().unwrap_or(Some(Duration::ZERO));
        let bytes = Line::encoded(request, timeout)?;
        let address = self.address()?;
        let channel = thread_channel(address)?;
        let patience = timeout.map_or(Deadline::NEVER, |timeout| {
            Deadline::after(timeout.saturating_add(GRACE))
        });
        match channel.call(&bytes, patience) {
            Ok(reply) => decode_reply(&reply),
            Err(Error::Timeout) => {
                close_thread_channel(address);
                Err(Error::Timeout)
            }
            Err(error) => Err(error),
        }
    }

    /// [`call`](Line::call) with no timeout, without blocking the thread.
    pub(crate) async fn call_async(&self, request: &Request) -> Result<Value, Error> {
        let bytes = Line::encoded(request, None)?;
        let channel = thread_channel(self.address()?)?;
        decode_reply(&channel.call_async(bytes).await?)
    }
}

/// `Ok(())` from a reply of null.
fn unit(reply: Value) -> Result<(), Error> {
    decode::<Value>(reply).map(drop)
}

/// `Ok(false)` for a call that found it would have to wait.
fn at_once(outcome: Result<Value, Error>) -> Result<bool, Error> {
    match outcome {
        Ok(_) => Ok(true),
        Err(Error::Timeout) => Ok(false),
        Err(error) => Err(error),
    }
}

/// The parts every served synchronisation proxy has: a reference, a [`Line`], a token.
macro_rules! served_proxy {
    ($name:ident) => {
        impl $name {
            pub(crate) fn from_remote(remote: Arc<Remote>) -> $name {
                $name { remote }
            }

            fn session(&self) -> Line<'_> {
                Line {
                    remote: &self.remote,
                }
            }

            fn sync(&self, call: SyncCall) -> Request {
                Request::Sync {
                    id: self.remote.id,
                    call,
                    timeout: None,
                }
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("remote", &self.remote)
                    .finish()
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serialize_remote(&self.remote, serializer)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserialize_remote(deserializer).map($name::from_remote)
            }
        }
    };
}

/// A lock served by a [`SocketManager`] (Python's `manager.Lock()`): any thread of any
/// connected process may release it, and one whose acquiring thread's connection ended
/// (the thread ended, the process died) is released by the server.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use amphi::process::connection::AuthKey;
/// use amphi::process::Manager;
///
/// let manager = Manager::listen(&"tcp://127.0.0.1:0".parse()?, &AuthKey::random()?)?;
/// let lock = manager.lock()?;
/// lock.acquire()?;
/// assert!(lock.locked()?);
/// assert_eq!(lock.acquire_timeout(Duration::from_millis(10)), Err(amphi::Error::Timeout));
/// lock.release()?;
/// assert_eq!(lock.release(), Err(amphi::Error::NotLocked));
/// manager.shutdown()?;
/// # Ok::<(), amphi::Error>(())
/// ```
#[derive(Clone)]
pub struct LockProxy {
    remote: Arc<Remote>,
}

served_proxy!(LockProxy);

impl LockProxy {
    remote_calls! {
        /// Takes the lock, waiting until it is free.
        fn acquire, acquire_timeout, acquire_async(&self) -> () {
            request: self.sync(SyncCall::Acquire),
            reply: |reply| unit(reply)
        }

        /// Frees the lock; [`Error::NotLocked`] if it is not held.
        fn release, release_timeout, release_async(&self) -> () {
            request: self.sync(SyncCall::Release { count: 1 }),
            reply: |reply| unit(reply)
        }

        /// Whether the lock is held (by anyone).
        fn locked, locked_timeout, locked_async(&self) -> bool {
            request: self.sync(SyncCall::Locked),
            reply: |reply| decode(reply)
        }
    }

    /// Takes the lock if it is free, without waiting: whether it did.
    pub fn try_acquire(&self) -> Result<bool, Error> {
        at_once(
            self.session()
                .call(&self.sync(SyncCall::Acquire), Deadline::NOW),
        )
    }
}

/// A reentrant lock served by a [`SocketManager`] (Python's `manager.RLock()`), owned by the
/// thread that acquired it (its connection): that thread may acquire it again, and only it
/// releases it ([`Error::NotOwner`] otherwise, as the local `RLock`). When the owner's
/// connection ends, the lock is freed whatever its depth.
///
/// # Examples
///
/// ```
/// use amphi::process::connection::AuthKey;
/// use amphi::process::Manager;
///
/// let manager = Manager::listen(&"tcp://127.0.0.1:0".parse()?, &AuthKey::random()?)?;
/// let lock = manager.rlock()?;
/// lock.acquire()?;
/// lock.acquire()?;
/// assert_eq!(lock.depth()?, 2);
/// let other = amphi::Thread::spawn({
///     let lock = lock.clone();
///     move || lock.release()
/// })?;
/// assert_eq!(other.join()?, Err(amphi::Error::NotOwner));
/// lock.release()?;
/// lock.release()?;
/// assert!(!lock.locked()?);
/// manager.shutdown()?;
/// # Ok::<(), amphi::Error>(())
/// ```
#[derive(Clone)]
pub struct RLockProxy {
    remote: Arc<Remote>,
}

served_proxy!(RLockProxy);

impl RLockProxy {
    remote_calls! {
        /// Takes the lock (once more, if this thread owns it), waiting until it is free.
        fn acquire, acquire_timeout, acquire_async(&self) -> () {
            request: self.sync(SyncCall::Acquire),
            reply: |reply| unit(reply)
        }

        /// Releases one level; [`Error::NotOwner`] unless this thread owns the lock.
        fn release, release_timeout, release_async(&self) -> () {
            request: self.sync(SyncCall::Release { count: 1 }),
            reply: |reply| unit(reply)
        }

        /// Whether some thread owns the lock.
        fn locked, locked_timeout, locked_async(&self) -> bool {
            request: self.sync(SyncCall::Locked),
            reply: |reply| decode(reply)
        }

        /// Whether this thread owns the lock.
        fn is_owned, is_owned_timeout, is_owned_async(&self) -> bool {
            request: self.sync(SyncCall::IsOwned),
            reply: |reply| decode(reply)
        }

        /// How many times this thread holds the lock (0 if it does not own it).
        fn depth, depth_timeout, depth_async(&self) -> u32 {
            request: self.sync(SyncCall::Count),
            reply: |reply| decode(reply)
        }
    }

    /// Takes the lock if it is free or this thread's, without waiting: whether it did.
    pub fn try_acquire(&self) -> Result<bool, Error> {
        at_once(
            self.session()
                .call(&self.sync(SyncCall::Acquire), Deadline::NOW),
        )
    }
}

/// A semaphore served by a [`SocketManager`] (Python's `manager.Semaphore(value)` and
/// `manager.BoundedSemaphore(value)`). The permits a thread took and did not release come
/// back when its connection ends.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use amphi::process::connection::AuthKey;
/// use amphi::process::Manager;
///
/// let manager = Manager::listen(&"tcp://127.0.0.1:0".parse()?, &AuthKey::random()?)?;
/// let slots = manager.bounded_semaphore(1)?;
/// slots.acquire()?;
/// assert_eq!(slots.acquire_timeout(Duration::from_millis(10)), Err(amphi::Error::Timeout));
/// slots.release(1)?;
/// assert_eq!(slots.release(1), Err(amphi::Error::SemaphoreOverflow { initial: 1 }));
/// assert_eq!(slots.value()?, 1);
/// manager.shutdown()?;
/// # Ok::<(), amphi::Error>(())
/// ```
#[derive(Clone)]
pub struct SemaphoreProxy {
    remote: Arc<Remote>,
}

served_proxy!(SemaphoreProxy);

impl SemaphoreProxy {
    remote_calls! {
        /// Takes a permit, waiting until there is one.
        fn acquire, acquire_timeout, acquire_async(&self) -> () {
            request: self.sync(SyncCall::Acquire),
            reply: |reply| unit(reply)
        }

        /// Gives `n` permits back; a bounded semaphore refuses to go above its initial value
        /// ([`Error::SemaphoreOverflow`], its value unchanged).
        fn release, release_timeout, release_async(&self, n: u32) -> () {
            request: self.sync(SyncCall::Release { count: n }),
            reply: |reply| unit(reply)
        }

        /// The permits left.
        fn value, value_timeout, value_async(&self) -> u32 {
            request: self.sync(SyncCall::Count),
            reply: |reply| decode(reply)
        }
    }

    /// Takes a permit if there is one, without waiting: whether it did.
    pub fn try_acquire(&self) -> Result<bool, Error> {
        at_once(
            self.session()
                .call(&self.sync(SyncCall::Acquire), Deadline::NOW),
        )
    }
}

/// An event served by a [`SocketManager`] (Python's `manager.Event()`).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use amphi::process::connection::AuthKey;
/// use amphi::process::Manager;
///
/// let manager = Manager::listen(&"tcp://127.0.0.1:0".parse()?, &AuthKey::random()?)?;
/// let ready = manager.event()?;
/// assert_eq!(ready.wait_timeout(Duration::from_millis(10)), Err(amphi::Error::Timeout));
/// ready.set()?;
/// ready.wait()?;
/// assert!(ready.is_set()?);
/// manager.shutdown()?;
/// # Ok::<(), amphi::Error>(())
/// ```
#[derive(Clone)]
pub struct EventProxy {
    remote: Arc<Remote>,
}

served_proxy!(EventProxy);

impl EventProxy {
    remote_calls! {
        /// Sets the flag, waking every waiter.
        fn set, set_timeout, set_async(&self) -> () {
            request: self.sync(SyncCall::Set),
            reply: |reply| unit(reply)
        }

        /// Clears the flag.
        fn clear, clear_timeout, clear_async(&self) -> () {
            request: self.sync(SyncCall::Clear),
            reply: |reply| unit(reply)
        }

        /// Whether the flag is set.
        fn is_set, is_set_timeout, is_set_async(&self) -> bool {
            request: self.sync(SyncCall::Locked),
            reply: |reply| decode(reply)
        }

        /// Waits until the flag is set.
        fn wait, wait_timeout, wait_async(&self) -> () {
            request: self.sync(SyncCall::Wait),
            reply: |reply| unit(reply)
        }
    }
}

/// A condition served by a [`SocketManager`] (Python's `manager.Condition()`), over a
/// reentrant lock of its own owned by the thread that acquired it. [`wait`](Self::wait)
/// releases the lock (whatever its depth), waits for a [`notify`](Self::notify), and takes
/// the lock back before it returns, also when it timed out ([`Error::Timeout`]); waiting or
/// notifying without owning the lock is [`Error::NotOwner`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use amphi::process::connection::AuthKey;
/// use amphi::process::Manager;
///
/// let manager = Manager::listen(&"tcp://127.0.0.1:0".parse()?, &AuthKey::random()?)?;
/// let changed = manager.condition()?;
/// assert_eq!(changed.notify(1), Err(amphi::Error::NotOwner));
/// changed.acquire()?;
/// assert_eq!(changed.wait_timeout(Duration::from_millis(10)), Err(amphi::Error::Timeout));
/// assert!(changed.is_owned()?, "the lock is held again after the wait");
/// changed.release()?;
/// manager.shutdown()?;
/// # Ok::<(), amphi::Error>(())
/// ```
#[derive(Clone)]
pub struct ConditionProxy {
    remote: Arc<Remote>,
}

served_proxy!(ConditionProxy);

impl ConditionProxy {
    remote_calls! {
        /// Takes the condition's lock (once more, if this thread owns it).
        fn acquire, acquire_timeout, acquire_async(&self) -> () {
            request: self.sync(SyncCall::Acquire),
            reply: |reply| unit(reply)
        }

        /// Releases one level of the lock; [`Error::NotOwner`] unless this thread owns it.
        fn release, release_timeout, release_async(&self) -> () {
            request: self.sync(SyncCall::Release { count: 1 }),
            reply: |reply| unit(reply)
        }

        /// Whether this thread owns the lock.
        fn is_owned, is_owned_timeout, is_owned_async(&self) -> bool {
            request: self.sync(SyncCall::IsOwned),
            reply: |reply| decode(reply)
        }

        /// Releases the lock, waits for a notification, and takes the lock back.
        fn wait, wait_timeout, wait_async(&self) -> () {
            request: self.sync(SyncCall::Wait),
            reply: |reply| unit(reply)
        }

        /// Wakes up to `n` waiters: how many it woke.
        fn notify, notify_timeout, notify_async(&self, n: u32) -> usize {
            request: self.sync(SyncCall::Notify { count: Some(n) }),
            reply: |reply| decode(reply)
        }

        /// Wakes every waiter: how many it woke.
        fn notify_all, notify_all_timeout, notify_all_async(&self) -> usize {
            request: self.sync(SyncCall::Notify { count: None }),
            reply: |reply| decode(reply)
        }

        /// How many threads wait for a notification.
        fn waiting, waiting_timeout, waiting_async(&self) -> usize {
            request: self.sync(SyncCall::Waiting),
            reply: |reply| decode(reply)
        }
    }
}

/// A barrier served by a [`SocketManager`] (Python's `manager.Barrier(parties)`). A
/// timed-out wait breaks it ([`Error::BrokenBarrier`] for every waiter, as in Python), and so
/// does a party whose connection ends while it waits.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use amphi::process::connection::AuthKey;
/// use amphi::process::Manager;
///
/// let manager = Manager::listen(&"tcp://127.0.0.1:0".parse()?, &AuthKey::random()?)?;
/// let start = manager.barrier(2)?;
/// let other = amphi::Thread::spawn({
///     let start = start.clone();
///     move || start.wait()
/// })?;
/// let mine = start.wait()?;
/// assert_eq!(mine + other.join()??, 1, "arrival indexes 0 and 1");
/// assert_eq!(start.wait_timeout(Duration::from_millis(10)), Err(amphi::Error::BrokenBarrier));
/// assert!(start.broken()?);
/// start.reset()?;
/// manager.shutdown()?;
/// # Ok::<(), amphi::Error>(())
/// ```
#[derive(Clone)]
pub struct BarrierProxy {
    remote: Arc<Remote>,
}

served_proxy!(BarrierProxy);

impl BarrierProxy {
    remote_calls! {
        /// Waits for every party: this one's arrival index (0 for the first).
        fn wait, wait_timeout, wait_async(&self) -> u32 {
            request: self.sync(SyncCall::Wait),
            reply: |reply| decode(reply)
        }

        /// Breaks the barrier: every waiter and later caller gets [`Error::BrokenBarrier`].
        fn abort, abort_timeout, abort_async(&self) -> () {
            request: self.sync(SyncCall::Abort),
            reply: |reply| unit(reply)
        }

        /// Makes the barrier usable again (its waiters get [`Error::BrokenBarrier`]).
        fn reset, reset_timeout, reset_async(&self) -> () {
            request: self.sync(SyncCall::Reset),
            reply: |reply| unit(reply)
        }

        /// Whether the barrier is broken.
        fn broken, broken_timeout, broken_async(&self) -> bool {
            request: self.sync(SyncCall::Locked),
            reply: |reply| decode(reply)
        }

        /// The parties it waits for.
        fn parties, parties_timeout, parties_async(&self) -> u32 {
            request: self.sync(SyncCall::Count),
            reply: |reply| decode(reply)
        }

        /// The parties waiting now.
        fn n_waiting, n_waiting_timeout, n_waiting_async(&self) -> u32 {
            request: self.sync(SyncCall::Waiting),
            reply: |reply| decode(reply)
        }
    }
}

/// A queue served by a [`SocketManager`] (Python's `manager.Queue(maxsize)`), of serde
/// values. A `put` waits for room and a `get` for an item; their `_timeout` forms answer
/// [`Error::Timeout`], [`try_put`](Self::try_put) [`Error::Full`] and
/// [`try_get`](Self::try_get) [`Error::Empty`].
///
/// # Examples
///
/// ```
/// use amphi::process::connection::AuthKey;
/// use amphi::process::Manager;
///
/// let manager = Manager::listen(&"tcp://127.0.0.1:0".parse()?, &AuthKey::random()?)?;
/// let jobs = manager.queue::<String>(1)?;
/// jobs.put(&"first".into())?;
/// assert_eq!(jobs.try_put(&"second".into()), Err(amphi::Error::Full));
/// assert_eq!(jobs.qsize()?, 1);
/// assert_eq!(jobs.get()?, "first");
/// assert_eq!(jobs.try_get(), Err(amphi::Error::Empty));
/// manager.shutdown()?;
/// # Ok::<(), amphi::Error>(())
/// ```
pub struct QueueProxy<T> {
    remote: Arc<Remote>,
    item: PhantomData<fn(T) -> T>,
}

impl<T> Clone for QueueProxy<T> {
    fn clone(&self) -> Self {
        QueueProxy {
            remote: Arc::clone(&self.remote),
            item: PhantomData,
        }
    }
}

impl<T> fmt::Debug for QueueProxy<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueueProxy")
            .field("remote", &self.remote)
            .finish()
    }
}

impl<T> Serialize for QueueProxy<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_remote(&self.remote, serializer)
    }
}

impl<'de, T> Deserialize<'de> for QueueProxy<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserialize_remote(deserializer).map(QueueProxy::from_remote)
    }
}

impl<T> QueueProxy<T> {
    pub(crate) fn from_remote(remote: Arc<Remote>) -> QueueProxy<T> {
        QueueProxy {
            remote,
            item: PhantomData,
        }
    }

    fn session(&self) -> Line<'_> {
        Line {
            remote: &self.remote,
        }
    }

    fn sync(&self, call: SyncCall) -> Request {
        Request::Sync {
            id: self.remote.id,
            call,
            timeout: None,
        }
    }
}

impl<T: Serialize + DeserializeOwned> QueueProxy<T> {
    remote_calls! {
        /// Puts `item` at the back, waiting for room.
        fn put, put_timeout, put_async(&self, item: &T) -> () {
            request: self.sync(SyncCall::Put { item: encode(item)? }),
            reply: |reply| unit(reply)
        }

        /// Takes the item at the front, waiting for one.
        fn get, get_timeout, get_async(&self) -> T {
            request: self.sync(SyncCall::Get),
            reply: |reply| decode(reply)
        }

        /// The items in the queue.
        fn qsize, qsize_timeout, qsize_async(&self) -> usize {
            request: self.sync(SyncCall::Waiting),
            reply: |reply| decode(reply)
        }

        /// The most items it holds (0: unbounded).
        fn maxsize, maxsize_timeout, maxsize_async(&self) -> usize {
            request: self.sync(SyncCall::Count),
            reply: |reply| decode(reply)
        }

        /// Whether the queue holds no item.
        fn empty, empty_timeout, empty_async(&self) -> bool {
            request: self.sync(SyncCall::Waiting),
            reply: |reply| decode::<usize>(reply).map(|items| items == 0)
        }

        /// Whether a bounded queue has no room.
        fn full, full_timeout, full_async(&self) -> bool {
            request: self.sync(SyncCall::Full),
            reply: |reply| decode(reply)
        }
    }

    /// Puts `item` if there is room now; [`Error::Full`] otherwise.
    pub fn try_put(&self, item: &T) -> Result<(), Error> {
        let request = self.sync(SyncCall::Put {
            item: encode(item)?,
        });
        match self.session().call(&request, Deadline::NOW) {
            Err(Error::Timeout) => Err(Error::Full),
            outcome => outcome.and_then(unit),
        }
    }

    /// Takes the front item if there is one now; [`Error::Empty`] otherwise.
    pub fn try_get(&self) -> Result<T, Error> {
        match self
            .session()
            .call(&self.sync(SyncCall::Get), Deadline::NOW)
        {
            Err(Error::Timeout) => Err(Error::Empty),
            outcome => outcome.and_then(decode),
        }
    }
}

/// A joinable queue served by a [`SocketManager`] (Python's `manager.JoinableQueue()`): a
/// [`QueueProxy`] (which it dereferences to) that counts unfinished tasks, one per `put`,
/// one less per [`task_done`](Self::task_done); [`join`](Self::join) waits for none to be
/// left.
///
/// # Examples
///
/// ```
/// use amphi::process::connection::AuthKey;
/// use amphi::process::Manager;
///
/// let manager = Manager::listen(&"tcp://127.0.0.1:0".parse()?, &AuthKey::random()?)?;
/// let tasks = manager.joinable_queue::<u32>(0)?;
/// tasks.put(&7)?;
/// assert_eq!(tasks.get()?, 7);
/// assert_eq!(tasks.unfinished_tasks()?, 1);
/// tasks.task_done()?;
/// tasks.join()?;
/// assert_eq!(tasks.task_done(), Err(amphi::Error::TooManyTaskDone));
/// manager.shutdown()?;
/// # Ok::<(), amphi::Error>(())
/// ```
pub struct JoinableQueueProxy<T> {
    queue: QueueProxy<T>,
}

impl<T> Clone for JoinableQueueProxy<T> {
    fn clone(&self) -> Self {
        JoinableQueueProxy {
            queue: self.queue.clone(),
        }
    }
}

impl<T> fmt::Debug for JoinableQueueProxy<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinableQueueProxy")
            .field("remote", &self.queue.remote)
            .finish()
    }
}

impl<T> Serialize for JoinableQueueProxy<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.queue.serialize(serializer)
    }
}

impl<'de, T> Deserialize<'de> for JoinableQueueProxy<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        QueueProxy::deserialize(deserializer).map(|queue| JoinableQueueProxy { queue })
    }
}

impl<T> std::ops::Deref for JoinableQueueProxy<T> {
    type Target = QueueProxy<T>;

    fn deref(&self) -> &QueueProxy<T> {
        &self.queue
    }
}

impl<T> JoinableQueueProxy<T> {
    pub(crate) fn from_remote(remote: Arc<Remote>) -> JoinableQueueProxy<T> {
        JoinableQueueProxy {
            queue: QueueProxy::from_remote(remote),
        }
    }

    fn session(&self) -> Line<'_> {
        self.queue.session()
    }

    fn sync(&self, call: SyncCall) -> Request {
        self.queue.sync(call)
    }

    remote_calls! {
        /// Marks one task done; [`Error::TooManyTaskDone`] if none is unfinished.
        fn task_done, task_done_timeout, task_done_async(&self) -> () {
            request: self.sync(SyncCall::TaskDone),
            reply: |reply| unit(reply)
        }

        /// Waits until every task put so far is done.
        fn join, join_timeout, join_async(&self) -> () {
            request: self.sync(SyncCall::Join),
            reply: |reply| unit(reply)
        }

        /// The tasks put and not yet marked done.
        fn unfinished_tasks, unfinished_tasks_timeout, unfinished_tasks_async(&self) -> usize {
            request: self.sync(SyncCall::Unfinished),
            reply: |reply| decode(reply)
        }
    }
}

fn create(kind: Kind, init: Value) -> Request {
    Request::Create { kind, init }
}

impl SocketManager {
    remote_calls! {
        /// A new served lock (Python's `manager.Lock()`): see [`LockProxy`].
        fn lock, lock_timeout, lock_async(&self) -> LockProxy {
            request: create(Kind::Lock, Value::Null),
            reply: |reply| self.proxy(reply).map(LockProxy::from_remote)
        }

        /// A new served reentrant lock (Python's `manager.RLock()`): see [`RLockProxy`].
        fn rlock, rlock_timeout, rlock_async(&self) -> RLockProxy {
            request: create(Kind::RLock, Value::Null),
            reply: |reply| self.proxy(reply).map(RLockProxy::from_remote)
        }

        /// A new served semaphore with `value` permits (Python's `manager.Semaphore(value)`).
        fn semaphore, semaphore_timeout, semaphore_async(&self, value: u32) -> SemaphoreProxy {
            request: create(Kind::Semaphore, value.into()),
            reply: |reply| self.proxy(reply).map(SemaphoreProxy::from_remote)
        }

        /// A new served semaphore that refuses to go above `value` permits (Python's
        /// `manager.BoundedSemaphore(value)`).
        fn bounded_semaphore, bounded_semaphore_timeout, bounded_semaphore_async(
            &self,
            value: u32
        ) -> SemaphoreProxy {
            request: create(Kind::BoundedSemaphore, value.into()),
            reply: |reply| self.proxy(reply).map(SemaphoreProxy::from_remote)
        }

        /// A new served event (Python's `manager.Event()`): see [`EventProxy`].
        fn event, event_timeout, event_async(&self) -> EventProxy {
            request: create(Kind::Event, Value::Null),
            reply: |reply| self.proxy(reply).map(EventProxy::from_remote)
        }

        /// A new served condition over a reentrant lock of its own (Python's
        /// `manager.Condition()`): see [`ConditionProxy`].
        fn condition, condition_timeout, condition_async(&self) -> ConditionProxy {
            request: create(Kind::Condition, Value::Null),
            reply: |reply| self.proxy(reply).map(ConditionProxy::from_remote)
        }

        /// A new served barrier for `parties` (Python's `manager.Barrier(parties)`);
        /// [`Error::Remote`] for 0 parties.
        fn barrier, barrier_timeout, barrier_async(&self, parties: u32) -> BarrierProxy {
            request: create(Kind::Barrier, parties.into()),
            reply: |reply| self.proxy(reply).map(BarrierProxy::from_remote)
        }

        /// A new served queue of at most `maxsize` items (0: unbounded; Python's
        /// `manager.Queue(maxsize)`): see [`QueueProxy`].
        fn queue, queue_timeout, queue_async[T](&self, maxsize: usize) -> QueueProxy<T> {
            request: create(Kind::Queue, maxsize.into()),
            reply: |reply| self.proxy(reply).map(QueueProxy::from_remote)
        }

        /// A new served joinable queue (Python's `manager.JoinableQueue(maxsize)`): see
        /// [`JoinableQueueProxy`].
        fn joinable_queue, joinable_queue_timeout, joinable_queue_async[T](
            &self,
            maxsize: usize
        ) -> JoinableQueueProxy<T> {
            request: create(Kind::JoinableQueue, maxsize.into()),
            reply: |reply| self.proxy(reply).map(JoinableQueueProxy::from_remote)
        }
    }
}
