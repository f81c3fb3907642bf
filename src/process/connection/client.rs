//! [`Client`]: connecting to a [`Listener`](super::Listener) and authenticating.

use std::time::Duration;

use super::challenge::{answer, deliver};
use super::{Address, AuthKey, SocketConnection, DEFAULT_HANDSHAKE_TIMEOUT};
use crate::sys::SocketStream;
use crate::time::Deadline;
use crate::Error;

/// Connects to a [`Listener`](super::Listener) (Python's `multiprocessing.connection.Client`).
///
/// A namespace for [`connect`](Client::connect) and [`connect_timeout`](Client::connect_timeout),
/// which hand out a [`SocketConnection`] once both ends have authenticated each other.
#[derive(Debug)]
pub enum Client {}

impl Client {
    /// Connects to `address` and authenticates with `authkey`, within
    /// [`DEFAULT_HANDSHAKE_TIMEOUT`].
    ///
    /// [`Error::Socket`] if nothing listens there (or the connection fails);
    /// [`Error::AuthenticationFailed`] if the keys differ or the listener breaks the
    /// handshake; [`Error::Unsupported`] in the browser.
    pub fn connect(address: &Address, authkey: &AuthKey) -> Result<SocketConnection, Error> {
        Client::connect_before(address, authkey, Deadline::after(DEFAULT_HANDSHAKE_TIMEOUT))
    }

    /// [`connect`](Client::connect) within `timeout`, connection and handshake together:
    /// [`Error::Timeout`] if no connection was made in time, [`Error::AuthenticationFailed`]
    /// if the handshake did not complete in time.
    pub fn connect_timeout(
        address: &Address,
        authkey: &AuthKey,
        timeout: Duration,
    ) -> Result<SocketConnection, Error> {
        Client::connect_before(address, authkey, Deadline::after(timeout))
    }

    fn connect_before(
        address: &Address,
        authkey: &AuthKey,
        deadline: Deadline,
    ) -> Result<SocketConnection, Error> {
        let stream =
            SocketStream::connect(address.endpoint(), deadline).map_err(|error| match error {
                Error::Socket(why) => Error::Socket(format!("cannot connect to {address}: {why}")),
                other => other,
            })?;
        let connection = SocketConnection::new(stream, address.to_string());
        let authenticated = answer(&connection, authkey, deadline)
            .and_then(|()| deliver(&connection, authkey, deadline));
        match authenticated {
            Ok(()) => Ok(connection),
            Err(error) => {
                connection.close();
                Err(match error {
                    Error::AuthenticationFailed(why) => {
                        Error::AuthenticationFailed(format!("listener at {address}: {why}"))
                    }
                    other => other,
                })
            }
        }
    }
}
