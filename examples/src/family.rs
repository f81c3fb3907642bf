//! The two families a pool example runs on, behind one interface, so each pool example is
//! written once: [`Threads`] ([`ThreadPool`] and [`thread::Executor`]) and [`Processes`]
//! ([`process::Pool`] and [`process::Executor`]).
//!
//! Both families have the same methods; the thread pool takes a closure where the process pool
//! takes a plain function and its argument (a process can only be told which function of the
//! program to run, and the argument travels serialised). [`TaskPool`] and [`TaskExecutor`]
//! take the process form, `f` and `arg`, which the thread family wraps in a closure; both
//! return the same handles ([`AsyncResult`], [`Future`], [`MapResults`]).

use serde::de::DeserializeOwned;
use serde::Serialize;

use amphi::thread::{AsyncResult, Future, MapResults};
use amphi::{process, thread, Error, ThreadPool};

/// What a task takes and returns: serialisable (to cross to a process) and sendable (to a
/// thread).
pub(crate) trait Value: Serialize + DeserializeOwned + Send + 'static {}

impl<T: Serialize + DeserializeOwned + Send + 'static> Value for T {}

/// A family of workers: its pool, its executor, and the names Python gives them.
pub(crate) trait Family {
    /// The pool's name in Python.
    const POOL: &'static str;
    /// The executor's name in Python.
    const EXECUTOR: &'static str;
    /// What the workers are.
    const WORKERS: &'static str;
    /// The pool.
    type Pool: TaskPool;
    /// The executor.
    type Executor: TaskExecutor;
}

/// Threads: [`ThreadPool`] and [`thread::Executor`].
#[derive(Debug)]
pub(crate) struct Threads;

/// Processes: [`process::Pool`] and [`process::Executor`] (natively child processes, in the
/// browser process workers).
#[derive(Debug)]
pub(crate) struct Processes;

impl Family for Threads {
    const POOL: &'static str = "ThreadPool";
    const EXECUTOR: &'static str = "ThreadPoolExecutor";
    const WORKERS: &'static str = "threads";
    type Pool = ThreadPool;
    type Executor = thread::Executor;
}

impl Family for Processes {
    const POOL: &'static str = "Pool";
    const EXECUTOR: &'static str = "ProcessPoolExecutor";
    const WORKERS: &'static str = "processes";
    type Pool = process::Pool;
    type Executor = process::Executor;
}

/// The pool methods the examples use, as `multiprocessing.Pool` has them.
pub(crate) trait TaskPool: Sized {
    /// A pool of `size` workers.
    fn start(size: usize) -> Result<Self, Error>;
    /// `f` on every item; the results in order.
    fn map<A: Value, R: Value>(&self, items: Vec<A>, f: fn(A) -> R) -> Result<Vec<R>, Error>;
    /// `f` on every item, without waiting.
    fn map_async<A: Value, R: Value>(
        &self,
        items: Vec<A>,
        f: fn(A) -> R,
    ) -> Result<AsyncResult<Vec<R>>, Error>;
    /// `f(arg)`, waiting for it.
    fn apply<A: Value, R: Value>(&self, f: fn(A) -> R, arg: A) -> Result<R, Error>;
    /// `f(arg)`, without waiting.
    fn apply_async<A: Value, R: Value>(
        &self,
        f: fn(A) -> R,
        arg: A,
    ) -> Result<AsyncResult<R>, Error>;
    /// `close` then `join`: the queued tasks run, then the workers end.
    fn finish(&self) -> Result<(), Error>;
}

/// The executor methods the examples use, as `concurrent.futures` has them.
pub(crate) trait TaskExecutor: Sized {
    /// An executor of `max_workers` workers.
    fn start(max_workers: usize) -> Result<Self, Error>;
    /// `f` on every item; the results in order, as they come.
    fn map<A: Value, R: Value>(&self, items: Vec<A>, f: fn(A) -> R)
        -> Result<MapResults<R>, Error>;
    /// Schedules `f(arg)`.
    fn submit<A: Value, R: Value>(&self, f: fn(A) -> R, arg: A) -> Result<Future<R>, Error>;
    /// `shutdown(wait=True)`.
    fn finish(&self) -> Result<(), Error>;
}

impl TaskPool for ThreadPool {
    fn start(size: usize) -> Result<Self, Error> {
        ThreadPool::new(size)
    }

    fn map<A: Value, R: Value>(&self, items: Vec<A>, f: fn(A) -> R) -> Result<Vec<R>, Error> {
        ThreadPool::map(self, items, f)
    }

    fn map_async<A: Value, R: Value>(
        &self,
        items: Vec<A>,
        f: fn(A) -> R,
    ) -> Result<AsyncResult<Vec<R>>, Error> {
        ThreadPool::map_async(self, items, f)
    }

    fn apply<A: Value, R: Value>(&self, f: fn(A) -> R, arg: A) -> Result<R, Error> {
        ThreadPool::apply(self, move || f(arg))
    }

    fn apply_async<A: Value, R: Value>(
        &self,
        f: fn(A) -> R,
        arg: A,
    ) -> Result<AsyncResult<R>, Error> {
        ThreadPool::apply_async(self, move || f(arg))
    }

    fn finish(&self) -> Result<(), Error> {
        self.close();
        self.join()
    }
}

impl TaskPool for process::Pool {
    fn start(size: usize) -> Result<Self, Error> {
        process::Pool::new(size)
    }

    fn map<A: Value, R: Value>(&self, items: Vec<A>, f: fn(A) -> R) -> Result<Vec<R>, Error> {
        process::Pool::map(self, items, f)
    }

    fn map_async<A: Value, R: Value>(
        &self,
        items: Vec<A>,
        f: fn(A) -> R,
    ) -> Result<AsyncResult<Vec<R>>, Error> {
        process::Pool::map_async(self, items, f)
    }

    fn apply<A: Value, R: Value>(&self, f: fn(A) -> R, arg: A) -> Result<R, Error> {
        process::Pool::apply(self, f, arg)
    }

    fn apply_async<A: Value, R: Value>(
        &self,
        f: fn(A) -> R,
        arg: A,
    ) -> Result<AsyncResult<R>, Error> {
        process::Pool::apply_async(self, f, arg)
    }

    fn finish(&self) -> Result<(), Error> {
        self.close();
        self.join()
    }
}

impl TaskExecutor for thread::Executor {
    fn start(max_workers: usize) -> Result<Self, Error> {
        thread::Executor::new(max_workers)
    }

    fn map<A: Value, R: Value>(
        &self,
        items: Vec<A>,
        f: fn(A) -> R,
    ) -> Result<MapResults<R>, Error> {
        thread::Executor::map(self, items, f)
    }

    fn submit<A: Value, R: Value>(&self, f: fn(A) -> R, arg: A) -> Result<Future<R>, Error> {
        thread::Executor::submit(self, move || f(arg))
    }

    fn finish(&self) -> Result<(), Error> {
        self.shutdown(true, false)
    }
}

impl TaskExecutor for process::Executor {
    fn start(max_workers: usize) -> Result<Self, Error> {
        process::Executor::new(max_workers)
    }

    fn map<A: Value, R: Value>(
        &self,
        items: Vec<A>,
        f: fn(A) -> R,
    ) -> Result<MapResults<R>, Error> {
        process::Executor::map(self, items, f)
    }

    fn submit<A: Value, R: Value>(&self, f: fn(A) -> R, arg: A) -> Result<Future<R>, Error> {
        process::Executor::submit(self, f, arg)
    }

    fn finish(&self) -> Result<(), Error> {
        self.shutdown(true, false)
    }
}
