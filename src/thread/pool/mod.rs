//! [`Pool`]: Python's `multiprocessing.pool.ThreadPool`, on one `rayon::ThreadPool` whose
//! workers are amphi threads (OS threads natively, Web Workers in the browser).
//!
//! - `engine`: the rayon pool, its life cycle (running, closed, terminated) and the tasks not
//!   yet started that `terminate` cancels; shared with [`Executor`](crate::thread::Executor);
//! - `completion`: the one-shot cell a task delivers into, and [`AsyncResult`];
//! - `catch`: a task's panic as an error for that task only, with its message and location;
//! - `gather`: the `map` family's chunking and the assembly of its chunks' outcomes;
//! - `imap`: the streaming iterators [`Imap`] and [`ImapUnordered`];
//! - `star`: [`StarFn`], the functions [`Pool::starmap`] calls with a tuple's fields.
//!
//! A task that panics fails alone, as [`Error::Panicked`](crate::Error::Panicked) through
//! `get`, the error callback or the iterator; the pool stays usable. Every blocking call has
//! a `_timeout`, a `try_` and an `_async` form; on the browser's main thread the blocking
//! forms return [`Error::WouldBlock`](crate::Error::WouldBlock) before submitting anything,
//! and the `_async` forms work.

mod catch;
pub(crate) mod completion;
pub(crate) mod engine;
pub(crate) mod gather;
pub(crate) mod imap;
mod star;

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::sys;
use crate::time::Deadline;
use crate::Error;

pub(crate) use catch::run_caught;
pub use completion::AsyncResult;
use completion::Completion;
use engine::{Config, Engine, Initializer, Submitter, ThreadNamer};
use gather::check_chunksize;
use imap::{next_chunk, Delivery, Fed, Feed};
pub use imap::{Imap, ImapUnordered};
pub use star::StarFn;

/// A pool of worker threads: Python's `multiprocessing.pool.ThreadPool`.
///
/// Created with [`Pool::new`] or [`Pool::builder`]; tasks go in with `apply`, `map` and their
/// variants; [`close`](Pool::close) or [`terminate`](Pool::terminate), then
/// [`join`](Pool::join), end it. Dropping a pool terminates it (without waiting). A `Pool`
/// is `Send + Sync`: share it with an `Arc` to submit from several threads.
///
/// Underneath is one `rayon::ThreadPool` whose threads are amphi threads, so
/// [`install`](Pool::install) runs rayon's parallel iterators on it, in the browser too.
///
/// # Examples
///
/// ```
/// let pool = amphi::ThreadPool::new(4)?;
/// assert_eq!(pool.map(1..=5, |n: u64| n * n)?, [1, 4, 9, 16, 25]);
/// let pending = pool.apply_async(|| "hello from a worker")?;
/// assert_eq!(pending.get()?, "hello from a worker");
/// pool.close();
/// pool.join()?;
/// # Ok::<(), amphi::Error>(())
/// ```
pub struct Pool {
    engine: Engine,
}

/// Configures a [`Pool`] before it starts: Python's `ThreadPool(processes, initializer)`, plus
/// the workers' names.
///
/// # Examples
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
/// let started = Arc::new(AtomicUsize::new(0));
/// let pool = {
///     let started = started.clone();
///     amphi::ThreadPool::builder()
///         .size(2)
///         .initializer(move || {
///             started.fetch_add(1, Ordering::SeqCst);
///         })
///         .thread_name_prefix("cruncher")
///         .build()?
/// };
/// let name = pool.apply(amphi::thread::current_name)?;
/// assert!(name.starts_with("cruncher_"), "{name}");
/// pool.close();
/// pool.join()?;
/// assert_eq!(started.load(Ordering::SeqCst), 2, "each worker ran the initializer once");
/// # Ok::<(), amphi::Error>(())
/// ```
#[derive(Default)]
pub struct PoolBuilder {
    size: Option<usize>,
    initializer: Option<Initializer>,
    thread_name: Option<ThreadNamer>,
}

