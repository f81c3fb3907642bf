//! Pipes between threads: Python's `multiprocessing.Pipe` and its `Connection`s.
//!
//! ## A tour
//!
//! - [`pipe`] (or `Pipe::new(true)`): two [`Connection`]s joined both ways.
//! - [`Pipe::new(false)`](Pipe::new): a one-way pair `(receiver, sender)`, as Python's
//!   `Pipe(duplex=False)`; using an end the wrong way is an error
//!   ([`RecvError::NotReadable`], [`SendError::NotWritable`]).
//! - Errors by operation: a send fails with a [`SendError`] that hands the value back, a
//!   receive with a [`RecvError`], the same types as a process pipe's.
//! - [`Connection::send`] never waits; [`Connection::recv`] comes in four forms, and so does
//!   waiting for a message ([`Connection::poll`] with a timeout, `try_poll`, `poll_async`).
//! - Bytes are `Connection<Vec<u8>>`, with [`send_bytes`](Connection::send_bytes),
//!   [`recv_bytes`](Connection::recv_bytes), [`recv_bytes_max`](Connection::recv_bytes_max)
//!   and [`recv_bytes_into`](Connection::recv_bytes_into) (Python's `BufferTooShort`, which
//!   carries the whole message, is [`RecvBytesError::BufferTooShort`]).
//!
//! ## Bytes and typed messages
//!
//! Python's `Connection` is untyped: `send` pickles, `send_bytes` does not, and both go down one
//! stream of byte messages. amphi's is `Connection<T>`. Between threads a message is a value of
//! `T`, moved as it is, never serialised, so there is no byte form of a value to receive: the
//! byte methods are those of a `Connection<Vec<u8>>`, where `send_bytes(b)` is `send(b.to_vec())`
//! and `recv_bytes()` is `recv()`. Between processes every message is a frame of bytes, so a
//! process [`Connection<T>`](crate::process::Connection) has the byte methods for every `T`
//! (`send` sends the JSON of its value, `send_bytes` the bytes as they are; see there).
//!
//! Each `send` is one message, received whole by one `recv`: messages are never merged or
//! split, and an empty message is a message. Between threads a message moves as it is (no copy,
//! no serialisation): any `T: Send`.
//!
//! ```
//! use amphi::{pipe, Error, Thread};
//!
//! let (parent, child) = pipe::<String>();
//! let echo = Thread::spawn(move || {
//!     while let Ok(message) = child.recv() {
//!         child.send(message.to_uppercase()).ok();
//!     }
//!     // `child` is dropped here, which closes it
//! })?;
//! parent.send("hello".into())?;
//! assert_eq!(parent.recv()?, "HELLO");
//! parent.close(); // the echo thread's recv now returns Eof
//! echo.join()?;
//! # Ok::<(), amphi::Error>(())
//! ```
//!
//! ## End of file, and ends that die
//!
//! Closing an end, explicitly or by dropping it, is the end of file for its peer: the peer
//! receives everything already sent, then every `recv` returns [`RecvError::Eof`]
//! at once (never a hang) and `poll` returns `true`; the peer's sends fail with
//! [`SendError::BrokenPipe`], value handed back.
//!
//! A thread that panics unwinds, natively and in the browser, and drops the connections it
//! owns, so its peer sees the end of file as above; the peer's `join` reports the panic.
//!
//! ## How it is built
//!
//! Each direction is an unbounded queue (the thread queues' state machine, `channel::Core`): the sending
//! end closes it for end of file; the receiving end closes it, dropping what is left, when it
//! goes away. A pipe between processes will keep the same ends and errors over a queue of
//! serialised messages in shared memory.

use super::channel::{Core, LocalStore};
use crate::error::{copy_into, GetError, PutError, RecvBytesError, RecvError, SendError};
use crate::sync::atomic::{AtomicBool, Ordering};
use crate::time::Deadline;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Makes pipes, as Python's `multiprocessing.Pipe(duplex)`.
///
/// # Examples
///
/// ```
/// let (receiver, sender) = amphi::Pipe::new::<u32>(false);
/// sender.send(1)?;
/// assert_eq!(receiver.recv()?, 1);
/// assert!(receiver.send(2).is_err(), "a one-way receiver cannot send");
/// # Ok::<(), amphi::Error>(())
/// ```
#[derive(Debug)]
pub struct Pipe {
    _not_constructed: (),
}

