//! [`Barrier`]: a barrier shared by processes, the thread [`crate::Barrier`]'s state machine
//! (`RawBarrier`) over words in the shared region, with an optional action and default timeout
//! recorded in the region, so every handle in every process of the tree uses them.
//!
//! # Layout
//!
//! Header aux: the number of parties (never 0). Body, in bytes:
//!
//! | offset | content |
//! |---|---|
//! | 0..16 | the engine's words: the internal lock, `state`, `count`, `changed` |
//! | 16 | the default timeout (`u64`): 0 for none, else nanoseconds + 1 |
//! | 24 | whether there is an action (`u32`, 0 or 1) |
//! | 28 | the argument object's kind (`u32`) |
//! | 32, 40 | the action's entry and target (`u64` each, [`crate::sys::code_ref`] numbers) |
//! | 48, 56 | the argument object's offset and check (`u64` each) |
//! | 64 | a checksum of the action record and this barrier's handle (`u64`) |
//! | 72.. | one slot per party (`u32` each): the pid of the process whose party arrived with that index in the round under way, 0 for none |
//!
//! The action record (24..72) is written and read under the engine's internal lock, so the
//! party that runs the action never sees it half-written. Its argument, serialised as JSON,
//! lives in an object of its own (aux: its length).
//!
//! # The action
//!
//! A closure cannot travel to the process that happens to arrive last, so the action is a plain
//! function of the program and an argument: `fn(A)` and an `A: Serialize`, as a
//! [`Process`](super::Process)'s target is. The barrier records the function (and the
//! monomorphised entry that decodes `A` and calls it) as numbers every process of the tree
//! reads alike: natively offsets from a fixed symbol of the executable, which every process of
//! the tree is (checked when a child starts); in the browser function-table indices, the same
//! in every instance of the module. Whoever calls them validates them first: each must name
//! code of this executable (natively; in the browser `call_indirect` checks index and
//! signature), the checksum must match, and the argument must open as its object. A record
//! that fails breaks the barrier as a failed action does.
//!
//! Trust: handles are validated when opened (a corrupt or hostile handle is an error), but the
//! region's contents are the process tree's own memory: only processes of the tree map it (an
//! anonymous memfd, or a `SharedArrayBuffer` handed to its workers), so a forger would have to
//! be running this program already. The checks are against accidents, as for a child's
//! start-up message.
//!
//! # A party that dies
//!
//! Every wait sleeps in slices of 100 ms. A party records its process in the slot of its
//! arrival index, and clears it when it leaves. After a slice in which nothing happened, a
//! waiter looks at the slots (the process `Lock`'s dead-owner rule: natively the pid no longer
//! names a running process, a zombie included; in the browser a terminated process worker):
//!
//! - a party that died while the round was filling breaks the barrier: the parties waiting in
//!   it get [`Error::BrokenBarrier`] within about a slice, every
//!   later caller too until [`reset`](Barrier::reset) (a caller that arrives before anyone
//!   noticed may instead complete the round, in which the dead party had arrived);
//! - a party that died after its round was released, before it left, is forgotten: the next
//!   round opens as if it had left.
//!
//! [`reset`](Barrier::reset) and [`abort`](Barrier::abort) forget dead parties first, so they
//! always bring the barrier back. The engine's internal lock holds its holder's pid in its
//! word: a process killed inside it is found out after a slice, and the lock taken over (every
//! step under it leaves the words repairable; see `crate::sync`'s `barrier`). Every timeout is
//! honoured, also while a caller waits for the previous round to drain. A pid reused by a new
//! process looks alive (then the waiters time out, or wait for `reset` or `abort`).

use std::fmt;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::condition::Liveness;
use super::region::{Handle, Object, Place, SharedWord};
use crate::sync::atomic::Ordering;
use crate::sync::{Parties, RawBarrier};
use crate::sys::region_atomics::{AtomicU32, AtomicU64};
use crate::time::Deadline;
use crate::{sys, Error};

