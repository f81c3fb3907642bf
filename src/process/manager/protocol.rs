//! What a manager's clients ask its server, and what it answers, as JSON (`serde_json`): the
//! session layer, the same whatever carries it (the rings of the process tree now, an
//! authenticated socket later).
//!
//! A [`Request`] is a call that expects a [`Reply`], or one of the reference messages
//! ([`Request::Incref`], [`Request::Adopt`], [`Request::Decref`]) that expect none. Values
//! travel as `serde_json::Value`s; a proxy travels as its token ([`TOKEN`]), which the server
//! recognises inside stored values to keep nested objects alive.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Error;

/// The key of a proxy's token: `{"amphi-manager-proxy": [id, ...]}` (see `proxy`).
pub(crate) const TOKEN: &str = "amphi-manager-proxy";

/// The kinds of object a manager serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Kind {
    /// Python's `dict`: keys and values of any serde type, in insertion order.
    Dict,
    /// Python's `list`.
    List,
    /// Python's `Namespace`: named attributes (a dict with string keys).
    Namespace,
    /// Python's `Value`: one value.
    Value,
    /// A served lock (Python's `manager.Lock()` over a socket); `init` is null.
    Lock,
    /// A served reentrant lock, owned by a connection.
    RLock,
    /// A served semaphore; `init` is its number of permits.
    Semaphore,
    /// A served bounded semaphore; `init` is its number of permits (and its ceiling).
    BoundedSemaphore,
    /// A served event.
    Event,
    /// A served condition over a reentrant lock of its own.
    Condition,
    /// A served barrier; `init` is its number of parties.
    Barrier,
    /// A served queue; `init` is its maxsize (0: unbounded).
    Queue,
    /// A served joinable queue; `init` is its maxsize (0: unbounded).
    JoinableQueue,
}

/// One request to the server.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Request {
    /// A new object of `kind` holding `init` (an object for a dict or namespace, an array for
    /// a list, any value for a value); the caller holds the one reference. Answers its id.
    Create { kind: Kind, init: Value },
    /// A method of object `id`.
    Call { id: u64, method: Method },
    /// A call on served synchronisation object `id` (see `served`), which may wait: at most
    /// `timeout` (`None`: as long as it takes; zero: not at all) in the serving thread of the
    /// connection that sent it, which is the caller's identity (an owner of a lock).
    Sync {
        id: u64,
        call: SyncCall,
        timeout: Option<std::time::Duration>,
    },
    /// How many objects and clients the server has: answers [`Stats`].
    Stats,
    /// Ends the server once it answered.
    Shutdown,
    /// A proxy of `id` was serialised: one reference in transit (no answer).
    Incref { id: u64 },
    /// A proxy of `id` was deserialised by this client: a reference in transit becomes the
    /// client's (no answer).
    Adopt { id: u64 },
    /// A proxy of `id` was dropped by this client (no answer).
    Decref { id: u64 },
}

/// A method of a served object. Keys, values and indexes mean what Python's do; an index may
/// be negative (from the end).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Method {
    /// The number of entries or items.
    Len,
    /// `[value]` for `key`, `[]` when absent.
    Get { key: Value },
    /// Sets `key` to `value`; answers `[old]` or `[]`.
    Insert { key: Value, value: Value },
    /// Removes `key`; answers `[old]` or `[]`.
    Remove { key: Value },
    /// Whether `key` is there (for a list: whether `value` is an item).
    Contains { key: Value },
    /// The keys (a list: the items), in order.
    Keys,
    /// The values, in order.
    Values,
    /// `[key, value]` pairs, in order.
    Items,
    /// Removes everything.
    Clear,
    /// Inserts each pair.
    Update { items: Vec<(Value, Value)> },
    /// Sets `key` (a value: its value; `key` is then null) to its number plus `delta` (0 when
    /// absent); answers the new number.
    Add { key: Value, delta: Value },
    /// Sets `key` to `new` if it holds `expected` (`[]`: absent; `[value]`); answers whether
    /// it did.
    CompareAndSet {
        key: Value,
        expected: Vec<Value>,
        new: Value,
    },
    /// `count` entries (or items) from position `start`, if the size version is still
    /// `version` (null: the first chunk): answers `{version, items}`.
    Chunk {
        start: usize,
        count: usize,
        version: Option<u64>,
    },
    /// Appends an item.
    Push { value: Value },
    /// Appends items.
    Extend { values: Vec<Value> },
    /// The item at `index`.
    Index { index: i64 },
    /// Sets the item at `index`.
    SetIndex { index: i64, value: Value },
    /// The items `start..stop`, clamped, with Python's negative positions.
    Slice {
        start: Option<i64>,
        stop: Option<i64>,
    },
    /// Removes and answers the item at `index` (the last: null).
    Pop { index: Option<i64> },
    /// Inserts `value` before `index` (clamped, as Python's `list.insert`).
    InsertAt { index: i64, value: Value },
    /// Removes the first item equal to `value`.
    RemoveValue { value: Value },
    /// `{version, items}`: every item and the change version, for a client-side sort.
    Snapshot,
    /// Replaces every item if nothing changed since `version`; answers whether it did.
    ReplaceIf { version: u64, values: Vec<Value> },
    /// The value (of a value object).
    Load,
    /// Sets the value.
    Store { value: Value },
}

