//! Stream sockets between unrelated processes, and random bytes for keys and challenges: what
//! `crate::process::connection` needs from the platform.
//!
//! | item | meaning |
//! |---|---|
//! | [`Endpoint`] | where a socket listens or connects: a Unix socket's path, or a TCP host and port |
//! | [`SocketListener`] | `bind` an endpoint, `accept` a stream (and the peer's address in words) before a [`Deadline`], the TCP port it got |
//! | [`SocketStream`] | `connect` before a deadline, `read` before a deadline, `write_all` of several parts as one write, `wait_readable`, `shutdown` |
//! | [`fill_random`] | bytes from the operating system's cryptographic random source |
//!
//! Failures are amphi's errors: [`Error::Timeout`] when a deadline passed,
//! [`Error::BrokenPipe`] when a write finds the peer gone, [`Error::Socket`] with the
//! platform's words for anything else, and [`Error::Unsupported`] where there are no sockets.
//! A read at the end of the stream (or on a connection the peer reset) returns 0 bytes.
//!
//! Natively (`sys/native/socket.rs`) these are `std`'s Unix and TCP sockets, with `poll(2)` for
//! deadlines and `sendmsg(2)` with `MSG_NOSIGNAL` for writes (a child process runs before
//! `main`, where `SIGPIPE` is not yet ignored). The browser has no sockets a page may listen
//! on, and the loom model none at all: there every operation returns [`Error::Unsupported`].

use std::path::Path;

#[cfg(all(not(target_arch = "wasm32"), not(amphi_loom)))]
pub(crate) use super::backend::socket::{fill_random, SocketListener, SocketStream};
#[cfg(any(target_arch = "wasm32", amphi_loom))]
pub(crate) use unsupported::{fill_random, SocketListener, SocketStream};

/// Where a socket listens or connects.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Endpoint<'a> {
    /// A Unix stream socket at this path of the file system.
    Unix(&'a Path),
    /// A TCP socket at this host (a name or an address) and port.
    Tcp {
        /// The host name or address.
        host: &'a str,
        /// The port; 0 asks the system for a free one (listeners only).
        port: u16,
    },
}

/// The browser and the loom model, which have no sockets.
#[cfg(any(target_arch = "wasm32", amphi_loom))]
mod unsupported {
    use super::Endpoint;
    use crate::time::Deadline;
    use crate::Error;

    fn refuse(endpoint: Endpoint<'_>) -> Error {
        let at = match endpoint {
            Endpoint::Unix(path) => format!("unix:{}", path.display()),
            Endpoint::Tcp { host, port } => format!("tcp://{host}:{port}"),
        };
        Error::Unsupported(format!(
            "sockets between unrelated processes ({at}) exist natively only: a browser page \
             cannot listen on or connect to Unix or TCP sockets"
        ))
    }

    /// A bound listener; never constructed here.
    #[derive(Debug)]
    pub(crate) enum SocketListener {}

    impl SocketListener {
        pub(crate) fn bind(endpoint: Endpoint<'_>) -> Result<SocketListener, Error> {
            Err(refuse(endpoint))
        }

        pub(crate) fn accept(&self, _deadline: Deadline) -> Result<(SocketStream, String), Error> {
            match *self {}
        }

        pub(crate) fn tcp_port(&self) -> Option<u16> {
            match *self {}
        }
    }

    /// A connected stream; never constructed here.
    #[derive(Debug)]
    pub(crate) enum SocketStream {}

    impl SocketStream {
        pub(crate) fn connect(
            endpoint: Endpoint<'_>,
            _deadline: Deadline,
        ) -> Result<SocketStream, Error> {
            Err(refuse(endpoint))
        }

        pub(crate) fn read(&self, _buffer: &mut [u8], _deadline: Deadline) -> Result<usize, Error> {
            match *self {}
        }

        pub(crate) fn write_all(&self, _parts: &[&[u8]]) -> Result<(), Error> {
            match *self {}
        }

        pub(crate) fn wait_readable(&self, _deadline: Deadline) -> Result<bool, Error> {
            match *self {}
        }

        pub(crate) fn shutdown(&self) {
            match *self {}
        }
    }

    /// Refuses: without sockets no key or challenge is needed, and the browser build has no
    /// cryptographic source wired in.
    pub(crate) fn fill_random(_bytes: &mut [u8]) -> Result<(), Error> {
        Err(Error::Unsupported(
            "random authentication keys are made natively only".to_owned(),
        ))
    }
}