/// What to call when a task submitted with [`Pool::apply_async_with`] or
/// [`Pool::map_async_with`] ends: Python's `callback` and `error_callback`.
///
/// A callback runs on the worker that ran the task, before the result becomes ready (so a
/// `get` that returns has seen its callback run), and only for a task that ran (not for one
/// cancelled by `terminate`). A callback that panics is reported by the panic hook and changes
/// nothing else.
///
/// # Examples
///
/// ```
/// use std::sync::{Arc, Mutex};
/// let pool = amphi::ThreadPool::new(2)?;
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let callbacks = {
///     let (ok, err) = (seen.clone(), seen.clone());
///     amphi::thread::Callbacks::new()
///         .on_success(move |value: &u32| ok.lock().unwrap().push(format!("ok {value}")))
///         .on_error(move |error| err.lock().unwrap().push(format!("error {error}")))
/// };
/// pool.apply_async_with(|| 7, callbacks)?.get()?;
/// assert_eq!(*seen.lock().unwrap(), ["ok 7"]);
/// # Ok::<(), amphi::Error>(())
/// ```
pub struct Callbacks<T> {
    on_success: Option<SuccessCallback<T>>,
    on_error: Option<ErrorCallback>,
}

type SuccessCallback<T> = Box<dyn FnOnce(&T) + Send>;
type ErrorCallback = Box<dyn FnOnce(&Error) + Send>;

static NEXT_POOL_NUMBER: AtomicUsize = AtomicUsize::new(0);

impl Pool {
    /// A pool of `size` workers. [`Error::InvalidArgument`] for 0 (Python's `ValueError`).
    ///
    /// The call never waits for the workers to start: it works on the browser's main thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = amphi::ThreadPool::new(3)?;
    /// assert_eq!(pool.size(), 3);
    /// assert!(amphi::ThreadPool::new(0).is_err());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn new(size: usize) -> Result<Pool, Error> {
        Pool::builder().size(size).build()
    }

    /// A [`PoolBuilder`], for an initializer or the workers' names.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = amphi::ThreadPool::builder().size(2).build()?;
    /// assert_eq!(pool.size(), 2);
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
    /// assert_eq!(amphi::ThreadPool::new(2)?.size(), 2);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn size(&self) -> usize {
        self.engine.size()
    }

    /// Runs `f` on a worker and waits for its result (Python's `apply`). A panic in `f` is
    /// [`Error::Panicked`]; [`Error::WouldBlock`] on the browser's main thread (nothing is
    /// submitted there: use [`apply_async`](Pool::apply_async)).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = amphi::ThreadPool::new(1)?;
    /// assert_eq!(pool.apply(|| 2 + 2)?, 4);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn apply<T, F>(&self, f: F) -> Result<T, Error>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        ensure_can_block()?;
        self.apply_async(f)?.get()
    }

    /// Starts `f` on a worker and returns at once with an [`AsyncResult`] (Python's
    /// `apply_async`). [`Error::PoolClosed`] after `close` or `terminate`.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = amphi::ThreadPool::new(2)?;
    /// let results: Vec<_> = (0..4u32)
    ///     .map(|n| pool.apply_async(move || n * 10))
    ///     .collect::<Result<_, _>>()?;
    /// let values: Vec<u32> = results.iter().map(|r| r.get()).collect::<Result<_, _>>()?;
    /// assert_eq!(values, [0, 10, 20, 30]);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn apply_async<T, F>(&self, f: F) -> Result<AsyncResult<T>, Error>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.apply_async_with(f, Callbacks::new())
    }

    /// [`apply_async`](Pool::apply_async) with [`Callbacks`] (Python's `callback` and
    /// `error_callback`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::mpsc;
    /// let pool = amphi::ThreadPool::new(1)?;
    /// let (tx, rx) = mpsc::channel();
    /// let callbacks = amphi::thread::Callbacks::new()
    ///     .on_error(move |error: &amphi::Error| tx.send(error.to_string()).unwrap());
    /// let result = pool.apply_async_with(|| -> u8 { panic!("broken input") }, callbacks)?;
    /// assert!(result.get().is_err());
    /// assert!(rx.recv().unwrap().contains("broken input"));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn apply_async_with<T, F>(
        &self,
        f: F,
        callbacks: Callbacks<T>,
    ) -> Result<AsyncResult<T>, Error>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let submitter = self.engine.submitter()?;
        Ok(AsyncResult::new(submit_task(&submitter, f, callbacks)))
    }

    /// Applies `f` to every item on the workers and returns the results in order (Python's
    /// `map`). The input is collected first, as Python does, then split as rayon's parallel
    /// iterators split work (halves, stolen by idle workers), which costs about what rayon's
    /// `par_iter().map().collect()` does; [`map_chunked`](Pool::map_chunked) takes Python's
    /// fixed chunks instead. An item that panics makes the call [`Error::Panicked`] with its
    /// message and location (if several panic, one of them); the pool stays usable. The call
    /// runs to its end even if the pool is terminated meanwhile. [`Error::WouldBlock`] on the
    /// browser's main thread: use [`map_async`](Pool::map_async).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = amphi::ThreadPool::new(4)?;
    /// assert_eq!(pool.map(0..10u32, |n| n * n)?, [0, 1, 4, 9, 16, 25, 36, 49, 64, 81]);
    /// assert_eq!(pool.map(Vec::<u32>::new(), |n| n)?, Vec::<u32>::new());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn map<A, R, F, I>(&self, items: I, f: F) -> Result<Vec<R>, Error>
    where
        I: IntoIterator<Item = A>,
        A: Send + 'static,
        R: Send + 'static,
        F: Fn(A) -> R + Send + Sync + 'static,
    {
        use rayon::prelude::*;
        ensure_can_block()?;
        let items: Vec<A> = items.into_iter().collect();
        self.install(move || items.into_par_iter().map(&f).collect())
    }

    /// [`map`](Pool::map) in chunks of `chunksize` items, each chunk one task (Python's
    /// `map(func, iterable, chunksize)`). [`Error::InvalidArgument`] for 0.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = amphi::ThreadPool::new(2)?;
    /// assert_eq!(pool.map_chunked(0..5u32, |n| n + 1, 2)?, [1, 2, 3, 4, 5]);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn map_chunked<A, R, F, I>(&self, items: I, f: F, chunksize: usize) -> Result<Vec<R>, Error>
    where
        I: IntoIterator<Item = A>,
        A: Send + 'static,
        R: Send + 'static,
        F: Fn(A) -> R + Send + Sync + 'static,
    {
        ensure_can_block()?;
        check_chunksize(chunksize)?;
        self.map_async_with(items, f, Some(chunksize), Callbacks::new())?
            .get()
    }

    /// Starts a [`map`](Pool::map) and returns at once with an [`AsyncResult`] of every
    /// result, in order (Python's `map_async`). The input is collected first and cut into
    /// chunks of Python's default size (the items over four times the workers, rounded up),
    /// one task each; the first chunk that panicked, in order, is the result's error, and
    /// `terminate` cancels the chunks not started.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = amphi::ThreadPool::new(2)?;
    /// let lengths = pool.map_async(["a", "bb", "ccc"], str::len)?;
    /// assert_eq!(lengths.get()?, [1, 2, 3]);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn map_async<A, R, F, I>(&self, items: I, f: F) -> Result<AsyncResult<Vec<R>>, Error>
    where
        I: IntoIterator<Item = A>,
        A: Send + 'static,
        R: Send + 'static,
        F: Fn(A) -> R + Send + Sync + 'static,
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
    /// let pool = amphi::ThreadPool::new(2)?;
    /// let (tx, rx) = mpsc::channel();
    /// let callbacks = amphi::thread::Callbacks::new()
    ///     .on_success(move |all: &Vec<u32>| tx.send(all.iter().sum::<u32>()).unwrap());
    /// pool.map_async_with(1..=4u32, |n| n, Some(1), callbacks)?.wait()?;
    /// assert_eq!(rx.recv().unwrap(), 10);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn map_async_with<A, R, F, I>(
        &self,
        items: I,
        f: F,
        chunksize: Option<usize>,
        callbacks: Callbacks<Vec<R>>,
    ) -> Result<AsyncResult<Vec<R>>, Error>
    where
        I: IntoIterator<Item = A>,
        A: Send + 'static,
        R: Send + 'static,
        F: Fn(A) -> R + Send + Sync + 'static,
    {
        if let Some(chunksize) = chunksize {
            check_chunksize(chunksize)?;
        }
        let submitter = self.engine.submitter()?;
        let items: Vec<A> = items.into_iter().collect();
        let plan = gather::plan(items, chunksize, self.size(), callbacks);
        if let Some((chunks, gather)) = plan.chunks {
            let cancellable: Arc<dyn completion::Cancel> = plan.cell.clone();
            submitter.register(&cancellable);
            let f = Arc::new(f);
            for (index, chunk) in chunks.into_iter().enumerate() {
                let gather = Arc::clone(&gather);
                let f = Arc::clone(&f);
                submitter.spawn(move |go| {
                    let outcome = go.and_then(|()| match gather.start() {
                        true => run_caught(|| chunk.into_iter().map(&*f).collect::<Vec<R>>()),
                        false => Err(Error::Cancelled),
                    });
                    gather.deliver(index, outcome);
                });
            }
        }
        Ok(AsyncResult::new(plan.cell))
    }

    /// [`map`](Pool::map) for functions of several arguments, each item a tuple of them
    /// (Python's `starmap`); see [`StarFn`]. The closure's parameter types must be written.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = amphi::ThreadPool::new(2)?;
    /// let sums = pool.starmap([(1, 2), (3, 4)], |a: i32, b: i32| a + b)?;
    /// assert_eq!(sums, [3, 7]);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn starmap<Args, R, F, I>(&self, items: I, f: F) -> Result<Vec<R>, Error>
    where
        I: IntoIterator<Item = Args>,
        Args: Send + 'static,
        R: Send + 'static,
        F: StarFn<Args, R> + Send + Sync + 'static,
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
    /// let pool = amphi::ThreadPool::new(2)?;
    /// let products = pool.starmap_async(vec![(2, 3), (4, 5)], |a: u32, b: u32| a * b)?;
    /// assert_eq!(products.get()?, [6, 20]);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn starmap_async<Args, R, F, I>(&self, items: I, f: F) -> Result<AsyncResult<Vec<R>>, Error>
    where
        I: IntoIterator<Item = Args>,
        Args: Send + 'static,
        R: Send + 'static,
        F: StarFn<Args, R> + Send + Sync + 'static,
    {
        self.map_async(items, move |args| f.call_star(args))
    }

    /// Applies `f` to the items lazily and yields the results in order as they come (Python's
    /// `imap`): results arrive while later items still run, and at most a few tasks per worker
    /// are in flight, so an input of any length (an endless one included) is never collected.
    /// The input is read on the thread that iterates. [`Error::PoolClosed`] after `close`.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = amphi::ThreadPool::new(4)?;
    /// let evens: Vec<u64> = pool
    ///     .imap(0.., |n: u64| n * 2)?
    ///     .take(5)
    ///     .collect::<Result<_, _>>()?;
    /// assert_eq!(evens, [0, 2, 4, 6, 8]);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn imap<A, R, F, I>(&self, items: I, f: F) -> Result<Imap<R>, Error>
    where
        I: IntoIterator<Item = A>,
        I::IntoIter: 'static,
        A: Send + 'static,
        R: Send + 'static,
        F: Fn(A) -> R + Send + Sync + 'static,
    {
        self.imap_chunked(items, f, 1)
    }

    /// [`imap`](Pool::imap) with `chunksize` items per task (a chunk whose task panicked is
    /// one error in the stream).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = amphi::ThreadPool::new(2)?;
    /// let all: Vec<u32> = pool.imap_chunked(0..10u32, |n| n, 3)?.collect::<Result<_, _>>()?;
    /// assert_eq!(all, (0..10).collect::<Vec<_>>());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn imap_chunked<A, R, F, I>(
        &self,
        items: I,
        f: F,
        chunksize: usize,
    ) -> Result<Imap<R>, Error>
    where
        I: IntoIterator<Item = A>,
        I::IntoIter: 'static,
        A: Send + 'static,
        R: Send + 'static,
        F: Fn(A) -> R + Send + Sync + 'static,
    {
        check_chunksize(chunksize)?;
        let feed = RayonFeed {
            submitter: self.engine.submitter()?,
            input: items.into_iter(),
            f: Arc::new(f),
            chunksize,
        };
        Ok(Imap::new(Box::new(feed), gather::window(self.size())))
    }

    /// [`imap`](Pool::imap), yielding each result as soon as its task ends, in any order
    /// (Python's `imap_unordered`).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = amphi::ThreadPool::new(4)?;
    /// let mut all: Vec<u32> = pool.imap_unordered(0..8u32, |n| n * n)?.collect::<Result<_, _>>()?;
    /// all.sort();
    /// assert_eq!(all, [0, 1, 4, 9, 16, 25, 36, 49]);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn imap_unordered<A, R, F, I>(&self, items: I, f: F) -> Result<ImapUnordered<R>, Error>
    where
        I: IntoIterator<Item = A>,
        I::IntoIter: 'static,
        A: Send + 'static,
        R: Send + 'static,
        F: Fn(A) -> R + Send + Sync + 'static,
    {
        self.imap_unordered_chunked(items, f, 1)
    }

    /// [`imap_unordered`](Pool::imap_unordered) with `chunksize` items per task.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = amphi::ThreadPool::new(2)?;
    /// let total: u32 = pool
    ///     .imap_unordered_chunked(1..=100u32, |n| n, 10)?
    ///     .map(Result::unwrap)
    ///     .sum();
    /// assert_eq!(total, 5050);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn imap_unordered_chunked<A, R, F, I>(
        &self,
        items: I,
        f: F,
        chunksize: usize,
    ) -> Result<ImapUnordered<R>, Error>
    where
        I: IntoIterator<Item = A>,
        I::IntoIter: 'static,
        A: Send + 'static,
        R: Send + 'static,
        F: Fn(A) -> R + Send + Sync + 'static,
    {
        check_chunksize(chunksize)?;
        let feed = RayonFeed {
            submitter: self.engine.submitter()?,
            input: items.into_iter(),
            f: Arc::new(f),
            chunksize,
        };
        Ok(ImapUnordered::new(
            Box::new(feed),
            gather::window(self.size()),
        ))
    }

    /// Runs `op` inside the pool, so that rayon's parallel iterators in it use the pool's
    /// workers (rayon's `ThreadPool::install`), on both targets. A panic in `op`, or in the
    /// parallel work it started, is [`Error::Panicked`]. [`Error::WouldBlock`] on the
    /// browser's main thread (run it in a task: [`apply_async`](Pool::apply_async)),
    /// [`Error::PoolClosed`] after `close`.
    ///
    /// # Examples
    ///
    /// ```
    /// use rayon::prelude::*;
    /// let pool = amphi::ThreadPool::new(4)?;
    /// let sum: u64 = pool.install(|| (1..=1000u64).into_par_iter().map(|n| n * n).sum())?;
    /// assert_eq!(sum, 333_833_500);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn install<R, OP>(&self, op: OP) -> Result<R, Error>
    where
        OP: FnOnce() -> R + Send,
        R: Send,
    {
        self.engine.install(op)
    }

    /// Takes no more tasks (Python's `close`); those submitted still run, and the workers end
    /// once they are done. Idempotent.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = amphi::ThreadPool::new(1)?;
    /// pool.close();
    /// assert_eq!(pool.apply_async(|| ()).err(), Some(amphi::Error::PoolClosed));
    /// pool.join()?;
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn close(&self) {
        self.engine.close();
    }

    /// Takes no more tasks and cancels every task that has not started (Python's
    /// `terminate`): their results fail with [`Error::Cancelled`]. Returns at once; tasks
    /// already running finish (a thread cannot be killed), and [`join`](Pool::join) waits for
    /// them. Dropping the pool does the same.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = amphi::ThreadPool::new(1)?;
    /// let gate = std::sync::Arc::new(amphi::Event::new());
    /// let running = {
    ///     let gate = gate.clone();
    ///     pool.apply_async(move || gate.wait_timeout(Duration::from_secs(10)))?
    /// };
    /// let queued = pool.apply_async(|| "never")?;
    /// pool.terminate();
    /// assert_eq!(queued.get(), Err(amphi::Error::Cancelled));
    /// gate.set();
    /// pool.join()?;
    /// assert!(running.ready());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn terminate(&self) {
        self.engine.terminate();
    }

    /// Waits for the workers to end, after [`close`](Pool::close) or
    /// [`terminate`](Pool::terminate) (Python's `join`); [`Error::PoolRunning`] before.
    /// [`Error::WouldBlock`] on the browser's main thread: use [`join_async`](Pool::join_async).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = amphi::ThreadPool::new(2)?;
    /// assert_eq!(pool.join(), Err(amphi::Error::PoolRunning));
    /// pool.close();
    /// pool.join()?;
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn join(&self) -> Result<(), Error> {
        self.engine.join_until(Deadline::NEVER)
    }

    /// [`join`](Pool::join), or [`Error::Timeout`] once `timeout` has passed.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = amphi::ThreadPool::new(2)?;
    /// pool.close();
    /// pool.join_timeout(std::time::Duration::from_secs(10))?;
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn join_timeout(&self, timeout: Duration) -> Result<(), Error> {
        self.engine.join_until(Deadline::after(timeout))
    }

    /// Whether every worker has ended, without waiting: `Ok` if so, [`Error::NotReady`] if
    /// not, [`Error::PoolRunning`] before close or terminate. Works everywhere.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = amphi::ThreadPool::new(1)?;
    /// pool.close();
    /// pool.join()?;
    /// assert_eq!(pool.try_join(), Ok(()));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn try_join(&self) -> Result<(), Error> {
        self.engine.join_until(Deadline::NOW)
    }

    /// Waits for the workers to end without blocking the thread: works on the browser's main
    /// thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = amphi::ThreadPool::new(2)?;
    /// pool.close();
    /// futures_executor::block_on(pool.join_async())?;
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub async fn join_async(&self) -> Result<(), Error> {
        self.engine.join_async().await
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.engine.terminate();
    }
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.engine.fmt(f)
    }
}

