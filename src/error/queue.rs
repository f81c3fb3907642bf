//! What a queue operation can fail with: [`PutError`], which hands the item back, and
//! [`GetError`]. Both convert into [`crate::Error`] for `?`.

use std::fmt;

use crate::Error;

/// Why a put failed, with the item handed back (take it with [`into_inner`](PutError::into_inner)).
///
/// # Examples
///
/// ```
/// use amphi::{PutError, Queue};
/// let queue = Queue::bounded(1);
/// queue.put("first")?;
/// let refused = queue.try_put("second").unwrap_err();
/// assert!(matches!(refused, PutError::Full("second")));
/// assert_eq!(refused.to_string(), "the queue is full");
/// assert_eq!(refused.into_inner(), "second");
/// # Ok::<(), amphi::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum PutError<T> {
    /// The queue was full (from `try_put`; Python's `queue.Full`).
    Full(T),
    /// The queue is closed and takes no more items.
    Closed(T),
    /// The queue stayed full for the whole timeout (from `put_timeout`).
    Timeout(T),
    /// A blocking put on a thread that may not block (the browser's main thread): use
    /// `put_async` or `try_put` there.
    WouldBlock(T),
}

impl<T> PutError<T> {
    /// The item that was not put.
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::Queue::new(0);
    /// queue.close();
    /// let item = queue.put(vec![1, 2, 3]).unwrap_err().into_inner();
    /// assert_eq!(item, vec![1, 2, 3]);
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            PutError::Full(item)
            | PutError::Closed(item)
            | PutError::Timeout(item)
            | PutError::WouldBlock(item) => item,
        }
    }

    /// The failure without the item, as amphi's [`Error`].
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::Queue::bounded(1);
    /// queue.put(1)?;
    /// let refused = queue.put_timeout(2, std::time::Duration::from_millis(5)).unwrap_err();
    /// assert_eq!(refused.error(), amphi::Error::Timeout);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn error(&self) -> Error {
        match self {
            PutError::Full(_) => Error::Full,
            PutError::Closed(_) => Error::Closed,
            PutError::Timeout(_) => Error::Timeout,
            PutError::WouldBlock(_) => Error::WouldBlock,
        }
    }
}

impl<T> fmt::Debug for PutError<T> {
    /// Shows the kind of failure, not the item (which need not be `Debug`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self {
            PutError::Full(_) => "Full",
            PutError::Closed(_) => "Closed",
            PutError::Timeout(_) => "Timeout",
            PutError::WouldBlock(_) => "WouldBlock",
        };
        write!(f, "PutError::{kind}(..)")
    }
}

impl<T> fmt::Display for PutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PutError::Timeout(_) => f.write_str("timed out: the queue stayed full"),
            other => fmt::Display::fmt(&other.error(), f),
        }
    }
}

impl<T> std::error::Error for PutError<T> {}

impl<T> From<PutError<T>> for Error {
    /// Drops the item and keeps the reason, so `?` works in functions returning amphi's errors.
    fn from(error: PutError<T>) -> Error {
        error.error()
    }
}

/// Why a get failed.
///
/// # Examples
///
/// ```
/// use amphi::{GetError, Queue};
/// let queue: Queue<u32> = Queue::new(0);
/// assert_eq!(queue.try_get(), Err(GetError::Empty));
/// queue.close();
/// assert_eq!(queue.try_get(), Err(GetError::Closed));
/// let as_amphi_error: amphi::Error = GetError::Closed.into();
/// assert_eq!(as_amphi_error, amphi::Error::Closed);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum GetError {
    /// The queue was empty (from `try_get`; Python's `queue.Empty`).
    #[error("the queue is empty")]
    Empty,
    /// The queue is closed and every item it held has been taken.
    #[error("the queue is closed and drained")]
    Closed,
    /// The queue stayed empty for the whole timeout (from `get_timeout`).
    #[error("timed out: the queue stayed empty")]
    Timeout,
    /// A blocking get on a thread that may not block (the browser's main thread): use
    /// `get_async` or `try_get` there.
    #[error(
        "this thread may not block (the browser's main thread cannot call Atomics.wait): \
         use get_async or try_get"
    )]
    WouldBlock,
}

impl From<GetError> for Error {
    fn from(error: GetError) -> Error {
        match error {
            GetError::Empty => Error::Empty,
            GetError::Closed => Error::Closed,
            GetError::Timeout => Error::Timeout,
            GetError::WouldBlock => Error::WouldBlock,
        }
    }
}