const KIND_BARRIER: u32 = 5;
/// The kind of an action's argument object.
const KIND_ACTION_ARGUMENT: u32 = 0x50;
/// The fixed part of the body; the parties' slots follow.
const RECORD_END: usize = 72;
/// How long a waiter sleeps before it checks for parties that died.
const SLICE: Duration = Duration::from_millis(100);

const TIMEOUT_AT: usize = 16;
const HAS_ACTION_AT: usize = 24;
const ARGUMENT_KIND_AT: usize = 28;
const ENTRY_AT: usize = 32;
const TARGET_AT: usize = 40;
const ARGUMENT_OFFSET_AT: usize = 48;
const ARGUMENT_CHECK_AT: usize = 56;
const RECORD_CHECK_AT: usize = 64;

/// The body's length for `parties` parties (a slot each), `None` if it cannot be one.
fn body_len(parties: u32) -> Option<usize> {
    usize::try_from(parties)
        .ok()?
        .checked_mul(4)?
        .checked_add(RECORD_END)
}

/// A process barrier's parties: one slot per arrival index in the region, each the pid of the
/// process whose party is inside with that index (see the module docs). A view of the
/// barrier's object, which the [`Barrier`] beside it holds.
pub(crate) struct Slots {
    object: Place,
}

impl Slots {
    fn slot(&self, index: u32) -> Option<&'static AtomicU32> {
        (index < self.object.aux()).then(|| self.object.atom(RECORD_END + 4 * index as usize))
    }
}

impl Parties for Slots {
    const SLICE: Option<Duration> = Some(SLICE);
    fn me(&self) -> u32 {
        sys::current_pid()
    }
    fn ended(&self, pid: u32) -> bool {
        !sys::pid_alive(pid)
    }
    fn entered(&self, index: u32) {
        if let Some(slot) = self.slot(index) {
            slot.store(sys::current_pid(), Ordering::Relaxed);
        }
    }
    fn left(&self, index: u32) {
        if let Some(slot) = self.slot(index) {
            slot.store(0, Ordering::Relaxed);
        }
    }
    fn reclaim_dead(&self) -> Option<u32> {
        let mut liveness = Liveness::new();
        let mut live = 0;
        for index in 0..self.object.aux() {
            let Some(slot) = self.slot(index) else { break };
            match slot.load(Ordering::Relaxed) {
                0 => {}
                pid if liveness.alive(pid) => live += 1,
                _ended => slot.store(0, Ordering::Relaxed),
            }
        }
        Some(live)
    }
}

/// What the barrier calls: decodes the argument and calls the target.
///
/// # Safety
///
/// `target` must be the address of a `fn(A)` for the `A` this entry was monomorphised with.
type ActionEntry = unsafe fn(target: usize, argument: &[u8]) -> Result<(), String>;

/// The entry for actions of type `fn(A)`.
///
/// # Safety
///
/// `target` must be the address of a `fn(A)` in this process.
unsafe fn action_entry<A: DeserializeOwned>(target: usize, argument: &[u8]) -> Result<(), String> {
    let argument = serde_json::from_slice::<A>(argument).map_err(|err| {
        let expected = std::any::type_name::<A>();
        format!("the action's argument does not deserialise as {expected}: {err}")
    })?;
    // SAFETY: the caller guarantees `target` is the address of a `fn(A)` in this process; a
    // function pointer and `usize` have the same size.
    let target = unsafe { std::mem::transmute::<usize, fn(A)>(target) };
    target(argument);
    Ok(())
}

/// The action record as read from the region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Record {
    entry: u64,
    target: u64,
    argument: (u64, u32, u64),
}

impl Record {
    /// A checksum (splitmix64) of the record and the barrier's own handle check: against
    /// accidents, not a secret.
    fn check(&self, barrier_check: u64) -> u64 {
        let (offset, kind, check) = self.argument;
        let mut x = self.entry
            ^ self.target.rotate_left(17)
            ^ offset.rotate_left(31)
            ^ (u64::from(kind) << 40)
            ^ check.rotate_left(7)
            ^ barrier_check;
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        x ^ (x >> 31)
    }
}

