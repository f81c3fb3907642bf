//! [`Pipe`] and [`Connection`]: Python's `multiprocessing.Pipe` between processes, one byte
//! ring of the shared region (see `ring`) per direction.
//!
//! Each `send` is one frame of JSON, received whole by one `recv`: messages keep their
//! boundaries (an empty message is a message) and their order, and a message longer than the
//! ring streams through it while the receiver drains it. A `send` waits while the ring is
//! full, as a send into an OS pipe does.
//!
//! ## Bytes and typed messages
//!
//! Every message is a frame of bytes, as in Python, where `send` pickles its object and sends
//! the pickle as one byte message. A `Connection<T>` sends a value as the frame of its JSON
//! ([`send`](Connection::send)) and any bytes as a frame of those bytes, not encoded
//! ([`send_bytes`](Connection::send_bytes)); both go down the same stream, in order. A
//! receiver takes the next frame either way: [`recv`](Connection::recv) decodes it as a `T`
//! (bytes that are not the JSON of a `T` are [`RecvError::Decode`], the frame consumed), and
//! [`recv_bytes`](Connection::recv_bytes) hands over its bytes as they are (the JSON of a
//! value sent with `send`). So the byte methods work on every `Connection<T>`; a connection
//! used only for bytes can be a `Connection<()>`. (Between threads a message is a value moved
//! as it is, never bytes: there the byte methods are those of `Connection<Vec<u8>>`.)
//!
//! Closing an end sets a flag on each of its rings: [`WRITE_CLOSED`] on the one it sends into
//! (its peer receives what is left, then [`RecvError::Eof`]) and [`READ_CLOSED`] on the one it
//! receives from (its peer's sends fail with [`SendError::BrokenPipe`]).

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::queue::{decode, encode};
use super::region::{Handle, Object};
use super::ring::drive;
use super::ring::{Ending, Receiving, Ring, Sending, READ_CLOSED, WRITE_CLOSED};
use crate::error::{copy_into, RecvBytesError, RecvError, SendError};
use crate::time::Deadline;
use crate::Error;

const KIND_PIPE: u32 = 0x11;

/// Makes pipes between processes, as Python's `multiprocessing.Pipe(duplex)`.
///
/// # Examples
///
/// ```
/// use amphi::process::{Connection, Pipe, Process};
///
/// fn greet(end: Connection<String>) {
///     let name = end.recv().unwrap();
///     end.send(format!("hello, {name}")).unwrap();
/// }
///
/// let (here, there) = Pipe::new(true)?;
/// let child = Process::new(greet, there);
/// child.start()?;
/// here.send("world".to_owned())?;
/// assert_eq!(here.recv()?, "hello, world");
/// child.join()?;
/// # Ok::<(), amphi::Error>(())
/// ```
#[derive(Debug)]
pub struct Pipe {
    _not_constructed: (),
}

impl Pipe {
    /// A pair of connected ends in the shared region. With `duplex`, both ends send and
    /// receive; without, the pair is `(receiver, sender)`. [`Error::SharedMemory`] where
    /// there is no region or it is full (a duplex pipe takes 128 KiB of it).
    ///
    /// # Examples
    ///
    /// ```
    /// let (receiver, sender) = amphi::process::Pipe::new::<u32>(false)?;
    /// sender.send(1)?;
    /// assert_eq!(receiver.recv()?, 1);
    /// assert_eq!(receiver.send(2), Err(amphi::SendError::NotWritable(2)));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    #[allow(clippy::new_ret_no_self)] // as Python's `Pipe(duplex)`, it makes a pair of ends
    pub fn new<T>(duplex: bool) -> Result<(Connection<T>, Connection<T>), Error> {
        let (forward_object, forward) = Ring::create(KIND_PIPE, 0)?;
        forward.note_writer();
        forward.note_reader();
        if duplex {
            let (backward_object, backward) = Ring::create(KIND_PIPE, 0)?;
            backward.note_writer();
            backward.note_reader();
            let held = Arc::new(vec![forward_object, backward_object]);
            Ok((
                Connection::new(Some(backward), Some(forward), Arc::clone(&held)),
                Connection::new(Some(forward), Some(backward), held),
            ))
        } else {
            let held = Arc::new(vec![forward_object]);
            Ok((
                Connection::new(Some(forward), None, Arc::clone(&held)),
                Connection::new(None, Some(forward), held),
            ))
        }
    }
}

