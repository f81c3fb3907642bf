//! The errors amphi returns.
//!
//! One enum serves the primitives and threads, so `?` composes across them. Each variant says
//! what happened in words a user can act on. Timeouts are the named variant [`Error::Timeout`],
//! never a bare `bool`.

use std::fmt;

/// What went wrong in an amphi call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The timeout given to a `_timeout` call elapsed first.
    #[error("timed out")]
    Timeout,
    /// A blocking call was made on a thread that must never block: the browser's main thread
    /// (where `Atomics.wait` is forbidden). Use the `_async` form there, or `try_`.
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
}

/// A panic in an amphi thread, as seen by whoever joins it.
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
pub type Result<T, E = Error> = std::result::Result<T, E>;
