//! [`Executor`]: Python's `concurrent.futures.ThreadPoolExecutor`, on the same engine as
//! [`Pool`](crate::ThreadPool) (one `rayon::ThreadPool` of amphi threads).
//!
//! - `future`: [`Future`], the handle of one submitted task;
//! - `wait`: [`as_completed`] and [`wait`], over any futures;
//! - `shutdown`: `shutdown` and its forms, shared with the process executor.
//!
//! A task that panics fails alone ([`Error::Panicked`] from its future); the executor stays
//! usable. [`shutdown`](Executor::shutdown) with `cancel_futures` cancels every task not yet
//! started, promptly however many are queued.

mod future;
pub(crate) mod shutdown;
mod wait;

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use crate::thread::pool::completion::Completion;
use crate::thread::pool::engine::Engine;
use crate::thread::pool::{submit_task, Callbacks, PoolBuilder};
use crate::time::Deadline;
use crate::Error;

pub use future::Future;
pub use wait::{
    as_completed, as_completed_timeout, wait, wait_async, wait_timeout, AsCompleted,
    DoneAndNotDone, ReturnWhen,
};

/// A pool of threads running submitted tasks: Python's `ThreadPoolExecutor`.
///
/// Dropping an executor shuts it down without waiting (Python's `shutdown(wait=False)`): the
/// tasks submitted still run.
///
/// # Examples
///
/// ```
/// use amphi::thread::Executor;
/// let executor = Executor::new(4)?;
/// let future = executor.submit(|| (1..=10).sum::<u32>())?;
/// assert_eq!(future.result()?, 55);
/// let doubled: Vec<u32> = executor.map(1..=3u32, |n| n * 2)?.collect::<Result<_, _>>()?;
/// assert_eq!(doubled, [2, 4, 6]);
/// executor.shutdown(true, false)?;
/// # Ok::<(), amphi::Error>(())
/// ```
pub struct Executor {
    engine: Engine,
}

/// Configures an [`Executor`]: Python's `ThreadPoolExecutor(max_workers, thread_name_prefix,
/// initializer)`.
///
/// # Examples
///
/// ```
/// let executor = amphi::thread::Executor::builder()
///     .max_workers(2)
///     .thread_name_prefix("fetcher")
///     .build()?;
/// let name = executor.submit(amphi::thread::current_name)?.result()?;
/// assert!(name.starts_with("fetcher_"), "{name}");
/// # Ok::<(), amphi::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct ExecutorBuilder {
    pool: PoolBuilder,
    max_workers: Option<usize>,
}