/// One end of a process [`Pipe`], as Python's `multiprocessing.connection.Connection`.
///
/// A handle: pass it to a child as (part of) a [`Process`](super::Process)'s
/// arguments. Messages are values of `T`, serialised with `serde` (JSON); a value that does
/// not serialise is [`SendError::Encode`] and sends nothing. The errors are the thread pipe's:
/// a [`SendError`] that hands the value back, a [`RecvError`].
///
/// # Bytes and typed messages
///
/// Every message is a frame of bytes, as in Python, whose `send` pickles its object and sends
/// the pickle as one byte message. [`send`](Connection::send) sends a value as the frame of its
/// JSON, [`send_bytes`](Connection::send_bytes) any bytes as a frame of those bytes, not
/// encoded; both go down the same stream, in order. A receiver takes the next frame either
/// way: [`recv`](Connection::recv) decodes it as a `T` (bytes that are not the JSON of a `T`
/// are [`RecvError::Decode`], the frame consumed), [`recv_bytes`](Connection::recv_bytes)
/// hands over its bytes as they are (for a value sent with `send`, its JSON). So the byte
/// methods work on every `Connection<T>`; a connection used only for bytes can be a
/// `Connection<()>`. (Between threads a message is a value moved as it is, never bytes: there
/// the byte methods are those of [`Connection<Vec<u8>>`](crate::Connection).)
///
/// Dropping a handle does not close the end (other copies, in other processes, may still use
/// it): call [`close`](Connection::close), after which the peer receives what was sent, then
/// [`RecvError::Eof`]. The peer also gets [`RecvError::Eof`] (within about 100 ms) once the last
/// process that sent on the end, or took it as an argument, has ended, whether it returned or
/// was killed, as a pipe's reader does when the last process holding the other end exits;
/// a receiver never waits forever for a sender that is gone. Likewise a sender waiting for
/// room gets [`SendError::BrokenPipe`] (within about 100 ms) once the last process that
/// received on the other end, or took it as an argument, has ended: a sender never waits
/// forever for a receiver that is gone. A process that dies in the middle of a message breaks
/// that direction instead (`PeerDied`, see [`Queue`](super::Queue)).
///
/// # Examples
///
/// ```
/// let (a, b) = amphi::process::Pipe::new::<Vec<u8>>(true)?;
/// a.send(vec![])?;
/// a.close();
/// assert_eq!(b.recv()?, Vec::<u8>::new());
/// assert_eq!(b.recv(), Err(amphi::RecvError::Eof));
/// # Ok::<(), amphi::Error>(())
/// ```
pub struct Connection<T> {
    incoming: Option<Ring>,
    outgoing: Option<Ring>,
    /// The rings' objects, held by this end's handles in this process.
    held: Arc<Vec<Object>>,
    item: PhantomData<fn(T) -> T>,
}

impl<T> Connection<T> {
    fn new(
        incoming: Option<Ring>,
        outgoing: Option<Ring>,
        held: Arc<Vec<Object>>,
    ) -> Connection<T> {
        Connection {
            incoming,
            outgoing,
            held,
            item: PhantomData,
        }
    }

    fn incoming(&self) -> Result<Ring, RecvError> {
        let ring = self.incoming.ok_or(RecvError::NotReadable)?;
        if self.is_closed() {
            return Err(RecvError::Closed);
        }
        Ok(ring)
    }

