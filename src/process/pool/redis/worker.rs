//! The worker's side of a pool over Redis: [`redis_worker`] serves a pool's task stream as one
//! consumer of its group until it is stopped.
//!
//! Each turn it first, at most every [`WorkerOptions::claim_after`] / 4, claims one task that
//! has been pending longer than `claim_after` (`XAUTOCLAIM`: its worker died or lost its
//! machine), then waits for a new one (`XREADGROUP ... BLOCK`, in slices of 100 ms, so a stop
//! request is seen at once). A task it takes is checked (a delivery count over
//! [`WorkerOptions::max_deliveries`] is refused as a poison task; a build identity other
//! than its own is refused as another build's), run as a local worker runs it (the same
//! `call` entry, its panic caught), and answered on the client's result stream, whose expiry
//! it renews; then the task is acknowledged and deleted, in the same round trip. While a
//! task runs, a heartbeat thread renews its claim (`XCLAIM ... JUSTID`, which resets the
//! pending entry's idle time without counting a delivery) every `claim_after` / 4, so a
//! long task of a live worker is never claimed by another.
//!
//! A worker killed between the answer and the acknowledgement has its task run again
//! elsewhere: delivery is at least once, and the client keeps the first result. A lost
//! connection is retried (a fresh connection every 200 ms, the group created again, as a
//! server restarted without persistence lost it) for [`WorkerOptions::reconnect_for`], then
//! the worker stops with [`Error::Redis`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::{Connection, Value};
use serde::{Deserialize, Serialize};

use super::protocol::{build_identity, entry_list, field, read_reply, text_field, Keys, Refusal};
use super::{connect, ensure_group};
use crate::process::pool::call::{Answer, CallRef, Reply};
use crate::process::pool::worker::{FromWorker, ToWorker};
use crate::process::{current_process, Builder, Process};
use crate::sync::spin;
use crate::Error;
use std::time::Instant;

/// How long a worker's wait for a new task lasts before it looks at its stop flag again.
const SLICE: Duration = Duration::from_millis(100);

/// How long a worker waits between two attempts to reconnect.
const RECONNECT_PAUSE: Duration = Duration::from_millis(200);

/// How a Redis worker serves: the pool it serves, when it claims a silent worker's tasks,
/// how many deliveries a task gets, how long it retries a lost server, and when it stops.
///
/// Serialisable (the stop flag aside), so a local [`Process`] can be started with it.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let options = amphi::process::WorkerOptions::new()
///     .pool("images")
///     .claim_after(Duration::from_secs(10))
///     .max_deliveries(5);
/// assert_eq!(options.max_deliveries_limit(), 5);
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkerOptions {
    pool: String,
    name: Option<String>,
    claim_after: Duration,
    max_deliveries: u64,
    reconnect_for: Duration,
    max_tasks: Option<u64>,
    #[serde(skip)]
    stop: Option<Arc<AtomicBool>>,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions::new()
    }
}

impl WorkerOptions {
    /// The defaults: pool `amphi`, a name made of the pid and a random suffix, claims after
    /// 30 s of silence, 3 deliveries per task, 60 s of patience with a lost server, no stop.
    ///
    /// # Examples
    ///
    /// ```
    /// let options = amphi::process::WorkerOptions::new();
    /// assert_eq!(options.max_deliveries_limit(), 3);
    /// ```
    pub fn new() -> WorkerOptions {
        WorkerOptions {
            pool: "amphi".to_owned(),
            name: None,
            claim_after: Duration::from_secs(30),
            max_deliveries: 3,
            reconnect_for: Duration::from_secs(60),
            max_tasks: None,
            stop: None,
        }
    }

    /// The pool to serve (its keys are `amphi:{pool}:*`); the client's
    /// [`RedisBuilder::pool`](super::RedisBuilder::pool) must name the same one.
    ///
    /// # Examples
    ///
    /// ```
    /// let options = amphi::process::WorkerOptions::new().pool("thumbnails");
    /// # let _ = options;
    /// ```
    pub fn pool(mut self, pool: impl Into<String>) -> WorkerOptions {
        self.pool = pool.into();
        self
    }

    /// The worker's consumer name, which results carry; unique per server (default:
    /// `worker-{pid}-{random}`).
    ///
    /// # Examples
    ///
    /// ```
    /// let options = amphi::process::WorkerOptions::new().name("gpu-box-1");
    /// # let _ = options;
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> WorkerOptions {
        self.name = Some(name.into());
        self
    }