impl Executor {
    /// An executor of `max_workers` threads. [`Error::InvalidArgument`] for 0. Never waits
    /// for its threads to start.
    ///
    /// # Examples
    ///
    /// ```
    /// let executor = amphi::thread::Executor::new(2)?;
    /// assert_eq!(executor.max_workers(), 2);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn new(max_workers: usize) -> Result<Executor, Error> {
        Executor::builder().max_workers(max_workers).build()
    }

    /// An [`ExecutorBuilder`].
    ///
    /// # Examples
    ///
    /// ```
    /// let executor = amphi::thread::Executor::builder().build()?;
    /// assert!(executor.max_workers() >= 1);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn builder() -> ExecutorBuilder {
        ExecutorBuilder::default()
    }

    /// The number of worker threads.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(amphi::thread::Executor::new(3)?.max_workers(), 3);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn max_workers(&self) -> usize {
        self.engine.size()
    }

    /// Schedules `f` and returns its [`Future`] (Python's `submit`). [`Error::PoolClosed`]
    /// after [`shutdown`](Executor::shutdown); [`Error::BrokenPool`] once an initializer
    /// failed.
    ///
    /// # Examples
    ///
    /// ```
    /// let executor = amphi::thread::Executor::new(1)?;
    /// let future = executor.submit(|| "done")?;
    /// assert_eq!(future.result()?, "done");
    /// executor.shutdown(true, false)?;
    /// assert_eq!(executor.submit(|| ()).err(), Some(amphi::Error::PoolClosed));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn submit<T, F>(&self, f: F) -> Result<Future<T>, Error>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let submitter = self.engine.submitter()?;
        Ok(Future {
            cell: submit_task(&submitter, f, Callbacks::new()),
        })
    }

    /// Submits `f` for every item at once and yields the results in order (Python's `map`):
    /// each item's `Result`, its panic as [`Error::Panicked`].
    ///
    /// # Examples
    ///
    /// ```
    /// let executor = amphi::thread::Executor::new(2)?;
    /// let lengths: Vec<usize> = executor
    ///     .map(["a", "bb"], str::len)?
    ///     .collect::<Result<_, _>>()?;
    /// assert_eq!(lengths, [1, 2]);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn map<A, R, F, I>(&self, items: I, f: F) -> Result<MapResults<R>, Error>
    where
        I: IntoIterator<Item = A>,
        A: Send + 'static,
        R: Send + 'static,
        F: Fn(A) -> R + Send + Sync + 'static,
    {
        self.map_until(items, f, Deadline::NEVER)
    }

    /// [`map`](Executor::map) whose results must all come within `timeout` of this call
    /// (Python's `map(fn, iterable, timeout)`): past it, the iterator yields
    /// [`Error::Timeout`], cancels the tasks not started, and ends.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let executor = amphi::thread::Executor::new(2)?;
    /// let results = executor.map_timeout(0..4u32, |n| n + 1, Duration::from_secs(10))?;
    /// assert_eq!(results.collect::<Result<Vec<_>, _>>()?, [1, 2, 3, 4]);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn map_timeout<A, R, F, I>(
        &self,
        items: I,
        f: F,
        timeout: Duration,
    ) -> Result<MapResults<R>, Error>
    where
        I: IntoIterator<Item = A>,
        A: Send + 'static,
        R: Send + 'static,
        F: Fn(A) -> R + Send + Sync + 'static,
    {
        self.map_until(items, f, Deadline::after(timeout))
    }

    fn map_until<A, R, F, I>(
        &self,
        items: I,
        f: F,
        deadline: Deadline,
    ) -> Result<MapResults<R>, Error>
    where
        I: IntoIterator<Item = A>,
        A: Send + 'static,
        R: Send + 'static,
        F: Fn(A) -> R + Send + Sync + 'static,
    {
        let submitter = self.engine.submitter()?;
        let f = std::sync::Arc::new(f);
        let cells = items
            .into_iter()
            .map(|item| {
                let f = std::sync::Arc::clone(&f);
                submit_task(&submitter, move || f(item), Callbacks::new())
            })
            .collect();
        Ok(MapResults { cells, deadline })
    }

    /// Takes no more tasks (Python's `shutdown`). With `cancel_futures`, cancels every task
    /// not yet started (their futures fail with [`Error::Cancelled`]); with `wait`, waits for
    /// the running ones and the threads to end. Idempotent. With `wait`, on the browser's main
    /// thread, [`Error::WouldBlock`] (and nothing done): use
    /// [`shutdown_async`](Executor::shutdown_async).
    ///
    /// # Examples
    ///
    /// ```
    /// let executor = amphi::thread::Executor::new(2)?;
    /// let future = executor.submit(|| 1)?;
    /// executor.shutdown(true, false)?;
    /// assert_eq!(future.result()?, 1, "tasks submitted before still run");
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn shutdown(&self, wait: bool, cancel_futures: bool) -> Result<(), Error> {
        shutdown::shutdown_until(
            &self.engine,
            wait.then_some(Deadline::NEVER),
            cancel_futures,
        )
    }

    /// [`shutdown`](Executor::shutdown) with `wait`, or [`Error::Timeout`] once `timeout`
    /// has passed with threads still running (the shutdown itself is done).
    ///
    /// # Examples
    ///
    /// ```
    /// let executor = amphi::thread::Executor::new(2)?;
    /// executor.shutdown_timeout(std::time::Duration::from_secs(10), false)?;
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn shutdown_timeout(&self, timeout: Duration, cancel_futures: bool) -> Result<(), Error> {
        let deadline = Deadline::after(timeout);
        shutdown::shutdown_until(&self.engine, Some(deadline), cancel_futures)
    }

    /// [`shutdown`](Executor::shutdown) with `wait`, without blocking the thread: works on the
    /// browser's main thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let executor = amphi::thread::Executor::new(2)?;
    /// futures_executor::block_on(executor.shutdown_async(true))?;
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub async fn shutdown_async(&self, cancel_futures: bool) -> Result<(), Error> {
        shutdown::stop(&self.engine, cancel_futures);
        self.engine.join_async().await
    }
}

impl Drop for Executor {
    fn drop(&mut self) {
        self.engine.close();
    }
}

impl fmt::Debug for Executor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.engine.fmt(f)
    }
}

