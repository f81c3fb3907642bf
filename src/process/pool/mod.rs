//! [`Pool`]: Python's `multiprocessing.Pool`, on worker processes (natively re-executed child
//! processes, in the browser isolated process workers), with the thread pool's methods and
//! forms where they apply.
//!
//! Tasks are plain functions of the program, `fn(A) -> R`, with serde arguments and results,
//! as [`Process`](super::Process) runs them. Results come back as the thread pool's
//! [`AsyncResult`] and as [`Imap`] / [`ImapUnordered`] streams.
//!
//! - `call`: what a worker is asked to run and what it answers, and the entries that run it;
//! - `worker`: the loop a worker process runs, and the messages on its pipe;
//! - `shared`: the parent's queue of tasks, the pool's phase, the workers of the moment;
//! - `supervisor`: one parent thread per worker slot, which feeds its worker one task at a
//!   time, notices its death, and replaces it;
//! - `imap`: what the streaming iterators (the thread pool's engine) are fed with here;
//! - `star`: [`StarArgs`], the tuples `starmap` calls a plain function with;
//! - `executor`: [`Executor`], `concurrent.futures`' `ProcessPoolExecutor` on the same
//!   workers and supervisors, which breaks where the pool replaces a dead worker;
//! - `redis` (feature `redis`, native only): the same pools whose workers serve a Redis
//!   stream from any machine ([`Pool::connect`], [`Executor::connect`], `redis_worker`,
//!   and `LocalRedisServer` for a server of the program's own).
//!
//! # Deaths and bad data
//!
//! The parent hands each worker one task at a time, so it always knows which task a worker
//! runs. A worker that dies while running a task (killed, or ended by
//! [`exit`](super::exit) in the task) fails that task alone with
//! [`Error::WorkerDied`](crate::Error::WorkerDied), naming the worker, its pid and its exit
//! code (`-N` for signal `N`), within a fraction of a second of the platform noticing the
//! death; the pool starts a replacement and goes on with the other tasks (billiard's
//! semantics; Python's `multiprocessing.Pool` would wait forever for the lost task). A task
//! that panics fails with [`Error::Panicked`](crate::Error::Panicked) (the worker's name, the
//! message and the location) and the worker goes on. An argument or result that does not
//! serialise or deserialise fails its task with [`Error::Encode`](crate::Error::Encode) or
//! [`Error::Decode`](crate::Error::Decode), and the worker goes on. An initializer that
//! fails, or a worker that cannot start, breaks the pool
//! ([`Error::BrokenPool`](crate::Error::BrokenPool)): the queued tasks fail, submitting fails,
//! and no worker is started again.

mod call;
mod executor;
mod imap;
#[cfg(feature = "redis")]
mod redis;
mod shared;
mod star;
mod supervisor;
mod worker;

use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::thread::pool::completion::Completion;
use crate::thread::pool::gather::{self, check_chunksize, settle};
use crate::thread::pool::{default_size, ensure_can_block};
use crate::thread::{AsyncResult, Callbacks};
pub use crate::thread::{Imap, ImapUnordered};
use crate::time::Deadline;
use crate::Error;
use call::{Code, Reply};
pub use executor::{Executor, ExecutorBuilder};
use imap::WorkerFeed;
#[cfg(feature = "redis")]
pub use redis::{redis_worker, start_redis_worker, LocalRedisServer, RedisBuilder, WorkerOptions};
use shared::{Job, Phase, Shared};
pub use star::StarArgs;
use supervisor::{Recipe, Worker};

/// How many chunks of a `map` are submitted at a time.
const SUBMIT_BATCH: usize = 16;