impl PoolBuilder {
    /// A builder with the defaults: as many workers as the machine has hardware threads (4
    /// where the platform does not say), no initializer, workers named `ThreadPool-P_I`.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = amphi::thread::PoolBuilder::new().build()?;
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
    /// assert_eq!(amphi::ThreadPool::builder().size(3).build()?.size(), 3);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn size(mut self, size: usize) -> PoolBuilder {
        self.size = Some(size);
        self
    }

    /// A function each worker calls once when it starts, before any task (Python's
    /// `initializer`). If it panics, the pool is broken: tasks not started fail, and
    /// submitting fails, with [`Error::BrokenPool`].
    ///
    /// # Examples
    ///
    /// ```
    /// thread_local!(static GREETING: std::cell::RefCell<String> = Default::default());
    /// let pool = amphi::ThreadPool::builder()
    ///     .size(1)
    ///     .initializer(|| GREETING.with(|g| *g.borrow_mut() = "ready".into()))
    ///     .build()?;
    /// assert_eq!(pool.apply(|| GREETING.with(|g| g.borrow().clone()))?, "ready");
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn initializer(mut self, initializer: impl Fn() + Send + Sync + 'static) -> PoolBuilder {
        self.initializer = Some(Arc::new(initializer));
        self
    }

    /// Names worker `i` `{prefix}_{i}` (as Python's `thread_name_prefix`).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = amphi::ThreadPool::builder().size(1).thread_name_prefix("io").build()?;
    /// assert_eq!(pool.apply(amphi::thread::current_name)?, "io_0");
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn thread_name_prefix(self, prefix: impl Into<String>) -> PoolBuilder {
        let prefix = prefix.into();
        self.thread_name(move |index| format!("{prefix}_{index}"))
    }

    /// Names each worker from its index.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = amphi::ThreadPool::builder()
    ///     .size(1)
    ///     .thread_name(|index| format!("worker #{index}"))
    ///     .build()?;
    /// assert_eq!(pool.apply(amphi::thread::current_name)?, "worker #0");
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn thread_name(
        mut self,
        name: impl Fn(usize) -> String + Send + Sync + 'static,
    ) -> PoolBuilder {
        self.thread_name = Some(Arc::new(name));
        self
    }

    /// Starts the pool; never waits for its workers to start.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = amphi::ThreadPool::builder().size(2).build()?;
    /// assert_eq!(pool.apply(|| 1)?, 1);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn build(self) -> Result<Pool, Error> {
        let config = self.config("ThreadPool");
        Ok(Pool {
            engine: Engine::new(config)?,
        })
    }

    /// The engine's configuration, with default names `{family}-{number}_{index}`.
    pub(crate) fn config(self, family: &str) -> Config {
        let number = NEXT_POOL_NUMBER.fetch_add(1, Ordering::Relaxed);
        let family = family.to_owned();
        Config {
            size: self.size.unwrap_or_else(default_size),
            initializer: self.initializer,
            thread_name: self
                .thread_name
                .unwrap_or_else(|| Arc::new(move |index| format!("{family}-{number}_{index}"))),
        }
    }
}

