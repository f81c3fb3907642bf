//! [`Queue`]: Python's `queue.Queue` (and `multiprocessing.Queue` between threads), a FIFO
//! queue for many producers and many consumers, bounded or not, that can be closed.
//!
//! A thread that dies (a panic, a lost browser worker) never leaves the queue locked: it loses
//! only the item it had taken, and the survivors keep using the queue. Consumers waiting for a
//! producer that died are released by closing the queue (see the [module docs](super)).

use std::fmt;
use std::time::Duration;

use super::channel::Core;
use super::channel::LocalStore;
use crate::error::{GetError, PutError};
use crate::time::Deadline;

/// A first-in, first-out queue between threads, as Python's `queue.Queue(maxsize)`.
///
/// Share it with an `Arc`. Items move through it as they are (no copy, no serialisation).
/// Putting waits while a bounded queue is full; getting waits while the queue is empty. Both
/// come in four forms: blocking ([`put`](Queue::put), [`get`](Queue::get)), `try_`,
/// `_timeout` and `_async`. On the browser's main thread the blocking forms return
/// `WouldBlock`; the `try_` and `_async` forms work everywhere. A failed put hands the item
/// back in its [`PutError`].
///
/// [`close`](Queue::close) ends the queue: puts fail with [`PutError::Closed`], gets take what
/// is left and then fail with [`GetError::Closed`], and every thread waiting in a put or a get
/// wakes up to that answer.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use amphi::{Queue, Thread};
///
/// let queue = Arc::new(Queue::bounded(2));
/// let producer = {
///     let queue = Arc::clone(&queue);
///     Thread::spawn(move || {
///         for i in 0..5 {
///             queue.put(i)?; // waits while two items are waiting
///         }
///         queue.close();
///         Ok::<_, amphi::Error>(())
///     })?
/// };
/// let mut received = Vec::new();
/// while let Ok(item) = queue.get() {
///     received.push(item);
/// }
/// producer.join()??;
/// assert_eq!(received, [0, 1, 2, 3, 4]);
/// # Ok::<(), amphi::Error>(())
/// ```
pub struct Queue<T> {
    core: Core<LocalStore<T>>,
}

impl<T> Queue<T> {
    /// A queue holding at most `maxsize` items; 0 means unbounded, as in Python.
    ///
    /// Capacities above `u32::MAX - 1` are lowered to it. A bounded queue of up to 1,024 items
    /// (or whose slots fit in 1 MiB) allocates its slots up front; larger and unbounded queues
    /// allocate as they grow.
    ///
    /// # Examples
    ///
    /// ```
    /// let bounded: amphi::Queue<u8> = amphi::Queue::new(3);
    /// assert_eq!(bounded.maxsize(), 3);
    /// let unbounded: amphi::Queue<u8> = amphi::Queue::new(0);
    /// assert_eq!(unbounded.maxsize(), 0);
    /// ```
    pub fn new(maxsize: usize) -> Queue<T> {
        Queue {
            core: Core::new(LocalStore::new(), maxsize),
        }
    }

