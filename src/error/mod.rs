//! The errors amphi returns.
//!
//! One enum serves the primitives and threads, so `?` composes across them. Queues and pipes
//! return an error type per operation shape instead, the same in the thread and process
//! families ([`PutError`], [`GetError`], [`SendError`], [`RecvError`], [`RecvBytesError`]),
//! which lists only what can happen to that call, hands back an item that could not be
//! delivered, and converts into [`Error`] for `?`. Each variant says
//! what happened in words a user can act on. Timeouts are the named variant [`Error::Timeout`],
//! never a bare `bool`.

mod pipe;
mod queue;

use std::fmt;

pub(crate) use pipe::copy_into;
pub use pipe::{RecvBytesError, RecvError, SendError};
pub use queue::{GetError, PutError};

/// What went wrong in an amphi call.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let lock = amphi::Lock::new();
/// assert_eq!(lock.release(), Err(amphi::Error::NotLocked));
/// let _held = lock.acquire()?;
/// let err = lock.acquire_timeout(Duration::from_millis(5)).unwrap_err();
/// assert_eq!(err, amphi::Error::Timeout);
/// assert_eq!(err.to_string(), "timed out");
/// # Ok::<(), amphi::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The timeout given to a `_timeout` call elapsed first.
    #[error("timed out")]
    Timeout,
    /// A blocking call was made on a thread that must never block: the browser's main thread
    /// (where `Atomics.wait` is forbidden). Use the `_async` form there, or `try_`.
    ///
    /// The check is exact on amphi's threads and on the first thread of each process (the page,
    /// a process worker). A realm that joins the module's memory without being a dedicated
    /// worker (an `AudioWorklet` handed the module and memory by the application) is taken for
    /// a worker: there a blocking call that has to wait traps instead of returning this error.
    #[error(
        "this thread may not block (the browser's main thread cannot call Atomics.wait): \
         use the async form, or run this code in a worker"
    )]
    WouldBlock,
    /// `release` was called on a lock that was not held.
    #[error("release of an unlocked lock")]
    NotLocked,
    /// The calling thread does not own the lock it tried to use: an `RLock` released by a
    /// thread that does not hold it (or more times than it acquired it), or a `Condition`
    /// waited on or notified without holding its lock.
    #[error("the calling thread does not hold this lock")]
    NotOwner,
    /// A `BoundedSemaphore` was released more times than it was acquired; its value is unchanged.
    #[error("semaphore released too many times (above its initial value {initial})")]
    SemaphoreOverflow {
        /// The semaphore's initial (and maximum) value.
        initial: u32,
    },
    /// The `Barrier` is broken (aborted, reset while threads waited, a timed-out wait, or a
    /// failed action); every waiter and later caller gets this until `reset`.
    #[error("the barrier is broken")]
    BrokenBarrier,
    /// An argument was out of range; the message says which and why.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The thread panicked; the report carries its message and location.
    #[error("{0}")]
    Panicked(PanicReport),
    /// The platform lost the thread before it finished (a browser worker that trapped outside a
    /// panic, or could not load the module).
    #[error("thread '{name}' was lost: {reason}")]
    ThreadLost {
        /// The thread's name.
        name: String,
        /// What the platform reported.
        reason: String,
    },
    /// A thread could not be started.
    #[error("could not start thread '{name}': {reason}")]
    Spawn {
        /// The thread's name.
        name: String,
        /// What the platform reported.
        reason: String,
    },
    /// The thread's result was already taken by an earlier join.
    #[error("thread '{0}' was already joined")]
    AlreadyJoined(String),
    /// A `try_put` found the queue full (Python's `queue.Full`).
    #[error("the queue is full")]
    Full,
    /// A `try_get` or `try_recv` found nothing to take (Python's `queue.Empty`).
    #[error("nothing to take: the queue or connection is empty")]
    Empty,
    /// The queue, or this end of a pipe, was closed: a closed queue takes no more items and,
    /// once drained, gives none; a closed connection can no longer be used.
    #[error("the queue or connection is closed")]
    Closed,
    /// The other end of the pipe was closed and every message it sent has been received
    /// (Python's `EOFError`).
    #[error(
        "end of file: the other end of the pipe is closed and everything it sent was received"
    )]
    Eof,
    /// A send on a pipe whose other end was closed (Python's `BrokenPipeError`).
    #[error("broken pipe: the other end of the pipe is closed")]
    BrokenPipe,
    /// A receive or poll on the sending-only end of a one-way pipe.
    #[error("this end of a one-way pipe only sends")]
    NotReadable,
    /// A message received into a buffer (or under a `maxlength`) was longer than that room
    /// (Python's `BufferTooShort`); [`RecvBytesError`] hands the message back.
    #[error("the buffer is too short for a message of {length} bytes")]
    BufferTooShort {
        /// The message's length in bytes.
        length: usize,
    },
    /// A send on the receiving-only end of a one-way pipe.
    #[error("this end of a one-way pipe only receives")]
    NotWritable,
    /// `task_done` was called more times than items were put on a `JoinableQueue`.
    #[error("task_done() called more times than there were items put")]
    TooManyTaskDone,
    /// `start` was called on a process that was already started (Python's "cannot start a
    /// process twice").
    #[error("process '{0}' was already started")]
    AlreadyStarted(String),
    /// The process was joined or signalled before it was started.
    #[error("process '{0}' has not been started")]
    NotStarted(String),
    /// [`Process::close`](crate::process::Process::close) was called while the process runs
    /// (Python's `ValueError`): join it, or stop it and join it, first.
    #[error("process '{0}' is still running: join it before closing it")]
    ProcessRunning(String),
    /// The process handle was closed by [`Process::close`](crate::process::Process::close)
    /// and can no longer be started, joined or signalled (Python's `ValueError: process
    /// object is closed`).
    #[error("process '{0}' is closed")]
    ProcessClosed(String),
    /// [`process::exit`](crate::process::exit) cannot end the calling process here: the
    /// browser page (or one of its threads), which no code may close. The reason says where.
    #[error("cannot exit: {0}")]
    CannotExit(String),
    /// A process could not be started; the reason says why.
    #[error("could not start process '{name}': {reason}")]
    ProcessStart {
        /// The process's name.
        name: String,
        /// Why (the platform's refusal, arguments that do not serialise, ...).
        reason: String,
    },
    /// The process ended without returning a value: it exited with a code of its own or was
    /// killed by a signal (`exitcode` is `-N` for signal `N`, as in Python).
    #[error("process '{name}' {}", describe_exit(.exitcode))]
    ProcessFailed {
        /// The process's name.
        name: String,
        /// Its exit code.
        exitcode: i32,
    },
    /// Memory shared between processes could not be had: the platform has no shared region
    /// (a page that is not cross-origin isolated), it could not be created, or it is full.
    #[error("shared memory: {0}")]
    SharedMemory(String),
    /// A process-shared lock is held by a process that no longer runs (it died, or exited,
    /// without releasing it). The lock stays held: any process may `release` it, after
    /// repairing whatever it protected.
    #[error("the lock is held by process {pid}, which no longer runs")]
    OwnerDied {
        /// The id of the process that acquired the lock last.
        pid: u32,
    },
    /// An item could not be serialised for a process [`Queue`](crate::process::Queue) or
    /// [`Connection`](crate::process::Connection) (its `Serialize` impl failed, or JSON cannot
    /// express it, as a map with non-string keys). Nothing was sent; the queue or pipe is
    /// unchanged.
    #[error("the item could not be serialised: {0}")]
    Encode(String),
    /// A message taken from a process queue or pipe could not be deserialised as the
    /// receiver's type (the processes disagree on it). The message is consumed.
    #[error("a received message could not be deserialised: {0}")]
    Decode(String),
    /// A process died in the middle of writing or reading a message of a process queue or
    /// pipe, leaving a partial message in it; the queue (or this direction of the pipe) can no
    /// longer be used, and every call on it returns this error.
    #[error("process {pid} died in the middle of a message: the queue or pipe is unusable")]
    PeerDied {
        /// The id of the process that died.
        pid: u32,
    },
    /// The process could not run its target (it is not the same executable as its parent, its
    /// arguments did not deserialise, ...), or what it sent back was not a valid result.
    #[error("process '{name}' failed: {reason}")]
    ProcessBroken {
        /// The process's name.
        name: String,
        /// What went wrong.
        reason: String,
    },

    /// A task was submitted to a thread [`Pool`](crate::ThreadPool) after `close` or
    /// `terminate`, or to an [`Executor`](crate::thread::Executor) after `shutdown` (Python's
    /// `ValueError: Pool not running` and `RuntimeError: cannot schedule new futures after
    /// shutdown`).
    #[error("the pool is closed: it takes no more tasks")]
    PoolClosed,
    /// `join` was called on a pool that was neither closed nor terminated (Python's
    /// `ValueError`): it would wait forever.
    #[error("the pool is still running: close or terminate it before joining it")]
    PoolRunning,
    /// The task never ran: its pool was terminated, its executor shut down with
    /// `cancel_futures`, or its future was cancelled, before it started (Python's
    /// `CancelledError`).
    #[error("the task was cancelled before it started")]
    Cancelled,
    /// The pool is broken and takes no more tasks; the tasks that had not started fail with
    /// this (Python's `BrokenThreadPool` and `BrokenProcessPool`). The text says why: a
    /// worker's initializer failed (with the panic's report), a process executor's worker
    /// died, a worker could not start, or a pool over Redis lost its server.
    #[error("the pool is broken: {0}")]
    BrokenPool(String),
    /// The worker process of a process [`Pool`](crate::process::Pool) that was running the
    /// task ended before it answered: it was killed (`exitcode` is `-N` for signal `N`) or
    /// exited by itself. Only that task fails; the pool starts a replacement worker.
    #[error("worker process '{name}' (pid {pid}) {} while running the task", describe_exit(.exitcode))]
    WorkerDied {
        /// The worker's name.
        name: String,
        /// The worker's process id.
        pid: u32,
        /// Its exit code.
        exitcode: i32,
    },
    /// A `try_` form found the task's result not ready yet.
    #[error("the result is not ready yet")]
    NotReady,
    /// The result of a task was already taken by an earlier `get` or `result`: a value moves
    /// out once.
    #[error("the result was already taken")]
    ResultTaken,

    /// The operation does not exist on this platform (sockets between unrelated processes in
    /// the browser); the text says what and where it works.
    #[error("not supported here: {0}")]
    Unsupported(String),
    /// A socket operation of a [`process::connection`](crate::process::connection) failed
    /// (an address in use, a refused connection, a malformed message header); the text is the
    /// platform's or amphi's reason.
    #[error("socket: {0}")]
    Socket(String),
    /// The two ends of a [`process::connection`](crate::process::connection) did not
    /// authenticate each other (Python's `AuthenticationError`): their keys differ, or the
    /// peer broke the handshake (sent too much, said nothing in time, spoke another
    /// protocol). The text says which; the connection is closed.
    #[error("authentication failed: {0}")]
    AuthenticationFailed(String),
    /// A message announced a length above the receiver's limit: it was refused without being
    /// read (nothing was allocated for it), and the connection closed, as Python's
    /// `recv_bytes(maxlength)` does.
    #[error(
        "a message of {length} bytes is over the limit of {limit} bytes: the connection is closed"
    )]
    MessageTooLong {
        /// The length the peer announced.
        length: u64,
        /// The most the receiver accepts.
        limit: usize,
    },
    /// The [`Manager`](crate::process::Manager) is gone: it was shut down, or its server
    /// process died (killed, or ended). Every proxy call returns this within a fraction of a
    /// second of the server's end, whether it was waiting for the reply or starting.
    #[error("the manager is gone: it was shut down or its server process died")]
    ManagerGone,
    /// A key a manager's dict or namespace proxy was asked for is not there (Python's
    /// `KeyError` and `AttributeError` raised through a proxy); also a value a list proxy was
    /// asked to remove that is not in the list (Python's `ValueError`). The text is the key's
    /// or value's JSON.
    #[error("not found in the managed object: {0}")]
    KeyNotFound(String),
    /// An index given to a manager's list proxy is outside the list (Python's `IndexError`).
    #[error("index {index} out of range for a list of {len} items")]
    IndexOutOfRange {
        /// The index asked for (negative counts from the end, as in Python).
        index: i64,
        /// The list's length when the call ran.
        len: usize,
    },
    /// A managed container changed size while it was iterated (Python's `RuntimeError:
    /// dictionary changed size during iteration`).
    #[error("the managed container changed size during iteration")]
    ChangedSize,
    /// The manager's server refused a call for another reason (an object that no longer
    /// exists, a proxy of the wrong kind, arithmetic on something that is not a number); the
    /// text is the server's message.
    #[error("the manager refused the call: {0}")]
    Remote(String),

    /// The Redis server of a pool over Redis ([`Pool::connect`](crate::process::Pool::connect))
    /// could not be reached, or the connection to it was lost (the server stopped or
    /// restarted, the network failed): the text names the server and the reason. A lost
    /// connection fails every task the client was waiting for with this error and breaks the
    /// pool; nothing waits on a server that is gone.
    #[error("Redis: {0}")]
    Redis(String),
    /// A worker of a pool over Redis refused the task because it runs another build of the
    /// program: a task names its function by offsets in the submitting executable, which mean
    /// nothing in another one. Start the workers from the same executable as the client. Both
    /// identities are SHA-256 digests of the executable files.
    #[error(
        "the task was refused by worker '{worker}': it was submitted by build {task_build}, and \
         the worker runs build {worker_build} (start the workers from the same executable)"
    )]
    WrongBuild {
        /// The worker that refused it.
        worker: String,
        /// The submitter's build identity, as the task carried it.
        task_build: String,
        /// The worker's build identity.
        worker_build: String,
    },
    /// A task of a pool over Redis was delivered more times than the workers allow (each
    /// delivery after the first means the worker that had it died or went silent): it fails
    /// with this rather than kill workers for ever. `deliveries` counts the refused delivery.
    #[error(
        "poison task: delivered {deliveries} times, over the limit of {limit} (the workers that \
         ran it died or went silent each time); the last refused it on worker '{worker}'"
    )]
    PoisonTask {
        /// The worker that refused it.
        worker: String,
        /// How many times it was delivered.
        deliveries: u64,
        /// The most deliveries the workers run a task for.
        limit: u64,
    },
}

