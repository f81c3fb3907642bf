//! [`Listener`]: a bound socket that accepts authenticated connections.

use std::time::Duration;

use super::challenge::{answer, deliver};
use super::{Address, AuthKey, SocketConnection};
use crate::sys::SocketListener;
use crate::time::Deadline;
use crate::Error;

/// How long a [`Listener`] gives a new connection to complete the handshake, unless
/// [`set_handshake_timeout`](Listener::set_handshake_timeout) says otherwise: 10 s.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A socket bound to an [`Address`] that accepts connections from clients holding its
/// [`AuthKey`] (Python's `multiprocessing.connection.Listener`).
///
/// [`accept`](Listener::accept) takes the next connection and authenticates it (see the
/// [module](super)) before handing it out. A client that fails the handshake (another key,
/// too many bytes, silence past the [handshake timeout](Listener::handshake_timeout)) is
/// [`Error::AuthenticationFailed`] for that call only, its connection closed: call `accept`
/// again for the next client. `accept` runs handshakes one at a time, each bounded by the
/// timeout; [`accept_unauthenticated`](Listener::accept_unauthenticated) hands out the
/// connection before its handshake, for a server that runs handshakes on threads of their own.
///
/// A Unix socket's file is created by [`bind`](Listener::bind) (which fails if the path
/// exists) and removed when the listener is dropped. `Send` and `Sync`.
///
/// A server that serves each client on a thread of its own:
///
/// ```no_run
/// use amphi::process::connection::{AuthKey, Listener};
/// use amphi::Error;
///
/// let key = AuthKey::from_env("APP_AUTHKEY")?;
/// let listener = Listener::bind(&"unix:/run/app.sock".parse()?, &key)?;
/// loop {
///     let connection = match listener.accept() {
///         Ok(connection) => connection,
///         Err(Error::AuthenticationFailed(why)) => {
///             eprintln!("refused a client: {why}");
///             continue;
///         }
///         Err(other) => return Err(other),
///     };
///     std::thread::spawn(move || -> amphi::Result<()> {
///         let mut request = Vec::new();
///         loop {
///             match connection.recv_bytes_into_vec(&mut request) {
///                 Ok(_) => connection.send_bytes(&request)?, // an echo server
///                 Err(Error::Eof) => return Ok(()),
///                 Err(other) => return Err(other),
///             }
///         }
///     });
/// }
/// # Ok::<(), amphi::Error>(())
/// ```
#[derive(Debug)]
pub struct Listener {
    socket: SocketListener,
    address: Address,
    authkey: AuthKey,
    handshake_timeout: Duration,
}

impl Listener {
    /// Binds `address` and listens, for clients holding `authkey`.
    ///
    /// [`Error::Socket`] if the address cannot be bound (in use, a path that exists, no
    /// permission); [`Error::Unsupported`] in the browser.
    pub fn bind(address: &Address, authkey: &AuthKey) -> Result<Listener, Error> {
        let socket = SocketListener::bind(address.endpoint()).map_err(|error| match error {
            Error::Socket(why) => Error::Socket(format!("cannot listen at {address}: {why}")),
            other => other,
        })?;
        let address = match (address, socket.tcp_port()) {
            (Address::Tcp { host, .. }, Some(port)) => Address::tcp(host.clone(), port),
            (other, _) => other.clone(),
        };
        Ok(Listener {
            socket,
            address,
            authkey: authkey.clone(),
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
        })
    }

    /// The address listened at, with the port the system chose if port 0 was asked for: the
    /// address to give clients.
    pub fn address(&self) -> &Address {
        &self.address
    }

    /// How long a new connection has to complete the handshake.
    pub fn handshake_timeout(&self) -> Duration {
        self.handshake_timeout
    }

    /// Sets how long a new connection has to complete the handshake (from the next accept).
    pub fn set_handshake_timeout(&mut self, timeout: Duration) {
        self.handshake_timeout = timeout;
    }