impl fmt::Debug for PoolBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolBuilder")
            .field("size", &self.size)
            .field("initializer", &self.initializer.is_some())
            .finish()
    }
}

impl<T> Callbacks<T> {
    /// No callbacks.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = amphi::ThreadPool::new(1)?;
    /// pool.apply_async_with(|| 1, amphi::thread::Callbacks::new())?.get()?;
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn new() -> Callbacks<T> {
        Callbacks {
            on_success: None,
            on_error: None,
        }
    }

    /// Called with the result when the task returns (Python's `callback`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::mpsc;
    /// let (tx, rx) = mpsc::channel();
    /// let pool = amphi::ThreadPool::new(1)?;
    /// let callbacks = amphi::thread::Callbacks::new().on_success(move |v: &i32| tx.send(*v).unwrap());
    /// pool.apply_async_with(|| 5, callbacks)?.wait()?;
    /// assert_eq!(rx.recv().unwrap(), 5);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn on_success(mut self, callback: impl FnOnce(&T) + Send + 'static) -> Callbacks<T> {
        self.on_success = Some(Box::new(callback));
        self
    }

    /// Called with the error when the task panics (Python's `error_callback`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::mpsc;
    /// let (tx, rx) = mpsc::channel();
    /// let pool = amphi::ThreadPool::new(1)?;
    /// let callbacks = amphi::thread::Callbacks::new()
    ///     .on_error(move |e: &amphi::Error| tx.send(e.clone()).unwrap());
    /// pool.apply_async_with(|| -> u8 { panic!("bad") }, callbacks)?.wait()?;
    /// assert!(matches!(rx.recv().unwrap(), amphi::Error::Panicked(_)));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn on_error(mut self, callback: impl FnOnce(&Error) + Send + 'static) -> Callbacks<T> {
        self.on_error = Some(Box::new(callback));
        self
    }

    pub(crate) fn run(self, outcome: &Result<T, Error>) {
        match outcome {
            Ok(value) => {
                if let Some(callback) = self.on_success {
                    completion::run_callback(|| callback(value));
                }
            }
            Err(error) => {
                if let Some(callback) = self.on_error {
                    completion::run_callback(|| callback(error));
                }
            }
        }
    }
}