fn describe_exit(exitcode: &i32) -> String {
    match *exitcode {
        code if code < 0 => format!("was killed by signal {}", -code),
        code => format!("exited with code {code} without returning a value"),
    }
}

/// A panic in an amphi thread, as seen by whoever joins it.
///
/// # Examples
///
/// ```
/// let worker = amphi::Thread::builder().name("cruncher").spawn(|| panic!("out of cheese"))?;
/// let amphi::Error::Panicked(report) = worker.join().unwrap_err() else {
///     panic!("expected a panic report");
/// };
/// assert_eq!(report.thread, "cruncher");
/// assert_eq!(report.message, "out of cheese");
/// assert!(report.location.is_some());
/// assert!(report.to_string().starts_with("thread 'cruncher' panicked at "));
/// # Ok::<(), amphi::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PanicReport {
    /// The name of the thread that panicked.
    pub thread: String,
    /// The panic message.
    pub message: String,
    /// `file:line:column` of the panic, when known.
    pub location: Option<String>,
}

impl fmt::Display for PanicReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "thread '{}' panicked", self.thread)?;
        if let Some(location) = &self.location {
            write!(f, " at {location}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// `Result` with amphi's [`Error`].
///
/// # Examples
///
/// ```
/// fn take_two(sem: &amphi::Semaphore) -> amphi::Result<u32> {
///     sem.acquire()?.leak();
///     sem.acquire()?.leak();
///     Ok(sem.value())
/// }
/// assert_eq!(take_two(&amphi::Semaphore::new(3)), Ok(1));
/// ```
pub type Result<T, E = Error> = std::result::Result<T, E>;
