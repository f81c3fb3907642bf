//! The synchronisation objects a [`SocketManager`](super::SocketManager) serves: a lock, a
//! reentrant lock, a semaphore, an event, a condition, a barrier and a queue held in the
//! server's state, each in a module of its own, used by clients through `Request::Sync`.
//!
//! # Waiting on the server
//!
//! The listening process serves each connection on a thread of its own, so a call that must
//! wait (an acquire, an event's wait, a queue's get) waits in that thread, on an amphi
//! [`Condition`] of the object ([`Monitor`]), for at most the timeout the client sent. It
//! waits in slices of [`SLICE`]: after each, it looks whether its connection is still open
//! (nothing can be read from it but the end of the stream, since a connection carries one
//! call at a time), so a client that died or disconnected while waiting stops the wait
//! within a slice.
//!
//! # Owners, and what a connection that ends gives back
//!
//! A client thread has a connection of its own for these objects (see `sync_proxy`): the
//! connection is the owner of what it takes, as the serving thread is in Python. When a
//! connection ends (its client disconnected or died), every object gives back what it held
//! ([`Served::client_gone`]): a lock it acquired is released, its reentrant lock or
//! condition's lock is freed whatever the depth, the permits it took from a semaphore (and
//! did not give back) are returned. A barrier party that vanishes mid-wait breaks the barrier,
//! so the other parties see [`Error::BrokenBarrier`](crate::Error::BrokenBarrier) rather
//! than wait forever.

mod barrier;
mod condition;
mod event;
mod lock;
mod queue;
mod semaphore;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;

use super::protocol::{Kind, Refusal, Reply, SyncCall};
use super::state::ClientId;
use crate::thread::{Condition, Lock};
use crate::time::Deadline;

/// How long a serving thread waits before it looks whether its client is still there.
pub(crate) const SLICE: Duration = Duration::from_millis(100);

/// How a call may wait: until `deadline`, while `alive()` says the caller's connection is
/// still open.
pub(crate) struct Wait<'a> {
    pub(crate) deadline: Deadline,
    pub(crate) alive: &'a dyn Fn() -> bool,
}

/// Why a wait stopped before its condition held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stop {
    /// The deadline passed.
    Timeout,
    /// The caller's connection ended.
    Gone,
}

/// The refusal a call whose caller left gets (nobody reads it).
pub(super) fn gone() -> Refusal {
    Refusal::Other("the client's connection ended".into())
}

/// An object's data behind an amphi [`Condition`]: changes wake every waiter, and waits run
/// in slices (see the module docs).
pub(super) struct Monitor<T> {
    condition: Condition<Lock>,
    data: Mutex<T>,
}

impl<T> Monitor<T> {
    pub(super) fn new(data: T) -> Monitor<T> {
        Monitor {
            condition: Condition::with_lock(Arc::new(Lock::new())),
            data: Mutex::new(data),
        }
    }

    fn data(&self) -> MutexGuard<'_, T> {
        self.data
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Runs `change` at once and wakes the waiters.
    pub(super) fn update<R>(&self, change: impl FnOnce(&mut T) -> R) -> Result<R, Refusal> {
        let _held = self.condition.acquire().map_err(unavailable)?;
        let out = change(&mut self.data());
        let _ = self.condition.notify_all();
        Ok(out)
    }

    /// Runs `attempt` until it answers, waiting for a change between tries; `give_up` answers
    /// instead once the wait stops (under the same lock, so it sees the last state).
    pub(super) fn wait<R>(
        &self,
        wait: &Wait<'_>,
        mut attempt: impl FnMut(&mut T) -> Option<Result<R, Refusal>>,
        give_up: impl FnOnce(&mut T, Stop) -> Result<R, Refusal>,
    ) -> Result<R, Refusal> {
        let _held = self.condition.acquire().map_err(unavailable)?;
        loop {
            if let Some(done) = attempt(&mut self.data()) {
                let _ = self.condition.notify_all();
                return done;
            }
            let slice = if (wait.alive)() {
                wait.deadline
                    .capped(SLICE)
                    .and_then(|slice| slice.remaining())
                    .map_err(|_| Stop::Timeout)
            } else {
                Err(Stop::Gone)
            };
            match slice {
                Ok(left) => {
                    let _ = self.condition.wait_timeout(left.unwrap_or(SLICE));
                }
                Err(stop) => {
                    let out = give_up(&mut self.data(), stop);
                    let _ = self.condition.notify_all();
                    return out;
                }
            }
        }
    }
}