impl<T> Default for Callbacks<T> {
    fn default() -> Callbacks<T> {
        Callbacks::new()
    }
}

impl<T> fmt::Debug for Callbacks<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Callbacks")
            .field("on_success", &self.on_success.is_some())
            .field("on_error", &self.on_error.is_some())
            .finish()
    }
}

/// Submits one task; its cell is registered for cancellation before the job is queued.
pub(crate) fn submit_task<T, F>(
    submitter: &Submitter,
    f: F,
    callbacks: Callbacks<T>,
) -> Arc<Completion<T>>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let cell = Completion::new();
    let cancellable: Arc<dyn completion::Cancel> = cell.clone();
    submitter.register(&cancellable);
    let job_cell = Arc::clone(&cell);
    submitter.spawn(move |go| match go {
        Err(reason) => {
            job_cell.cancel(reason);
        }
        Ok(()) => {
            if job_cell.start() {
                let outcome = run_caught(f);
                callbacks.run(&outcome);
                job_cell.finish(outcome);
            }
        }
    });
    cell
}

/// The thread pool's side of an `imap`: each chunk one rayon task.
struct RayonFeed<I, F> {
    submitter: Submitter,
    input: I,
    f: Arc<F>,
    chunksize: usize,
}

impl<A, R, I, F> Feed<R> for RayonFeed<I, F>
where
    I: Iterator<Item = A>,
    A: Send + 'static,
    R: Send + 'static,
    F: Fn(A) -> R + Send + Sync + 'static,
{
    fn submit_next(&mut self, delivery: Delivery<R>) -> Fed {
        if self.submitter.is_terminated() {
            delivery.finish(Err(Error::Cancelled));
            return Fed::Last;
        }
        let Some(chunk) = next_chunk(&mut self.input, self.chunksize) else {
            return Fed::Exhausted;
        };
        if let Delivery::Cell(cell) = &delivery {
            let cancellable: Arc<dyn completion::Cancel> = cell.clone();
            self.submitter.register(&cancellable);
        }
        let f = Arc::clone(&self.f);
        self.submitter.spawn(move |go| match go {
            Err(reason) => delivery.finish(Err(reason)),
            Ok(()) => {
                if delivery.start() {
                    delivery.finish(run_caught(|| chunk.into_iter().map(&*f).collect()));
                }
            }
        });
        Fed::More
    }
}

pub(crate) fn ensure_can_block() -> Result<(), Error> {
    match sys::can_block() {
        true => Ok(()),
        false => Err(Error::WouldBlock),
    }
}

pub(crate) fn default_size() -> usize {
    std::thread::available_parallelism().map_or(4, usize::from)
}
