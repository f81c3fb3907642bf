//! [`as_completed`] and [`wait`]: Python's `concurrent.futures.as_completed` and `wait`.
//!
//! Both hang a done-callback on every future (which runs at once for one already done):
//! `as_completed`'s puts the future's index in a queue the iterator takes from, `wait`'s
//! counts the futures left and sets a word, slept on, once the condition holds.

use std::collections::HashSet;
use std::fmt;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::Duration;

use crate::sync::atomic::{AtomicU32, Ordering};
use crate::sync::Word;
use crate::sys;
use crate::thread::pool::completion::Outcome;
use crate::thread::SimpleQueue;
use crate::time::Deadline;
use crate::{Error, GetError};

use super::Future;

/// When [`wait`] returns: Python's `FIRST_COMPLETED`, `FIRST_EXCEPTION` and `ALL_COMPLETED`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnWhen {
    /// As soon as any future is done or cancelled.
    FirstCompleted,
    /// As soon as any future fails (panics); when none does, once all are done.
    FirstError,
    /// Once every future is done or cancelled.
    AllCompleted,
}

/// What [`wait`] returns: the futures done (or cancelled), and the others, each in the order
/// given.
#[derive(Debug)]
pub struct DoneAndNotDone<T> {
    /// The futures done or cancelled when `wait` returned.
    pub done: Vec<Future<T>>,
    /// The others.
    pub not_done: Vec<Future<T>>,
}

/// The futures without repeats (Python takes a set), in the order given.
fn distinct<'a, T: 'a>(futures: impl IntoIterator<Item = &'a Future<T>>) -> Vec<Future<T>> {
    let mut seen = HashSet::new();
    futures
        .into_iter()
        .filter(|future| seen.insert(Arc::as_ptr(&future.cell) as usize))
        .cloned()
        .collect()
}

/// Yields the futures as they complete (done or cancelled), those already done first (Python's
/// `as_completed`). A future given twice is yielded once.
///
/// # Examples
///
/// ```
/// let executor = amphi::thread::Executor::new(4)?;
/// let futures: Vec<_> = (1..=4u32)
///     .map(|n| executor.submit(move || n * n))
///     .collect::<Result<_, _>>()?;
/// let mut squares: Vec<u32> = amphi::thread::as_completed(&futures)
///     .map(|done| done?.result())
///     .collect::<Result<_, _>>()?;
/// squares.sort();
/// assert_eq!(squares, [1, 4, 9, 16]);
/// # Ok::<(), amphi::Error>(())
/// ```
pub fn as_completed<'a, T: Send + 'static>(
    futures: impl IntoIterator<Item = &'a Future<T>>,
) -> AsCompleted<T> {
    AsCompleted::new(distinct(futures), Deadline::NEVER)
}

/// [`as_completed`] with a timeout from now (Python's `as_completed(fs, timeout)`): once it
/// passes, the iterator yields one [`Error::Timeout`] and ends.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let executor = amphi::thread::Executor::new(1)?;
/// let gate = std::sync::Arc::new(amphi::Event::new());
/// let stuck = {
///     let gate = gate.clone();
///     executor.submit(move || gate.wait_timeout(Duration::from_secs(10)))?
/// };
/// let mut completed = amphi::thread::as_completed_timeout([&stuck], Duration::from_millis(10));
/// assert_eq!(completed.next().map(|r| r.err()), Some(Some(amphi::Error::Timeout)));
/// assert!(completed.next().is_none());
/// gate.set();
/// # Ok::<(), amphi::Error>(())
/// ```
pub fn as_completed_timeout<'a, T: Send + 'static>(
    futures: impl IntoIterator<Item = &'a Future<T>>,
    timeout: Duration,
) -> AsCompleted<T> {
    AsCompleted::new(distinct(futures), Deadline::after(timeout))
}

/// The iterator of [`as_completed`]: `Result<Future<T>, Error>`, the error being
/// [`Error::Timeout`] (then it ends) or, on the browser's main thread,
/// [`Error::WouldBlock`] (use [`next_async`](AsCompleted::next_async) there).
pub struct AsCompleted<T> {
    futures: Vec<Option<Future<T>>>,
    completed: Arc<SimpleQueue<usize>>,
    left: usize,
    deadline: Deadline,
}

