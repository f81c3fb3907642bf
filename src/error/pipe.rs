//! [`SendError`]: why a [`Connection::send`](super::Connection::send) failed, with the value
//! handed back.

use std::fmt;

use crate::Error;

/// Why a send failed, with the value handed back (take it with
/// [`into_inner`](SendError::into_inner)).
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
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum SendError<T> {
    /// This end was closed; it can no longer be used.
    Closed(T),
    /// The other end was closed: nobody will receive (Python's `BrokenPipeError`).
    BrokenPipe(T),
    /// This is the receiving end of a one-way pipe.
    NotWritable(T),
    /// `u32::MAX - 1` messages already wait unreceived.
    Full(T),
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
            | SendError::Full(value) => value,
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
        }
    }
}

impl<T> fmt::Debug for SendError<T> {
    /// Shows the kind of failure, not the value (which need not be `Debug`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self {
            SendError::Closed(_) => "Closed",
            SendError::BrokenPipe(_) => "BrokenPipe",
            SendError::NotWritable(_) => "NotWritable",
            SendError::Full(_) => "Full",
        };
        write!(f, "SendError::{kind}(..)")
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