impl Pipe {
    /// A pair of connected ends. With `duplex`, both ends send and receive; without, the pair
    /// is `(receiver, sender)`: the first only receives, the second only sends.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, b) = amphi::Pipe::new::<&str>(true);
    /// a.send("to b")?;
    /// b.send("to a")?;
    /// assert_eq!((a.recv()?, b.recv()?), ("to a", "to b"));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    #[allow(clippy::new_ret_no_self)] // as Python's `Pipe(duplex)`, it makes a pair of ends
    pub fn new<T: Send>(duplex: bool) -> (Connection<T>, Connection<T>) {
        let forward = Arc::new(channel());
        if duplex {
            let backward = Arc::new(channel());
            (
                Connection::new(Some(Arc::clone(&backward)), Some(Arc::clone(&forward))),
                Connection::new(Some(forward), Some(backward)),
            )
        } else {
            (
                Connection::new(Some(Arc::clone(&forward)), None),
                Connection::new(None, Some(forward)),
            )
        }
    }
}

/// A pair of connected ends that both send and receive (Python's `Pipe()`).
///
/// # Examples
///
/// ```
/// let (a, b) = amphi::pipe();
/// a.send(42)?;
/// assert_eq!(b.recv()?, 42);
/// # Ok::<(), amphi::Error>(())
/// ```
pub fn pipe<T: Send>() -> (Connection<T>, Connection<T>) {
    Pipe::new(true)
}

fn channel<T>() -> Channel<T> {
    Channel::new(LocalStore::new(), 0)
}

/// One direction of a pipe: an unbounded queue of messages. The sending end closes it to say
/// "end of file"; the receiving end closes it (and discards what is left) when it goes away.
pub(super) type Channel<T> = Core<LocalStore<T>>;

/// One end of a [`Pipe`](super::Pipe): sends messages to the other end and receives the
/// messages it sends. Each message is one value of `T`, moved as it is; messages keep their
/// boundaries and their order.
///
/// Receiving comes in four forms ([`recv`](Connection::recv), `try_`, `_timeout`, `_async`)
/// and so does waiting for a message ([`poll`](Connection::poll)). Sending never waits.
/// Dropping a connection closes it.
///
/// A send fails with a [`SendError`] that hands the value back, a receive with a
/// [`RecvError`]: the same types as a [process pipe's](crate::process::Connection). Bytes are
/// a `Connection<Vec<u8>>`, with Python's [`send_bytes`](Connection::send_bytes),
/// [`recv_bytes`](Connection::recv_bytes) and [`recv_bytes_into`](Connection::recv_bytes_into):
/// a message moves between threads as the value it is, never serialised, so there is no byte
/// form of another `T` (a process pipe, whose messages are frames of bytes, has the byte
/// methods for every `T`).
///
/// Meant for one sender and one receiver per direction, like Python's; shared through an
/// `Arc`, every call stays safe, but concurrent receivers take turns in no set order, and a
/// `poll` briefly holds the message it found, so a concurrent `try_recv` may miss it.
///
/// # Examples
///
/// ```
/// let (here, there) = amphi::pipe::<&str>();
/// here.send("ping")?;
/// assert_eq!(there.recv()?, "ping");
/// there.send("pong")?;
/// assert_eq!(here.recv()?, "pong");
/// drop(there);
/// assert_eq!(here.recv(), Err(amphi::RecvError::Eof));
/// # Ok::<(), amphi::Error>(())
/// ```
pub struct Connection<T> {
    incoming: Option<Arc<Channel<T>>>,
    outgoing: Option<Arc<Channel<T>>>,
    closed: AtomicBool,
}

impl<T> Connection<T> {
    pub(super) fn new(
        incoming: Option<Arc<Channel<T>>>,
        outgoing: Option<Arc<Channel<T>>>,
    ) -> Connection<T> {
        Connection {
            incoming,
            outgoing,
            closed: AtomicBool::new(false),
        }
    }

