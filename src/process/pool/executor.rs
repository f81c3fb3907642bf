//! [`Executor`]: `concurrent.futures`' `ProcessPoolExecutor`, with the thread executor's
//! methods and its [`Future`], on the process pool's workers and supervisors.
//!
//! It differs from the [`Pool`](super::Pool) in what a worker's death does, as CPython's two
//! differ: the executor becomes broken (CPython's `BrokenProcessPool`). The dead worker's task
//! fails with [`Error::WorkerDied`] (name, pid, exit code), every other pending future, queued
//! or running on another worker, with [`Error::BrokenPool`] naming the dead worker; the other
//! workers are stopped, and submitting fails with `BrokenPool` from then on.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::call::Code;
use super::shared::Shared;
use super::supervisor::Recipe;
use super::{start, submit_one};
use crate::thread::executor::shutdown::{self, Workers};
use crate::thread::{Callbacks, Future, MapResults};
use crate::time::Deadline;
use crate::Error;

/// A pool of worker processes behind futures: Python's
/// `concurrent.futures.ProcessPoolExecutor`.
///
/// # Examples
///
/// ```
/// fn cube(n: u64) -> u64 {
///     n * n * n
/// }
/// let executor = amphi::process::Executor::new(2)?;
/// let future = executor.submit(cube, 3)?;
/// assert_eq!(future.result()?, 27);
/// let cubes: Vec<u64> = executor.map(1..=3, cube)?.collect::<Result<_, _>>()?;
/// assert_eq!(cubes, [1, 8, 27]);
/// executor.shutdown(true, false)?;
/// # Ok::<(), amphi::Error>(())
/// ```
pub struct Executor {
    shared: Arc<Shared>,
    max_workers: usize,
}

/// Configures a process [`Executor`]: Python's `ProcessPoolExecutor(max_workers,
/// initializer=, initargs=, max_tasks_per_child=)`.
///
/// # Examples
///
/// ```
/// fn prepare(_: ()) {}
/// let executor = amphi::process::Executor::builder()
///     .max_workers(2)
///     .initializer(prepare, ())
///     .build()?;
/// assert_eq!(executor.max_workers(), 2);
/// # Ok::<(), amphi::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct ExecutorBuilder {
    max_workers: Option<usize>,
    initializer: Option<Result<super::call::Call, Error>>,
    max_tasks: Option<usize>,
}

impl Executor {
    /// An executor over workers already started behind `shared` (the pools over Redis).
    #[cfg(feature = "redis")]
    pub(super) fn from_shared(shared: Arc<Shared>, max_workers: usize) -> Executor {
        Executor {
            shared,
            max_workers,
        }
    }