impl ExecutorBuilder {
    /// A builder with Python's defaults: as many workers as hardware threads plus 4, at most
    /// 32; threads named `ThreadPoolExecutor-E_I`.
    ///
    /// # Examples
    ///
    /// ```
    /// let executor = amphi::thread::ExecutorBuilder::new().build()?;
    /// assert!(executor.max_workers() <= 32);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn new() -> ExecutorBuilder {
        ExecutorBuilder::default()
    }

    /// The number of worker threads (Python's `max_workers`).
    ///
    /// # Examples
    ///
    /// ```
    /// let executor = amphi::thread::Executor::builder().max_workers(3).build()?;
    /// assert_eq!(executor.max_workers(), 3);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn max_workers(mut self, max_workers: usize) -> ExecutorBuilder {
        self.max_workers = Some(max_workers);
        self
    }

    /// Names worker `i` `{prefix}_{i}` (Python's `thread_name_prefix`).
    ///
    /// # Examples
    ///
    /// ```
    /// let executor = amphi::thread::Executor::builder()
    ///     .max_workers(1)
    ///     .thread_name_prefix("db")
    ///     .build()?;
    /// assert_eq!(executor.submit(amphi::thread::current_name)?.result()?, "db_0");
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn thread_name_prefix(mut self, prefix: impl Into<String>) -> ExecutorBuilder {
        self.pool = self.pool.thread_name_prefix(prefix);
        self
    }

    /// A function each worker calls once before any task (Python's `initializer`). If it
    /// panics the executor is broken: tasks not started fail, and `submit` fails, with
    /// [`Error::BrokenPool`].
    ///
    /// # Examples
    ///
    /// ```
    /// let executor = amphi::thread::Executor::builder()
    ///     .max_workers(1)
    ///     .initializer(|| panic!("no database"))
    ///     .build()?;
    /// let outcome = executor.submit(|| 1)?.result();
    /// assert!(matches!(outcome, Err(amphi::Error::BrokenPool(_))), "{outcome:?}");
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn initializer(
        mut self,
        initializer: impl Fn() + Send + Sync + 'static,
    ) -> ExecutorBuilder {
        self.pool = self.pool.initializer(initializer);
        self
    }

    /// Starts the executor; never waits for its threads to start.
    ///
    /// # Examples
    ///
    /// ```
    /// let executor = amphi::thread::Executor::builder().max_workers(1).build()?;
    /// assert_eq!(executor.submit(|| 2)?.result()?, 2);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn build(self) -> Result<Executor, Error> {
        let max_workers = self.max_workers.unwrap_or_else(|| {
            let cpus = std::thread::available_parallelism().map_or(4, usize::from);
            (cpus + 4).min(32)
        });
        let config = self.pool.size(max_workers).config("ThreadPoolExecutor");
        Ok(Executor {
            engine: Engine::new(config)?,
        })
    }
}

/// The results of [`Executor::map`], in the order of the items: an iterator of
/// `Result<R, Error>`. Dropping it cancels the tasks not yet started (as Python's does when
/// the generator is closed).
pub struct MapResults<R> {
    cells: VecDeque<std::sync::Arc<Completion<R>>>,
    deadline: Deadline,
}

impl<R> MapResults<R> {
    /// The results of these tasks, in this order, due by `deadline` (also for the process
    /// executor's `map`).
    pub(crate) fn new(
        cells: VecDeque<std::sync::Arc<Completion<R>>>,
        deadline: Deadline,
    ) -> MapResults<R> {
        MapResults { cells, deadline }
    }

    /// The next result without blocking the thread: works on the browser's main thread (the
    /// timeout of [`Executor::map_timeout`] does not apply here).
    ///
    /// # Examples
    ///
    /// ```
    /// let executor = amphi::thread::Executor::new(1)?;
    /// let mut results = executor.map([1u32], |n| n * 3)?;
    /// assert_eq!(futures_executor::block_on(results.next_async()), Some(Ok(3)));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub async fn next_async(&mut self) -> Option<Result<R, Error>> {
        let head = self.cells.pop_front()?;
        Some(head.get_async().await)
    }

    fn cancel_rest(&mut self) {
        for cell in self.cells.drain(..) {
            cell.cancel(Error::Cancelled);
        }
    }
}

impl<R> Iterator for MapResults<R> {
    type Item = Result<R, Error>;

    fn next(&mut self) -> Option<Result<R, Error>> {
        let head = self.cells.front()?;
        match head.wait_until(self.deadline) {
            Ok(()) => self.cells.pop_front().map(|cell| cell.take()),
            Err(Error::Timeout) => {
                self.cancel_rest();
                Some(Err(Error::Timeout))
            }
            Err(error) => Some(Err(error)),
        }
    }
}

impl<R> Drop for MapResults<R> {
    fn drop(&mut self) {
        self.cancel_rest();
    }
}

impl<R> fmt::Debug for MapResults<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MapResults")
            .field("left", &self.cells.len())
            .finish()
    }
}