/// A pool of worker processes: Python's `multiprocessing.Pool`.
///
/// Created with [`Pool::new`] or [`Pool::builder`]; tasks go in with `apply`, `map` and their
/// variants; [`close`](Pool::close) or [`terminate`](Pool::terminate), then
/// [`join`](Pool::join), end it. Dropping a pool terminates it: its workers are stopped. The
/// workers are daemonic, so none outlives the program, even when the program is killed.
///
/// The methods are the thread pool's ([`ThreadPool`](crate::ThreadPool)), with a plain
/// function and its argument where the thread pool takes a closure: `pool.apply(f, args)`,
/// `pool.map(items, f)`.
///
/// # Examples
///
/// ```
/// fn square(n: u64) -> u64 {
///     n * n
/// }
///
/// let pool = amphi::process::Pool::new(2)?;
/// assert_eq!(pool.map(1..=5, square)?, [1, 4, 9, 16, 25]);
/// assert_eq!(pool.apply(square, 12)?, 144);
/// pool.close();
/// pool.join()?;
/// # Ok::<(), amphi::Error>(())
/// ```
pub struct Pool {
    shared: Arc<Shared>,
    size: usize,
}

/// Configures a process [`Pool`]: Python's `Pool(processes, initializer, initargs,
/// maxtasksperchild)`.
///
/// # Examples
///
/// ```
/// fn greet(_: ()) -> String {
///     format!("hello from {}", amphi::process::current_process().name)
/// }
/// fn prepare(_: ()) {}
///
/// let pool = amphi::process::Pool::builder()
///     .size(2)
///     .initializer(prepare, ())
///     .max_tasks_per_child(10)
///     .build()?;
/// assert!(pool.apply(greet, ())?.starts_with("hello from PoolWorker-"));
/// # Ok::<(), amphi::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct PoolBuilder {
    size: Option<usize>,
    initializer: Option<Result<call::Call, Error>>,
    max_tasks: Option<usize>,
}

