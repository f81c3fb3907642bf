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
/// again for the next client. Handshakes run one at a time, each bounded by the timeout.
///
/// A Unix socket's file is created by [`bind`](Listener::bind) (which fails if the path
/// exists) and removed when the listener is dropped. `Send` and `Sync`.
///
/// A server that serves each client on a thread of its own:
///
/// ```no_run
/// use amphi::process::connection::{Address, AuthKey, Listener};
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
        self.accept_before(Deadline::NEVER)
    }

    /// [`accept`](Listener::accept), giving up with [`Error::Timeout`] if no client connects
    /// within `timeout` (a client that connected has the handshake timeout to authenticate).
    pub fn accept_timeout(&self, timeout: Duration) -> Result<SocketConnection, Error> {
        self.accept_before(Deadline::after(timeout))
    }

    fn accept_before(&self, deadline: Deadline) -> Result<SocketConnection, Error> {
        let stream = self.socket.accept(deadline).map_err(|error| match error {
            Error::Socket(why) => Error::Socket(format!("accept at {}: {why}", self.address)),
            other => other,
        })?;
        let connection = SocketConnection::new(stream, self.address.to_string());
        let handshake = Deadline::after(self.handshake_timeout);
        let authenticated = deliver(&connection, &self.authkey, handshake)
            .and_then(|()| answer(&connection, &self.authkey, handshake));
        match authenticated {
            Ok(()) => Ok(connection),
            Err(error) => {
                connection.close();
                Err(match error {
                    Error::AuthenticationFailed(why) => {
                        Error::AuthenticationFailed(format!("a client of {}: {why}", self.address))
                    }
                    other => other,
                })
            }
        }
    }
}
