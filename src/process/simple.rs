//! [`SimpleQueue`]: Python's `multiprocessing.SimpleQueue`, an unbounded process [`Queue`]
//! with a smaller API.
//!
//! It is a [`Queue`] created with no `maxsize` and travels as that queue's handle; opening a
//! handle also checks that the queue is unbounded.

use std::fmt;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::queue::Queue;
use crate::error::{GetError, PutError};
use crate::Error;

/// An unbounded first-in first-out queue shared by processes, as Python's
/// `multiprocessing.SimpleQueue`: [`put`](SimpleQueue::put), [`get`](SimpleQueue::get),
/// [`empty`](SimpleQueue::empty), [`close`](SimpleQueue::close), plus `try_get`,
/// `get_timeout`, and the `_async` forms of `put` and `get` (see [`Queue`] for a future
/// dropped before it completes).
///
/// A handle to a queue in the shared region: clone it, or pass it to children as (part of) a
/// [`Process`](super::Process)'s arguments, and every copy is the same queue. Items
/// travel serialised (JSON) through the queue's 64 KiB ring of bytes, and a put waits for a
/// getter to make room when the ring is full, as Python's, which writes to a pipe and blocks
/// when the pipe is full (unlike an unbounded [`Queue`]'s, which never waits: a simple queue
/// has no buffer in the sender and no feeder thread); it never waits for a slot. Dying
/// processes are handled as by [`Queue`], except that a consumer killed while the ring is full
/// leaves a waiting put waiting (as in Python): use a [`Queue`] where that matters.
///
/// # Examples
///
/// ```
/// use amphi::process::{Process, SimpleQueue};
///
/// fn double(queues: (SimpleQueue<u32>, SimpleQueue<u32>)) {
///     let (requests, replies) = queues;
///     while let Ok(n) = requests.get() {
///         replies.put((2 * n)).unwrap();
///     }
/// }
///
/// let (requests, replies) = (SimpleQueue::new()?, SimpleQueue::new()?);
/// let child = Process::new(double, (requests.clone(), replies.clone()));
/// child.start()?;
/// requests.put(21)?;
/// assert_eq!(replies.get()?, 42);
/// requests.close(); // the child's `get` returns `Closed`
/// child.join()?;
/// # Ok::<(), amphi::Error>(())
/// ```
pub struct SimpleQueue<T> {
    queue: Queue<T>,
}

impl<T: Serialize + DeserializeOwned> SimpleQueue<T> {
    /// An empty queue. [`Error::SharedMemory`] where there is no region or it is full.
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::process::SimpleQueue::<String>::new()?;
    /// assert!(queue.empty());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn new() -> Result<SimpleQueue<T>, Error> {
        Queue::unbounded().map(|queue| SimpleQueue { queue })
    }

    /// Puts `item` at the back, waiting only for room in the ring (never buffered in the
    /// sender, see the type's docs).
    ///
    /// [`PutError::Closed`] once the queue is closed, [`PutError::Encode`] if the item does
    /// not serialise, [`PutError::WouldBlock`] on the browser's main thread; the item comes
    /// back in each.
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::process::SimpleQueue::new()?;
    /// queue.put("a".to_owned())?;
    /// assert!(!queue.empty());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn put(&self, item: T) -> Result<(), PutError<T>> {
        self.queue.put_direct(item, crate::time::Deadline::NEVER)
    }

    /// Takes the item at the front, waiting for one (see [`Queue::get`]): [`GetError::Closed`]
    /// once the queue is closed and drained.
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::process::SimpleQueue::new()?;
    /// queue.put(1)?;
    /// assert_eq!(queue.get(), Ok(1));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn get(&self) -> Result<T, GetError> {
        self.queue.get()
    }

    /// Puts `item` at the back without blocking the thread (see [`Queue::put_async`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::process::SimpleQueue::new()?;
    /// futures_executor::block_on(queue.put_async("b".to_owned()))?;
    /// assert_eq!(queue.get()?, "b");
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub async fn put_async(&self, item: T) -> Result<(), PutError<T>> {
        self.queue.put_direct_async(item).await
    }

    /// Takes the item at the front without blocking the thread, waiting for one (see
    /// [`Queue::get_async`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::process::SimpleQueue::new()?;
    /// queue.put(2)?;
    /// assert_eq!(futures_executor::block_on(queue.get_async()), Ok(2));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub async fn get_async(&self) -> Result<T, GetError> {
        self.queue.get_async().await
    }

    /// Takes the item at the front if there is one; [`GetError::Empty`] otherwise.
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::process::SimpleQueue::<u8>::new()?;
    /// assert_eq!(queue.try_get(), Err(amphi::GetError::Empty));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn try_get(&self) -> Result<T, GetError> {
        self.queue.try_get()
    }

    /// Takes the item at the front, or returns [`GetError::Timeout`] if none came within
    /// `timeout`.
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::process::SimpleQueue::<u8>::new()?;
    /// let outcome = queue.get_timeout(std::time::Duration::from_millis(5));
    /// assert_eq!(outcome, Err(amphi::GetError::Timeout));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn get_timeout(&self, timeout: Duration) -> Result<T, GetError> {
        self.queue.get_timeout(timeout)
    }
}

impl<T> SimpleQueue<T> {
    /// Whether the queue holds no items (a snapshot).
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::process::SimpleQueue::new()?;
    /// assert!(queue.empty());
    /// queue.put(0.5)?;
    /// assert!(!queue.empty());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn empty(&self) -> bool {
        self.queue.empty()
    }

    /// Closes the queue for every process, as [`Queue::close`]: puts fail with
    /// [`PutError::Closed`]; gets take the items left, then fail with [`GetError::Closed`].
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::process::SimpleQueue::new()?;
    /// queue.put(1)?;
    /// queue.close();
    /// assert_eq!(queue.put(2), Err(amphi::PutError::Closed(2)));
    /// assert_eq!(queue.get(), Ok(1));
    /// assert_eq!(queue.get(), Err(amphi::GetError::Closed));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn close(&self) {
        self.queue.close();
    }

    /// Whether the queue was closed (by any process).
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::process::SimpleQueue::<u8>::new()?;
    /// assert!(!queue.is_closed());
    /// queue.close();
    /// assert!(queue.is_closed());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn is_closed(&self) -> bool {
        self.queue.is_closed()
    }
}

impl<T> Clone for SimpleQueue<T> {
    /// Another handle to the same queue.
    fn clone(&self) -> SimpleQueue<T> {
        SimpleQueue {
            queue: self.queue.clone(),
        }
    }
}

impl<T> fmt::Debug for SimpleQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimpleQueue")
            .field("empty", &self.empty())
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl<T> Serialize for SimpleQueue<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.queue.serialize(serializer)
    }
}

impl<'de, T> Deserialize<'de> for SimpleQueue<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<SimpleQueue<T>, D::Error> {
        let queue = Queue::<T>::deserialize(deserializer)?;
        if queue.maxsize() != 0 {
            return Err(serde::de::Error::custom(
                "a handle to a bounded queue, not to a SimpleQueue",
            ));
        }
        Ok(SimpleQueue { queue })
    }
}