impl Pool {
    /// A pool of `size` worker processes, all started before it returns.
    /// [`Error::InvalidArgument`] for 0 (Python's `ValueError`); a worker that cannot start
    /// is [`Error::ProcessStart`], after the ones already started were stopped.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = amphi::process::Pool::new(3)?;
    /// assert_eq!(pool.size(), 3);
    /// assert!(amphi::process::Pool::new(0).is_err());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn new(size: usize) -> Result<Pool, Error> {
        Pool::builder().size(size).build()
    }

    /// A [`PoolBuilder`], for an initializer or `maxtasksperchild`.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = amphi::process::Pool::builder().size(1).build()?;
    /// assert_eq!(pool.size(), 1);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn builder() -> PoolBuilder {
        PoolBuilder::default()
    }

    /// The number of workers.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(amphi::process::Pool::new(2)?.size(), 2);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn size(&self) -> usize {
        self.size
    }

    /// Runs `f(args)` on a worker and waits for its result (Python's `apply`). A panic in `f`
    /// is [`Error::Panicked`]; a worker killed while running it, [`Error::WorkerDied`].
    /// [`Error::WouldBlock`] on the browser's main thread (nothing is submitted there: use
    /// [`apply_async`](Pool::apply_async)).
    ///
    /// # Examples
    ///
    /// ```
    /// fn add((a, b): (i32, i32)) -> i32 {
    ///     a + b
    /// }
    /// let pool = amphi::process::Pool::new(1)?;
    /// assert_eq!(pool.apply(add, (2, 2))?, 4);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn apply<A, R>(&self, f: fn(A) -> R, args: A) -> Result<R, Error>
    where
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        ensure_can_block()?;
        self.apply_async(f, args)?.get()
    }

    /// Starts `f(args)` on a worker and returns at once with an [`AsyncResult`] (Python's
    /// `apply_async`). [`Error::PoolClosed`] after `close` or `terminate`,
    /// [`Error::BrokenPool`] once broken, [`Error::Encode`] if `args` does not serialise
    /// (nothing is submitted then).
    ///
    /// # Examples
    ///
    /// ```
    /// fn tenfold(n: u32) -> u32 {
    ///     n * 10
    /// }
    /// let pool = amphi::process::Pool::new(2)?;
    /// let results: Vec<_> = (0..4u32)
    ///     .map(|n| pool.apply_async(tenfold, n))
    ///     .collect::<Result<_, _>>()?;
    /// let values: Vec<u32> = results.iter().map(|r| r.get()).collect::<Result<_, _>>()?;
    /// assert_eq!(values, [0, 10, 20, 30]);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn apply_async<A, R>(&self, f: fn(A) -> R, args: A) -> Result<AsyncResult<R>, Error>
    where
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        self.apply_async_with(f, args, Callbacks::new())
    }

    /// [`apply_async`](Pool::apply_async) with [`Callbacks`] (Python's `callback` and
    /// `error_callback`), run in the parent, on the thread that supervises the worker, before
    /// the result becomes ready; not for a task that never ran.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::mpsc;
    /// fn fail(_: ()) -> u8 {
    ///     panic!("broken input")
    /// }
    /// let pool = amphi::process::Pool::new(1)?;
    /// let (tx, rx) = mpsc::channel();
    /// let callbacks = amphi::thread::Callbacks::new()
    ///     .on_error(move |error: &amphi::Error| tx.send(error.to_string()).unwrap());
    /// let result = pool.apply_async_with(fail, (), callbacks)?;
    /// assert!(result.get().is_err());
    /// assert!(rx.recv().unwrap().contains("broken input"));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn apply_async_with<A, R>(
        &self,
        f: fn(A) -> R,
        args: A,
        callbacks: Callbacks<R>,
    ) -> Result<AsyncResult<R>, Error>
    where
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        submit_one(&self.shared, f, args, callbacks).map(AsyncResult::new)
    }

    /// Applies `f` to every item on the workers and returns the results in order (Python's
    /// `map`), in chunks of Python's default size (the items over four times the workers,
    /// rounded up). The first chunk that failed, in order, is the call's error.
    /// [`Error::WouldBlock`] on the browser's main thread: use [`map_async`](Pool::map_async).
    ///
    /// # Examples
    ///
    /// ```
    /// fn square(n: u32) -> u32 {
    ///     n * n
    /// }
    /// let pool = amphi::process::Pool::new(2)?;
    /// assert_eq!(pool.map(0..6u32, square)?, [0, 1, 4, 9, 16, 25]);
    /// assert_eq!(pool.map(Vec::<u32>::new(), square)?, Vec::<u32>::new());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn map<A, R, I>(&self, items: I, f: fn(A) -> R) -> Result<Vec<R>, Error>
    where
        I: IntoIterator<Item = A>,
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        ensure_can_block()?;
        self.map_async(items, f)?.get()
    }

    /// [`map`](Pool::map) in chunks of `chunksize` items, each chunk one task (Python's
    /// `map(func, iterable, chunksize)`). [`Error::InvalidArgument`] for 0.
    ///
    /// # Examples
    ///
    /// ```
    /// fn next(n: u32) -> u32 {
    ///     n + 1
    /// }
    /// let pool = amphi::process::Pool::new(2)?;
    /// assert_eq!(pool.map_chunked(0..5u32, next, 2)?, [1, 2, 3, 4, 5]);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn map_chunked<A, R, I>(
        &self,
        items: I,
        f: fn(A) -> R,
        chunksize: usize,
    ) -> Result<Vec<R>, Error>
    where
        I: IntoIterator<Item = A>,
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        ensure_can_block()?;
        self.map_async_with(items, f, Some(chunksize), Callbacks::new())?
            .get()
    }

    /// Starts a [`map`](Pool::map) and returns at once with an [`AsyncResult`] of every
    /// result, in order (Python's `map_async`).
    ///
    /// # Examples
    ///
    /// ```
    /// fn length(text: String) -> usize {
    ///     text.len()
    /// }
    /// let pool = amphi::process::Pool::new(2)?;
    /// let words = ["a", "bb", "ccc"].map(String::from);
    /// assert_eq!(pool.map_async(words, length)?.get()?, [1, 2, 3]);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn map_async<A, R, I>(&self, items: I, f: fn(A) -> R) -> Result<AsyncResult<Vec<R>>, Error>
    where
        I: IntoIterator<Item = A>,
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        self.map_async_with(items, f, None, Callbacks::new())
    }

    /// [`map_async`](Pool::map_async) with a chunk size (`None`: Python's default) and
    /// [`Callbacks`], which see the whole list of results or the first error.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::mpsc;
    /// fn same(n: u32) -> u32 {
    ///     n
    /// }
    /// let pool = amphi::process::Pool::new(2)?;
    /// let (tx, rx) = mpsc::channel();
    /// let callbacks = amphi::thread::Callbacks::new()
    ///     .on_success(move |all: &Vec<u32>| tx.send(all.iter().sum::<u32>()).unwrap());
    /// pool.map_async_with(1..=4u32, same, Some(1), callbacks)?.wait()?;
    /// assert_eq!(rx.recv().unwrap(), 10);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn map_async_with<A, R, I>(
        &self,
        items: I,
        f: fn(A) -> R,
        chunksize: Option<usize>,
        callbacks: Callbacks<Vec<R>>,
    ) -> Result<AsyncResult<Vec<R>>, Error>
    where
        I: IntoIterator<Item = A>,
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        if let Some(chunksize) = chunksize {
            check_chunksize(chunksize)?;
        }
        self.shared.check_open(false)?;
        self.map_code(items, Code::chunk(f)?, chunksize, callbacks)
    }

    /// [`map`](Pool::map) for functions of several arguments, each item a tuple of them
    /// (Python's `starmap`, which calls `func(*args)`): `f` is a plain `fn(A, B) -> R` (up to
    /// six arguments, see [`StarArgs`]) and the items are `(A, B)`. The thread pool's
    /// [`starmap`](crate::ThreadPool::starmap) takes the same items and functions.
    ///
    /// # Examples
    ///
    /// ```
    /// fn power(base: u64, exponent: u32) -> u64 {
    ///     base.pow(exponent)
    /// }
    /// let pool = amphi::process::Pool::new(2)?;
    /// assert_eq!(pool.starmap(vec![(2, 10), (3, 3)], power)?, [1024, 27]);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn starmap<Args, R, I>(&self, items: I, f: Args::Fn<R>) -> Result<Vec<R>, Error>
    where
        I: IntoIterator<Item = Args>,
        Args: StarArgs + Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        ensure_can_block()?;
        self.starmap_async(items, f)?.get()
    }

    /// [`starmap`](Pool::starmap) returning at once with an [`AsyncResult`] (Python's
    /// `starmap_async`).
    ///
    /// # Examples
    ///
    /// ```
    /// fn volume(width: u32, height: u32, depth: u32) -> u32 {
    ///     width * height * depth
    /// }
    /// let pool = amphi::process::Pool::new(2)?;
    /// let volumes = pool.starmap_async([(1, 2, 3), (2, 2, 2)], volume)?;
    /// assert_eq!(volumes.get()?, [6, 8]);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn starmap_async<Args, R, I>(
        &self,
        items: I,
        f: Args::Fn<R>,
    ) -> Result<AsyncResult<Vec<R>>, Error>
    where
        I: IntoIterator<Item = Args>,
        Args: StarArgs + Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        self.shared.check_open(false)?;
        self.map_code(
            items,
            Code::star_chunk::<Args, R>(f)?,
            None,
            Callbacks::new(),
        )
    }

    /// Submits a `map` of `code` over the items, in chunks.
    fn map_code<A, R, I>(
        &self,
        items: I,
        code: Code,
        chunksize: Option<usize>,
        callbacks: Callbacks<Vec<R>>,
    ) -> Result<AsyncResult<Vec<R>>, Error>
    where
        I: IntoIterator<Item = A>,
        A: Serialize,
        R: DeserializeOwned + Send + 'static,
    {
        let items: Vec<A> = items.into_iter().collect();
        let plan = gather::plan(items, chunksize, self.size, callbacks);
        let Some((chunks, gather)) = plan.chunks else {
            return Ok(AsyncResult::new(plan.cell));
        };
        // Submitted in small batches as they are serialised, so the workers start on the first
        // chunks while the parent prepares the rest (serialising every chunk first left them
        // idle that long). A chunk that does not serialise, or a pool that stops taking work
        // meanwhile, abandons the call: the chunks not started are skipped, no callback runs.
        let count = chunks.len();
        let mut batch = Vec::with_capacity(SUBMIT_BATCH.min(count));
        for (index, chunk) in chunks.iter().enumerate() {
            // Each chunk is one task: its own submission id and `pool.submit` slice (which
            // holds the batch's queueing when it is the batch's last).
            let submission = crate::trace::next_submission();
            let _submit = crate::trace::span!("pool.submit", submission);
            let message = match code.message(submission, chunk) {
                Ok(message) => message,
                Err(error) => {
                    gather.abandon(error.clone());
                    return Err(error);
                }
            };
            let starting = Arc::clone(&gather);
            let finishing = Arc::clone(&gather);
            batch.push(Job {
                message,
                start: Box::new(move || starting.start()),
                finish: Box::new(move |outcome: Result<Reply, Error>, worker: &str| {
                    let outcome = outcome.and_then(|reply| reply.decode::<Vec<R>>(worker));
                    finishing.deliver(index, outcome);
                }),
            });
            if batch.len() == SUBMIT_BATCH || index + 1 == count {
                let jobs = std::mem::replace(&mut batch, Vec::with_capacity(SUBMIT_BATCH));
                if let Err((_, error)) = self.shared.submit(jobs, false) {
                    gather.abandon(error.clone());
                    return Err(error);
                }
            }
        }
        Ok(AsyncResult::new(plan.cell))
    }

    /// Applies `f` to the items lazily and yields the results in order as they come (Python's
    /// `imap`): at most a few tasks per worker are in flight, so an input of any length (an
    /// endless one included) is never collected. The input is read on the thread that
    /// iterates. [`Error::PoolClosed`] after `close`.
    ///
    /// # Examples
    ///
    /// ```
    /// fn double(n: u64) -> u64 {
    ///     n * 2
    /// }
    /// let pool = amphi::process::Pool::new(2)?;
    /// let evens: Vec<u64> = pool.imap(0.., double)?.take(5).collect::<Result<_, _>>()?;
    /// assert_eq!(evens, [0, 2, 4, 6, 8]);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn imap<A, R, I>(&self, items: I, f: fn(A) -> R) -> Result<Imap<R>, Error>
    where
        I: IntoIterator<Item = A>,
        I::IntoIter: 'static,
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        self.imap_chunked(items, f, 1)
    }

    /// [`imap`](Pool::imap) with `chunksize` items per task (a chunk that failed is one error
    /// in the stream).
    ///
    /// # Examples
    ///
    /// ```
    /// fn same(n: u32) -> u32 {
    ///     n
    /// }
    /// let pool = amphi::process::Pool::new(2)?;
    /// let all: Vec<u32> = pool.imap_chunked(0..10u32, same, 3)?.collect::<Result<_, _>>()?;
    /// assert_eq!(all, (0..10).collect::<Vec<_>>());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn imap_chunked<A, R, I>(
        &self,
        items: I,
        f: fn(A) -> R,
        chunksize: usize,
    ) -> Result<Imap<R>, Error>
    where
        I: IntoIterator<Item = A>,
        I::IntoIter: 'static,
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        check_chunksize(chunksize)?;
        self.shared.check_open(false)?;
        let code = Code::chunk(f)?;
        let feed = WorkerFeed::new(Arc::clone(&self.shared), items.into_iter(), code, chunksize);
        Ok(Imap::new(Box::new(feed), gather::window(self.size)))
    }

    /// [`imap`](Pool::imap), yielding each result as soon as its task ends, in any order
    /// (Python's `imap_unordered`).
    ///
    /// # Examples
    ///
    /// ```
    /// fn square(n: u32) -> u32 {
    ///     n * n
    /// }
    /// let pool = amphi::process::Pool::new(2)?;
    /// let mut all: Vec<u32> = pool.imap_unordered(0..5u32, square)?.collect::<Result<_, _>>()?;
    /// all.sort();
    /// assert_eq!(all, [0, 1, 4, 9, 16]);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn imap_unordered<A, R, I>(
        &self,
        items: I,
        f: fn(A) -> R,
    ) -> Result<ImapUnordered<R>, Error>
    where
        I: IntoIterator<Item = A>,
        I::IntoIter: 'static,
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        self.imap_unordered_chunked(items, f, 1)
    }

    /// [`imap_unordered`](Pool::imap_unordered) with `chunksize` items per task.
    ///
    /// # Examples
    ///
    /// ```
    /// fn same(n: u32) -> u32 {
    ///     n
    /// }
    /// let pool = amphi::process::Pool::new(2)?;
    /// let total: u32 = pool
    ///     .imap_unordered_chunked(1..=100u32, same, 10)?
    ///     .map(Result::unwrap)
    ///     .sum();
    /// assert_eq!(total, 5050);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn imap_unordered_chunked<A, R, I>(
        &self,
        items: I,
        f: fn(A) -> R,
        chunksize: usize,
    ) -> Result<ImapUnordered<R>, Error>
    where
        I: IntoIterator<Item = A>,
        I::IntoIter: 'static,
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        check_chunksize(chunksize)?;
        self.shared.check_open(false)?;
        let code = Code::chunk(f)?;
        let feed = WorkerFeed::new(Arc::clone(&self.shared), items.into_iter(), code, chunksize);
        Ok(ImapUnordered::new(
            Box::new(feed),
            gather::window(self.size),
        ))
    }

    /// Takes no more tasks (Python's `close`); those submitted still run, and the workers end
    /// once they are done. Idempotent.
    ///
    /// # Examples
    ///
    /// ```
    /// fn noop(_: ()) {}
    /// let pool = amphi::process::Pool::new(1)?;
    /// pool.close();
    /// assert_eq!(pool.apply_async(noop, ()).err(), Some(amphi::Error::PoolClosed));
    /// pool.join()?;
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn close(&self) {
        self.shared.close();
    }

    /// Takes no more tasks, cancels every task that has not started (their results fail with
    /// [`Error::Cancelled`]) and stops the workers (SIGTERM natively, `terminate` in the
    /// browser): the tasks they were running fail with [`Error::WorkerDied`]. Returns at once,
    /// however many tasks were queued; [`join`](Pool::join) waits until the workers are gone.
    /// Dropping the pool does the same.
    ///
    /// # Examples
    ///
    /// ```
    /// fn nap(millis: u64) {
    ///     std::thread::sleep(std::time::Duration::from_millis(millis));
    /// }
    /// let pool = amphi::process::Pool::new(1)?;
    /// let queued: Vec<_> = (0..100).map(|_| pool.apply_async(nap, 60_000)).collect::<Result<_, _>>()?;
    /// pool.terminate();
    /// assert_eq!(queued[99].get(), Err(amphi::Error::Cancelled));
    /// pool.join()?;
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn terminate(&self) {
        for process in self.shared.end(Phase::Terminated) {
            let _ = process.terminate();
        }
    }

    /// Waits for the workers to end, after [`close`](Pool::close) or
    /// [`terminate`](Pool::terminate) (Python's `join`); [`Error::PoolRunning`] before.
    /// [`Error::WouldBlock`] on the browser's main thread: use [`join_async`](Pool::join_async).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = amphi::process::Pool::new(2)?;
    /// assert_eq!(pool.join(), Err(amphi::Error::PoolRunning));
    /// pool.close();
    /// pool.join()?;
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn join(&self) -> Result<(), Error> {
        self.shared.join_until(Deadline::NEVER)
    }

    /// [`join`](Pool::join), or [`Error::Timeout`] once `timeout` has passed.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = amphi::process::Pool::new(1)?;
    /// pool.close();
    /// pool.join_timeout(std::time::Duration::from_secs(60))?;
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn join_timeout(&self, timeout: Duration) -> Result<(), Error> {
        self.shared.join_until(Deadline::after(timeout))
    }

    /// Whether every worker has ended, without waiting: `Ok` if so, [`Error::NotReady`] if
    /// not, [`Error::PoolRunning`] before close or terminate.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = amphi::process::Pool::new(1)?;
    /// pool.close();
    /// pool.join()?;
    /// assert_eq!(pool.try_join(), Ok(()));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn try_join(&self) -> Result<(), Error> {
        self.shared.join_until(Deadline::NOW)
    }

    /// Waits for the workers to end without blocking the thread: works on the browser's main
    /// thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = amphi::process::Pool::new(1)?;
    /// pool.close();
    /// futures_executor::block_on(pool.join_async())?;
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub async fn join_async(&self) -> Result<(), Error> {
        self.shared.join_async().await
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.terminate();
    }
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("size", &self.size)
            .field("phase", &self.shared.phase())
            .finish()
    }
}