    /// Closes this end, for every copy of it: the peer receives what was sent, then
    /// [`RecvError::Eof`]; its sends fail with [`SendError::BrokenPipe`]. This end's calls
    /// fail with `Closed`.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, b) = amphi::process::Pipe::new::<u8>(true)?;
    /// b.close();
    /// assert_eq!(a.send(1), Err(amphi::SendError::BrokenPipe(1)));
    /// assert_eq!(b.recv(), Err(amphi::RecvError::Closed));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn close(&self) {
        if let Some(ring) = self.outgoing {
            ring.close(WRITE_CLOSED);
        }
        if let Some(ring) = self.incoming {
            ring.close(READ_CLOSED);
        }
    }

    /// Whether this end was closed (by any process).
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, _b) = amphi::process::Pipe::new::<u8>(true)?;
    /// assert!(!a.is_closed());
    /// a.close();
    /// assert!(a.is_closed());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn is_closed(&self) -> bool {
        self.outgoing
            .is_some_and(|ring| ring.flags() & WRITE_CLOSED != 0)
            || self
                .incoming
                .is_some_and(|ring| ring.flags() & READ_CLOSED != 0)
    }

    /// Whether this end receives (not the sending end of a one-way pipe).
    ///
    /// # Examples
    ///
    /// ```
    /// let (receiver, sender) = amphi::process::Pipe::new::<u8>(false)?;
    /// assert!(receiver.readable() && !sender.readable());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn readable(&self) -> bool {
        self.incoming.is_some()
    }

    /// Whether this end sends (not the receiving end of a one-way pipe).
    ///
    /// # Examples
    ///
    /// ```
    /// let (receiver, sender) = amphi::process::Pipe::new::<u8>(false)?;
    /// assert!(sender.writable() && !receiver.writable());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn writable(&self) -> bool {
        self.outgoing.is_some()
    }

    /// Waits up to `timeout` for a message (or the end of file) to receive: `Ok(true)` if a
    /// `recv` would not wait, `Ok(false)` after the timeout. [`RecvError::NotReadable`] on the
    /// sending end of a one-way pipe, [`RecvError::Closed`] on a closed end.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let (a, b) = amphi::process::Pipe::new::<u8>(true)?;
    /// assert!(!b.poll(Duration::from_millis(5))?);
    /// a.send(1)?;
    /// assert!(b.poll(Duration::from_millis(5))?);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn poll(&self, timeout: Duration) -> Result<bool, RecvError> {
        let mut polling = self
            .incoming()?
            .polling(Deadline::after(timeout), Ending::WithLastWriter);
        match drive::run(&mut polling) {
            Err(Error::Timeout) => Ok(false),
            polled => polled.map_err(RecvError::from_error),
        }
    }

    /// Completes once a message (or the end of file) is there to receive, without blocking
    /// the thread. [`RecvError::NotReadable`] on the sending end of a one-way pipe,
    /// [`RecvError::Closed`] on a closed end.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, b) = amphi::process::Pipe::new::<u8>(true)?;
    /// a.send(1)?;
    /// futures_executor::block_on(b.poll_async())?;
    /// assert_eq!(b.try_recv(), Ok(1));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub async fn poll_async(&self) -> Result<(), RecvError> {
        let polling = self
            .incoming()?
            .polling(Deadline::NEVER, Ending::WithLastWriter);
        drive::run_async(polling)
            .await
            .map(drop)
            .map_err(RecvError::from_error)
    }

    /// Sends `bytes` as one message, as they are (not JSON-encoded): Python's `send_bytes`;
    /// for a part, pass a slice such as `&message[5..]`. Waits while the pipe's ring is full;
    /// errors as [`send`](Connection::send)'s, with a copy of the bytes handed back. See the
    /// type's docs for how bytes mix with the values `send` sends.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, b) = amphi::process::Pipe::new::<()>(true)?;
    /// a.send_bytes(b"raw")?;
    /// a.send_bytes(b"")?;
    /// assert_eq!(b.recv_bytes()?, b"raw");
    /// assert_eq!(b.recv_bytes()?, b"", "an empty message is a message");
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn send_bytes(&self, bytes: &[u8]) -> Result<(), SendError<Vec<u8>>> {
        self.sending_frame(bytes.to_vec())
            .and_then(|mut sending| drive::run(&mut sending))
            .map_err(|refused| SendError::from_error(refused, bytes.to_vec()))
    }

    /// Receives the next message as the bytes it travelled as, waiting for one (Python's
    /// `recv_bytes()`): those given to `send_bytes`, or the JSON of a value given to `send`.
    /// Errors as [`recv`](Connection::recv)'s (never `Decode`).
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, b) = amphi::process::Pipe::new::<u32>(true)?;
    /// a.send(42)?;
    /// assert_eq!(b.recv_bytes()?, b"42", "a value travels as its JSON");
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn recv_bytes(&self) -> Result<Vec<u8>, RecvError> {
        self.recv_frame(Deadline::NEVER)
    }

    /// Receives the next message of at most `maxlength` bytes (Python's
    /// `recv_bytes(maxlength)`). A longer message is taken and handed back whole in
    /// [`RecvBytesError::BufferTooShort`]; the connection stays usable (Python's raises
    /// `OSError` and leaves it unreadable).
    ///
    /// # Examples
    ///
    /// ```
    /// use amphi::RecvBytesError;
    /// let (a, b) = amphi::process::Pipe::new::<()>(true)?;
    /// a.send_bytes(b"12345")?;
    /// let refused = b.recv_bytes_max(4).unwrap_err();
    /// assert_eq!(refused, RecvBytesError::BufferTooShort(b"12345".to_vec()));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn recv_bytes_max(&self, maxlength: usize) -> Result<Vec<u8>, RecvBytesError> {
        let message = self.recv_bytes()?;
        if message.len() > maxlength {
            return Err(RecvBytesError::BufferTooShort(message));
        }
        Ok(message)
    }

    /// Receives the next message into the front of `buffer`, returning its length (Python's
    /// `recv_bytes_into(buffer)`; for an offset, pass `&mut buffer[offset..]`). A message
    /// longer than `buffer` is taken and handed back whole in
    /// [`RecvBytesError::BufferTooShort`] (Python's `BufferTooShort`); `buffer` is untouched.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, b) = amphi::process::Pipe::new::<()>(true)?;
    /// a.send_bytes(b"hello")?;
    /// let mut buffer = [0u8; 16];
    /// let length = b.recv_bytes_into(&mut buffer[2..])?;
    /// assert_eq!(&buffer[2..2 + length], b"hello");
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn recv_bytes_into(&self, buffer: &mut [u8]) -> Result<usize, RecvBytesError> {
        copy_into(self.recv_bytes()?, buffer)
    }

    /// A send of one frame holding `payload`, to run with a driver of `drive`.
    fn sending_frame(&self, payload: Vec<u8>) -> Result<Sending, Error> {
        let ring = self.outgoing.ok_or(Error::NotWritable)?;
        if self.is_closed() {
            return Err(Error::Closed);
        }
        let sending = ring.sending(payload, Deadline::NEVER, 0, |flags| {
            if flags & WRITE_CLOSED != 0 {
                Some(Error::Closed)
            } else if flags & READ_CLOSED != 0 {
                Some(Error::BrokenPipe)
            } else {
                None
            }
        })?;
        Ok(sending.broken_when_reader_gone())
    }

    fn receiving(&self, deadline: Deadline) -> Result<Receiving, RecvError> {
        Ok(self
            .incoming()?
            .receiving(deadline, Error::Eof, Ending::WithLastWriter))
    }

    /// The payload of the next frame, within `wait`.
    fn recv_frame(&self, deadline: Deadline) -> Result<Vec<u8>, RecvError> {
        drive::run(&mut self.receiving(deadline)?).map_err(RecvError::from_error)
    }

    /// What keeps this end's rings alive, for an op that may outlive the call (see `drive`).
    fn keep(&self) -> Arc<Vec<Object>> {
        Arc::clone(&self.held)
    }
}