    /// How long a task may stay pending without a heartbeat before another worker claims it
    /// (its worker is presumed dead). A live worker renews its task's claim every quarter of
    /// this, so choose it well above the network's worst pause. At least 100 ms.
    ///
    /// # Examples
    ///
    /// ```
    /// let options = amphi::process::WorkerOptions::new().claim_after(std::time::Duration::from_secs(5));
    /// # let _ = options;
    /// ```
    pub fn claim_after(mut self, silence: Duration) -> WorkerOptions {
        self.claim_after = silence.max(Duration::from_millis(100));
        self
    }

    /// How many deliveries a task gets: one delivered more often (its workers died each
    /// time) fails with [`Error::PoisonTask`] instead of running again. At least 1.
    ///
    /// # Examples
    ///
    /// ```
    /// let options = amphi::process::WorkerOptions::new().max_deliveries(2);
    /// assert_eq!(options.max_deliveries_limit(), 2);
    /// ```
    pub fn max_deliveries(mut self, deliveries: u64) -> WorkerOptions {
        self.max_deliveries = deliveries.max(1);
        self
    }

    /// The delivery limit set by [`max_deliveries`](WorkerOptions::max_deliveries).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(amphi::process::WorkerOptions::new().max_deliveries_limit(), 3);
    /// ```
    pub fn max_deliveries_limit(&self) -> u64 {
        self.max_deliveries
    }

    /// How long a worker that lost its server keeps trying to reconnect before it stops
    /// with [`Error::Redis`].
    ///
    /// # Examples
    ///
    /// ```
    /// let options = amphi::process::WorkerOptions::new().reconnect_for(std::time::Duration::from_secs(5));
    /// # let _ = options;
    /// ```
    pub fn reconnect_for(mut self, patience: Duration) -> WorkerOptions {
        self.reconnect_for = patience;
        self
    }

    /// Stops after answering this many tasks.
    ///
    /// # Examples
    ///
    /// ```
    /// let options = amphi::process::WorkerOptions::new().max_tasks(100);
    /// # let _ = options;
    /// ```
    pub fn max_tasks(mut self, tasks: u64) -> WorkerOptions {
        self.max_tasks = Some(tasks);
        self
    }

    /// Stops once `flag` is set (seen within 100 ms; a task running then is finished and
    /// answered first). Not carried when the options are serialised.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::{atomic::AtomicBool, Arc};
    /// let stop = Arc::new(AtomicBool::new(false));
    /// let options = amphi::process::WorkerOptions::new().stop_flag(stop.clone());
    /// # let _ = options;
    /// ```
    pub fn stop_flag(mut self, flag: Arc<AtomicBool>) -> WorkerOptions {
        self.stop = Some(flag);
        self
    }

    fn stopped(&self) -> bool {
        self.stop
            .as_ref()
            .is_some_and(|flag| flag.load(Ordering::Relaxed))
    }
}

/// Serves the tasks of the pool `options` names on the Redis server at `url` (`redis://host:
/// port/db` or `redis+unix:///path/to/socket`) until stopped (its stop flag, its task limit,
/// or the process's end); see the module docs for what it does with each task.
/// [`Error::Redis`] if the server cannot be reached at the start, or stays lost longer than
/// [`WorkerOptions::reconnect_for`]; `Ok` after a requested stop.
///
/// The worker must run the same executable as the clients that submit (their tasks name
/// functions by their place in it): a task of another build is refused with
/// [`Error::WrongBuild`]. Other ways in: the `AMPHI_REDIS_WORKER` variable (any program
/// linking amphi with the `redis` feature serves instead of running `main`), `amphi worker
/// URL`, and [`start_redis_worker`] (a local worker process).
///
/// # Examples
///
/// ```no_run
/// use amphi::process::{redis_worker, WorkerOptions};
/// redis_worker("redis://127.0.0.1:6379/0", &WorkerOptions::new())?;
/// # Ok::<(), amphi::Error>(())
/// ```
pub fn redis_worker(url: &str, options: &WorkerOptions) -> Result<(), Error> {
    let build = build_identity()?;
    let keys = Keys::new(&options.pool);
    let me = current_process();
    let name = options
        .name
        .clone()
        .unwrap_or_else(|| format!("worker-{}-{:08x}", me.pid, crate::sys::random_u64() as u32));
    let (client, connection) = connect(url, SLICE)?;
    let mut serving = Serving {
        url: url.to_owned(),
        client,
        connection,
        keys,
        build,
        name,
        options: options.clone(),
        running: Arc::new(Mutex::new(None)),
        next_claim: Instant::now(),
    };
    ensure_group(&mut serving.connection, &serving.keys)
        .and_then(|()| {
            beat(
                &mut serving.connection,
                &serving.keys,
                &serving.name,
                &serving.options,
            )
        })
        .map_err(|err| {
            Error::Redis(format!(
                "cannot create the task stream's group on {url}: {err}"
            ))
        })?;
    let beating = Arc::new(AtomicBool::new(true));
    let heart = heartbeat(&serving, Arc::clone(&beating))?;
    let outcome = serving.serve();
    beating.store(false, Ordering::Relaxed);
    let _ = heart.join();
    let _ = redis::cmd("DEL")
        .arg(serving.keys.alive(&serving.name))
        .query::<()>(&mut serving.connection);
    outcome
}

