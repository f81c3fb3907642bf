//! Managers between unrelated processes, natively: [`Manager::listen`] serves a manager's
//! objects over an authenticated Unix socket or TCP port, [`Manager::connect`] reaches one,
//! and both return a [`SocketManager`], whose dicts, lists, namespaces and values are the same
//! proxies as a [`Manager`]'s (Python's `BaseManager(address, authkey)` with `get_server()`
//! and `connect()`).
//!
//! # The server
//!
//! The process that listens serves the manager itself, on amphi threads: one accepts
//! connections, and each connection gets a thread of its own that runs the handshake
//! ([`PendingConnection::authenticate`], so a client that stalls its handshake delays nobody),
//! then calls `State::dispatch` for each request, with a client id of its own per connection,
//! and `State::client_gone` when the connection ends: a client that disconnects or dies
//! releases its references. The server stops on [`SocketManager::shutdown`] (from any client),
//! or when the listening process drops its last handle; its connections are then closed, so
//! every client's next call (or the call it is waiting in) is [`Error::ManagerGone`].
//!
//! # The client
//!
//! One connection per manager and process, shared by every proxy and thread of the process:
//! a call holds the connection while it sends its request and reads its reply (the server
//! answers a connection's requests in order); a call that times out leaves its reply owed,
//! and the next call reads and drops it first. The `_async` forms run the call on a thread
//! of their own and await it, so the awaiting thread never blocks.
//!
//! # Keys
//!
//! A token of a socket manager's proxy names the manager's address, never its key. Each
//! process keeps the keys it was given ([`Manager::listen`], [`Manager::connect`]) by address,
//! and the children it starts afterwards receive them in their start-up message (as CPython
//! sends a child its parent's `authkey` in its spawn preparation data): a proxy passed to a
//! child therefore just works. The keys never go through the environment, which every
//! descendant (even a program that is not amphi) would inherit and `/proc/PID/environ` would
//! show. A process that has no
//! key for a token's address (an unrelated process that never connected) gets
//! [`Error::AuthenticationFailed`] when it deserialises the token.
//!
//! # Synchronisation objects
//!
//! The synchronisation objects of [`Manager`] (its `lock`, `queue`, ...) are amphi
//! shared-memory objects of one process tree, meaningless to an unrelated process: a
//! [`SocketManager`]'s `lock`, `rlock`, `semaphore`, `event`, `condition`, `barrier`, `queue`
//! and `joinable_queue` are served objects instead (`served`, `sync_proxy`), whose waits run in
//! the serving thread of the caller's own connection, and whose holdings a connection that
//! ends gives back.
//!
//! In the browser, which has no sockets, [`Manager::listen`] and [`Manager::connect`] return
//! [`Error::Unsupported`].

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use serde_json::Value;

use super::channel::{Address, Channel, Session};
use super::protocol::Request;
use super::proxy::Remote;
use super::state::{ClientId, State};
use super::Manager;
use crate::process::connection::{
    Address as SocketAddress, AuthKey, Client, Listener, PendingConnection, SocketConnection,
};
use crate::thread::{Event, Thread};
use crate::time::Deadline;
use crate::Error;

/// The name under which children receive their parent's manager keys in their start-up
/// message (`sys::set_inherited`).
const INHERITED_KEYS: &str = "amphi-manager-keys";

/// How often the accepting thread looks whether the server is stopping.
const ACCEPT_POLL: Duration = Duration::from_millis(50);

/// How long a connection (its handshake included) may take.
const CONNECT_PATIENCE: Duration = Duration::from_secs(10);

/// How long [`SocketManager::shutdown`] waits for a listening server to end.
const SHUTDOWN_PATIENCE: Duration = Duration::from_secs(5);

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poison| poison.into_inner())
}

// ---------------------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------------------

/// This process's manager keys, by address (inherited ones first).
fn keyring() -> MutexGuard<'static, Vec<(String, AuthKey)>> {
    static KEYS: OnceLock<Mutex<Vec<(String, AuthKey)>>> = OnceLock::new();
    lock(KEYS.get_or_init(|| Mutex::new(inherited_keys())))
}