impl<T: Send + 'static> AsCompleted<T> {
    fn new(futures: Vec<Future<T>>, deadline: Deadline) -> AsCompleted<T> {
        let completed = Arc::new(SimpleQueue::new());
        for (index, future) in futures.iter().enumerate() {
            let completed = Arc::clone(&completed);
            future.cell.on_done(Box::new(move |_outcome| {
                // The queue is never closed: the put always succeeds.
                let _ = completed.put(index);
            }));
        }
        AsCompleted {
            left: futures.len(),
            futures: futures.into_iter().map(Some).collect(),
            completed,
            deadline,
        }
    }
}

impl<T> AsCompleted<T> {
    fn yield_index(&mut self, index: usize) -> Option<Result<Future<T>, Error>> {
        self.left -= 1;
        self.futures[index].take().map(Ok)
    }

    /// The next future to complete, without blocking the thread: works on the browser's main
    /// thread (the timeout of [`as_completed_timeout`] does not apply here).
    ///
    /// # Examples
    ///
    /// ```
    /// let executor = amphi::thread::Executor::new(1)?;
    /// let future = executor.submit(|| 3)?;
    /// let mut completed = amphi::thread::as_completed([&future]);
    /// let first = futures_executor::block_on(completed.next_async()).unwrap()?;
    /// assert_eq!(first.result()?, 3);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub async fn next_async(&mut self) -> Option<Result<Future<T>, Error>> {
        if self.left == 0 {
            return None;
        }
        match self.completed.get_async().await {
            Ok(index) => self.yield_index(index),
            Err(error) => Some(Err(error.into())),
        }
    }

    /// The next future if one has completed: `Some(Err(`[`Error::NotReady`]`))` if none has.
    ///
    /// # Examples
    ///
    /// ```
    /// let executor = amphi::thread::Executor::new(1)?;
    /// let future = executor.submit(|| 3)?;
    /// future.result()?;
    /// let mut completed = amphi::thread::as_completed([&future]);
    /// assert!(completed.try_next().unwrap().is_ok());
    /// assert!(completed.try_next().is_none());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn try_next(&mut self) -> Option<Result<Future<T>, Error>> {
        if self.left == 0 {
            return None;
        }
        match self.completed.try_get() {
            Ok(index) => self.yield_index(index),
            Err(_) => Some(Err(Error::NotReady)),
        }
    }
}

impl<T> Iterator for AsCompleted<T> {
    type Item = Result<Future<T>, Error>;

    fn next(&mut self) -> Option<Result<Future<T>, Error>> {
        if self.left == 0 {
            return None;
        }
        let got = match self.deadline.remaining() {
            Ok(None) => self.completed.get(),
            Ok(Some(left)) => self.completed.get_timeout(left),
            Err(_) => Err(GetError::Timeout),
        };
        match got {
            Ok(index) => self.yield_index(index),
            Err(GetError::Timeout) => {
                self.left = 0;
                Some(Err(Error::Timeout))
            }
            Err(error) => Some(Err(error.into())),
        }
    }
}

impl<T> fmt::Debug for AsCompleted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsCompleted")
            .field("left", &self.left)
            .finish()
    }
}

/// The state one `wait` sleeps on: `met` goes 0 -> 1 once the condition holds.
struct Waiter {
    met: AtomicU32,
    left: AtomicUsize,
    when: ReturnWhen,
}

impl Waiter {
    fn arm<T: Send + 'static>(futures: &[Future<T>], when: ReturnWhen) -> Arc<Waiter> {
        let waiter = Arc::new(Waiter {
            met: AtomicU32::new(u32::from(futures.is_empty())),
            left: AtomicUsize::new(futures.len()),
            when,
        });
        for future in futures {
            let waiter = Arc::clone(&waiter);
            future
                .cell
                .on_done(Box::new(move |outcome| waiter.completed(outcome)));
        }
        waiter
    }

    fn completed(&self, outcome: Outcome) {
        let last = self.left.fetch_sub(1, std::sync::atomic::Ordering::AcqRel) == 1;
        let met = last
            || match self.when {
                ReturnWhen::FirstCompleted => true,
                ReturnWhen::FirstError => outcome == Outcome::Failed,
                ReturnWhen::AllCompleted => false,
            };
        if met && self.met.swap(1, Ordering::AcqRel) == 0 {
            self.met.wake_all();
        }
    }

    fn wait_until(&self, deadline: Deadline) -> Result<(), Error> {
        while self.met.load(Ordering::Acquire) == 0 {
            match self.met.wait(0, deadline) {
                Err(Error::Timeout) => return Ok(()),
                other => other?,
            }
        }
        Ok(())
    }

    async fn wait_async(&self) {
        while self.met.load(Ordering::Acquire) == 0 {
            self.met.wait_async(0).await;
        }
    }
}