    /// Sends `value` to the other end. Never waits; works on every thread.
    ///
    /// Fails, handing the value back, with [`SendError::BrokenPipe`] once the other end is
    /// closed, [`SendError::Closed`] on a closed connection and [`SendError::NotWritable`] on
    /// the receiving end of a one-way pipe.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, b) = amphi::pipe();
    /// a.send(vec![1, 2, 3])?;
    /// assert_eq!(b.recv()?, [1, 2, 3]);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        if self.is_closed() {
            return Err(SendError::Closed(value));
        }
        let Some(outgoing) = &self.outgoing else {
            return Err(SendError::NotWritable(value));
        };
        match outgoing.try_put(value) {
            Ok(()) => Ok(()),
            Err(PutError::Full(value)) => Err(SendError::Full(value)),
            // The channel is closed: by the receiver going away, or by our own close racing.
            Err(refused) if self.is_closed() => Err(SendError::Closed(refused.into_inner())),
            Err(refused) => Err(SendError::BrokenPipe(refused.into_inner())),
        }
    }

    /// Receives the next message, waiting for one.
    ///
    /// Once the other end is closed and every message it sent was received: [`RecvError::Eof`],
    /// at once and every time (never a hang). Also [`RecvError::Closed`] on a closed connection,
    /// [`RecvError::NotReadable`] on the sending end of a one-way pipe, and [`RecvError::WouldBlock`]
    /// on the browser's main thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, b) = amphi::pipe();
    /// a.send("last words")?;
    /// a.close();
    /// assert_eq!(b.recv()?, "last words");
    /// assert_eq!(b.recv(), Err(amphi::RecvError::Eof));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn recv(&self) -> Result<T, RecvError> {
        let received = self.incoming()?.get(Deadline::NEVER);
        self.received(received)
    }

    /// Receives a message if one is waiting right now ([`RecvError::Empty`] if not). Never
    /// blocks; works on every thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, b) = amphi::pipe::<u8>();
    /// assert_eq!(b.try_recv(), Err(amphi::RecvError::Empty));
    /// a.send(1)?;
    /// assert_eq!(b.try_recv(), Ok(1));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn try_recv(&self) -> Result<T, RecvError> {
        let received = self.incoming()?.try_get();
        self.received(received)
    }

    /// Receives the next message, waiting at most `timeout` ([`RecvError::Timeout`] after that).
    ///
    /// # Examples
    ///
    /// ```
    /// let (_a, b) = amphi::pipe::<u8>();
    /// let outcome = b.recv_timeout(std::time::Duration::from_millis(5));
    /// assert_eq!(outcome, Err(amphi::RecvError::Timeout));
    /// ```
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvError> {
        let received = self.incoming()?.get(Deadline::after(timeout));
        self.received(received)
    }

    /// Receives the next message without blocking the thread. Works on the browser's main
    /// thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, b) = amphi::pipe();
    /// a.send('x')?;
    /// assert_eq!(futures_executor::block_on(b.recv_async()), Ok('x'));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub async fn recv_async(&self) -> Result<T, RecvError> {
        let received = self.incoming()?.get_async().await;
        self.received(received)
    }

    /// Waits at most `timeout` until [`recv`](Connection::recv) would not wait: `Ok(true)` when
    /// a message is waiting or the other end is closed (`recv` then returns [`RecvError::Eof`]),
    /// `Ok(false)` when the time ran out. Takes nothing. Python's `poll(timeout)`.
    /// [`RecvError::WouldBlock`] on the browser's main thread (use [`try_poll`](Connection::try_poll)).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let (a, b) = amphi::pipe();
    /// assert!(!b.poll(Duration::from_millis(5))?);
    /// a.send(())?;
    /// assert!(b.poll(Duration::from_millis(5))?);
    /// assert!(b.poll(Duration::ZERO)?, "polling takes nothing");
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn poll(&self, timeout: Duration) -> Result<bool, RecvError> {
        let ready = self
            .incoming()?
            .wait_ready(Deadline::after(timeout))
            .map_err(RecvError::from_error)?;
        self.still_open().map(|()| ready)
    }

    /// Whether [`recv`](Connection::recv) would return at once (Python's `poll()` without a
    /// timeout). Never blocks; works on every thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, b) = amphi::pipe();
    /// assert!(!b.try_poll()?);
    /// a.send(Vec::<u8>::new())?; // an empty message is a message
    /// assert!(b.try_poll()?);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn try_poll(&self) -> Result<bool, RecvError> {
        Ok(self.incoming()?.is_ready())
    }

    /// Waits without blocking the thread until [`recv`](Connection::recv) would return at
    /// once. Works on the browser's main thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, b) = amphi::pipe();
    /// a.send(1)?;
    /// futures_executor::block_on(b.poll_async())?;
    /// assert_eq!(b.try_recv(), Ok(1));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub async fn poll_async(&self) -> Result<(), RecvError> {
        self.incoming()?.wait_ready_async().await;
        self.still_open()
    }

    /// Closes this end: the other end receives what was already sent, then [`RecvError::Eof`];
    /// its sends fail with [`SendError::BrokenPipe`]. Messages sent to this end and not yet
    /// received are dropped. Later calls on this end fail with `Closed`; closing again does
    /// nothing. Dropping the connection closes it too.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, b) = amphi::pipe::<u8>();
    /// a.close();
    /// assert!(a.is_closed());
    /// assert_eq!(a.recv(), Err(amphi::RecvError::Closed));
    /// assert_eq!(b.recv(), Err(amphi::RecvError::Eof));
    /// assert!(matches!(b.send(1), Err(amphi::SendError::BrokenPipe(1))));
    /// ```
    pub fn close(&self) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        if let Some(outgoing) = &self.outgoing {
            outgoing.close(); // end of file for the other end, once it has drained
        }
        if let Some(incoming) = &self.incoming {
            incoming.close(); // wakes receivers of this end, refuses the other end's sends
            incoming.discard_after_close();
        }
    }

    /// Whether this end was closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, _b) = amphi::pipe::<u8>();
    /// assert!(!a.is_closed());
    /// a.close();
    /// assert!(a.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Whether this end can receive (false for the sending end of a one-way pipe).
    ///
    /// # Examples
    ///
    /// ```
    /// let (receiver, sender) = amphi::Pipe::new::<u8>(false);
    /// assert!(receiver.readable() && !sender.readable());
    /// ```
    pub fn readable(&self) -> bool {
        self.incoming.is_some()
    }

    /// Whether this end can send (false for the receiving end of a one-way pipe).
    ///
    /// # Examples
    ///
    /// ```
    /// let (receiver, sender) = amphi::Pipe::new::<u8>(false);
    /// assert!(sender.writable() && !receiver.writable());
    /// ```
    pub fn writable(&self) -> bool {
        self.outgoing.is_some()
    }

    fn incoming(&self) -> Result<&Channel<T>, RecvError> {
        self.still_open()?;
        self.incoming.as_deref().ok_or(RecvError::NotReadable)
    }

    fn still_open(&self) -> Result<(), RecvError> {
        if self.is_closed() {
            Err(RecvError::Closed)
        } else {
            Ok(())
        }
    }

    /// What a receive returns: a closed channel means end of file, unless this end closed it.
    fn received(&self, received: Result<T, GetError>) -> Result<T, RecvError> {
        match received {
            Ok(value) => Ok(value),
            Err(GetError::Closed) => {
                self.still_open()?;
                Err(RecvError::Eof)
            }
            Err(other) => Err(RecvError::from_error(other.into())),
        }
    }
}

