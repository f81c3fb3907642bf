//! What a pipe operation can fail with: [`SendError`], which hands the value back,
//! [`RecvError`], and [`RecvBytesError`], which hands back a message too long for the room
//! given. Thread and process connections return the same types; all convert into
//! [`crate::Error`] for `?`.

use std::fmt;

use crate::Error;

/// Why a send failed, with the value handed back (take it with
/// [`into_inner`](SendError::into_inner)).
///
/// The same type for thread and process connections. `Full` comes only from thread pipes
/// (whose sends never wait); `WouldBlock`, `Encode` and `PeerDied` only from process pipes.
///
/// # Examples
///
/// ```
/// use amphi::{Pipe, SendError};
/// let (receiver, sender) = Pipe::new::<String>(false);
/// drop(receiver);
/// let refused = sender.send("hello".to_owned()).unwrap_err();
/// assert!(matches!(refused, SendError::BrokenPipe(_)));
/// assert_eq!(refused.into_inner(), "hello");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub enum SendError<T> {
    /// This end was closed; it can no longer be used.
    Closed(T),
    /// The other end was closed: nobody will receive (Python's `BrokenPipeError`).
    BrokenPipe(T),
    /// This is the receiving end of a one-way pipe.
    NotWritable(T),
    /// `u32::MAX - 1` messages already wait unreceived (thread pipes).
    Full(T),
    /// A send that must wait for room, on a thread that may not block (the browser's main
    /// thread; process pipes): use `send_async` there.
    WouldBlock(T),
    /// The value could not be serialised (process pipes: its `Serialize` impl failed, JSON
    /// cannot express it, or it is longer than 4 GiB); nothing was sent.
    Encode {
        /// The value that was not sent.
        item: T,
        /// Why it could not be serialised.
        reason: String,
    },
    /// A process died in the middle of a message in this direction of a process pipe, which
    /// can no longer be used (see [`Error::PeerDied`]).
    PeerDied {
        /// The value that was not sent.
        item: T,
        /// The id of the process that died.
        pid: u32,
    },
}

impl<T> SendError<T> {
    /// The value that was not sent.
    ///
    /// # Examples
    ///
    /// ```
    /// let (receiver, _sender) = amphi::Pipe::new::<u32>(false);
    /// assert_eq!(receiver.send(7).unwrap_err().into_inner(), 7);
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            SendError::Closed(value)
            | SendError::BrokenPipe(value)
            | SendError::NotWritable(value)
            | SendError::Full(value)
            | SendError::WouldBlock(value)
            | SendError::Encode { item: value, .. }
            | SendError::PeerDied { item: value, .. } => value,
        }
    }

    /// The failure without the value, as amphi's [`Error`].
    ///
    /// # Examples
    ///
    /// ```
    /// let (receiver, _sender) = amphi::Pipe::new::<u32>(false);
    /// assert_eq!(receiver.send(7).unwrap_err().error(), amphi::Error::NotWritable);
    /// ```
    pub fn error(&self) -> Error {
        match self {
            SendError::Closed(_) => Error::Closed,
            SendError::BrokenPipe(_) => Error::BrokenPipe,
            SendError::NotWritable(_) => Error::NotWritable,
            SendError::Full(_) => Error::Full,
            SendError::WouldBlock(_) => Error::WouldBlock,
            SendError::Encode { reason, .. } => Error::Encode(reason.clone()),
            SendError::PeerDied { pid, .. } => Error::PeerDied { pid: *pid },
        }
    }

    /// `error`, raised by a send of `value` on a process pipe, with the value handed back.
    pub(crate) fn from_error(error: Error, value: T) -> SendError<T> {
        match error {
            Error::Closed => SendError::Closed(value),
            Error::BrokenPipe => SendError::BrokenPipe(value),
            Error::NotWritable => SendError::NotWritable(value),
            Error::Full => SendError::Full(value),
            Error::WouldBlock => SendError::WouldBlock(value),
            Error::Encode(reason) | Error::InvalidArgument(reason) => SendError::Encode {
                item: value,
                reason,
            },
            Error::PeerDied { pid } => SendError::PeerDied { item: value, pid },
            other => unreachable!("a send on a pipe cannot fail with: {other}"),
        }
    }
}

impl<T> fmt::Debug for SendError<T> {
    /// Shows the kind of failure, not the value (which need not be `Debug`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Closed(_) => f.write_str("SendError::Closed(..)"),
            SendError::BrokenPipe(_) => f.write_str("SendError::BrokenPipe(..)"),
            SendError::NotWritable(_) => f.write_str("SendError::NotWritable(..)"),
            SendError::Full(_) => f.write_str("SendError::Full(..)"),
            SendError::WouldBlock(_) => f.write_str("SendError::WouldBlock(..)"),
            SendError::Encode { reason, .. } => write!(f, "SendError::Encode({reason:?}, ..)"),
            SendError::PeerDied { pid, .. } => write!(f, "SendError::PeerDied({pid}, ..)"),
        }
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error(), f)
    }
}

impl<T> std::error::Error for SendError<T> {}

impl<T> From<SendError<T>> for Error {
    /// Drops the value and keeps the reason, so `?` works in functions returning amphi's errors.
    fn from(error: SendError<T>) -> Error {
        error.error()
    }
}

