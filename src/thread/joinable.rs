//! [`JoinableQueue`]: Python's `JoinableQueue`, a [`Queue`] that also counts unfinished tasks,
//! so a producer can wait until every item it put has been processed.
//!
//! # How it works
//!
//! A count of unfinished tasks and an [`Event`] that is set exactly while the count is 0; both
//! change together under a mutex held for a few instructions. A put counts its task *before*
//! the item becomes visible (so a fast consumer's `task_done` never finds the count at 0) and
//! takes it back if the put fails, also when an async put is dropped before completing.
//! `task_done` lowers the count, refusing to go below 0 ([`Error::TooManyTaskDone`]); reaching
//! 0 sets the event, and the first task put after that clears it. `join` waits for the event.
//!
//! A `join` that is waiting when the count reaches 0 returns, even if a new item is put right
//! after (the event's set-then-clear guarantee); a `join` that starts after that put waits for
//! the new task too.
//!
//! # When a consumer dies
//!
//! A consumer that dies after `get` and before `task_done` leaves its task unfinished: `join`
//! waits for it (`join_timeout` gives up). The thread that joins the consumer sees its panic
//! ([`Error::Panicked`]) and can call `task_done` on its behalf; the queue itself stays usable.

use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use super::Queue;
use crate::error::{GetError, PutError};
use crate::sync::spin;
use crate::{Error, Event};

/// A [`Queue`] with task tracking, as Python's `multiprocessing.JoinableQueue`: every item put
/// is a task; a consumer calls [`task_done`](JoinableQueue::task_done) once it has processed an
/// item; [`join`](JoinableQueue::join) waits until every task is done.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use amphi::{JoinableQueue, Thread};
///
/// let jobs = Arc::new(JoinableQueue::new(0));
/// let processed = Arc::new(AtomicU32::new(0));
/// let _worker = {
///     let (jobs, processed) = (Arc::clone(&jobs), Arc::clone(&processed));
///     Thread::spawn(move || {
///         while let Ok(job) = jobs.get() {
///             processed.fetch_add(job, Ordering::Relaxed);
///             jobs.task_done()?;
///         }
///         Ok::<_, amphi::Error>(())
///     })?
/// };
/// for job in 1..=3 {
///     jobs.put(job)?;
/// }
/// jobs.join()?; // every job was processed
/// assert_eq!(processed.load(Ordering::Relaxed), 6);
/// jobs.close(); // lets the worker's `get` return
/// # Ok::<(), amphi::Error>(())
/// ```
pub struct JoinableQueue<T> {
    queue: Queue<T>,
    /// Tasks put and not yet done.
    unfinished: Mutex<u64>,
    /// Set exactly while `unfinished` is 0; changed only under the `unfinished` mutex.
    all_done: Event,
}

impl<T> JoinableQueue<T> {
    /// A queue holding at most `maxsize` items (0: unbounded), with no tasks.
    ///
    /// # Examples
    ///
    /// ```
    /// let queue: amphi::JoinableQueue<u8> = amphi::JoinableQueue::new(4);
    /// assert_eq!(queue.maxsize(), 4);
    /// assert_eq!(queue.unfinished_tasks(), 0);
    /// ```
    pub fn new(maxsize: usize) -> JoinableQueue<T> {
        let all_done = Event::new();
        all_done.set();
        JoinableQueue {
            queue: Queue::new(maxsize),
            unfinished: Mutex::new(0),
            all_done,
        }
    }

    /// An unbounded queue.
    ///
    /// # Examples
    ///
    /// ```
    /// let queue: amphi::JoinableQueue<u8> = amphi::JoinableQueue::unbounded();
    /// assert_eq!(queue.maxsize(), 0);
    /// ```
    pub fn unbounded() -> JoinableQueue<T> {
        JoinableQueue::new(0)
    }