/// The keys received from the parent ([`INHERITED_KEYS`]): `[[address, hex key], ...]` as
/// JSON.
fn inherited_keys() -> Vec<(String, AuthKey)> {
    let Some(text) = crate::sys::inherited(INHERITED_KEYS) else {
        return Vec::new();
    };
    let pairs: Vec<(String, String)> = serde_json::from_str(&text).unwrap_or_default();
    pairs
        .into_iter()
        .filter_map(|(address, hex)| Some((address, AuthKey::new(from_hex(&hex)?).ok()?)))
        .collect()
}

/// Keeps `key` for the manager at `address`, for this process and the children it starts.
fn remember_key(address: &str, key: &AuthKey) {
    let mut keys = keyring();
    keys.retain(|(known, _)| known != address);
    keys.push((address.to_owned(), key.clone()));
    export_keys(&keys);
}

/// Forgets the key of `address` (it was refused, or nothing listens there).
fn forget_key(address: &str) {
    let mut keys = keyring();
    keys.retain(|(known, _)| known != address);
    export_keys(&keys);
}

/// Gives the children started from now on the keys of `keys`.
fn export_keys(keys: &[(String, AuthKey)]) {
    let exported: Vec<(&str, String)> = keys
        .iter()
        .map(|(address, key)| (address.as_str(), to_hex(key.as_bytes())))
        .collect();
    if let Ok(text) = serde_json::to_string(&exported) {
        crate::sys::set_inherited(INHERITED_KEYS, text);
    }
}

fn key_for(address: &str) -> Option<AuthKey> {
    keyring()
        .iter()
        .find(|(known, _)| known == address)
        .map(|(_, key)| key.clone())
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn from_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(text.get(at..at + 2)?, 16).ok())
        .collect()
}

// ---------------------------------------------------------------------------------------
// The client's channel
// ---------------------------------------------------------------------------------------

/// A [`Channel`] over an authenticated socket connection to a manager (see the module docs).
pub(crate) struct SocketChannel {
    link: Arc<Link>,
}

struct Link {
    connection: SocketConnection,
    /// Replies still owed to calls that gave up waiting: the next call reads and drops them.
    owed: Mutex<u64>,
}

impl SocketChannel {
    /// Connects to the manager at `address` with this process's key for it.
    pub(crate) fn open(address: &str) -> Result<SocketChannel, Error> {
        let parsed = SocketAddress::parse(address)?;
        let key = key_for(address).ok_or_else(|| {
            Error::AuthenticationFailed(format!(
                "this process has no key for the manager at {address}: connect to it with \
                 Manager::connect and its key first (children inherit their parent's keys)"
            ))
        })?;
        let connection = Client::connect_timeout(&parsed, &key, CONNECT_PATIENCE)?;
        Ok(SocketChannel {
            link: Arc::new(Link {
                connection,
                owed: Mutex::new(0),
            }),
        })
    }
}

impl SocketChannel {
    /// Whether the server closed the connection: it is closed here, or, with no call in
    /// flight and no reply owed, something can be read (which can only be the end of the
    /// stream).
    pub(crate) fn is_broken(&self) -> bool {
        let connection = &self.link.connection;
        if connection.is_closed() {
            return true;
        }
        match self.link.owed.try_lock() {
            Ok(owed) if *owed == 0 => !matches!(connection.poll(Duration::ZERO), Ok(false)),
            _ => false,
        }
    }
}

impl Link {
    fn call(&self, request: &[u8], deadline: Deadline) -> Result<Vec<u8>, Error> {
        let mut owed = lock(&self.owed);
        let mut reply = Vec::new();
        while *owed > 0 {
            self.receive(&mut reply, deadline)?;
            *owed -= 1;
        }
        deadline.remaining()?;
        self.connection.send_bytes(request).map_err(gone)?;
        match self.receive(&mut reply, deadline) {
            Ok(()) => Ok(reply),
            Err(Error::Timeout) => {
                *owed += 1;
                Err(Error::Timeout)
            }
            Err(error) => Err(error),
        }
    }