    /// An executor of `max_workers` worker processes, all started before it returns.
    /// [`Error::InvalidArgument`] for 0.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(amphi::process::Executor::new(1)?.max_workers(), 1);
    /// assert!(amphi::process::Executor::new(0).is_err());
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
    /// let executor = amphi::process::Executor::builder().max_workers(1).build()?;
    /// assert_eq!(executor.max_workers(), 1);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn builder() -> ExecutorBuilder {
        ExecutorBuilder::default()
    }

    /// The number of workers.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(amphi::process::Executor::new(2)?.max_workers(), 2);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn max_workers(&self) -> usize {
        self.max_workers
    }

    /// Schedules `f(args)` and returns its [`Future`] (Python's `submit`).
    /// [`Error::PoolClosed`] after [`shutdown`](Executor::shutdown), [`Error::BrokenPool`]
    /// once broken, [`Error::Encode`] if `args` does not serialise.
    ///
    /// # Examples
    ///
    /// ```
    /// fn shout(text: String) -> String {
    ///     text.to_uppercase()
    /// }
    /// let executor = amphi::process::Executor::new(1)?;
    /// let future = executor.submit(shout, "done".to_owned())?;
    /// assert_eq!(future.result()?, "DONE");
    /// executor.shutdown(true, false)?;
    /// assert_eq!(executor.submit(shout, String::new()).err(), Some(amphi::Error::PoolClosed));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn submit<A, R>(&self, f: fn(A) -> R, args: A) -> Result<Future<R>, Error>
    where
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        let cell = submit_one(&self.shared, f, args, Callbacks::new())?;
        Ok(Future { cell })
    }

    /// Submits `f` for every item at once and yields the results in order (Python's `map`).
    ///
    /// # Examples
    ///
    /// ```
    /// fn length(text: String) -> usize {
    ///     text.len()
    /// }
    /// let executor = amphi::process::Executor::new(2)?;
    /// let lengths: Vec<usize> = executor
    ///     .map(["a", "bb"].map(String::from), length)?
    ///     .collect::<Result<_, _>>()?;
    /// assert_eq!(lengths, [1, 2]);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn map<A, R, I>(&self, items: I, f: fn(A) -> R) -> Result<MapResults<R>, Error>
    where
        I: IntoIterator<Item = A>,
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        self.map_until(items, f, Deadline::NEVER)
    }

    /// [`map`](Executor::map) whose results must all come within `timeout` of this call:
    /// past it, the iterator yields [`Error::Timeout`], cancels the tasks not started, and
    /// ends.
    ///
    /// # Examples
    ///
    /// ```
    /// fn next(n: u32) -> u32 {
    ///     n + 1
    /// }
    /// let executor = amphi::process::Executor::new(2)?;
    /// let results = executor.map_timeout(0..4u32, next, std::time::Duration::from_secs(60))?;
    /// assert_eq!(results.collect::<Result<Vec<_>, _>>()?, [1, 2, 3, 4]);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn map_timeout<A, R, I>(
        &self,
        items: I,
        f: fn(A) -> R,
        timeout: Duration,
    ) -> Result<MapResults<R>, Error>
    where
        I: IntoIterator<Item = A>,
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        self.map_until(items, f, Deadline::after(timeout))
    }

    fn map_until<A, R, I>(
        &self,
        items: I,
        f: fn(A) -> R,
        deadline: Deadline,
    ) -> Result<MapResults<R>, Error>
    where
        I: IntoIterator<Item = A>,
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        Code::one(f)?;
        let cells = items
            .into_iter()
            .map(|item| submit_one(&self.shared, f, item, Callbacks::new()))
            .collect::<Result<VecDeque<_>, Error>>()?;
        Ok(MapResults::new(cells, deadline))
    }

    /// Takes no more tasks (Python's `shutdown`). With `cancel_futures`, cancels every task
    /// not yet handed to a worker (as Python's, whose call queue also holds a few tasks beyond
    /// the running ones: here, while a worker's tasks are quick, the next one waits in its pipe,
    /// and its future counts as running); with `wait`, waits for the running ones and the
    /// workers to end.
    /// Idempotent. With `wait`, on the browser's main thread, [`Error::WouldBlock`] (and
    /// nothing done): use [`shutdown_async`](Executor::shutdown_async).
    ///
    /// # Examples
    ///
    /// ```
    /// fn one(_: ()) -> u8 {
    ///     1
    /// }
    /// let executor = amphi::process::Executor::new(1)?;
    /// let future = executor.submit(one, ())?;
    /// executor.shutdown(true, false)?;
    /// assert_eq!(future.result()?, 1, "tasks submitted before still run");
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn shutdown(&self, wait: bool, cancel_futures: bool) -> Result<(), Error> {
        shutdown::shutdown_until(
            &*self.shared,
            wait.then_some(Deadline::NEVER),
            cancel_futures,
        )
    }

    /// [`shutdown`](Executor::shutdown) with `wait`, or [`Error::Timeout`] once `timeout`
    /// has passed with workers still running (the shutdown itself is done).
    ///
    /// # Examples
    ///
    /// ```
    /// let executor = amphi::process::Executor::new(1)?;
    /// executor.shutdown_timeout(std::time::Duration::from_secs(60), false)?;
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn shutdown_timeout(&self, timeout: Duration, cancel_futures: bool) -> Result<(), Error> {
        let deadline = Deadline::after(timeout);
        shutdown::shutdown_until(&*self.shared, Some(deadline), cancel_futures)
    }

    /// [`shutdown`](Executor::shutdown) with `wait`, without blocking the thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let executor = amphi::process::Executor::new(1)?;
    /// futures_executor::block_on(executor.shutdown_async(true))?;
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub async fn shutdown_async(&self, cancel_futures: bool) -> Result<(), Error> {
        shutdown::stop(&*self.shared, cancel_futures);
        self.shared.join_async().await
    }
}