/// A barrier for a fixed number of processes (or threads of several processes), as Python's
/// `multiprocessing.Barrier`.
///
/// Each of `parties` callers calls [`wait`](Barrier::wait); all of them sleep until the last
/// arrives, then all are released together, each with a distinct index in `0..parties`. It
/// lives in the process tree's shared region; pass the handle to children as arguments. As the
/// thread [`crate::Barrier`], it may have an action ([`with_action`](Barrier::with_action): a
/// plain function and its argument, see the module docs) and a default timeout
/// ([`with_timeout`](Barrier::with_timeout)); it has no async form. A party whose process
/// is killed inside [`wait`](Barrier::wait) breaks the round for the others instead of leaving
/// them asleep, and [`reset`](Barrier::reset) and [`abort`](Barrier::abort) always bring the
/// barrier back (see the module docs).
///
/// # Examples
///
/// ```
/// use amphi::process::{Barrier, Process};
///
/// fn meet(barrier: Barrier) -> u32 {
///     barrier.wait().unwrap()
/// }
///
/// let barrier = Barrier::new(2)?;
/// let child = Process::new(meet, barrier.clone());
/// child.start()?;
/// let mine = barrier.wait()?;
/// let theirs = child.join()?;
/// assert_eq!(mine + theirs, 1, "the indices are 0 and 1");
/// # Ok::<(), amphi::Error>(())
/// ```
pub struct Barrier {
    object: Object,
    raw: RawBarrier<SharedWord, Slots>,
}