    fn receive(&self, reply: &mut Vec<u8>, deadline: Deadline) -> Result<(), Error> {
        let received = match deadline.remaining()? {
            None => self.connection.recv_bytes_into_vec(reply),
            Some(left) => self.connection.recv_bytes_into_vec_timeout(reply, left),
        };
        received.map(drop).map_err(gone)
    }
}

/// A failure of the connection is the manager's end, except a timeout.
fn gone(error: Error) -> Error {
    match error {
        Error::Timeout => Error::Timeout,
        _ => Error::ManagerGone,
    }
}

impl Channel for SocketChannel {
    fn call(&self, request: &[u8], deadline: Deadline) -> Result<Vec<u8>, Error> {
        self.link.call(request, deadline)
    }

    async fn call_async(&self, request: Vec<u8>) -> Result<Vec<u8>, Error> {
        let link = Arc::clone(&self.link);
        let done = Arc::new(Event::new());
        let finished = Arc::clone(&done);
        let caller = Thread::spawn(move || {
            let reply = link.call(&request, Deadline::NEVER);
            finished.set();
            reply
        })?;
        done.wait_async().await;
        caller.join()?
    }

    fn post(&self, request: &[u8]) {
        // A lost post is a lost reference count of a manager that is gone.
        let _ = self.link.connection.send_bytes(request);
    }
}

// ---------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------

/// A listening manager's server, shared by its accepting thread, its connections' threads and
/// the listening handles.
struct Serving {
    state: State,
    stopping: AtomicBool,
    /// The authenticated connections still open, closed when the server stops.
    connections: Mutex<Vec<Arc<SocketConnection>>>,
    /// Set once the accepting thread ended (the listener closed, its socket file removed).
    stopped: Event,
    next_client: AtomicU64,
}

impl Serving {
    /// Stops accepting and closes every connection: their threads end, and clients see the
    /// manager gone.
    fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        for connection in lock(&self.connections).iter() {
            connection.close();
        }
    }

    fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }
}

fn accept_connections(serving: Arc<Serving>, listener: Listener) {
    while !serving.is_stopping() {
        match listener.accept_unauthenticated_timeout(ACCEPT_POLL) {
            Ok(pending) => {
                let server = Arc::clone(&serving);
                // A connection that finds no thread is dropped, which closes it.
                let _ = Thread::spawn(move || serve_connection(&server, pending));
            }
            Err(Error::Timeout) => {}
            // The system refused this accept (out of descriptors, a connection reset before
            // it was taken): the next one may do better.
            Err(_) => {
                let _ = crate::thread::sleep(ACCEPT_POLL);
            }
        }
    }
    drop(listener);
    serving.stop();
    serving.stopped.set();
}

fn serve_connection(serving: &Serving, pending: PendingConnection) {
    // Another key, or a client that broke the handshake: the connection is closed, and the
    // server goes on serving the others.
    let Ok(connection) = pending.authenticate() else {
        return;
    };
    let connection = Arc::new(connection);
    let client: ClientId = serving.next_client.fetch_add(1, Ordering::Relaxed) + 1;
    {
        let mut open = lock(&serving.connections);
        if serving.is_stopping() {
            return;
        }
        open.push(Arc::clone(&connection));
    }
    let mut request = Vec::new();
    // A connection carries one call at a time: while a call waits, anything readable is the
    // end of the stream, so its client is gone (see `served`).
    let alive = || !connection.is_closed() && matches!(connection.poll(Duration::ZERO), Ok(false));
    while connection.recv_bytes_into_vec(&mut request).is_ok() {
        if let Some(reply) = serving
            .state
            .dispatch_waiting(client, &request, Some(&alive))
        {
            if connection.send_bytes(&reply).is_err() {
                break;
            }
        }
        if serving.state.shutting_down() {
            serving.stop();
            break;
        }
    }
    connection.close();
    serving.state.client_gone(client);
    lock(&serving.connections).retain(|open| !Arc::ptr_eq(open, &connection));
}

// ---------------------------------------------------------------------------------------
// The handle
// ---------------------------------------------------------------------------------------