/// A call on a served synchronisation object. Each kind answers the calls that are its
/// methods and refuses the others.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum SyncCall {
    /// Takes the lock (a permit; a condition's lock), waiting until the timeout.
    Acquire,
    /// Gives the lock back (`count` permits of a semaphore).
    Release { count: u32 },
    /// Whether the lock is held (an event: whether it is set; a barrier: whether broken).
    Locked,
    /// Whether the calling connection owns the reentrant lock.
    IsOwned,
    /// A semaphore's permits left; the caller's depth of a reentrant lock; a barrier's
    /// parties; a queue's maxsize.
    Count,
    /// Sets the event.
    Set,
    /// Clears the event.
    Clear,
    /// Waits for the event to be set, for a condition's notification (releasing and then
    /// re-acquiring its lock), or for a barrier's parties (answers the arrival index).
    Wait,
    /// Wakes `count` of a condition's waiters (`None`: all); answers how many.
    Notify { count: Option<u32> },
    /// Breaks the barrier.
    Abort,
    /// Resets the barrier.
    Reset,
    /// A barrier's parties waiting; a condition's waiters; a queue's items.
    Waiting,
    /// A joinable queue's unfinished tasks.
    Unfinished,
    /// Whether a bounded queue has no room.
    Full,
    /// Puts `item` in the queue, waiting for room until the timeout.
    Put { item: Value },
    /// Takes the next item, waiting for one until the timeout.
    Get,
    /// Marks one task of a joinable queue done.
    TaskDone,
    /// Waits until every task of a joinable queue is done.
    Join,
}

/// The server's numbers: what [`Manager::stats`](super::Manager::stats) answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ManagerStats {
    /// The objects alive in the manager: referenced by some client's proxy, by a value stored
    /// in another object, or by a proxy in transit.
    pub objects: usize,
    /// The clients (processes with a proxy or a connection) the server knows.
    pub clients: usize,
}

/// Why the server refused a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Refusal {
    /// Python's `KeyError` (the key's JSON).
    KeyNotFound(String),
    /// Python's `IndexError`.
    IndexOutOfRange { index: i64, len: usize },
    /// Python's `RuntimeError: ... changed size during iteration`.
    ChangedSize,
    /// The call's timeout passed first.
    Timeout,
    /// A lock released while not held.
    NotLocked,
    /// A reentrant lock or condition used by a connection that does not own it.
    NotOwner,
    /// A bounded semaphore released above its initial value.
    SemaphoreOverflow { initial: u32 },
    /// A broken barrier.
    BrokenBarrier,
    /// A queue that had nothing to take at once.
    Empty,
    /// A queue that had no room at once.
    Full,
    /// A joinable queue's `task_done` called more times than items were put.
    TooManyTaskDone,
    /// Anything else, in words.
    Other(String),
}

impl From<Refusal> for Error {
    fn from(refusal: Refusal) -> Error {
        match refusal {
            Refusal::KeyNotFound(key) => Error::KeyNotFound(key),
            Refusal::IndexOutOfRange { index, len } => Error::IndexOutOfRange { index, len },
            Refusal::ChangedSize => Error::ChangedSize,
            Refusal::Timeout => Error::Timeout,
            Refusal::NotLocked => Error::NotLocked,
            Refusal::NotOwner => Error::NotOwner,
            Refusal::SemaphoreOverflow { initial } => Error::SemaphoreOverflow { initial },
            Refusal::BrokenBarrier => Error::BrokenBarrier,
            Refusal::Empty => Error::Empty,
            Refusal::Full => Error::Full,
            Refusal::TooManyTaskDone => Error::TooManyTaskDone,
            Refusal::Other(message) => Error::Remote(message),
        }
    }
}

/// What the server answers a call.
pub(crate) type Reply = Result<Value, Refusal>;
