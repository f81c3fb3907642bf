//! [`JoinableQueue`]: Python's `multiprocessing.JoinableQueue`, a process [`Queue`] that also
//! counts unfinished tasks, so a process can wait until every item put has been processed.
//!
//! # How it works
//!
//! Beside the queue, a small object of the region (`Tasks`) holds two words: the number of
//! unfinished tasks and a generation, bumped each time that number comes down to 0. A put
//! counts its task *before* the item becomes visible (so a fast consumer's `task_done` never
//! finds the count at 0) and takes it back if the put fails. `task_done` lowers the count with
//! a compare-and-swap that refuses to go below 0 ([`Error::TooManyTaskDone`]); the one that
//! reaches 0 bumps the generation and wakes every sleeper on it, in every process. `join` reads
//! the generation, then the count: at 0 it returns, otherwise it sleeps until the generation
//! moves. So a `join` that is waiting when the count reaches 0 returns, even if a new item is
//! put right after (as Python's, whose `join` is one condition wait), and no wake is missed: a
//! count that reaches 0 after `join` read it bumps the generation after `join` read that.
//!
//! # When a process dies
//!
//! A consumer that dies after `get` and before `task_done`, or a producer killed between
//! counting its task and finishing its put, leaves a task unfinished: `join` waits for it (use
//! `join_timeout` where that may happen), as in Python.

use std::fmt;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::queue::Queue;
use super::region::{Handle, Object, SharedWord};
use super::ring::drive;
use super::ring::Sending;
use crate::error::{GetError, PutError};
use crate::sync::atomic::Ordering;
use crate::sync::Word;
use crate::time::Deadline;
use crate::{sys, Error};

const KIND_TASKS: u32 = 8;
/// The count of unfinished tasks, then the generation of "the count came down to 0".
const BODY: usize = 8;
const COUNT_AT: usize = 0;
const DONE_AT: usize = 4;

/// The unfinished tasks of a [`JoinableQueue`], in the region (see the module docs).
#[derive(Clone)]
struct Tasks {
    object: Object,
}

impl Tasks {
    fn create() -> Result<Tasks, Error> {
        Object::create(KIND_TASKS, 0, BODY).map(|object| Tasks { object })
    }

    fn open(handle: Handle) -> Result<Tasks, String> {
        Object::open(handle, KIND_TASKS, |aux| (aux == 0).then_some(BODY))
            .map(|object| Tasks { object })
    }

    fn count(&self) -> SharedWord {
        self.object.word(COUNT_AT)
    }

    fn done(&self) -> SharedWord {
        self.object.word(DONE_AT)
    }

    fn unfinished(&self) -> u32 {
        self.count().load(Ordering::SeqCst)
    }

    /// Counts one more task; [`Error::Full`] if `u32::MAX` are unfinished.
    fn add(&self) -> Result<(), Error> {
        let count = self.count();
        let mut seen = count.load(Ordering::Relaxed);
        loop {
            let more = seen.checked_add(1).ok_or(Error::Full)?;
            match count.compare_exchange(seen, more, Ordering::SeqCst, Ordering::Relaxed) {
                Ok(_) => return Ok(()),
                Err(now) => seen = now,
            }
        }
    }

    /// Marks one task done; [`Error::TooManyTaskDone`] (and nothing changed) at 0. The one
    /// that reaches 0 wakes every `join`.
    fn finish(&self) -> Result<(), Error> {
        let count = self.count();
        let mut seen = count.load(Ordering::Relaxed);
        loop {
            let fewer = seen.checked_sub(1).ok_or(Error::TooManyTaskDone)?;
            match count.compare_exchange(seen, fewer, Ordering::SeqCst, Ordering::Relaxed) {
                Ok(_) if fewer == 0 => {
                    let done = self.done();
                    done.fetch_add(1, Ordering::SeqCst);
                    done.wake_all();
                    return Ok(());
                }
                Ok(_) => return Ok(()),
                Err(now) => seen = now,
            }
        }
    }

    /// As [`join`](Tasks::join), as a future.
    async fn join_async(&self) {
        let done = self.done();
        let generation = done.load(Ordering::SeqCst);
        if self.unfinished() == 0 {
            return;
        }
        while done.load(Ordering::SeqCst) == generation {
            done.wait_async(generation).await;
        }
    }

    /// Waits until the count is 0, or came down to 0 since this call began.
    fn join(&self, deadline: Deadline) -> Result<(), Error> {
        if !sys::can_block() {
            return Err(Error::WouldBlock);
        }
        let done = self.done();
        let generation = done.load(Ordering::SeqCst);
        if self.unfinished() == 0 {
            return Ok(());
        }
        while done.load(Ordering::SeqCst) == generation {
            match done.wait(generation, deadline) {
                Ok(()) => {}
                Err(_) if done.load(Ordering::SeqCst) != generation => return Ok(()),
                Err(timeout) => return Err(timeout),
            }
        }
        Ok(())
    }
}