/// A manager reached over an authenticated socket: returned by [`Manager::listen`] (this
/// process serves it) and [`Manager::connect`] (another process does). Its
/// [`dict`](SocketManager::dict), [`list`](SocketManager::list),
/// [`namespace`](SocketManager::namespace) and [`value`](SocketManager::value) are the
/// proxies of a [`Manager`], with the same calls.
///
/// - **The server** runs on threads of the listening process: one accepts connections, each
///   connection gets its own, which runs the handshake and then the requests; a client that
///   disconnects or dies releases its references.
/// - **The key** never travels in a token, which names the address only: each process keeps
///   the keys it was given, and the children it starts afterwards receive them in their
///   start-up message (never through the environment), so a proxy passed to a child connects.
/// - **Synchronisation objects** ([`lock`](SocketManager::lock),
///   [`rlock`](SocketManager::rlock), [`semaphore`](SocketManager::semaphore),
///   [`event`](SocketManager::event), [`condition`](SocketManager::condition),
///   [`barrier`](SocketManager::barrier), [`queue`](SocketManager::queue), ...) are served
///   by the server (a [`Manager`]'s are shared memory, meaningless to an unrelated process):
///   a call that must wait waits in the server for at most its timeout; each client thread
///   has a connection of its own for them, which owns what it acquires, and what a
///   connection held is given back when it ends (its thread ended, its process died).
/// - **Deaths**: once the server is gone (shut down, or its process killed) every call is
///   [`Error::ManagerGone`]; a call waiting for its reply returns it too.
///
/// A handle: clone it freely. The server of a listening process stops when
/// [`shutdown`](SocketManager::shutdown) is called (by any client) or when the listening
/// process drops its last handle; a connected handle's drop only ends its connection once
/// its proxies are dropped too.
///
/// # Examples
///
/// ```
/// use amphi::process::connection::AuthKey;
/// use amphi::process::Manager;
///
/// let key = AuthKey::random()?;
/// let server = Manager::listen(&"tcp://127.0.0.1:0".parse()?, &key)?;
/// // In any process that knows the address and the key:
/// let client = Manager::connect(server.address(), &key)?;
/// let scores = client.dict::<String, i64>()?;
/// scores.insert(&"ada".into(), &3)?;
/// assert_eq!(scores.get(&"ada".into())?, Some(3));
/// server.shutdown()?;
/// assert_eq!(scores.len(), Err(amphi::Error::ManagerGone));
/// # Ok::<(), amphi::Error>(())
/// ```
#[derive(Clone)]
pub struct SocketManager {
    inner: Arc<Handle>,
}

struct Handle {
    session: Arc<Session>,
    address: SocketAddress,
    /// The server, when this process listens.
    serving: Option<Arc<Serving>>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        if let Some(serving) = &self.serving {
            serving.stop();
        }
    }
}

impl Manager {
    /// Serves a new manager at `address` (a Unix socket's path or a TCP port; port 0 lets the
    /// system choose: see [`SocketManager::address`]) for clients holding `authkey`, on
    /// threads of this process, and returns its handle (a client of it). Python's
    /// `BaseManager(address, authkey).get_server()` with a connected client.
    ///
    /// [`Error::Socket`] when the address cannot be bound; [`Error::Unsupported`] in the
    /// browser.
    pub fn listen(address: &SocketAddress, authkey: &AuthKey) -> Result<SocketManager, Error> {
        let listener = Listener::bind(address, authkey)?;
        let bound = listener.address().clone();
        let serving = Arc::new(Serving {
            state: State::default(),
            stopping: AtomicBool::new(false),
            connections: Mutex::new(Vec::new()),
            stopped: Event::new(),
            next_client: AtomicU64::new(0),
        });
        let server = Arc::clone(&serving);
        Thread::spawn(move || accept_connections(server, listener))?;
        remember_key(&bound.to_string(), authkey);
        match Session::to(&Address::Socket(bound.to_string())) {
            Ok(session) => Ok(SocketManager {
                inner: Arc::new(Handle {
                    session,
                    address: bound,
                    serving: Some(serving),
                }),
            }),
            Err(error) => {
                serving.stop();
                Err(error)
            }
        }
    }

