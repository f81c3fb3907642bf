//! The process [`Pool`] and [`Executor`] over Redis Streams (feature `redis`, native only):
//! the same types and methods as the local pools, whose workers are processes on any machine
//! that reaches the server and runs the same executable.
//!
//! - `protocol`: the keys of a pool, the fields of task and result entries, the build
//!   identity, the reading of Redis replies;
//! - `client`: the client's two threads, which stand where a local pool's supervisors stand
//!   (behind the same queue and phase, so `map`, `imap`, `apply`, `submit` are the local
//!   pool's code): one adds tasks to the pool's stream, one reads the client's result stream;
//! - `worker`: [`redis_worker`], the loop a worker runs, with its claims and heartbeat;
//! - `local`: [`LocalRedisServer`], a `redis-server` started for one program on a Unix socket
//!   (single-machine runs, tests, examples).
//!
//! # Delivery and failure
//!
//! A pool named `P` has one stream of tasks, `amphi:P:tasks`, read by one consumer group: each
//! task goes to one worker and stays pending until that worker acknowledges it, after its
//! result is on the client's own stream, `amphi:P:results:C`. A worker that dies or loses its
//! machine stops renewing its task's claim; after [`WorkerOptions::claim_after`] another
//! worker claims the task (`XAUTOCLAIM`) and runs it again. So delivery is **at least once**
//! (a worker killed between its answer and its acknowledgement has its task run twice; the
//! client keeps the first result it reads, so each result reaches the caller once): tasks
//! should be idempotent. A task delivered more than [`WorkerOptions::max_deliveries`] times
//! fails with [`Error::PoisonTask`] instead of killing workers for ever. Each task carries the
//! SHA-256 digest of the submitting executable; a worker of another build refuses it with
//! [`Error::WrongBuild`] naming both. A result stream expires
//! [`RedisBuilder::result_ttl`] after its last result, so a client that vanished leaves
//! bounded garbage; a client that ends normally deletes its stream.
//!
//! A lost connection (the server stopped or restarted, the network failed) breaks the client's
//! pool at once: every task it was waiting for fails with [`Error::Redis`], the queued ones and
//! later submissions with [`Error::BrokenPool`]; connect again once the server is back. A
//! server restarted without persistence has lost its streams, so the client cannot resume
//! them. Workers reconnect by themselves (for [`WorkerOptions::reconnect_for`]) and create the
//! group again.

mod client;
mod local;
mod protocol;
mod worker;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use redis::{Client, Connection};

use super::executor::Executor;
use super::shared::{Phase, Shared};
use super::Pool;
use crate::Error;
use client::Link;
pub use local::LocalRedisServer;
use protocol::{Keys, GROUP};
pub use worker::{redis_worker, start_redis_worker, WorkerOptions};

/// The body of one of the client's threads.
type ClientThread = Box<dyn FnOnce() + Send>;

/// How long [`connect`] waits for the server.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Configures a [`Pool`] or [`Executor`] over Redis: the server, the pool's name, the size the
/// front end plans for, and how long results wait for a client.
///
/// # Examples
///
/// ```no_run
/// use std::time::Duration;
/// fn square(n: u64) -> u64 {
///     n * n
/// }
/// let pool = amphi::process::RedisBuilder::new("redis://127.0.0.1:6379/0")
///     .pool("squares")
///     .size(8)
///     .result_ttl(Duration::from_secs(600))
///     .build_pool()?;
/// assert_eq!(pool.map(1..=3u64, square)?, [1, 4, 9]);
/// # Ok::<(), amphi::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct RedisBuilder {
    url: String,
    pool: String,
    size: Option<usize>,
    result_ttl: Duration,
    claimed_build: Option<String>,
}

impl RedisBuilder {
    /// A builder for the server at `url` (`redis://host:port/db`, `redis+unix:///path`), pool
    /// `amphi`, a size counted from the live workers, results kept an hour.
    ///
    /// # Examples
    ///
    /// ```
    /// let builder = amphi::process::RedisBuilder::new("redis+unix:///run/redis.sock");
    /// # let _ = builder;
    /// ```
    pub fn new(url: impl Into<String>) -> RedisBuilder {
        RedisBuilder {
            url: url.into(),
            pool: "amphi".to_owned(),
            size: None,
            result_ttl: Duration::from_secs(3600),
            claimed_build: None,
        }
    }