impl PoolBuilder {
    /// A builder with Python's defaults: as many workers as the machine has hardware threads
    /// (4 where the platform does not say), no initializer, workers that live for ever.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = amphi::process::PoolBuilder::new().build()?;
    /// assert!(pool.size() >= 1);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn new() -> PoolBuilder {
        PoolBuilder::default()
    }

    /// The number of workers (Python's `processes`).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(amphi::process::Pool::builder().size(3).build()?.size(), 3);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn size(mut self, size: usize) -> PoolBuilder {
        self.size = Some(size);
        self
    }

    /// A function each worker calls with `args` once when it starts, before any task
    /// (Python's `initializer` and `initargs`). If it panics (or `args` does not serialise),
    /// the pool is broken: the queued tasks and later submissions fail with
    /// [`Error::BrokenPool`], which carries the panic's report, and no worker is started
    /// again.
    ///
    /// # Examples
    ///
    /// ```
    /// use amphi::process::Value;
    /// fn count_start(started: Value<u32>) {
    ///     started.fetch_add(1);
    /// }
    /// let started = Value::new(0u32)?;
    /// let pool = amphi::process::Pool::builder()
    ///     .size(2)
    ///     .initializer(count_start, started.clone())
    ///     .build()?;
    /// pool.close();
    /// pool.join()?;
    /// assert_eq!(started.get(), 2, "each worker ran the initializer once");
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn initializer<I>(mut self, initializer: fn(I), args: I) -> PoolBuilder
    where
        I: Serialize + DeserializeOwned,
    {
        self.initializer = Some(Code::one(initializer).and_then(|code| code.call(&args)));
        self
    }

    /// How many tasks a worker runs before it is replaced by a fresh one (Python's
    /// `maxtasksperchild`); results are unaffected. [`Error::InvalidArgument`] from
    /// [`build`](PoolBuilder::build) for 0.
    ///
    /// # Examples
    ///
    /// ```
    /// fn my_pid(_: ()) -> u32 {
    ///     amphi::process::current_process().pid
    /// }
    /// let pool = amphi::process::Pool::builder().size(1).max_tasks_per_child(1).build()?;
    /// let first = pool.apply(my_pid, ())?;
    /// let second = pool.apply(my_pid, ())?;
    /// assert_ne!(first, second, "each task ran in a fresh worker");
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn max_tasks_per_child(mut self, tasks: usize) -> PoolBuilder {
        self.max_tasks = Some(tasks);
        self
    }

    /// Starts the workers (all of them before it returns) and their supervisors. A worker
    /// that cannot start fails the build with its error, after the ones already started were
    /// stopped.
    ///
    /// # Examples
    ///
    /// ```
    /// fn one(_: ()) -> u8 {
    ///     1
    /// }
    /// let pool = amphi::process::Pool::builder().size(2).build()?;
    /// assert_eq!(pool.apply(one, ())?, 1);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn build(self) -> Result<Pool, Error> {
        let size = self.size.unwrap_or_else(default_size);
        if size == 0 {
            return Err(Error::InvalidArgument(
                "a pool needs at least one worker".to_owned(),
            ));
        }
        if self.max_tasks == Some(0) {
            return Err(Error::InvalidArgument(
                "maxtasksperchild must be at least 1".to_owned(),
            ));
        }
        let recipe = Recipe {
            prefix: "PoolWorker".to_owned(),
            initializer: self.initializer.transpose()?,
            max_tasks: self.max_tasks,
            break_on_death: false,
        };
        Ok(Pool {
            shared: start(size, &recipe)?,
            size,
        })
    }
}