    /// Connects to the manager served at `address` (by [`Manager::listen`] or
    /// `amphi manager serve`, in any process) with `authkey` (Python's
    /// `BaseManager(address, authkey).connect()`). The key is kept for this process and the
    /// children it starts, so that proxies passed to them connect too.
    ///
    /// [`Error::AuthenticationFailed`] when the keys differ; [`Error::Socket`] when nothing
    /// listens there; [`Error::Unsupported`] in the browser.
    pub fn connect(address: &SocketAddress, authkey: &AuthKey) -> Result<SocketManager, Error> {
        let name = address.to_string();
        let session = match key_for(&name) {
            // A key that another handle uses: check the new one on a connection of its own
            // before it replaces the old one.
            Some(known) if known.as_bytes() != authkey.as_bytes() => {
                Client::connect_timeout(address, authkey, CONNECT_PATIENCE)?.close();
                remember_key(&name, authkey);
                Session::to(&Address::Socket(name))?
            }
            Some(_) => Session::to(&Address::Socket(name))?,
            None => {
                remember_key(&name, authkey);
                Session::to(&Address::Socket(name.clone())).inspect_err(|_| forget_key(&name))?
            }
        };
        Ok(SocketManager {
            inner: Arc::new(Handle {
                session,
                address: address.clone(),
                serving: None,
            }),
        })
    }
}

impl SocketManager {
    pub(super) fn session(&self) -> &Session {
        &self.inner.session
    }

    pub(super) fn proxy(&self, reply: Value) -> Result<Arc<Remote>, Error> {
        Remote::created(&self.inner.session, reply)
    }

    /// The manager's address: the one to give clients (with the port the system chose, for a
    /// listening manager asked for port 0).
    pub fn address(&self) -> &SocketAddress {
        &self.inner.address
    }

    /// Whether this process serves the manager (the handle came from [`Manager::listen`])
    /// and its server has not stopped.
    pub fn is_serving(&self) -> bool {
        self.inner
            .serving
            .as_ref()
            .is_some_and(|serving| !serving.stopped.is_set())
    }

    super::proxy::object_constructors!();

    /// Stops the server, from any client (Python's `manager.shutdown()`; the standalone
    /// `amphi manager serve` ends too). Every proxy call then fails with
    /// [`Error::ManagerGone`]. On a listening handle, waits (at most 5 s) for the server to
    /// have closed its listener. Stopping a manager that is gone is not an error.
    pub fn shutdown(&self) -> Result<(), Error> {
        match self
            .session()
            .call(&Request::Shutdown, Deadline::after(SHUTDOWN_PATIENCE))
        {
            Ok(_) | Err(Error::ManagerGone | Error::Timeout) => {}
            Err(error) => return Err(error),
        }
        if let Some(serving) = &self.inner.serving {
            serving.stop();
            serving.stopped.wait_timeout(SHUTDOWN_PATIENCE)?;
        }
        Ok(())
    }

    /// [`shutdown`](SocketManager::shutdown) without blocking the thread.
    pub async fn shutdown_async(&self) -> Result<(), Error> {
        match self.session().call_async(&Request::Shutdown).await {
            Ok(_) | Err(Error::ManagerGone) => {}
            Err(error) => return Err(error),
        }
        if let Some(serving) = &self.inner.serving {
            serving.stop();
            serving.stopped.wait_async().await;
        }
        Ok(())
    }

    /// On a listening handle, waits until the server stops (a client's
    /// [`shutdown`](SocketManager::shutdown)): what a standalone server's main thread does.
    /// [`Error::InvalidArgument`] on a handle that does not serve.
    pub fn wait_for_shutdown(&self) -> Result<(), Error> {
        match &self.inner.serving {
            Some(serving) => serving.stopped.wait(),
            None => Err(Error::InvalidArgument(
                "this handle connects to a manager another process serves".into(),
            )),
        }
    }
}

impl fmt::Debug for SocketManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SocketManager")
            .field("address", &self.inner.address.to_string())
            .field("serving", &self.is_serving())
            .finish()
    }
}