    /// An unbounded queue (Python's `Queue()`): puts never wait.
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::Queue::unbounded();
    /// for i in 0..10_000 {
    ///     queue.try_put(i)?;
    /// }
    /// assert!(!queue.full());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn unbounded() -> Queue<T> {
        Queue::new(0)
    }

    /// A queue holding at most `maxsize` items (the same as [`Queue::new`]: 0 is unbounded).
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::Queue::bounded(1);
    /// queue.put('a')?;
    /// assert!(queue.full());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn bounded(maxsize: usize) -> Queue<T> {
        Queue::new(maxsize)
    }

    /// Puts `item` at the back, waiting while the queue is full.
    ///
    /// Fails with [`PutError::Closed`] on a closed queue (also if it closes while waiting) and
    /// [`PutError::WouldBlock`] on the browser's main thread; the item comes back either way.
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::Queue::new(0);
    /// queue.put("job")?;
    /// assert_eq!(queue.qsize(), 1);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn put(&self, item: T) -> Result<(), PutError<T>> {
        self.core.put(item, Deadline::NEVER)
    }

    /// Puts `item` if there is room right now ([`PutError::Full`] if not). Never blocks;
    /// works on every thread. Python's `put_nowait`.
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::Queue::bounded(1);
    /// queue.try_put(1)?;
    /// assert_eq!(queue.try_put(2).unwrap_err().into_inner(), 2);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn try_put(&self, item: T) -> Result<(), PutError<T>> {
        self.core.try_put(item)
    }

    /// Puts `item`, waiting at most `timeout` for room ([`PutError::Timeout`] after that).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let queue = amphi::Queue::bounded(1);
    /// queue.put_timeout("a", Duration::from_millis(5))?;
    /// let late = queue.put_timeout("b", Duration::from_millis(5));
    /// assert!(matches!(late, Err(amphi::PutError::Timeout("b"))));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn put_timeout(&self, item: T, timeout: Duration) -> Result<(), PutError<T>> {
        self.core.put(item, Deadline::after(timeout))
    }

    /// Puts `item` without blocking the thread: the future completes once there was room (or
    /// the queue is closed). Works on the browser's main thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::Queue::bounded(1);
    /// futures_executor::block_on(queue.put_async(7))?;
    /// assert_eq!(queue.try_get(), Ok(7));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub async fn put_async(&self, item: T) -> Result<(), PutError<T>> {
        self.core.put_async(item).await
    }

    /// Takes the front item, waiting while the queue is empty.
    ///
    /// On a closed queue it still takes the items left, then fails with [`GetError::Closed`]
    /// (also when the queue closes while it waits). [`GetError::WouldBlock`] on the browser's
    /// main thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::Queue::new(0);
    /// queue.put(1)?;
    /// queue.put(2)?;
    /// queue.close();
    /// assert_eq!(queue.get(), Ok(1));
    /// assert_eq!(queue.get(), Ok(2));
    /// assert_eq!(queue.get(), Err(amphi::GetError::Closed));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn get(&self) -> Result<T, GetError> {
        self.core.get(Deadline::NEVER)
    }

    /// Takes the front item if there is one right now ([`GetError::Empty`] if not). Never
    /// blocks; works on every thread. Python's `get_nowait`.
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::Queue::new(0);
    /// assert_eq!(queue.try_get(), Err(amphi::GetError::Empty));
    /// queue.put("x")?;
    /// assert_eq!(queue.try_get(), Ok("x"));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn try_get(&self) -> Result<T, GetError> {
        self.core.try_get()
    }

    /// Takes the front item, waiting at most `timeout` ([`GetError::Timeout`] after that).
    ///
    /// # Examples
    ///
    /// ```
    /// let queue: amphi::Queue<u32> = amphi::Queue::new(0);
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
    /// let queue = amphi::Queue::new(0);
    /// queue.put(3)?;
    /// assert_eq!(futures_executor::block_on(queue.get_async()), Ok(3));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub async fn get_async(&self) -> Result<T, GetError> {
        self.core.get_async().await
    }

    /// How many items wait in the queue (a snapshot), as Python's `qsize()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::Queue::new(0);
    /// queue.put(())?;
    /// queue.put(())?;
    /// assert_eq!(queue.qsize(), 2);
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
    /// let queue = amphi::Queue::new(0);
    /// assert!(queue.empty());
    /// queue.put(1)?;
    /// assert!(!queue.empty());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn empty(&self) -> bool {
        self.core.is_empty()
    }

    /// Whether a bounded queue holds `maxsize` items (a snapshot); never for an unbounded one.
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::Queue::bounded(2);
    /// queue.put(1)?;
    /// assert!(!queue.full());
    /// queue.put(2)?;
    /// assert!(queue.full());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn full(&self) -> bool {
        self.core.is_full()
    }

    /// The capacity the queue was made with: 0 for unbounded, as Python's `maxsize`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(amphi::Queue::<()>::bounded(8).maxsize(), 8);
    /// assert_eq!(amphi::Queue::<()>::unbounded().maxsize(), 0);
    /// ```
    pub fn maxsize(&self) -> usize {
        self.core.maxsize()
    }

    /// Closes the queue: no more puts; gets drain what is left, then fail with
    /// [`GetError::Closed`]; threads waiting in a put or a get wake up with `Closed`.
    /// Closing again does nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::Queue::new(0);
    /// queue.put("last")?;
    /// queue.close();
    /// assert!(matches!(queue.put("late"), Err(amphi::PutError::Closed("late"))));
    /// assert_eq!(queue.get(), Ok("last"));
    /// assert_eq!(queue.get(), Err(amphi::GetError::Closed));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn close(&self) {
        self.core.close();
    }

    /// Whether [`close`](Queue::close) was called.
    ///
    /// # Examples
    ///
    /// ```
    /// let queue: amphi::Queue<u8> = amphi::Queue::new(0);
    /// assert!(!queue.is_closed());
    /// queue.close();
    /// assert!(queue.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.core.is_closed()
    }
}

impl<T> Default for Queue<T> {
    /// An unbounded queue.
    fn default() -> Queue<T> {
        Queue::unbounded()
    }
}

impl<T> fmt::Debug for Queue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Queue")
            .field("qsize", &self.qsize())
            .field("maxsize", &self.maxsize())
            .field("closed", &self.is_closed())
            .finish()
    }
}