/// Starts `size` workers (all before it returns) and their supervisors. A worker that cannot
/// start fails the call with its error, after the ones already started were stopped.
fn start(size: usize, recipe: &Recipe) -> Result<Arc<Shared>, Error> {
    let mut workers = Vec::with_capacity(size);
    for _ in 0..size {
        match Worker::start(recipe, supervisor::next_number()) {
            Ok(worker) => workers.push(worker),
            Err(error) => {
                stop_all(&workers);
                return Err(error);
            }
        }
    }
    let shared = Arc::new(Shared::new(size));
    shared.running.store(size as u32, Ordering::Release);
    for (slot, worker) in workers.into_iter().enumerate() {
        let process = Arc::clone(&worker.process);
        let spawned = crate::thread::Builder::new()
            .name(format!("{}-supervisor", process.name()))
            .spawn({
                let shared = Arc::clone(&shared);
                let recipe = recipe.clone();
                move || supervisor::supervise(shared, recipe, slot, worker)
            });
        if let Err(error) = spawned {
            let _ = process.kill();
            // The supervisors not started never end: count them out.
            for _ in slot..size {
                shared.supervisor_ended();
            }
            for process in shared.end(Phase::Terminated) {
                let _ = process.kill();
            }
            return Err(error);
        }
    }
    Ok(shared)
}