/// Renews worker `name`'s heartbeat key.
fn beat(
    connection: &mut Connection,
    keys: &Keys,
    name: &str,
    options: &WorkerOptions,
) -> redis::RedisResult<()> {
    redis::cmd("SET")
        .arg(keys.alive(name))
        .arg(std::process::id())
        .arg("PX")
        .arg(options.claim_after.as_millis() as u64)
        .query(connection)
}

/// [`redis_worker`] in a new local, daemonic worker process (the program re-executed), as the
/// tests and the `distributed-squares` example start their workers; the process's result is
/// the worker's error, as text, if it stopped with one. Stop it with
/// [`terminate`](Process::terminate) (a task it was running is then claimed by another
/// worker after [`WorkerOptions::claim_after`]).
///
/// # Examples
///
/// ```no_run
/// use amphi::process::{start_redis_worker, WorkerOptions};
/// let worker = start_redis_worker("redis://127.0.0.1:6379/0", &WorkerOptions::new())?;
/// worker.terminate()?;
/// # Ok::<(), amphi::Error>(())
/// ```
pub fn start_redis_worker(
    url: &str,
    options: &WorkerOptions,
) -> Result<Process<Result<(), String>>, Error> {
    let process = Builder::new()
        .name(format!("RedisWorker-{}", options.pool))
        .daemon(true)
        .build(serve_in_child, (url.to_owned(), options.clone()));
    process.start()?;
    Ok(process)
}

/// The target of a worker process started by [`start_redis_worker`].
fn serve_in_child((url, options): (String, WorkerOptions)) -> Result<(), String> {
    redis_worker(&url, &options).map_err(|error| error.to_string())
}

/// One worker's state while it serves.
struct Serving {
    url: String,
    client: redis::Client,
    connection: Connection,
    keys: Keys,
    build: String,
    name: String,
    options: WorkerOptions,
    /// The id of the task running now, whose claim the heartbeat renews.
    running: Arc<Mutex<Option<String>>>,
    next_claim: Instant,
}

/// A task taken from the stream: its entry id, its fields, and how often it was delivered.
struct Taken {
    id: String,
    fields: Vec<(String, Value)>,
    deliveries: u64,
}

impl Serving {
    /// The loop: a turn at a time, reconnecting after a lost connection.
    fn serve(&mut self) -> Result<(), Error> {
        let mut answered = 0u64;
        loop {
            if self.options.stopped() || self.options.max_tasks.is_some_and(|max| answered >= max) {
                return Ok(());
            }
            match self.turn() {
                Ok(count) => answered += count,
                Err(_) if self.options.stopped() => return Ok(()),
                Err(err) => self.reconnect(&err)?,
            }
        }
    }

    /// One turn: a claim if it is time, then a wait for a new task; how many tasks it answered.
    fn turn(&mut self) -> redis::RedisResult<u64> {
        let mut answered = 0;
        if Instant::now() >= self.next_claim {
            match self.claim()? {
                Some(taken) => {
                    self.handle(taken)?;
                    return Ok(1);
                }
                None => self.next_claim = Instant::now() + self.options.claim_after / 4,
            }
        }
        let reply: Value = redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg(super::protocol::GROUP)
            .arg(&self.name)
            .arg("COUNT")
            .arg(1)
            .arg("BLOCK")
            .arg(SLICE.as_millis() as u64)
            .arg("STREAMS")
            .arg(&self.keys.tasks)
            .arg(">")
            .query(&mut self.connection)?;
        let entries = read_reply(reply).map_err(malformed)?;
        for (id, fields) in entries {
            self.handle(Taken {
                id,
                fields,
                deliveries: 1,
            })?;
            answered += 1;
        }
        Ok(answered)
    }

