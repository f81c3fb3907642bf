//! What a queue operation can fail with: [`PutError`], which hands the item back, and
//! [`GetError`]. The thread and process queues return the same two types; both convert into
//! [`crate::Error`] for `?`.

use std::fmt;

use crate::Error;

/// Why a put failed, with the item handed back (take it with [`into_inner`](PutError::into_inner)).
///
/// The same type for thread and process queues. The last two variants come only from process
/// queues, whose items travel serialised through shared memory.
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
#[derive(Clone, PartialEq, Eq)]
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
    /// The item could not be serialised (process queues: its `Serialize` impl failed, JSON
    /// cannot express it, or it is longer than 4 GiB); the queue is unchanged.
    Encode {
        /// The item that was not put.
        item: T,
        /// Why it could not be serialised.
        reason: String,
    },
    /// A process died in the middle of an item of this process queue, which can no longer be
    /// used (see [`Error::PeerDied`]).
    PeerDied {
        /// The item that was not put.
        item: T,
        /// The id of the process that died.
        pid: u32,
    },
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
            | PutError::WouldBlock(item)
            | PutError::Encode { item, .. }
            | PutError::PeerDied { item, .. } => item,
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
            PutError::Encode { reason, .. } => Error::Encode(reason.clone()),
            PutError::PeerDied { pid, .. } => Error::PeerDied { pid: *pid },
        }
    }

    /// `error`, raised by a put of `item` into a process queue, with the item handed back.
    pub(crate) fn from_error(error: Error, item: T) -> PutError<T> {
        match error {
            Error::Full => PutError::Full(item),
            Error::Closed => PutError::Closed(item),
            Error::Timeout => PutError::Timeout(item),
            Error::WouldBlock => PutError::WouldBlock(item),
            Error::Encode(reason) | Error::InvalidArgument(reason) => {
                PutError::Encode { item, reason }
            }
            Error::PeerDied { pid } => PutError::PeerDied { item, pid },
            other => unreachable!("a put into a queue cannot fail with: {other}"),
        }
    }
}

impl<T> fmt::Debug for PutError<T> {
    /// Shows the kind of failure, not the item (which need not be `Debug`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PutError::Full(_) => f.write_str("PutError::Full(..)"),
            PutError::Closed(_) => f.write_str("PutError::Closed(..)"),
            PutError::Timeout(_) => f.write_str("PutError::Timeout(..)"),
            PutError::WouldBlock(_) => f.write_str("PutError::WouldBlock(..)"),
            PutError::Encode { reason, .. } => write!(f, "PutError::Encode({reason:?}, ..)"),
            PutError::PeerDied { pid, .. } => write!(f, "PutError::PeerDied({pid}, ..)"),
        }
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
/// The same type for thread and process queues. The last two variants come only from process
/// queues.
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
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
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
    /// The item taken from a process queue could not be deserialised as the getter's type
    /// (the processes disagree on it). The item is consumed.
    #[error("a received item could not be deserialised: {0}")]
    Decode(String),
    /// A process died in the middle of an item of this process queue, which can no longer be
    /// used (see [`Error::PeerDied`]).
    #[error("process {pid} died in the middle of an item: the queue is unusable")]
    PeerDied {
        /// The id of the process that died.
        pid: u32,
    },
}

impl GetError {
    /// `error`, raised by a get from a process queue.
    pub(crate) fn from_error(error: Error) -> GetError {
        match error {
            Error::Empty => GetError::Empty,
            Error::Closed => GetError::Closed,
            Error::Timeout => GetError::Timeout,
            Error::WouldBlock => GetError::WouldBlock,
            Error::Decode(reason) => GetError::Decode(reason),
            Error::PeerDied { pid } => GetError::PeerDied { pid },
            other => unreachable!("a get from a queue cannot fail with: {other}"),
        }
    }
}

impl From<GetError> for Error {
    fn from(error: GetError) -> Error {
        match error {
            GetError::Empty => Error::Empty,
            GetError::Closed => Error::Closed,
            GetError::Timeout => Error::Timeout,
            GetError::WouldBlock => Error::WouldBlock,
            GetError::Decode(reason) => Error::Decode(reason),
            GetError::PeerDied { pid } => Error::PeerDied { pid },
        }
    }
}