/// Submits `f(args)` as one task; its cell.
fn submit_one<A, R>(
    shared: &Shared,
    f: fn(A) -> R,
    args: A,
    callbacks: Callbacks<R>,
) -> Result<Arc<Completion<R>>, Error>
where
    A: Serialize + DeserializeOwned,
    R: Serialize + DeserializeOwned + Send + 'static,
{
    shared.check_open(false)?;
    let submission = crate::trace::next_submission();
    let _submit = crate::trace::span!("pool.submit", submission);
    let message = Code::one(f)?.message(submission, &args)?;
    let cell = Completion::new();
    let job = Job {
        message,
        start: {
            let cell = Arc::clone(&cell);
            Box::new(move || cell.start())
        },
        finish: {
            let cell = Arc::clone(&cell);
            Box::new(move |outcome: Result<Reply, Error>, worker: &str| {
                settle(
                    &cell,
                    outcome.and_then(|reply| reply.decode(worker)),
                    callbacks,
                );
            })
        },
    };
    shared
        .submit(vec![job], false)
        .map_err(|(_, error)| error)?;
    Ok(cell)
}

/// Kills and reaps workers started for a pool that will not be built.
fn stop_all(workers: &[Worker]) {
    for worker in workers {
        let _ = worker.process.kill();
    }
    for worker in workers {
        let _ = worker.process.join_timeout(Duration::from_secs(5));
    }
}
