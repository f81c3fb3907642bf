//! [`SocketConnection`]: one end of an authenticated socket connection, carrying messages both
//! ways.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::frame::{header, FrameError, FrameReader};
use crate::sys::SocketStream;
use crate::time::Deadline;
use crate::Error;

/// The longest message a [`SocketConnection`] accepts unless told otherwise: 64 MiB.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 64 << 20;

/// One end of a connection made by a [`Listener`](super::Listener) or a
/// [`Client`](super::Client), once both ends have authenticated each other.
///
/// Messages keep their boundaries. Bytes go as they are
/// ([`send_bytes`](SocketConnection::send_bytes), [`recv_bytes`](SocketConnection::recv_bytes),
/// which a Python `multiprocessing.connection.Connection` at the other end reads and writes
/// with its own `send_bytes` and `recv_bytes`); serde values as JSON
/// ([`send`](SocketConnection::send), [`recv`](SocketConnection::recv)).
///
/// Failures, as amphi's [`Error`]: [`Error::Eof`] once the peer closed the connection and
/// everything it sent was received; [`Error::BrokenPipe`] for a send to a peer that is gone;
/// [`Error::Timeout`] from the `_timeout` forms (a message partly received is kept, and the
/// next receive resumes it); [`Error::Closed`] after [`close`](SocketConnection::close) or
/// after the connection broke; [`Error::MessageTooLong`] for a message over
/// [`max_message_size`](SocketConnection::max_message_size), refused from its header without
/// reading or allocating it, after which the connection is closed (the stream cannot be
/// trusted any more: Python closes it too); [`Error::Encode`] and [`Error::Decode`] for values
/// that do not serialise or deserialise (the message is consumed); [`Error::Socket`] for
/// anything else the platform reports.
///
/// `Send` and `Sync`: one thread may receive while another sends. Concurrent sends never
/// interleave their messages, nor do concurrent receives.
pub struct SocketConnection {
    stream: SocketStream,
    /// What is known of the peer, for messages (`unix:/path` or `tcp://host:port`).
    peer: String,
    incoming: Mutex<FrameReader>,
    /// Held while a message is written, so that messages never interleave.
    outgoing: Mutex<()>,
    max_message_size: AtomicUsize,
    closed: AtomicBool,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl SocketConnection {
    /// A connection over `stream`, not yet authenticated (the listener and the client run the
    /// handshake before handing it out).
    pub(super) fn new(stream: SocketStream, peer: String) -> SocketConnection {
        SocketConnection {
            stream,
            peer,
            incoming: Mutex::new(FrameReader::new()),
            outgoing: Mutex::new(()),
            max_message_size: AtomicUsize::new(DEFAULT_MAX_MESSAGE_SIZE),
            closed: AtomicBool::new(false),
        }
    }

    /// The other end in words: the address a client connected to; for a connection a
    /// listener accepted, the client's `tcp://ip:port` (a Unix socket's clients have no name:
    /// the listener's `unix:` path).
    pub fn peer(&self) -> &str {
        &self.peer
    }

    /// The longest message this end accepts, in bytes.
    pub fn max_message_size(&self) -> usize {
        self.max_message_size.load(Ordering::Relaxed)
    }

    /// Sets the longest message this end accepts (from the next message on).
    pub fn set_max_message_size(&self, bytes: usize) {
        self.max_message_size.store(bytes, Ordering::Relaxed);
    }

    /// Sends `bytes` as one message.
    ///
    /// ```
    /// # use amphi::process::connection::{AuthKey, Client, Listener};
    /// # let key = AuthKey::random()?;
    /// # let listener = Listener::bind(&"tcp://127.0.0.1:0".parse()?, &key)?;
    /// # let address = listener.address().clone();
    /// # let client = std::thread::spawn(move || Client::connect(&address, &key));
    /// # let server_end = listener.accept()?;
    /// # let client_end = client.join().unwrap()?;
    /// client_end.send_bytes(b"ping")?;
    /// assert_eq!(server_end.recv_bytes()?, b"ping");
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn send_bytes(&self, bytes: &[u8]) -> Result<(), Error> {
        self.send_bytes_vectored(&[bytes])
    }

    /// Sends the concatenation of `parts` as one message (a reply's header and its payload,
    /// without copying them together).
    pub fn send_bytes_vectored(&self, parts: &[&[u8]]) -> Result<(), Error> {
        self.check_open()?;
        let length = parts.iter().map(|part| part.len()).sum();
        let (header, header_length) = header(length);
        let mut all = Vec::with_capacity(parts.len() + 1);
        all.push(&header[..header_length]);
        all.extend_from_slice(parts);
        let _writing = lock(&self.outgoing);
        self.check_open()?;
        self.stream.write_all(&all).inspect_err(|_| {
            // A message may be half written: the stream can carry no other.
            self.break_off();
        })
    }

    /// Serialises `value` as JSON and sends it as one message ([`Error::Encode`] if it does
    /// not serialise; nothing is sent then).
    pub fn send<T: Serialize + ?Sized>(&self, value: &T) -> Result<(), Error> {
        let bytes = serde_json::to_vec(value).map_err(|error| Error::Encode(error.to_string()))?;
        self.send_bytes(&bytes)
    }

    /// The next message, waiting as long as it takes.
    pub fn recv_bytes(&self) -> Result<Vec<u8>, Error> {
        let mut message = Vec::new();
        self.receive(&mut message, Deadline::NEVER)?;
        Ok(message)
    }

    /// The next message, waiting at most `timeout` ([`Error::Timeout`]; a message partly
    /// received is kept for the next call).
    pub fn recv_bytes_timeout(&self, timeout: Duration) -> Result<Vec<u8>, Error> {
        let mut message = Vec::new();
        self.receive(&mut message, Deadline::after(timeout))?;
        Ok(message)
    }

    /// The next message, into `buffer` (cleared first, grown as needed): a server that
    /// dispatches raw requests reuses one buffer for all of them. Its length.
    pub fn recv_bytes_into_vec(&self, buffer: &mut Vec<u8>) -> Result<usize, Error> {
        self.receive(buffer, Deadline::NEVER)?;
        Ok(buffer.len())
    }

    /// [`recv_bytes_into_vec`](SocketConnection::recv_bytes_into_vec), waiting at most
    /// `timeout`.
    pub fn recv_bytes_into_vec_timeout(
        &self,
        buffer: &mut Vec<u8>,
        timeout: Duration,
    ) -> Result<usize, Error> {
        self.receive(buffer, Deadline::after(timeout))?;
        Ok(buffer.len())
    }

    /// The next message, deserialised from JSON as a `T` ([`Error::Decode`] if it is not one;
    /// the message is consumed).
    pub fn recv<T: DeserializeOwned>(&self) -> Result<T, Error> {
        decode(&self.recv_bytes()?)
    }

    /// [`recv`](SocketConnection::recv), waiting at most `timeout`.
    pub fn recv_timeout<T: DeserializeOwned>(&self, timeout: Duration) -> Result<T, Error> {
        decode(&self.recv_bytes_timeout(timeout)?)
    }

    /// Whether a receive would find something without waiting, waiting at most `timeout` for
    /// it (Python's `poll`): `Ok(true)` also when the peer closed (the receive then says
    /// [`Error::Eof`]), `Ok(false)` after the timeout.
    pub fn poll(&self, timeout: Duration) -> Result<bool, Error> {
        self.check_open()?;
        if let Ok(reader) = self.incoming.try_lock() {
            if reader.has_buffered() {
                return Ok(true);
            }
        }
        self.stream.wait_readable(Deadline::after(timeout))
    }

    /// Closes this end: the peer's receives see the end of the stream once they have taken
    /// what was sent, a receive blocked in another thread returns, and every later call here
    /// returns [`Error::Closed`]. Closing twice is harmless.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.stream.shutdown();
    }