    /// The pool's name: its workers serve the same name ([`WorkerOptions::pool`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let builder = amphi::process::RedisBuilder::new("redis://localhost").pool("images");
    /// # let _ = builder;
    /// ```
    pub fn pool(mut self, pool: impl Into<String>) -> RedisBuilder {
        self.pool = pool.into();
        self
    }

    /// The number of workers the front end plans for (`map`'s default chunk size, `imap`'s
    /// window, [`Pool::size`]). Default: the workers whose heartbeat is live when it connects,
    /// at least 1. [`Error::InvalidArgument`] for 0 from the build.
    ///
    /// # Examples
    ///
    /// ```
    /// let builder = amphi::process::RedisBuilder::new("redis://localhost").size(16);
    /// # let _ = builder;
    /// ```
    pub fn size(mut self, size: usize) -> RedisBuilder {
        self.size = Some(size);
        self
    }

    /// How long a result stream lives after its last result, so the results of a client that
    /// vanished expire (at least 1 s; default an hour). A result not read within this is
    /// lost: wait with a timeout shorter than it.
    ///
    /// # Examples
    ///
    /// ```
    /// let builder = amphi::process::RedisBuilder::new("redis://localhost")
    ///     .result_ttl(std::time::Duration::from_secs(60));
    /// # let _ = builder;
    /// ```
    pub fn result_ttl(mut self, ttl: Duration) -> RedisBuilder {
        self.result_ttl = ttl.max(Duration::from_secs(1));
        self
    }

    /// Stamps the tasks with this build identity instead of the executable's: for tests of
    /// the workers' refusal only.
    #[doc(hidden)]
    pub fn claimed_build(mut self, build: impl Into<String>) -> RedisBuilder {
        self.claimed_build = Some(build.into());
        self
    }

    /// Connects and returns a [`Pool`] whose tasks go to the pool's workers.
    /// [`Error::Redis`] if the server cannot be reached.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let pool = amphi::process::RedisBuilder::new("redis://localhost").build_pool()?;
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn build_pool(self) -> Result<Pool, Error> {
        let (shared, size) = self.start()?;
        Ok(Pool { shared, size })
    }

    /// Connects and returns an [`Executor`] whose tasks go to the pool's workers.
    /// [`Error::Redis`] if the server cannot be reached.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let executor = amphi::process::RedisBuilder::new("redis://localhost").build_executor()?;
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn build_executor(self) -> Result<Executor, Error> {
        let (shared, size) = self.start()?;
        Ok(Executor::from_shared(shared, size))
    }

    /// Connects twice (the dispatcher's and the collector's connections), creates the group
    /// and starts the two client threads.
    fn start(self) -> Result<(Arc<Shared>, usize), Error> {
        if self.size == Some(0) {
            return Err(Error::InvalidArgument(
                "a pool needs at least one worker".to_owned(),
            ));
        }
        let build = match self.claimed_build {
            Some(build) => build,
            None => protocol::build_identity()?,
        };
        let keys = Keys::new(&self.pool);
        let (_, mut dispatcher) = connect(&self.url, Duration::ZERO)?;
        let (_, collector) = connect(&self.url, client::SLICE)?;
        ensure_group(&mut dispatcher, &keys).map_err(|err| unreachable(&self.url, &err))?;
        let size = match self.size {
            Some(size) => size,
            None => live_workers(&mut dispatcher, &keys)
                .map_err(|err| unreachable(&self.url, &err))?
                .max(1),
        };
        let client_id = format!("{:016x}", crate::sys::random_u64());
        let results = keys.results(&client_id);
        let shared = Arc::new(Shared::new(0));
        let link = Arc::new(Link::new(
            Arc::clone(&shared),
            keys,
            results,
            build,
            self.result_ttl.as_secs().max(1),
            self.url.clone(),
        ));
        shared.running.store(2, Ordering::Release);
        let threads: [(&str, ClientThread); 2] = [
            ("dispatcher", {
                let link = Arc::clone(&link);
                Box::new(move || client::dispatch(link, dispatcher))
            }),
            ("collector", {
                let link = Arc::clone(&link);
                Box::new(move || client::collect(link, collector))
            }),
        ];
        for (started, (role, body)) in threads.into_iter().enumerate() {
            let spawned = crate::thread::Builder::new()
                .name(format!("redis-{}-{role}", self.pool))
                .spawn(body);
            if let Err(error) = spawned {
                for _ in started..2 {
                    shared.supervisor_ended();
                }
                shared.end(Phase::Terminated);
                return Err(error);
            }
        }
        Ok((shared, size))
    }
}