fn unavailable(error: crate::Error) -> Refusal {
    Refusal::Other(format!("the server could not wait: {error}"))
}

/// A served synchronisation object.
pub(crate) enum Served {
    Lock(lock::ServedLock),
    RLock(lock::ServedRLock),
    Semaphore(semaphore::ServedSemaphore),
    Event(event::ServedEvent),
    Condition(condition::ServedCondition),
    Barrier(barrier::ServedBarrier),
    Queue(queue::ServedQueue),
}

impl std::fmt::Debug for Served {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self {
            Served::Lock(_) => "Lock",
            Served::RLock(_) => "RLock",
            Served::Semaphore(_) => "Semaphore",
            Served::Event(_) => "Event",
            Served::Condition(_) => "Condition",
            Served::Barrier(_) => "Barrier",
            Served::Queue(_) => "Queue",
        };
        f.debug_tuple("Served").field(&kind).finish()
    }
}

/// `init` as a count (a semaphore's permits, a barrier's parties, a queue's maxsize).
fn count_of(init: &Value, what: &str) -> Result<u64, Refusal> {
    init.as_u64()
        .ok_or_else(|| Refusal::Other(format!("{what} must be a whole number")))
}

fn u32_of(init: &Value, what: &str) -> Result<u32, Refusal> {
    u32::try_from(count_of(init, what)?)
        .map_err(|_| Refusal::Other(format!("{what} must fit in 32 bits")))
}

impl Served {
    /// A new object of a served synchronisation `kind` from its parameter.
    pub(crate) fn new(kind: Kind, init: &Value) -> Result<Served, Refusal> {
        Ok(match kind {
            Kind::Lock => Served::Lock(lock::ServedLock::new()),
            Kind::RLock => Served::RLock(lock::ServedRLock::new()),
            Kind::Semaphore => Served::Semaphore(semaphore::ServedSemaphore::new(
                u32_of(init, "permits")?,
                false,
            )),
            Kind::BoundedSemaphore => Served::Semaphore(semaphore::ServedSemaphore::new(
                u32_of(init, "permits")?,
                true,
            )),
            Kind::Event => Served::Event(event::ServedEvent::new()),
            Kind::Condition => Served::Condition(condition::ServedCondition::new()),
            Kind::Barrier => {
                let parties = u32_of(init, "a barrier's parties")?;
                if parties == 0 {
                    return Err(Refusal::Other("a barrier needs at least one party".into()));
                }
                Served::Barrier(barrier::ServedBarrier::new(parties))
            }
            Kind::Queue | Kind::JoinableQueue => {
                let maxsize = usize::try_from(count_of(init, "a queue's maxsize")?)
                    .map_err(|_| Refusal::Other("a queue's maxsize is too large".into()))?;
                Served::Queue(queue::ServedQueue::new(
                    maxsize,
                    kind == Kind::JoinableQueue,
                ))
            }
            Kind::Dict | Kind::List | Kind::Namespace | Kind::Value => {
                return Err(Refusal::Other("not a synchronisation object".into()))
            }
        })
    }

    /// Runs `call` for `client`, waiting as `wait` allows.
    pub(crate) fn call(&self, client: ClientId, call: SyncCall, wait: &Wait<'_>) -> Reply {
        match self {
            Served::Lock(lock) => lock.call(client, call, wait),
            Served::RLock(lock) => lock.call(client, call, wait),
            Served::Semaphore(semaphore) => semaphore.call(client, call, wait),
            Served::Event(event) => event.call(call, wait),
            Served::Condition(condition) => condition.call(client, call, wait),
            Served::Barrier(barrier) => barrier.call(call, wait),
            Served::Queue(queue) => queue.call(call, wait),
        }
    }

    /// Gives back what `client`'s connection held (see the module docs).
    pub(crate) fn client_gone(&self, client: ClientId) {
        let _ = match self {
            Served::Lock(lock) => lock.client_gone(client),
            Served::RLock(lock) => lock.client_gone(client),
            Served::Semaphore(semaphore) => semaphore.client_gone(client),
            Served::Condition(condition) => condition.client_gone(client),
            Served::Event(_) | Served::Barrier(_) | Served::Queue(_) => Ok(()),
        };
    }
}

/// The refusal of a call the object does not have.
pub(super) fn not_a_method(kind: &str, call: &SyncCall) -> Refusal {
    Refusal::Other(format!("{call:?} is not a method of a served {kind}"))
}

/// `Ok(null)`.
pub(super) fn done() -> Reply {
    Ok(Value::Null)
}