/// A process [`Queue`] with task tracking, as Python's `multiprocessing.JoinableQueue`: every
/// item put is a task; a consumer calls [`task_done`](JoinableQueue::task_done) once it has
/// processed an item; [`join`](JoinableQueue::join) waits, in any process, until every task
/// is done.
///
/// A handle to a queue and a count of unfinished tasks in the shared region: clone it, or pass
/// it to children as (part of) a [`Process`](super::Process)'s arguments, and every
/// copy is the same queue. Items travel as the [`Queue`]'s do (serialised, through a 64 KiB
/// ring), and puts and gets come in the same four forms, `_async` included (with the same
/// behaviour when a future is dropped). An unbounded joinable queue's put never waits, as an
/// unbounded [`Queue`]'s (the item waits in the sender's buffer; see there, also for what a
/// process's buffer becomes when it ends); the task counts from the put, as in Python. A put
/// that fails, whose future is dropped before the item went in, or whose buffered item is
/// dropped (the queue closed or broken before it was written), adds no task.
///
/// A consumer that dies between `get` and `task_done` leaves its task unfinished, so `join`
/// waits for it: use [`join_timeout`](JoinableQueue::join_timeout) where a consumer may die.
///
/// # Examples
///
/// ```
/// use amphi::process::{JoinableQueue, Process};
///
/// fn dry(dishes: JoinableQueue<u32>) {
///     while let Ok(_dish) = dishes.get() {
///         dishes.task_done().unwrap();
///     }
/// }
///
/// let dishes = JoinableQueue::new(0)?;
/// let dryer = Process::builder().daemon(true).build(dry, dishes.clone());
/// dryer.start()?;
/// for dish in 1..=5 {
///     dishes.put(dish)?;
/// }
/// dishes.join()?; // every dish was dried
/// assert_eq!(dishes.unfinished_tasks(), 0);
/// dishes.close(); // lets the dryer's `get` return
/// dryer.join()?;
/// # Ok::<(), amphi::Error>(())
/// ```
pub struct JoinableQueue<T> {
    queue: Queue<T>,
    tasks: Tasks,
}