impl Drop for Executor {
    /// Shuts down without waiting: the tasks submitted still run, then the workers end.
    fn drop(&mut self) {
        self.shared.close();
    }
}

impl fmt::Debug for Executor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Executor")
            .field("max_workers", &self.max_workers)
            .field("phase", &self.shared.phase())
            .finish()
    }
}

impl ExecutorBuilder {
    /// A builder with Python's defaults: as many workers as hardware threads (4 where the
    /// platform does not say), no initializer.
    ///
    /// # Examples
    ///
    /// ```
    /// let executor = amphi::process::ExecutorBuilder::new().build()?;
    /// assert!(executor.max_workers() >= 1);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn new() -> ExecutorBuilder {
        ExecutorBuilder::default()
    }

    /// The number of workers.
    ///
    /// # Examples
    ///
    /// ```
    /// let executor = amphi::process::ExecutorBuilder::new().max_workers(2).build()?;
    /// assert_eq!(executor.max_workers(), 2);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn max_workers(mut self, max_workers: usize) -> ExecutorBuilder {
        self.max_workers = Some(max_workers);
        self
    }

    /// A function each worker calls with `args` when it starts (Python's `initializer` and
    /// `initargs`); if it panics, the executor is broken ([`Error::BrokenPool`]).
    ///
    /// # Examples
    ///
    /// ```
    /// fn fail(_: ()) {
    ///     panic!("not today");
    /// }
    /// fn one(_: ()) -> u8 {
    ///     1
    /// }
    /// let executor = amphi::process::Executor::builder().max_workers(1).initializer(fail, ()).build()?;
    /// let outcome = executor.submit(one, ()).and_then(|future| future.result());
    /// assert!(matches!(outcome, Err(amphi::Error::BrokenPool(_))));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn initializer<I>(mut self, initializer: fn(I), args: I) -> ExecutorBuilder
    where
        I: Serialize + DeserializeOwned,
    {
        self.initializer = Some(Code::one(initializer).and_then(|code| code.call(&args)));
        self
    }

    /// How many tasks a worker runs before it is replaced (Python's `max_tasks_per_child`).
    ///
    /// # Examples
    ///
    /// ```
    /// fn my_pid(_: ()) -> u32 {
    ///     amphi::process::current_process().pid
    /// }
    /// let executor = amphi::process::Executor::builder().max_workers(1).max_tasks_per_child(1).build()?;
    /// let first = executor.submit(my_pid, ())?.result()?;
    /// assert_ne!(executor.submit(my_pid, ())?.result()?, first);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn max_tasks_per_child(mut self, tasks: usize) -> ExecutorBuilder {
        self.max_tasks = Some(tasks);
        self
    }

    /// Starts the workers and their supervisors.
    ///
    /// # Examples
    ///
    /// ```
    /// let executor = amphi::process::ExecutorBuilder::new().max_workers(1).build()?;
    /// executor.shutdown(true, false)?;
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn build(self) -> Result<Executor, Error> {
        let max_workers = self.max_workers.unwrap_or_else(super::default_size);
        if max_workers == 0 {
            return Err(Error::InvalidArgument(
                "an executor needs at least one worker".to_owned(),
            ));
        }
        if self.max_tasks == Some(0) {
            return Err(Error::InvalidArgument(
                "max_tasks_per_child must be at least 1".to_owned(),
            ));
        }
        let recipe = Recipe {
            prefix: "ProcessPoolExecutor".to_owned(),
            initializer: self.initializer.transpose()?,
            max_tasks: self.max_tasks,
            break_on_death: true,
        };
        Ok(Executor {
            shared: start(max_workers, &recipe)?,
            max_workers,
        })
    }
}

impl Workers for Shared {
    fn close(&self) {
        Shared::close(self);
    }

    fn cancel_queued(&self) {
        Shared::cancel_queued(self, &Error::Cancelled);
    }

    fn join_until(&self, deadline: Deadline) -> Result<(), Error> {
        Shared::join_until(self, deadline)
    }
}