impl Connection<Vec<u8>> {
    /// Sends a copy of `bytes` as one message (Python's `send_bytes`; for a part, pass a
    /// slice such as `&msg[5..]`). An empty message is a message. The same as
    /// `send(bytes.to_vec())`: a refused copy comes back in the [`SendError`].
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, b) = amphi::pipe();
    /// a.send_bytes(b"abc")?;
    /// a.send_bytes(b"")?;
    /// assert_eq!(b.recv_bytes()?, b"abc");
    /// assert_eq!(b.recv_bytes()?, b"");
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn send_bytes(&self, bytes: &[u8]) -> Result<(), SendError<Vec<u8>>> {
        self.send(bytes.to_vec())
    }

    /// Receives one whole message of bytes, as sent (Python's `recv_bytes()`); the same as
    /// [`recv`](Connection::recv).
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, b) = amphi::pipe();
    /// a.send_bytes(b"a")?;
    /// a.send_bytes(b"bc")?;
    /// assert_eq!(b.recv_bytes()?, b"a", "messages are never merged");
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn recv_bytes(&self) -> Result<Vec<u8>, RecvError> {
        self.recv()
    }

    /// Receives one whole message of at most `maxlength` bytes (Python's
    /// `recv_bytes(maxlength)`). A longer message is taken and handed back whole in
    /// [`RecvBytesError::BufferTooShort`]; the connection stays usable (Python's raises
    /// `OSError` and leaves it unreadable).
    ///
    /// # Examples
    ///
    /// ```
    /// use amphi::RecvBytesError;
    /// let (a, b) = amphi::pipe();
    /// a.send_bytes(b"four")?;
    /// a.send_bytes(b"five!")?;
    /// assert_eq!(b.recv_bytes_max(4)?, b"four");
    /// let refused = b.recv_bytes_max(4).unwrap_err();
    /// assert_eq!(refused, RecvBytesError::BufferTooShort(b"five!".to_vec()));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn recv_bytes_max(&self, maxlength: usize) -> Result<Vec<u8>, RecvBytesError> {
        let message = self.recv()?;
        if message.len() > maxlength {
            return Err(RecvBytesError::BufferTooShort(message));
        }
        Ok(message)
    }

    /// Receives one whole message into the front of `buffer`, returning its length (Python's
    /// `recv_bytes_into(buffer)`; for an offset, pass `&mut buffer[offset..]`). A message
    /// longer than `buffer` is taken and handed back whole in
    /// [`RecvBytesError::BufferTooShort`] (Python's `BufferTooShort`); `buffer` is untouched.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, b) = amphi::pipe();
    /// a.send_bytes(b"hello")?;
    /// let mut buffer = [0u8; 8];
    /// let length = b.recv_bytes_into(&mut buffer)?;
    /// assert_eq!(&buffer[..length], b"hello");
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn recv_bytes_into(&self, buffer: &mut [u8]) -> Result<usize, RecvBytesError> {
        copy_into(self.recv()?, buffer)
    }
}

impl<T> Drop for Connection<T> {
    fn drop(&mut self) {
        self.close();
    }
}

impl<T> fmt::Debug for Connection<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("readable", &self.readable())
            .field("writable", &self.writable())
            .field("closed", &self.is_closed())
            .finish()
    }
}