impl<T: Serialize + DeserializeOwned> JoinableQueue<T> {
    /// A queue holding at most `maxsize` items (0: any number), with no tasks.
    /// [`Error::InvalidArgument`] above `u32::MAX`; [`Error::SharedMemory`] where there is no
    /// region or it is full.
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::process::JoinableQueue::<u8>::new(4)?;
    /// assert_eq!(queue.maxsize(), 4);
    /// assert_eq!(queue.unfinished_tasks(), 0);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn new(maxsize: usize) -> Result<JoinableQueue<T>, Error> {
        let queue = Queue::new(maxsize)?;
        Ok(JoinableQueue {
            queue,
            tasks: Tasks::create()?,
        })
    }

    /// A queue with no bound on its number of items (`JoinableQueue::new(0)`).
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::process::JoinableQueue::<u8>::unbounded()?;
    /// assert_eq!(queue.maxsize(), 0);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn unbounded() -> Result<JoinableQueue<T>, Error> {
        JoinableQueue::new(0)
    }

    /// Puts `item` as a new task, waiting for a free slot and room in the ring (see
    /// [`Queue::put`]). A failed put adds no task and hands the item back;
    /// [`PutError::Full`] if `u32::MAX` tasks are unfinished.
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::process::JoinableQueue::new(0)?;
    /// queue.put("wash".to_owned())?;
    /// assert_eq!(queue.unfinished_tasks(), 1);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn put(&self, item: T) -> Result<(), PutError<T>> {
        self.put_within(item, Deadline::NEVER)
    }

    /// Puts `item` as a new task if that needs no waiting; [`PutError::Full`] otherwise (see
    /// [`Queue::try_put`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::process::JoinableQueue::new(1)?;
    /// queue.try_put(1)?;
    /// assert_eq!(queue.try_put(2), Err(amphi::PutError::Full(2)));
    /// assert_eq!(queue.unfinished_tasks(), 1, "the refused item is no task");
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn try_put(&self, item: T) -> Result<(), PutError<T>> {
        self.put_within(item, Deadline::NOW)
    }

    /// Puts `item` as a new task, or returns [`PutError::Timeout`] if there was no room for it
    /// within `timeout` (see [`Queue::put_timeout`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let queue = amphi::process::JoinableQueue::new(1)?;
    /// queue.put_timeout(1, Duration::from_millis(5))?;
    /// let refused = queue.put_timeout(2, Duration::from_millis(5));
    /// assert_eq!(refused, Err(amphi::PutError::Timeout(2)));
    /// assert_eq!(queue.unfinished_tasks(), 1);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn put_timeout(&self, item: T, timeout: Duration) -> Result<(), PutError<T>> {
        self.put_within(item, Deadline::after(timeout))
    }

    /// Takes the item at the front, waiting for one (see [`Queue::get`]). Call
    /// [`task_done`](JoinableQueue::task_done) once it is processed.
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::process::JoinableQueue::new(0)?;
    /// queue.put(5)?;
    /// assert_eq!(queue.get(), Ok(5));
    /// queue.task_done()?;
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn get(&self) -> Result<T, GetError> {
        self.queue.get()
    }

    /// Takes the item at the front if there is one; [`GetError::Empty`] otherwise (see
    /// [`Queue::try_get`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::process::JoinableQueue::<u8>::new(0)?;
    /// assert_eq!(queue.try_get(), Err(amphi::GetError::Empty));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn try_get(&self) -> Result<T, GetError> {
        self.queue.try_get()
    }

    /// Takes the item at the front, or returns [`GetError::Timeout`] if none came within
    /// `timeout` (see [`Queue::get_timeout`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::process::JoinableQueue::<u8>::new(0)?;
    /// let outcome = queue.get_timeout(std::time::Duration::from_millis(5));
    /// assert_eq!(outcome, Err(amphi::GetError::Timeout));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn get_timeout(&self, timeout: Duration) -> Result<T, GetError> {
        self.queue.get_timeout(timeout)
    }

    /// Takes the item at the front without blocking the thread, waiting for one (see
    /// [`Queue::get_async`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::process::JoinableQueue::new(0)?;
    /// queue.put('q')?;
    /// assert_eq!(futures_executor::block_on(queue.get_async()), Ok('q'));
    /// queue.task_done()?;
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub async fn get_async(&self) -> Result<T, GetError> {
        self.queue.get_async().await
    }

    /// Puts `item` as a new task without blocking the thread (see [`Queue::put_async`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::process::JoinableQueue::new(0)?;
    /// futures_executor::block_on(queue.put_async(1))?;
    /// assert_eq!(queue.unfinished_tasks(), 1);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub async fn put_async(&self, item: T) -> Result<(), PutError<T>> {
        if self.queue.buffered() {
            return self.put_buffered(item);
        }
        let sending = match self.counted(&item, Deadline::NEVER) {
            Ok(sending) => sending,
            Err(refused) => return Err(PutError::from_error(refused, item)),
        };
        drive::run_async(sending)
            .await
            .map_err(|refused| PutError::from_error(refused, item))
    }

    fn put_within(&self, item: T, deadline: Deadline) -> Result<(), PutError<T>> {
        if self.queue.buffered() {
            return self.put_buffered(item);
        }
        self.counted(&item, deadline)
            .and_then(|mut sending| drive::run(&mut sending))
            .map_err(|refused| PutError::from_error(refused, item))
    }

    /// A put of `item` as a task: counted before it runs, taken back unless it went in.
    fn counted(&self, item: &T, deadline: Deadline) -> Result<Sending, Error> {
        let sending = self.queue.sending(item, deadline)?;
        self.tasks.add()?;
        let tasks = self.tasks.clone();
        Ok(sending.undo_unless_sent(move || {
            // The task was counted above, so there is one to take back.
            let _ = tasks.finish();
        }))
    }

    /// A put into an unbounded queue (never waits, see [`Queue`]): counted as a task at
    /// once, taken back if the item is never written.
    fn put_buffered(&self, item: T) -> Result<(), PutError<T>> {
        if let Err(refused) = self.tasks.add() {
            return Err(PutError::from_error(refused, item));
        }
        let tasks = self.tasks.clone();
        let undo = Box::new(move || {
            let _ = tasks.finish();
        });
        // Refused, the item is not counted: `undo` ran.
        self.queue.put_buffered(item, Some(undo))
    }
}

