//! [`SimpleQueue`]: Python's `queue.SimpleQueue` (and `multiprocessing.SimpleQueue`), an
//! unbounded FIFO queue whose `put` never waits.
//!
//! As with [`Queue`](super::Queue), a thread that dies loses only the item it had taken; the
//! queue stays usable, and closing it releases consumers that wait for a dead producer.

use std::fmt;
use std::time::Duration;

use super::channel::Core;
use super::channel::LocalStore;
use crate::error::{GetError, PutError};
use crate::time::Deadline;

/// An unbounded first-in, first-out queue, as Python's `SimpleQueue`: no capacity, no task
/// tracking, and a [`put`](SimpleQueue::put) that never waits (so it works on every thread,
/// the browser's main thread included). Getting comes in four forms.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// let results = Arc::new(amphi::SimpleQueue::new());
/// let worker = {
///     let results = Arc::clone(&results);
///     amphi::Thread::spawn(move || results.put(6 * 7))?
/// };
/// assert_eq!(results.get(), Ok(42));
/// worker.join()??;
/// # Ok::<(), amphi::Error>(())
/// ```
pub struct SimpleQueue<T> {
    core: Core<LocalStore<T>>,
}

impl<T> SimpleQueue<T> {
    /// An empty queue.
    ///
    /// # Examples
    ///
    /// ```
    /// let queue: amphi::SimpleQueue<String> = amphi::SimpleQueue::new();
    /// assert!(queue.empty());
    /// ```
    pub fn new() -> SimpleQueue<T> {
        SimpleQueue {
            core: Core::new(LocalStore::new(), 0),
        }
    }

    /// Puts `item` at the back. Never waits. Fails only on a closed queue
    /// ([`PutError::Closed`]), handing the item back.
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::SimpleQueue::new();
    /// queue.put("a")?;
    /// queue.put("b")?;
    /// assert_eq!(queue.qsize(), 2);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn put(&self, item: T) -> Result<(), PutError<T>> {
        self.core.try_put(item)
    }

    /// Takes the front item, waiting while the queue is empty (see [`Queue::get`]).
    ///
    /// [`Queue::get`]: crate::Queue::get
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::SimpleQueue::new();
    /// queue.put(1)?;
    /// assert_eq!(queue.get(), Ok(1));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn get(&self) -> Result<T, GetError> {
        self.core.get(Deadline::NEVER)
    }

    /// Takes the front item if there is one right now ([`GetError::Empty`] if not).
    ///
    /// # Examples
    ///
    /// ```
    /// let queue: amphi::SimpleQueue<u8> = amphi::SimpleQueue::new();
    /// assert_eq!(queue.try_get(), Err(amphi::GetError::Empty));
    /// ```
    pub fn try_get(&self) -> Result<T, GetError> {
        self.core.try_get()
    }

    /// Takes the front item, waiting at most `timeout` ([`GetError::Timeout`] after that).
    ///
    /// # Examples
    ///
    /// ```
    /// let queue: amphi::SimpleQueue<u8> = amphi::SimpleQueue::new();
    /// let outcome = queue.get_timeout(std::time::Duration::from_millis(5));
    /// assert_eq!(outcome, Err(amphi::GetError::Timeout));
    /// ```
    pub fn get_timeout(&self, timeout: Duration) -> Result<T, GetError> {
        self.core.get(Deadline::after(timeout))
    }

    /// Takes the front item without blocking the thread. Works on the browser's main thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::SimpleQueue::new();
    /// queue.put('z')?;
    /// assert_eq!(futures_executor::block_on(queue.get_async()), Ok('z'));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub async fn get_async(&self) -> Result<T, GetError> {
        self.core.get_async().await
    }

    /// How many items wait in the queue (a snapshot).
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::SimpleQueue::new();
    /// queue.put(0)?;
    /// assert_eq!(queue.qsize(), 1);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn qsize(&self) -> usize {
        self.core.len()
    }

    /// Whether the queue holds no items (a snapshot).
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::SimpleQueue::new();
    /// assert!(queue.empty());
    /// queue.put(0)?;
    /// assert!(!queue.empty());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn empty(&self) -> bool {
        self.core.is_empty()
    }

    /// Closes the queue, as [`Queue::close`]: puts fail, gets drain then fail with `Closed`.
    ///
    /// [`Queue::close`]: crate::Queue::close
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::SimpleQueue::new();
    /// queue.put(1)?;
    /// queue.close();
    /// assert!(queue.put(2).is_err());
    /// assert_eq!(queue.get(), Ok(1));
    /// assert_eq!(queue.get(), Err(amphi::GetError::Closed));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn close(&self) {
        self.core.close();
    }

    /// Whether [`close`](SimpleQueue::close) was called.
    ///
    /// # Examples
    ///
    /// ```
    /// let queue: amphi::SimpleQueue<()> = amphi::SimpleQueue::new();
    /// queue.close();
    /// assert!(queue.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.core.is_closed()
    }
}

impl<T> Default for SimpleQueue<T> {
    fn default() -> SimpleQueue<T> {
        SimpleQueue::new()
    }
}

impl<T> fmt::Debug for SimpleQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimpleQueue")
            .field("qsize", &self.qsize())
            .field("closed", &self.is_closed())
            .finish()
    }
}