impl Barrier {
    /// A barrier for `parties` callers in the shared region. [`Error::InvalidArgument`] if
    /// `parties` is 0; [`Error::SharedMemory`] where there is no region or it is full.
    ///
    /// # Examples
    ///
    /// ```
    /// let barrier = amphi::process::Barrier::new(3)?;
    /// assert_eq!(barrier.parties(), 3);
    /// let none = amphi::process::Barrier::new(0);
    /// assert!(matches!(none, Err(amphi::Error::InvalidArgument(_))));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn new(parties: u32) -> Result<Barrier, Error> {
        if parties == 0 {
            return Err(Error::InvalidArgument(
                "a barrier needs at least one party".into(),
            ));
        }
        let body = body_len(parties).ok_or_else(|| {
            Error::SharedMemory(format!("a barrier of {parties} parties does not fit"))
        })?;
        Object::create(KIND_BARRIER, parties, body).map(Barrier::from_object)
    }

    fn from_object(object: Object) -> Barrier {
        Barrier {
            raw: RawBarrier::with_parties(
                object.word(0),
                object.word(4),
                object.word(8),
                object.word(12),
                Slots {
                    object: object.place(),
                },
            ),
            object,
        }
    }

    fn open(handle: Handle) -> Result<Barrier, String> {
        // The action record is validated where it is read, under the engine's lock, by the
        // party that runs it (opening may happen where no lock can be waited for).
        Object::open(handle, KIND_BARRIER, |aux| {
            (aux != 0).then(|| body_len(aux)).flatten()
        })
        .map(Barrier::from_object)
    }

    /// Runs `action(argument)` in the last arriving party of each round (in whichever process
    /// it is), before anyone is released, as the thread [`crate::Barrier::with_action`]. A
    /// panicking action breaks the barrier (the others get [`Error::BrokenBarrier`]) and the
    /// panic goes on in the party that ran it.
    ///
    /// `action` must be a plain function of this program (not a closure that captures), as a
    /// [`Process`](super::Process)'s target; use `fn(())` and `()` for none. The argument is
    /// serialised once, here, and deserialised each time the action runs: shared objects
    /// (a [`Value`](super::Value), a [`Queue`](super::Queue)) make good arguments. The record
    /// lives in the region, so every handle, cloned before or after, and in every process,
    /// runs the action; calling this again replaces it.
    ///
    /// [`Error::Encode`] if the argument does not serialise; [`Error::SharedMemory`] if the
    /// region is full; [`Error::InvalidArgument`] natively if `action` is not code of the
    /// executable (a shared library's), which other processes could not find.
    ///
    /// # Examples
    ///
    /// ```
    /// use amphi::process::{Barrier, Process, Value};
    ///
    /// fn count_round(rounds: Value<u32>) {
    ///     rounds.fetch_add(1);
    /// }
    ///
    /// fn meet(barrier: Barrier) {
    ///     barrier.wait().unwrap();
    /// }
    ///
    /// let rounds = Value::new(0u32)?;
    /// let barrier = Barrier::new(2)?.with_action(count_round, rounds.clone())?;
    /// let child = Process::new(meet, barrier.clone());
    /// child.start()?;
    /// barrier.wait()?;
    /// assert_eq!(rounds.get(), 1, "the action ran before either party left");
    /// child.join()?;
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn with_action<A>(self, action: fn(A), argument: A) -> Result<Barrier, Error>
    where
        A: Serialize + DeserializeOwned,
    {
        let bytes = serde_json::to_vec(&argument).map_err(|err| Error::Encode(err.to_string()))?;
        let code = |address: usize| crate::sys::code_ref(address).map_err(Error::InvalidArgument);
        let entry = code(action_entry::<A> as ActionEntry as usize)?;
        let target = code(action as usize)?;
        let len = u32::try_from(bytes.len())
            .map_err(|_| Error::InvalidArgument("the action's argument is too large".into()))?;
        let stored = Object::create(KIND_ACTION_ARGUMENT, len, bytes.len())?;
        stored.write_bytes(0, &bytes);
        self.object.attach(&stored);
        let record = Record {
            entry,
            target,
            argument: stored.handle().to_parts(),
        };
        self.raw.with_lock(|| self.write_record(record))?;
        Ok(self)
    }

    /// Sets the timeout [`wait`](Barrier::wait) uses (Python's `Barrier(timeout=...)`), for
    /// every handle of this barrier in every process.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let barrier = amphi::process::Barrier::new(2)?.with_timeout(Duration::from_millis(5));
    /// assert_eq!(barrier.wait(), Err(amphi::Error::BrokenBarrier), "nobody else came");
    /// assert!(barrier.broken());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn with_timeout(self, timeout: Duration) -> Barrier {
        let nanos = u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX);
        self.timeout_word()
            .store(nanos.saturating_add(1).max(1), Ordering::Release);
        self
    }

    /// The default timeout, if one was set.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let barrier = amphi::process::Barrier::new(2)?;
    /// assert_eq!(barrier.timeout(), None);
    /// let barrier = barrier.with_timeout(Duration::from_secs(3));
    /// assert_eq!(barrier.timeout(), Some(Duration::from_secs(3)));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn timeout(&self) -> Option<Duration> {
        match self.timeout_word().load(Ordering::Acquire) {
            0 => None,
            stored => Some(Duration::from_nanos(stored - 1)),
        }
    }

    fn timeout_word(&self) -> &'static AtomicU64 {
        self.object.atom(TIMEOUT_AT)
    }

    /// Writes the action record; under the engine's lock.
    fn write_record(&self, record: Record) {
        let (offset, kind, check) = record.argument;
        let barrier_check = self.object.handle().to_parts().2;
        let u64_at = |at| self.object.atom::<AtomicU64>(at);
        self.object
            .atom::<AtomicU32>(ARGUMENT_KIND_AT)
            .store(kind, Ordering::Relaxed);
        u64_at(ENTRY_AT).store(record.entry, Ordering::Relaxed);
        u64_at(TARGET_AT).store(record.target, Ordering::Relaxed);
        u64_at(ARGUMENT_OFFSET_AT).store(offset, Ordering::Relaxed);
        u64_at(ARGUMENT_CHECK_AT).store(check, Ordering::Relaxed);
        u64_at(RECORD_CHECK_AT).store(record.check(barrier_check), Ordering::Relaxed);
        self.object
            .atom::<AtomicU32>(HAS_ACTION_AT)
            .store(1, Ordering::Relaxed);
    }

    /// The action as this process can call it (entry, target, argument bytes), `None` without
    /// one, or why the record cannot be trusted; under the engine's lock.
    fn action(&self) -> Result<Option<(ActionEntry, usize, Vec<u8>)>, String> {
        match self
            .object
            .atom::<AtomicU32>(HAS_ACTION_AT)
            .load(Ordering::Relaxed)
        {
            0 => return Ok(None),
            1 => {}
            _ => return Err("the barrier's action record is corrupt".to_owned()),
        }
        let u64_at = |at| self.object.atom::<AtomicU64>(at).load(Ordering::Relaxed);
        let kind = self
            .object
            .atom::<AtomicU32>(ARGUMENT_KIND_AT)
            .load(Ordering::Relaxed);
        let record = Record {
            entry: u64_at(ENTRY_AT),
            target: u64_at(TARGET_AT),
            argument: (u64_at(ARGUMENT_OFFSET_AT), kind, u64_at(ARGUMENT_CHECK_AT)),
        };
        let barrier_check = self.object.handle().to_parts().2;
        if u64_at(RECORD_CHECK_AT) != record.check(barrier_check) {
            return Err("the barrier's action record is corrupt".to_owned());
        }
        let (offset, kind, check) = record.argument;
        let stored = Object::open(
            Handle::from_parts(offset, kind, check),
            KIND_ACTION_ARGUMENT,
            |len| Some(len as usize),
        )
        .map_err(|why| format!("the barrier's action argument cannot be opened: {why}"))?;
        let mut bytes = vec![0; stored.aux() as usize];
        stored.read_bytes(0, &mut bytes);
        let entry = crate::sys::code_address(record.entry)?;
        let target = crate::sys::code_address(record.target)?;
        // SAFETY: `entry` is the number `with_action` took, in a process of this tree (the same
        // executable or module), of a value of type `ActionEntry`; `code_address` checked that
        // it names code of this executable (in the browser, `call_indirect` checks index and
        // signature), and the checksum ties it to this barrier's record. A function pointer
        // and `usize` have the same size.
        let entry = unsafe { std::mem::transmute::<usize, ActionEntry>(entry) };
        Ok(Some((entry, target, bytes)))
    }

    /// The action as the engine calls it: under the engine's lock, in the last arriving party.
    /// A record that cannot be trusted breaks the barrier, as a failed action does.
    fn run_action(&self) {
        let action = match self.action() {
            Ok(Some(action)) => action,
            Ok(None) => return,
            Err(why) => panic!("the barrier's action cannot run: {why}"),
        };
        let (entry, target, argument) = action;
        // SAFETY: `with_action` paired this entry (monomorphised for `A`) with a `fn(A)`
        // target, and recorded both under the same checksum (see `action`).
        if let Err(why) = unsafe { entry(target, &argument) } {
            panic!("the barrier's action cannot run: {why}");
        }
    }

    fn wait_until(&self, deadline: Deadline) -> Result<u32, Error> {
        let action = || self.run_action();
        self.raw.wait_until(self.parties(), Some(&action), deadline)
    }

    /// The number of callers needed to pass the barrier.
    ///
    /// # Examples
    ///
    /// ```
    /// let barrier = amphi::process::Barrier::new(4)?;
    /// assert_eq!(barrier.parties(), 4);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn parties(&self) -> u32 {
        self.object.aux()
    }

    /// How many callers wait in the current round (a snapshot).
    ///
    /// # Examples
    ///
    /// ```
    /// let barrier = amphi::process::Barrier::new(2)?;
    /// assert_eq!(barrier.n_waiting(), 0);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn n_waiting(&self) -> u32 {
        self.raw.n_waiting()
    }

    /// Whether the barrier is broken.
    ///
    /// # Examples
    ///
    /// ```
    /// let barrier = amphi::process::Barrier::new(2)?;
    /// assert!(!barrier.broken());
    /// barrier.abort()?;
    /// assert!(barrier.broken());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn broken(&self) -> bool {
        self.raw.broken()
    }

    /// Waits for all parties, using the barrier's default timeout if it has one; returns this
    /// caller's index in `0..parties` (distinct within a round). [`Error::BrokenBarrier`] if
    /// the barrier is or becomes broken (on a timeout, the barrier breaks, as in Python).
    ///
    /// # Examples
    ///
    /// ```
    /// let barrier = amphi::process::Barrier::new(1)?;
    /// assert_eq!(barrier.wait()?, 0, "a party of one passes at once");
    /// assert_eq!(barrier.wait()?, 0, "round after round");
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn wait(&self) -> Result<u32, Error> {
        self.wait_until(self.timeout().map_or(Deadline::NEVER, Deadline::after))
    }

    /// Waits for all parties for at most `timeout`; on timeout the barrier breaks and this
    /// returns [`Error::BrokenBarrier`] (Python's behaviour), as do the other waiters.
    ///
    /// # Examples
    ///
    /// ```
    /// let barrier = amphi::process::Barrier::new(2)?;
    /// let alone = barrier.wait_timeout(std::time::Duration::from_millis(5));
    /// assert_eq!(alone, Err(amphi::Error::BrokenBarrier));
    /// assert!(barrier.broken());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> Result<u32, Error> {
        self.wait_until(Deadline::after(timeout))
    }

    /// Puts the barrier back to its empty state; waiters get [`Error::BrokenBarrier`], and a
    /// broken barrier becomes usable again.
    ///
    /// # Examples
    ///
    /// ```
    /// let barrier = amphi::process::Barrier::new(2)?;
    /// barrier.abort()?;
    /// barrier.reset()?;
    /// assert!(!barrier.broken());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn reset(&self) -> Result<(), Error> {
        self.raw.reset()
    }

    /// Breaks the barrier: every waiter, in any process, and every later caller gets
    /// [`Error::BrokenBarrier`] until [`reset`](Barrier::reset).
    ///
    /// # Examples
    ///
    /// ```
    /// let barrier = amphi::process::Barrier::new(2)?;
    /// barrier.abort()?;
    /// assert_eq!(barrier.wait(), Err(amphi::Error::BrokenBarrier));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn abort(&self) -> Result<(), Error> {
        self.raw.abort()
    }
}