    /// A queue holding at most `maxsize` items (as [`JoinableQueue::new`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::JoinableQueue::bounded(1);
    /// queue.put(1)?;
    /// assert!(queue.full());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn bounded(maxsize: usize) -> JoinableQueue<T> {
        JoinableQueue::new(maxsize)
    }

    /// Puts `item` as a new task, waiting while the queue is full (see [`Queue::put`]). A
    /// failed put adds no task.
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::JoinableQueue::new(0);
    /// queue.put("wash")?;
    /// assert_eq!(queue.unfinished_tasks(), 1);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn put(&self, item: T) -> Result<(), PutError<T>> {
        self.counted(|| self.queue.put(item))
    }

    /// Puts `item` as a new task if there is room right now (see [`Queue::try_put`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::JoinableQueue::bounded(1);
    /// queue.try_put(1)?;
    /// assert!(matches!(queue.try_put(2), Err(amphi::PutError::Full(2))));
    /// assert_eq!(queue.unfinished_tasks(), 1, "the refused item is no task");
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn try_put(&self, item: T) -> Result<(), PutError<T>> {
        self.counted(|| self.queue.try_put(item))
    }

    /// Puts `item` as a new task, waiting at most `timeout` for room.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let queue = amphi::JoinableQueue::bounded(1);
    /// queue.put_timeout(1, Duration::from_millis(5))?;
    /// assert!(queue.put_timeout(2, Duration::from_millis(5)).is_err());
    /// assert_eq!(queue.unfinished_tasks(), 1);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn put_timeout(&self, item: T, timeout: Duration) -> Result<(), PutError<T>> {
        self.counted(|| self.queue.put_timeout(item, timeout))
    }

    /// Puts `item` as a new task without blocking the thread. Dropping the future before it
    /// completes adds no task.
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::JoinableQueue::new(0);
    /// futures_executor::block_on(queue.put_async("dish"))?;
    /// assert_eq!(queue.unfinished_tasks(), 1);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub async fn put_async(&self, item: T) -> Result<(), PutError<T>> {
        let task = PendingTask::begin(self);
        let outcome = self.queue.put_async(item).await;
        if outcome.is_ok() {
            task.keep();
        }
        outcome
    }

    /// Takes the front item, waiting while the queue is empty (see [`Queue::get`]). Call
    /// [`task_done`](JoinableQueue::task_done) once it is processed.
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::JoinableQueue::new(0);
    /// queue.put(5)?;
    /// assert_eq!(queue.get(), Ok(5));
    /// queue.task_done()?;
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn get(&self) -> Result<T, GetError> {
        self.queue.get()
    }

    /// Takes the front item if there is one right now (see [`Queue::try_get`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let queue: amphi::JoinableQueue<u8> = amphi::JoinableQueue::new(0);
    /// assert_eq!(queue.try_get(), Err(amphi::GetError::Empty));
    /// ```
    pub fn try_get(&self) -> Result<T, GetError> {
        self.queue.try_get()
    }

    /// Takes the front item, waiting at most `timeout` (see [`Queue::get_timeout`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let queue: amphi::JoinableQueue<u8> = amphi::JoinableQueue::new(0);
    /// let outcome = queue.get_timeout(std::time::Duration::from_millis(5));
    /// assert_eq!(outcome, Err(amphi::GetError::Timeout));
    /// ```
    pub fn get_timeout(&self, timeout: Duration) -> Result<T, GetError> {
        self.queue.get_timeout(timeout)
    }

    /// Takes the front item without blocking the thread (see [`Queue::get_async`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::JoinableQueue::new(0);
    /// queue.put('q')?;
    /// assert_eq!(futures_executor::block_on(queue.get_async()), Ok('q'));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub async fn get_async(&self) -> Result<T, GetError> {
        self.queue.get_async().await
    }

    /// Marks one task done (Python's `task_done()`): call it once per item taken, after
    /// processing it. When the last unfinished task is done, every `join` returns.
    /// [`Error::TooManyTaskDone`] if there is no unfinished task; nothing changes then.
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::JoinableQueue::new(0);
    /// queue.put(1)?;
    /// queue.get()?;
    /// queue.task_done()?;
    /// assert_eq!(queue.task_done(), Err(amphi::Error::TooManyTaskDone));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn task_done(&self) -> Result<(), Error> {
        let mut unfinished = spin::lock(&self.unfinished);
        if *unfinished == 0 {
            return Err(Error::TooManyTaskDone);
        }
        *unfinished -= 1;
        if *unfinished == 0 {
            self.all_done.set();
        }
        Ok(())
    }

    /// Waits until every task put so far is done (Python's `join()`); at once if none is
    /// unfinished. [`Error::WouldBlock`] on the browser's main thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::JoinableQueue::new(0);
    /// queue.put("task")?;
    /// queue.get()?;
    /// queue.task_done()?;
    /// queue.join()?; // returns at once: nothing is unfinished
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn join(&self) -> Result<(), Error> {
        self.all_done.wait()
    }

    /// Whether every task is done right now. Never blocks; works on every thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::JoinableQueue::new(0);
    /// assert!(queue.try_join());
    /// queue.put(1)?;
    /// assert!(!queue.try_join());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn try_join(&self) -> bool {
        self.all_done.is_set()
    }

    /// As [`join`](JoinableQueue::join), giving up with [`Error::Timeout`] after `timeout`.
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::JoinableQueue::new(0);
    /// queue.put(1)?;
    /// let outcome = queue.join_timeout(std::time::Duration::from_millis(5));
    /// assert_eq!(outcome, Err(amphi::Error::Timeout));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn join_timeout(&self, timeout: Duration) -> Result<(), Error> {
        self.all_done.wait_timeout(timeout)
    }

    /// Waits until every task is done without blocking the thread. Works on the browser's
    /// main thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let queue: amphi::JoinableQueue<u8> = amphi::JoinableQueue::new(0);
    /// futures_executor::block_on(queue.join_async());
    /// assert!(queue.try_join());
    /// ```
    pub async fn join_async(&self) {
        self.all_done.wait_async().await;
    }

    /// How many tasks were put and not yet marked done (a snapshot).
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::JoinableQueue::new(0);
    /// queue.put('a')?;
    /// queue.put('b')?;
    /// assert_eq!(queue.unfinished_tasks(), 2);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn unfinished_tasks(&self) -> u64 {
        *spin::lock(&self.unfinished)
    }

    /// How many items wait in the queue (a snapshot; taken but unfinished tasks not included).
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::JoinableQueue::new(0);
    /// queue.put(1)?;
    /// queue.get()?;
    /// assert_eq!((queue.qsize(), queue.unfinished_tasks()), (0, 1));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn qsize(&self) -> usize {
        self.queue.qsize()
    }

    /// Whether the queue holds no items (a snapshot).
    ///
    /// # Examples
    ///
    /// ```
    /// let queue: amphi::JoinableQueue<u8> = amphi::JoinableQueue::new(0);
    /// assert!(queue.empty());
    /// ```
    pub fn empty(&self) -> bool {
        self.queue.empty()
    }

    /// Whether a bounded queue is full (a snapshot).
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::JoinableQueue::bounded(1);
    /// assert!(!queue.full());
    /// queue.put(())?;
    /// assert!(queue.full());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn full(&self) -> bool {
        self.queue.full()
    }

    /// The capacity: 0 for unbounded.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(amphi::JoinableQueue::<u8>::bounded(3).maxsize(), 3);
    /// ```
    pub fn maxsize(&self) -> usize {
        self.queue.maxsize()
    }

    /// Closes the queue, as [`Queue::close`]. Tasks already put still count until done.
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::JoinableQueue::new(0);
    /// queue.close();
    /// assert!(queue.put(1).is_err());
    /// assert_eq!(queue.unfinished_tasks(), 0);
    /// ```
    pub fn close(&self) {
        self.queue.close();
    }

    /// Whether [`close`](JoinableQueue::close) was called.
    ///
    /// # Examples
    ///
    /// ```
    /// let queue: amphi::JoinableQueue<u8> = amphi::JoinableQueue::new(0);
    /// queue.close();
    /// assert!(queue.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.queue.is_closed()
    }

    /// Runs a put as a task: counted before, taken back if the put fails.
    fn counted(&self, put: impl FnOnce() -> Result<(), PutError<T>>) -> Result<(), PutError<T>> {
        let task = PendingTask::begin(self);
        let outcome = put();
        if outcome.is_ok() {
            task.keep();
        }
        outcome
    }

    fn add_task(&self) {
        let mut unfinished = spin::lock(&self.unfinished);
        *unfinished += 1;
        if *unfinished == 1 {
            self.all_done.clear();
        }
    }
}

/// A task counted for a put still in progress; dropped without [`keep`](PendingTask::keep)
/// (a failed put, or a dropped future), it takes the task back.
struct PendingTask<'a, T> {
    queue: &'a JoinableQueue<T>,
}

impl<'a, T> PendingTask<'a, T> {
    fn begin(queue: &'a JoinableQueue<T>) -> PendingTask<'a, T> {
        queue.add_task();
        PendingTask { queue }
    }

    fn keep(self) {
        std::mem::forget(self);
    }
}

impl<T> Drop for PendingTask<'_, T> {
    fn drop(&mut self) {
        // The task was counted by `begin`, so there is one to take back.
        let _ = self.queue.task_done();
    }
}

impl<T> Default for JoinableQueue<T> {
    fn default() -> JoinableQueue<T> {
        JoinableQueue::unbounded()
    }
}

impl<T> fmt::Debug for JoinableQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinableQueue")
            .field("qsize", &self.qsize())
            .field("maxsize", &self.maxsize())
            .field("unfinished_tasks", &self.unfinished_tasks())
            .field("closed", &self.is_closed())
            .finish()
    }
}