impl<T: Serialize + DeserializeOwned> Connection<T> {
    /// Sends `value` to the other end, as one frame of its JSON, waiting while the pipe's ring
    /// is full.
    ///
    /// Fails, handing the value back, with [`SendError::BrokenPipe`] once the other end is
    /// closed (or, while the ring is full, once the last process that received on it has
    /// ended), [`SendError::Closed`] on a closed end, [`SendError::NotWritable`] on the
    /// receiving end of a one-way pipe, [`SendError::Encode`] if the value does not
    /// serialise, [`SendError::WouldBlock`] on the browser's main thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, b) = amphi::process::Pipe::new(true)?;
    /// a.send((1, "one".to_owned()))?;
    /// assert_eq!(b.recv()?, (1, "one".to_owned()));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        self.sending(&value)
            .and_then(|mut sending| drive::run(&mut sending))
            .map_err(|refused| SendError::from_error(refused, value))
    }

    /// Sends `value` to the other end without blocking the thread: the future completes once
    /// it is in the pipe. Dropping the future before that sends nothing, except for a message
    /// longer than the ring (64 KiB) that has begun to stream: a new thread then sends it
    /// whole. Errors as [`send`](Connection::send)'s (never `WouldBlock`).
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, b) = amphi::process::Pipe::new(true)?;
    /// futures_executor::block_on(a.send_async("hi".to_owned()))?;
    /// assert_eq!(b.recv()?, "hi");
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub async fn send_async(&self, value: T) -> Result<(), SendError<T>> {
        let sending = match self.sending(&value) {
            Ok(sending) => sending.keeping(self.keep()),
            Err(refused) => return Err(SendError::from_error(refused, value)),
        };
        drive::run_async(sending)
            .await
            .map_err(|refused| SendError::from_error(refused, value))
    }

    fn sending(&self, value: &T) -> Result<Sending, Error> {
        if self.outgoing.is_none() {
            return Err(Error::NotWritable);
        }
        self.sending_frame(encode(value)?)
    }

    /// Receives the next message, waiting for one.
    ///
    /// [`RecvError::Eof`] once the other end is closed and everything it sent was received;
    /// [`RecvError::Closed`] on a closed end, [`RecvError::NotReadable`] on the sending end of
    /// a one-way pipe, [`RecvError::Decode`] if the message is not a `T`,
    /// [`RecvError::WouldBlock`] on the browser's main thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, b) = amphi::process::Pipe::new(true)?;
    /// a.send("last words".to_owned())?;
    /// a.close();
    /// assert_eq!(b.recv()?, "last words");
    /// assert_eq!(b.recv(), Err(amphi::RecvError::Eof));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn recv(&self) -> Result<T, RecvError> {
        self.recv_within(Deadline::NEVER)
    }

    /// Receives a message if one is there; [`RecvError::Empty`] otherwise.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, b) = amphi::process::Pipe::new::<u8>(true)?;
    /// assert_eq!(b.try_recv(), Err(amphi::RecvError::Empty));
    /// a.send(3)?;
    /// assert_eq!(b.try_recv(), Ok(3));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn try_recv(&self) -> Result<T, RecvError> {
        self.recv_within(Deadline::NOW)
    }

    /// Receives the next message, or returns [`RecvError::Timeout`] if none began within
    /// `timeout` (a message longer than the ring, once begun, is read to its end).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let (_a, b) = amphi::process::Pipe::new::<u8>(true)?;
    /// let outcome = b.recv_timeout(Duration::from_millis(5));
    /// assert_eq!(outcome, Err(amphi::RecvError::Timeout));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvError> {
        self.recv_within(Deadline::after(timeout))
    }

    /// Receives the next message without blocking the thread, waiting for one. Dropping the
    /// future before it completes takes nothing, except for a message longer than the ring
    /// (64 KiB) that has begun to stream: a new thread then reads it to its end and discards
    /// it. Errors as [`recv`](Connection::recv)'s (never `WouldBlock`).
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, b) = amphi::process::Pipe::new(true)?;
    /// a.send(Some(4))?;
    /// assert_eq!(futures_executor::block_on(b.recv_async())?, Some(4));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub async fn recv_async(&self) -> Result<T, RecvError> {
        let message = drive::run_async(self.receiving(Deadline::NEVER)?.keeping(self.keep()))
            .await
            .map_err(RecvError::from_error)?;
        decode(&message).map_err(RecvError::from_error)
    }

    fn recv_within(&self, deadline: Deadline) -> Result<T, RecvError> {
        decode(&self.recv_frame(deadline)?).map_err(RecvError::from_error)
    }
}