    /// Whether [`close`](SocketConnection::close) was called, or the connection broke (a
    /// message over the limit, a malformed or half-written message).
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    fn check_open(&self) -> Result<(), Error> {
        if self.is_closed() {
            Err(Error::Closed)
        } else {
            Ok(())
        }
    }

    /// Closes the connection after the stream broke.
    fn break_off(&self) {
        self.close();
    }

    fn receive(&self, message: &mut Vec<u8>, deadline: Deadline) -> Result<(), Error> {
        let limit = self.max_message_size();
        self.receive_limited(message, limit, usize::MAX, deadline)
    }

    /// The next message, of at most `limit` bytes, reading at most `read_size` bytes from the
    /// stream at a time (the handshake's small reads).
    pub(super) fn receive_limited(
        &self,
        message: &mut Vec<u8>,
        limit: usize,
        read_size: usize,
        deadline: Deadline,
    ) -> Result<(), Error> {
        self.check_open()?;
        let mut reader = lock(&self.incoming);
        self.check_open()?;
        match reader.receive(&self.stream, message, limit, read_size, deadline) {
            Ok(()) => Ok(()),
            Err(FrameError::Timeout) => Err(Error::Timeout),
            Err(FrameError::Eof) if self.is_closed() => Err(Error::Closed),
            Err(FrameError::Eof) => Err(Error::Eof),
            Err(FrameError::Broken(error)) | Err(FrameError::Failed(error)) => {
                self.break_off();
                Err(error)
            }
        }
    }
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    serde_json::from_slice(bytes).map_err(|error| Error::Decode(error.to_string()))
}

impl fmt::Debug for SocketConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SocketConnection")
            .field("peer", &self.peer)
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}