impl Clone for Barrier {
    /// Another handle to the same barrier.
    fn clone(&self) -> Barrier {
        Barrier::from_object(self.object.clone())
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Barrier")
            .field("parties", &self.parties())
            .field("n_waiting", &self.n_waiting())
            .field("broken", &self.broken())
            .field("timeout", &self.timeout())
            .finish()
    }
}

impl Serialize for Barrier {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.object.handle().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Barrier {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Barrier, D::Error> {
        let handle = Handle::deserialize(deserializer)?;
        Barrier::open(handle).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nothing(_: ()) {}

    /// A record damaged in the region is refused where it would be called: the barrier breaks
    /// and the party that found it panics, as with a failed action; nothing is called.
    #[test]
    fn a_corrupt_action_record_breaks_the_barrier_instead_of_running() {
        let barrier = Barrier::new(1).unwrap().with_action(nothing, ()).unwrap();
        assert_eq!(barrier.wait(), Ok(0), "an intact record runs");
        let target = barrier.object.atom::<AtomicU64>(TARGET_AT);
        target.fetch_add(8, Ordering::Relaxed);
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| barrier.wait()));
        let panic = caught.expect_err("a corrupt record is refused");
        let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(message.contains("corrupt"), "{message}");
        assert!(barrier.broken());
    }
}