    /// Claims one task pending longer than `claim_after`, with its delivery count.
    fn claim(&mut self) -> redis::RedisResult<Option<Taken>> {
        let min_idle = self.options.claim_after.as_millis() as u64;
        let reply: Value = redis::cmd("XAUTOCLAIM")
            .arg(&self.keys.tasks)
            .arg(super::protocol::GROUP)
            .arg(&self.name)
            .arg(min_idle)
            .arg("0-0")
            .arg("COUNT")
            .arg(1)
            .query(&mut self.connection)?;
        let Value::Array(mut parts) = reply else {
            return Err(malformed(format!("unexpected XAUTOCLAIM reply: {reply:?}")));
        };
        if parts.len() < 2 {
            return Ok(None);
        }
        let claimed = entry_list(parts.swap_remove(1)).map_err(malformed)?;
        let Some((id, fields)) = claimed.into_iter().next() else {
            return Ok(None);
        };
        // How often it was delivered, this claim included.
        let pending: Value = redis::cmd("XPENDING")
            .arg(&self.keys.tasks)
            .arg(super::protocol::GROUP)
            .arg(&id)
            .arg(&id)
            .arg(1)
            .query(&mut self.connection)?;
        let deliveries = match pending {
            Value::Array(rows) => rows
                .into_iter()
                .find_map(|row| match row {
                    Value::Array(cells) => match cells.get(3) {
                        Some(Value::Int(count)) => Some(*count as u64),
                        _ => None,
                    },
                    _ => None,
                })
                .unwrap_or(1),
            _ => 1,
        };
        Ok(Some(Taken {
            id,
            fields,
            deliveries,
        }))
    }

    /// Runs (or refuses) a task, answers it, acknowledges and deletes it.
    fn handle(&mut self, taken: Taken) -> redis::RedisResult<()> {
        let Taken {
            id,
            fields,
            deliveries,
        } = taken;
        let Some(reply_to) = text_field(&fields, "reply").map(str::to_owned) else {
            // Nowhere to answer (an entry deleted while pending, or not a task): drop it.
            return self.finish(&id, None);
        };
        let task = text_field(&fields, "task").unwrap_or("0").to_owned();
        let ttl = text_field(&fields, "ttl")
            .and_then(|ttl| ttl.parse::<u64>().ok())
            .unwrap_or(3600)
            .max(1);
        let task_build = text_field(&fields, "build").unwrap_or("(none)");
        let answer = if deliveries > self.options.max_deliveries {
            Outgoing::Refused(Refusal::Poison {
                deliveries,
                limit: self.options.max_deliveries,
            })
        } else if task_build != self.build {
            Outgoing::Refused(Refusal::WrongBuild {
                task_build: task_build.to_owned(),
                worker_build: self.build.clone(),
            })
        } else {
            *spin::lock(&self.running) = Some(id.clone());
            let answer = run(field(&fields, "call").unwrap_or_default());
            *spin::lock(&self.running) = None;
            answer
        };
        let mut pipe = redis::pipe();
        let add = pipe
            .cmd("XADD")
            .arg(&reply_to)
            .arg("*")
            .arg("task")
            .arg(&task)
            .arg("worker")
            .arg(&self.name);
        match &answer {
            Outgoing::Reply(bytes) => add.arg("reply").arg(bytes.as_slice()),
            Outgoing::Refused(refusal) => add
                .arg("refused")
                .arg(serde_json::to_vec(refusal).unwrap_or_default()),
        }
        .ignore();
        pipe.cmd("EXPIRE").arg(&reply_to).arg(ttl).ignore();
        self.finish(&id, Some(pipe))
    }

    /// Sends `answer` (if any), then acknowledges and deletes task `id`, in one round trip.
    fn finish(&mut self, id: &str, answer: Option<redis::Pipeline>) -> redis::RedisResult<()> {
        let mut pipe = answer.unwrap_or_else(redis::pipe);
        pipe.cmd("XACK")
            .arg(&self.keys.tasks)
            .arg(super::protocol::GROUP)
            .arg(id)
            .ignore();
        pipe.cmd("XDEL").arg(&self.keys.tasks).arg(id).ignore();
        pipe.query::<()>(&mut self.connection)
    }