fn split<T>(futures: Vec<Future<T>>) -> DoneAndNotDone<T> {
    let (done, not_done) = futures.into_iter().partition(Future::done);
    DoneAndNotDone { done, not_done }
}

/// Waits until the futures satisfy `return_when` (Python's `concurrent.futures.wait`), and
/// splits them into done and not done. [`Error::WouldBlock`] on the browser's main thread:
/// use [`wait_async`] there.
///
/// # Examples
///
/// ```
/// use amphi::thread::{wait, Executor, ReturnWhen};
/// let executor = Executor::new(2)?;
/// let futures = [executor.submit(|| 1)?, executor.submit(|| 2)?];
/// let outcome = wait(&futures, ReturnWhen::AllCompleted)?;
/// assert_eq!(outcome.done.len(), 2);
/// assert!(outcome.not_done.is_empty());
/// # Ok::<(), amphi::Error>(())
/// ```
pub fn wait<'a, T: Send + 'static>(
    futures: impl IntoIterator<Item = &'a Future<T>>,
    return_when: ReturnWhen,
) -> Result<DoneAndNotDone<T>, Error> {
    wait_until(distinct(futures), return_when, Deadline::NEVER)
}

/// [`wait`] for at most `timeout`: when it passes first, returns the split as it is then (as
/// Python does; not an error).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use amphi::thread::{wait_timeout, Executor, ReturnWhen};
/// let executor = Executor::new(1)?;
/// let gate = std::sync::Arc::new(amphi::Event::new());
/// let stuck = {
///     let gate = gate.clone();
///     executor.submit(move || gate.wait_timeout(Duration::from_secs(10)))?
/// };
/// let outcome = wait_timeout([&stuck], Duration::from_millis(10), ReturnWhen::AllCompleted)?;
/// assert_eq!(outcome.not_done.len(), 1);
/// gate.set();
/// # Ok::<(), amphi::Error>(())
/// ```
pub fn wait_timeout<'a, T: Send + 'static>(
    futures: impl IntoIterator<Item = &'a Future<T>>,
    timeout: Duration,
    return_when: ReturnWhen,
) -> Result<DoneAndNotDone<T>, Error> {
    wait_until(distinct(futures), return_when, Deadline::after(timeout))
}

fn wait_until<T: Send + 'static>(
    futures: Vec<Future<T>>,
    return_when: ReturnWhen,
    deadline: Deadline,
) -> Result<DoneAndNotDone<T>, Error> {
    if !sys::can_block() {
        return Err(Error::WouldBlock);
    }
    Waiter::arm(&futures, return_when).wait_until(deadline)?;
    Ok(split(futures))
}

/// [`wait`] without blocking the thread: works on the browser's main thread.
///
/// # Examples
///
/// ```
/// use amphi::thread::{wait_async, Executor, ReturnWhen};
/// let executor = Executor::new(1)?;
/// let futures = [executor.submit(|| 1)?];
/// let outcome = futures_executor::block_on(wait_async(&futures, ReturnWhen::FirstCompleted));
/// assert_eq!(outcome.done.len(), 1);
/// # Ok::<(), amphi::Error>(())
/// ```
pub async fn wait_async<'a, T: Send + 'static>(
    futures: impl IntoIterator<Item = &'a Future<T>>,
    return_when: ReturnWhen,
) -> DoneAndNotDone<T> {
    let futures = distinct(futures);
    Waiter::arm(&futures, return_when).wait_async().await;
    split(futures)
}