    /// Waits for the next client, as long as it takes, and authenticates it.
    pub fn accept(&self) -> Result<SocketConnection, Error> {
        self.accept_pending(Deadline::NEVER)?.authenticate()
    }

    /// [`accept`](Listener::accept), giving up with [`Error::Timeout`] if no client connects
    /// within `timeout` (a client that connected has the handshake timeout to authenticate).
    pub fn accept_timeout(&self, timeout: Duration) -> Result<SocketConnection, Error> {
        self.accept_pending(Deadline::after(timeout))?
            .authenticate()
    }

    /// Waits for the next client, as long as it takes, without authenticating it yet: a
    /// server that runs each handshake on a thread of its own calls
    /// [`authenticate`](PendingConnection::authenticate) there, so that a client that stalls
    /// its handshake delays nobody else. The handshake timeout runs from now.
    pub fn accept_unauthenticated(&self) -> Result<PendingConnection, Error> {
        self.accept_pending(Deadline::NEVER)
    }

    /// [`accept_unauthenticated`](Listener::accept_unauthenticated), giving up with
    /// [`Error::Timeout`] if no client connects within `timeout`.
    pub fn accept_unauthenticated_timeout(
        &self,
        timeout: Duration,
    ) -> Result<PendingConnection, Error> {
        self.accept_pending(Deadline::after(timeout))
    }

    fn accept_pending(&self, deadline: Deadline) -> Result<PendingConnection, Error> {
        let (stream, peer) = self.socket.accept(deadline).map_err(|error| match error {
            Error::Socket(why) => Error::Socket(format!("accept at {}: {why}", self.address)),
            other => other,
        })?;
        Ok(PendingConnection {
            connection: SocketConnection::new(stream, peer),
            authkey: self.authkey.clone(),
            deadline: Deadline::after(self.handshake_timeout),
            listener: self.address.to_string(),
        })
    }
}

/// A connection a [`Listener`] accepted, before the handshake: nothing can be sent or
/// received on it until [`authenticate`](PendingConnection::authenticate) succeeds.
///
/// Dropping it closes the connection.
///
/// ```no_run
/// # use amphi::process::connection::{AuthKey, Listener};
/// # let key = AuthKey::random()?;
/// # let listener = Listener::bind(&"127.0.0.1:5000".parse()?, &key)?;
/// loop {
///     let pending = listener.accept_unauthenticated()?;
///     std::thread::spawn(move || {
///         let Ok(connection) = pending.authenticate() else {
///             return; // another key, or a client that broke the handshake
///         };
///         while let Ok(request) = connection.recv_bytes() {
///             let _ = connection.send_bytes(&request);
///         }
///     });
/// }
/// # Ok::<(), amphi::Error>(())
/// ```
#[derive(Debug)]
pub struct PendingConnection {
    connection: SocketConnection,
    authkey: AuthKey,
    deadline: Deadline,
    /// The listener's address, for messages.
    listener: String,
}

impl PendingConnection {
    /// The client's address in words (`tcp://ip:port`; for a Unix socket, whose clients have
    /// no name, the listener's `unix:` path).
    pub fn peer(&self) -> &str {
        self.connection.peer()
    }

    /// Runs the handshake (see the [module](super)): the connection once the client proved it
    /// holds the key and the listener did too, within the listener's handshake timeout
    /// counted from the accept. [`Error::AuthenticationFailed`] otherwise, the connection
    /// closed.
    pub fn authenticate(self) -> Result<SocketConnection, Error> {
        let connection = self.connection;
        let authenticated = deliver(&connection, &self.authkey, self.deadline)
            .and_then(|()| answer(&connection, &self.authkey, self.deadline));
        match authenticated {
            Ok(()) => Ok(connection),
            Err(error) => {
                connection.close();
                Err(match error {
                    Error::AuthenticationFailed(why) => Error::AuthenticationFailed(format!(
                        "client {} of {}: {why}",
                        connection.peer(),
                        self.listener
                    )),
                    other => other,
                })
            }
        }
    }
}