impl<T> Clone for Connection<T> {
    /// Another handle to the same end.
    fn clone(&self) -> Connection<T> {
        Connection::new(self.incoming, self.outgoing, Arc::clone(&self.held))
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

/// What a [`Connection`] travels as.
#[derive(Serialize, Deserialize)]
struct Ends {
    incoming: Option<Handle>,
    outgoing: Option<Handle>,
}

impl<T> Serialize for Connection<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Ends {
            incoming: self.incoming.map(|ring| ring.handle()),
            outgoing: self.outgoing.map(|ring| ring.handle()),
        }
        .serialize(serializer)
    }
}

impl<'de, T> Deserialize<'de> for Connection<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Connection<T>, D::Error> {
        let ends = Ends::deserialize(deserializer)?;
        let mut held = Vec::new();
        let mut open = |handle: Option<Handle>| {
            handle
                .map(|handle| {
                    Ring::open(handle, KIND_PIPE, |aux| aux == 0).map(|(object, ring)| {
                        held.push(object);
                        ring
                    })
                })
                .transpose()
                .map_err(serde::de::Error::custom)
        };
        let outgoing = open(ends.outgoing)?;
        if let Some(ring) = outgoing {
            // The process that takes a sending end is its writer until it sends, or ends.
            ring.note_writer();
        }
        let incoming = open(ends.incoming)?;
        if let Some(ring) = incoming {
            // And the process that takes a receiving end is its reader until it receives.
            ring.note_reader();
        }
        Ok(Connection::new(incoming, outgoing, Arc::new(held)))
    }
}