impl Pool {
    /// A pool whose workers are the processes serving pool `amphi` on the Redis server at
    /// `url` (`redis://host:port/db`, or `redis+unix:///path/to/socket`), on this machine or
    /// others: the same methods and results as a local pool. See [`RedisBuilder`] for the
    /// options, [`redis_worker`] for the workers, and the module docs of `redis` (README:
    /// "Distributed pools over Redis") for delivery (at least once), build identity, poison
    /// tasks and result expiry. [`Error::Redis`] if the server cannot be reached.
    ///
    /// `close` and `join` wait for the answers to every task submitted; `terminate` fails the
    /// unanswered ones with [`Error::Cancelled`] at once (workers may still run them). A lost
    /// connection breaks the pool ([`Error::Redis`] for every task waiting).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// fn square(n: u64) -> u64 {
    ///     n * n
    /// }
    /// let pool = amphi::process::Pool::connect("redis://127.0.0.1:6379/0")?;
    /// assert_eq!(pool.map(1..=4u64, square)?, [1, 4, 9, 16]);
    /// pool.close();
    /// pool.join()?;
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn connect(url: &str) -> Result<Pool, Error> {
        RedisBuilder::new(url).build_pool()
    }
}

impl Executor {
    /// An executor over Redis: [`Pool::connect`]'s workers behind futures (`submit`, `map`,
    /// [`as_completed`](crate::thread::as_completed)). [`Error::Redis`] if the server cannot
    /// be reached.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// fn cube(n: u64) -> u64 {
    ///     n * n * n
    /// }
    /// let executor = amphi::process::Executor::connect("redis://127.0.0.1:6379/0")?;
    /// assert_eq!(executor.submit(cube, 3)?.result()?, 27);
    /// executor.shutdown(true, false)?;
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn connect(url: &str) -> Result<Executor, Error> {
        RedisBuilder::new(url).build_executor()
    }
}

/// A connection to `url` whose reads wait at most `blocking` (a command's own `BLOCK`) plus
/// the server's patience; [`Error::Redis`] if it cannot be made.
fn connect(url: &str, blocking: Duration) -> Result<(Client, Connection), Error> {
    let client = Client::open(url)
        .map_err(|err| Error::Redis(format!("'{url}' is not a Redis URL: {err}")))?;
    let connection = client
        .get_connection_with_timeout(CONNECT_TIMEOUT)
        .and_then(|connection| {
            connection.set_read_timeout(Some(blocking + client::SERVER_PATIENCE))?;
            connection.set_write_timeout(Some(client::SERVER_PATIENCE))?;
            Ok(connection)
        })
        .map_err(|err| unreachable(url, &err))?;
    Ok((client, connection))
}

fn unreachable(url: &str, err: &redis::RedisError) -> Error {
    Error::Redis(format!("cannot reach the Redis server {url}: {err}"))
}

/// Creates the task stream and its group unless they exist.
fn ensure_group(connection: &mut Connection, keys: &Keys) -> redis::RedisResult<()> {
    let created = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(&keys.tasks)
        .arg(GROUP)
        .arg("0")
        .arg("MKSTREAM")
        .query::<()>(connection);
    match created {
        Err(err) if err.code() == Some("BUSYGROUP") => Ok(()),
        other => other,
    }
}

/// How many workers of the pool have a live heartbeat.
fn live_workers(connection: &mut Connection, keys: &Keys) -> redis::RedisResult<usize> {
    let mut cursor = 0u64;
    let mut count = 0;
    loop {
        let (next, found): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(keys.alive_pattern())
            .arg("COUNT")
            .arg(1000)
            .query(connection)?;
        count += found.len();
        if next == 0 {
            return Ok(count);
        }
        cursor = next;
    }
}