impl<T> JoinableQueue<T> {
    /// Marks one task done (Python's `task_done()`): call it once per item taken, after
    /// processing it, in any process. When the last unfinished task is done, every `join`
    /// returns. [`Error::TooManyTaskDone`] if there is no unfinished task; nothing changes
    /// then.
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::process::JoinableQueue::new(0)?;
    /// queue.put(1)?;
    /// queue.get()?;
    /// queue.task_done()?;
    /// assert_eq!(queue.task_done(), Err(amphi::Error::TooManyTaskDone));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn task_done(&self) -> Result<(), Error> {
        self.tasks.finish()
    }

    /// Waits until every task put so far is done (Python's `join()`); at once if none is
    /// unfinished. [`Error::WouldBlock`] on the browser's main thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::process::JoinableQueue::new(0)?;
    /// queue.put("task".to_owned())?;
    /// queue.get()?;
    /// queue.task_done()?;
    /// queue.join()?; // returns at once: nothing is unfinished
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn join(&self) -> Result<(), Error> {
        self.tasks.join(Deadline::NEVER)
    }

    /// As [`join`](JoinableQueue::join), giving up with [`Error::Timeout`] after `timeout`.
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::process::JoinableQueue::new(0)?;
    /// queue.put(1)?;
    /// let outcome = queue.join_timeout(std::time::Duration::from_millis(5));
    /// assert_eq!(outcome, Err(amphi::Error::Timeout));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn join_timeout(&self, timeout: Duration) -> Result<(), Error> {
        self.tasks.join(Deadline::after(timeout))
    }

    /// Waits, without blocking the thread, until every task put so far is done (see
    /// [`join`](JoinableQueue::join)). Works on every thread, the browser's main thread
    /// included.
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::process::JoinableQueue::new(0)?;
    /// queue.put(1)?;
    /// queue.get()?;
    /// queue.task_done()?;
    /// futures_executor::block_on(queue.join_async());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub async fn join_async(&self) {
        self.tasks.join_async().await;
    }

    /// Whether every task is done right now. Never blocks; works on every thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::process::JoinableQueue::new(0)?;
    /// assert!(queue.try_join());
    /// queue.put(1)?;
    /// assert!(!queue.try_join());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn try_join(&self) -> bool {
        self.unfinished_tasks() == 0
    }

    /// How many tasks were put and not yet marked done, by every process (a snapshot).
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::process::JoinableQueue::new(0)?;
    /// queue.put('a')?;
    /// queue.put('b')?;
    /// assert_eq!(queue.unfinished_tasks(), 2);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn unfinished_tasks(&self) -> usize {
        self.tasks.unfinished() as usize
    }

    /// The number of items in the queue (a snapshot; tasks taken but not done are not
    /// included).
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::process::JoinableQueue::new(0)?;
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
    /// let queue = amphi::process::JoinableQueue::<u8>::new(0)?;
    /// assert!(queue.empty());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn empty(&self) -> bool {
        self.queue.empty()
    }

    /// Whether the queue holds `maxsize` items (a snapshot; see [`Queue::full`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::process::JoinableQueue::new(1)?;
    /// assert!(!queue.full());
    /// queue.put(())?;
    /// assert!(queue.full());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn full(&self) -> bool {
        self.queue.full()
    }

    /// The bound on the number of items (0: none).
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::process::JoinableQueue::<u8>::new(3)?;
    /// assert_eq!(queue.maxsize(), 3);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn maxsize(&self) -> usize {
        self.queue.maxsize()
    }

    /// Waits until the items this process put and that still wait in its buffer are in the
    /// queue, as [`Queue::join_thread`].
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::process::JoinableQueue::unbounded()?;
    /// queue.put('t')?;
    /// queue.join_thread()?;
    /// assert_eq!(queue.qsize(), 1);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn join_thread(&self) -> Result<(), Error> {
        self.queue.join_thread()
    }

    /// Lets this process end without writing its buffered items, as
    /// [`Queue::cancel_join_thread`].
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::process::JoinableQueue::<u8>::unbounded()?;
    /// queue.cancel_join_thread();
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn cancel_join_thread(&self) {
        self.queue.cancel_join_thread();
    }

    /// Closes the queue for every process, as [`Queue::close`]. Tasks already put still count
    /// until done.
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::process::JoinableQueue::new(0)?;
    /// queue.put(1)?;
    /// queue.close();
    /// assert_eq!(queue.put(2), Err(amphi::PutError::Closed(2)));
    /// assert_eq!(queue.unfinished_tasks(), 1);
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
    /// let queue = amphi::process::JoinableQueue::<u8>::new(0)?;
    /// queue.close();
    /// assert!(queue.is_closed());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn is_closed(&self) -> bool {
        self.queue.is_closed()
    }
}

impl<T> Clone for JoinableQueue<T> {
    /// Another handle to the same queue.
    fn clone(&self) -> JoinableQueue<T> {
        JoinableQueue {
            queue: self.queue.clone(),
            tasks: self.tasks.clone(),
        }
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

/// What a [`JoinableQueue`] travels as: its queue's handle and its tasks' handle.
#[derive(Serialize, Deserialize)]
struct Handles<Q> {
    queue: Q,
    tasks: Handle,
}

impl<T> Serialize for JoinableQueue<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Handles {
            queue: &self.queue,
            tasks: self.tasks.object.handle(),
        }
        .serialize(serializer)
    }
}

impl<'de, T> Deserialize<'de> for JoinableQueue<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<JoinableQueue<T>, D::Error> {
        let Handles { queue, tasks } = Handles::<Queue<T>>::deserialize(deserializer)?;
        let tasks = Tasks::open(tasks).map_err(serde::de::Error::custom)?;
        Ok(JoinableQueue { queue, tasks })
    }
}