/// Why a receive failed. Nothing was taken, except with `Decode` (the message is consumed).
///
/// The same type for thread and process connections; `Decode` and `PeerDied` come only from
/// process pipes.
///
/// # Examples
///
/// ```
/// use amphi::RecvError;
/// let (a, b) = amphi::pipe::<u8>();
/// assert_eq!(b.try_recv(), Err(RecvError::Empty));
/// drop(a);
/// assert_eq!(b.recv(), Err(RecvError::Eof));
/// let as_amphi_error: amphi::Error = RecvError::Eof.into();
/// assert_eq!(as_amphi_error, amphi::Error::Eof);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecvError {
    /// Nothing to receive right now (from `try_recv`).
    #[error("nothing to receive: the connection is empty")]
    Empty,
    /// Nothing came for the whole timeout (from `recv_timeout`).
    #[error("timed out: nothing came")]
    Timeout,
    /// A blocking receive on a thread that may not block (the browser's main thread): use
    /// `recv_async` or `try_recv` there.
    #[error(
        "this thread may not block (the browser's main thread cannot call Atomics.wait): \
         use recv_async or try_recv"
    )]
    WouldBlock,
    /// The other end was closed and every message it sent has been received (Python's
    /// `EOFError`).
    #[error(
        "end of file: the other end of the pipe is closed and everything it sent was received"
    )]
    Eof,
    /// This end was closed; it can no longer be used.
    #[error("the connection is closed")]
    Closed,
    /// This is the sending end of a one-way pipe.
    #[error("this end of a one-way pipe only sends")]
    NotReadable,
    /// The message could not be deserialised as the receiver's type (process pipes: the
    /// processes disagree on it, or it was sent with `send_bytes`). The message is consumed.
    #[error("a received message could not be deserialised: {0}")]
    Decode(String),
    /// A process died in the middle of a message in this direction of a process pipe, which
    /// can no longer be used (see [`Error::PeerDied`]).
    #[error("process {pid} died in the middle of a message: the pipe is unusable")]
    PeerDied {
        /// The id of the process that died.
        pid: u32,
    },
}

impl RecvError {
    /// `error`, raised by a receive (or a poll) on a connection.
    pub(crate) fn from_error(error: Error) -> RecvError {
        match error {
            Error::Empty => RecvError::Empty,
            Error::Timeout => RecvError::Timeout,
            Error::WouldBlock => RecvError::WouldBlock,
            Error::Eof => RecvError::Eof,
            Error::Closed => RecvError::Closed,
            Error::NotReadable => RecvError::NotReadable,
            Error::Decode(reason) => RecvError::Decode(reason),
            Error::PeerDied { pid } => RecvError::PeerDied { pid },
            other => unreachable!("a receive on a pipe cannot fail with: {other}"),
        }
    }
}

impl From<RecvError> for Error {
    fn from(error: RecvError) -> Error {
        match error {
            RecvError::Empty => Error::Empty,
            RecvError::Timeout => Error::Timeout,
            RecvError::WouldBlock => Error::WouldBlock,
            RecvError::Eof => Error::Eof,
            RecvError::Closed => Error::Closed,
            RecvError::NotReadable => Error::NotReadable,
            RecvError::Decode(reason) => Error::Decode(reason),
            RecvError::PeerDied { pid } => Error::PeerDied { pid },
        }
    }
}

/// Why [`recv_bytes_into`](crate::Connection::recv_bytes_into) or
/// [`recv_bytes_max`](crate::Connection::recv_bytes_max) failed: the receive itself, or a
/// message longer than the room given, handed back whole.
///
/// # Examples
///
/// ```
/// use amphi::RecvBytesError;
/// let (a, b) = amphi::pipe();
/// a.send_bytes(b"too long")?;
/// let mut buffer = [0; 3];
/// let refused = b.recv_bytes_into(&mut buffer).unwrap_err();
/// assert_eq!(refused, RecvBytesError::BufferTooShort(b"too long".to_vec()));
/// assert_eq!(refused.into_message(), Some(b"too long".to_vec()));
/// # Ok::<(), amphi::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecvBytesError {
    /// The receive failed; nothing was taken.
    #[error(transparent)]
    Recv(#[from] RecvError),
    /// The message is longer than the buffer (or `maxlength`): Python's `BufferTooShort`,
    /// which also carries the whole message. The message was taken off the pipe; here it is.
    #[error("the buffer is too short for a message of {} bytes", .0.len())]
    BufferTooShort(Vec<u8>),
}

impl RecvBytesError {
    /// The message that did not fit, if that was the failure.
    pub fn into_message(self) -> Option<Vec<u8>> {
        match self {
            RecvBytesError::BufferTooShort(message) => Some(message),
            RecvBytesError::Recv(_) => None,
        }
    }
}

impl fmt::Debug for RecvBytesError {
    /// Shows the length of a message that did not fit, not its bytes (it may be long).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecvBytesError::Recv(error) => write!(f, "RecvBytesError::Recv({error:?})"),
            RecvBytesError::BufferTooShort(message) => {
                write!(f, "RecvBytesError::BufferTooShort({} bytes)", message.len())
            }
        }
    }
}

impl From<RecvBytesError> for Error {
    /// A message too long for the buffer is [`Error::BufferTooShort`] (its bytes are dropped).
    fn from(error: RecvBytesError) -> Error {
        match error {
            RecvBytesError::Recv(error) => error.into(),
            RecvBytesError::BufferTooShort(message) => Error::BufferTooShort {
                length: message.len(),
            },
        }
    }
}

/// Copies a received `message` into the front of `buffer`, or hands it back if it is longer.
pub(crate) fn copy_into(message: Vec<u8>, buffer: &mut [u8]) -> Result<usize, RecvBytesError> {
    let Some(front) = buffer.get_mut(..message.len()) else {
        return Err(RecvBytesError::BufferTooShort(message));
    };
    front.copy_from_slice(&message);
    Ok(message.len())
}