    /// After `err`, connects again (and creates the group again) until it works or
    /// `reconnect_for` has passed.
    fn reconnect(&mut self, err: &redis::RedisError) -> Result<(), Error> {
        let give_up = Instant::now() + self.options.reconnect_for;
        loop {
            if self.options.stopped() {
                return Ok(());
            }
            crate::sys::sleep(RECONNECT_PAUSE);
            let attempt = self
                .client
                .get_connection_with_timeout(Duration::from_secs(2))
                .and_then(|mut connection| {
                    connection.set_read_timeout(Some(SLICE + super::client::SERVER_PATIENCE))?;
                    connection.set_write_timeout(Some(super::client::SERVER_PATIENCE))?;
                    ensure_group(&mut connection, &self.keys)?;
                    beat(&mut connection, &self.keys, &self.name, &self.options)?;
                    Ok(connection)
                });
            match attempt {
                Ok(connection) => {
                    self.connection = connection;
                    self.next_claim = Instant::now();
                    return Ok(());
                }
                Err(again) if Instant::now() >= give_up => {
                    return Err(Error::Redis(format!(
                        "worker '{}' lost the server {} ({err}) and could not reconnect within \
                         {:?} ({again})",
                        self.name, self.url, self.options.reconnect_for
                    )));
                }
                Err(_) => {}
            }
        }
    }
}

/// What a worker sends back for a task.
enum Outgoing {
    /// A `FromWorker::Done` message, as a local worker answers.
    Reply(Vec<u8>),
    Refused(Refusal),
}

/// Runs a task's call as a local worker runs it.
fn run(call: &[u8]) -> Outgoing {
    let answer = match serde_json::from_slice::<ToWorker<CallRef<'_>>>(call) {
        Ok(ToWorker::Run(call)) => {
            let _task = crate::trace::span!("pool.task", submission = call.submission);
            call.run()
        }
        Ok(ToWorker::Stop) => Answer::Failed(Reply::Decode(
            "the task entry asks to stop, not to run a call".to_owned(),
        )),
        Err(err) => Answer::Failed(Reply::Decode(format!(
            "the task message is not valid: {err}"
        ))),
    };
    match answer {
        Answer::Returned(message) => Outgoing::Reply(message),
        Answer::Failed(reply) => {
            Outgoing::Reply(serde_json::to_vec(&FromWorker::Done(reply)).unwrap_or_default())
        }
    }
}

/// A reply the worker cannot read, as a Redis error (it reconnects).
fn malformed(reason: String) -> redis::RedisError {
    redis::RedisError::from((redis::ErrorKind::TypeError, "unexpected reply", reason))
}

/// Starts the heartbeat thread: every `claim_after` / 4, on a connection of its own, it renews
/// the worker's heartbeat key and the running task's claim, until `beating` is cleared.
fn heartbeat(
    serving: &Serving,
    beating: Arc<AtomicBool>,
) -> Result<crate::thread::Thread<()>, Error> {
    let client = serving.client.clone();
    let keys = serving.keys.clone();
    let name = serving.name.clone();
    let options = serving.options.clone();
    let running = Arc::clone(&serving.running);
    let period = options.claim_after / 4;
    crate::thread::Builder::new()
        .name(format!("{name}-heartbeat"))
        .spawn(move || {
            let mut connection: Option<Connection> = None;
            let mut next = Instant::now() + period;
            while beating.load(Ordering::Relaxed) {
                crate::sys::sleep(SLICE.min(period));
                if Instant::now() < next {
                    continue;
                }
                next = Instant::now() + period;
                if connection.is_none() {
                    connection = client
                        .get_connection_with_timeout(Duration::from_secs(2))
                        .ok();
                    if let Some(connection) = &connection {
                        let _ = connection.set_read_timeout(Some(super::client::SERVER_PATIENCE));
                        let _ = connection.set_write_timeout(Some(super::client::SERVER_PATIENCE));
                    }
                }
                let Some(con) = connection.as_mut() else {
                    continue;
                };
                let mut renewed = beat(con, &keys, &name, &options);
                if let Some(id) = spin::lock(&running).clone() {
                    renewed = renewed.and_then(|()| {
                        redis::cmd("XCLAIM")
                            .arg(&keys.tasks)
                            .arg(super::protocol::GROUP)
                            .arg(&name)
                            .arg(0)
                            .arg(&id)
                            .arg("JUSTID")
                            .query::<Value>(con)
                            .map(drop)
                    });
                }
                if renewed.is_err() {
                    connection = None;
                }
            }
        })
}
