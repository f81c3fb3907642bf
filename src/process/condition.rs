//! [`Condition`]: a condition variable shared by processes, over a process [`Lock`] or
//! [`RLock`]: the thread [`crate::Condition`]'s state machine (`crate::sync::RawCondition`)
//! with its waiters' words in slots of the shared region, so with the same FIFO guarantee.
//!
//! # Layout
//!
//! Header aux: the number of waiter slots, `SLOTS` (64). Body: the internal mutex word (0, or
//! the pid of the process holding it), `next` (the next ticket), then the slots, each a
//! `ticket` (`u32`), a `state` word (`FREE`, `WAITING` or `NOTIFIED`) and its `holder`: the pid
//! of the process whose waiter took it.
//!
//! # How it works
//!
//! The waiting, notifying, timing out and lock handling are the thread condition's state machine
//! (see `crate::sync`'s `condition`); what is particular here is the queue, [`SlotQueue`]. Each waiter's
//! word is a slot of the region, taken under the internal mutex together with a ticket from
//! `next` (`FREE -> WAITING`), and freed once the waiter has seen its notification or left.
//! Taking the `n` oldest waiters means, under the mutex, picking the `n` `WAITING` slots with
//! the oldest tickets (tickets are compared by their distance from `next`, so they may wrap).
//! So `notify(n)` wakes exactly the `n` callers that have waited longest, in any process, never
//! one that started waiting after the notify. A waiter that times out frees its slot under the
//! mutex; if a notify chose it at the same moment, the wait counts as notified (no notification
//! is lost).
//!
//! # A waiter that dies
//!
//! A process killed while it waits (natively any signal that ends it, in the browser a
//! terminated process worker) cannot free its slot, so the others do, judging the slot's
//! `holder` by the process `Lock`'s dead-owner rule (`sys::pid_alive`: natively the pid no
//! longer names a running process, a zombie included; in the browser the region's process table
//! marks it or an ancestor ended, after which that process's workers may no longer write the
//! region). A notify that picks a slot whose holder has ended frees it and picks the next
//! oldest instead: a notification is never spent on a dead process, and `notify` and
//! `notify_all` return how many *live* waiters they woke. A caller that finds every slot taken
//! first frees those of ended processes, so dead waiters never use the condition up, and
//! [`Condition::waiting`] counts live waiters only. A waiter that is alive is never freed,
//! wherever it is between its wait and its slot's release, and a process judged ended runs no
//! more code, so nobody touches a freed slot on a dead waiter's behalf. A waiter that dies
//! after a notify chose it took that notification with it: the notifier saw it alive.
//!
//! The internal mutex records its holder's pid the same way: a caller that finds it held sleeps
//! in slices of 100 ms, and after a slice in which the holder did not let go, takes it over if
//! that process has ended. Nothing needs repair then, as every step of the sections under the
//! mutex leaves the slots consistent (the holder is recorded before a slot becomes `WAITING`).
//! Like the `Lock`'s, these checks are conservative: a pid reused by a new process looks alive
//! (its slot then stays taken until that process ends too).
//!
//! # Limits
//!
//! At most 64 callers (in all processes) may wait at once; one more gets
//! [`Error::SharedMemory`](crate::Error::SharedMemory). There is no async form.
//!
//! # Memory ordering
//!
//! The user's lock orders the user's state; the internal mutex orders the slots; a slot's
//! `NOTIFIED` is stored with `Release` and read with `Acquire`.

use crate::sys::region_atomics::AtomicU32;
use std::fmt;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::lock::{Lock, LockGuard};
use super::region::{Handle, Object, SharedWord};
use super::rlock::{RLock, RLockGuard};
use crate::sync::atomic::Ordering;
use crate::sync::Word;
use crate::sync::{InnerLock, RawCondition, RawOwnedLock, WaiterQueue, WAITING};
use crate::time::Deadline;
use crate::{sys, Error};

const KIND_CONDITION: u32 = 7;
/// How many callers may wait on one process condition at once.
const SLOTS: u32 = 64;
const SLOTS_AT: usize = 8;
const SLOT_LEN: usize = 12;
const BODY: usize = SLOTS_AT + SLOTS as usize * SLOT_LEN;

/// A slot no waiter holds (the slot states are `FREE`, then the condition's `WAITING` and
/// `NOTIFIED`).
const FREE: u32 = 0;

/// A lock a process [`Condition`] can be built over: a process [`Lock`] or [`RLock`].
///
/// # Examples
///
/// ```
/// use amphi::process::{Condition, ConditionLock, Lock, RLock};
///
/// fn wake_everyone<L: ConditionLock>(cond: &Condition<L>) -> amphi::Result<usize> {
///     let _held = cond.acquire()?;
///     cond.notify_all()
/// }
/// assert_eq!(wake_everyone(&Condition::new()?)?, 0);
/// assert_eq!(wake_everyone(&Condition::with_lock(Lock::new()?)?)?, 0);
/// # Ok::<(), amphi::Error>(())
/// ```
pub trait ConditionLock:
    InnerLock + Clone + Serialize + DeserializeOwned + Send + Sync + 'static
{
    /// What acquiring the lock through [`Condition::acquire`] returns.
    ///
    /// # Examples
    ///
    /// ```
    /// let cond = amphi::process::Condition::with_lock(amphi::process::Lock::new()?)?;
    /// let guard: amphi::process::LockGuard<'_> = cond.acquire()?;
    /// assert!(cond.lock().locked());
    /// drop(guard);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    type Guard<'a>;
    /// Acquires the lock, blocking.
    ///
    /// # Examples
    ///
    /// ```
    /// use amphi::process::ConditionLock;
    /// let lock = amphi::process::RLock::new()?;
    /// let level = lock.acquire_guard()?;
    /// assert!(lock.is_owned());
    /// drop(level);
    /// assert!(!lock.locked());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    fn acquire_guard(&self) -> Result<Self::Guard<'_>, Error>;
}

impl ConditionLock for Lock {
    type Guard<'a> = LockGuard<'a>;
    fn acquire_guard(&self) -> Result<LockGuard<'_>, Error> {
        self.acquire()
    }
}

impl ConditionLock for RLock {
    type Guard<'a> = RLockGuard<'a>;
    fn acquire_guard(&self) -> Result<RLockGuard<'_>, Error> {
        self.acquire()
    }
}

/// A process condition's waiters: `SLOTS` slots of the region, each a ticket, a state word and
/// its holder's pid, under an internal mutex word (see the module docs).
pub(crate) struct SlotQueue {
    object: Object,
    mutex: SlotMutex,
}

/// How long a caller sleeps on the internal mutex before it checks whether its holder runs.
const SLICE: Duration = Duration::from_millis(100);

/// The condition's internal mutex, over the body's first word: a [`RawOwnedLock`] with the
/// holder's pid in its word, so that one whose holder was killed inside it is taken over (see
/// the module docs).
struct SlotMutex {
    lock: RawOwnedLock<SharedWord>,
}

impl SlotMutex {
    /// Takes the mutex, sleeping in slices; after a slice in which its holder did not let go,
    /// takes it over if that process no longer runs. [`Error::WouldBlock`] on a thread that
    /// may not block.
    fn lock(&self) -> Result<(), Error> {
        self.lock
            .lock_taking_over(sys::current_pid(), SLICE, |holder| !sys::pid_alive(holder))
            .map(drop)
    }

    /// Lets the mutex go, waking one sleeper if any may sleep on it.
    fn unlock(&self) {
        self.lock.unlock();
    }
}

/// A waiter's slot, and its state word.
pub(crate) struct SlotWaiter {
    slot: usize,
    state: SharedWord,
}

/// Whether the processes holding slots still run, as one call finds them: the process `Lock`'s
/// dead-owner rule (`sys::pid_alive`), asked at most once per process and never about the
/// caller's own.
pub(super) struct Liveness {
    me: u32,
    known: Vec<(u32, bool)>,
}

impl Liveness {
    pub(super) fn new() -> Liveness {
        Liveness {
            me: sys::current_pid(),
            known: Vec::new(),
        }
    }

    /// Whether process `pid` still runs. An unrecorded holder (0) counts as alive: a slot is
    /// only ever freed for a process known to have ended.
    pub(super) fn alive(&mut self, pid: u32) -> bool {
        if pid == 0 || pid == self.me {
            return true;
        }
        if let Some(&(_, alive)) = self.known.iter().find(|&&(known, _)| known == pid) {
            return alive;
        }
        let alive = sys::pid_alive(pid);
        self.known.push((pid, alive));
        alive
    }
}

impl SlotQueue {
    fn from_object(object: Object) -> SlotQueue {
        SlotQueue {
            mutex: SlotMutex {
                lock: RawOwnedLock::from_word(object.word(0)),
            },
            object,
        }
    }

    fn ticket(&self, slot: usize) -> &'static AtomicU32 {
        self.object.atom(SLOTS_AT + slot * SLOT_LEN)
    }

    fn state(&self, slot: usize) -> SharedWord {
        self.object.word(SLOTS_AT + slot * SLOT_LEN + 4)
    }

    /// The pid of the process whose waiter holds `slot` (meaningful while it is not `FREE`).
    fn holder(&self, slot: usize) -> &'static AtomicU32 {
        self.object.atom(SLOTS_AT + slot * SLOT_LEN + 8)
    }

    fn next(&self) -> &'static AtomicU32 {
        self.object.atom(4)
    }

    /// The slots whose state is `WAITING`, whatever their holder.
    fn waiting_slots(&self) -> impl Iterator<Item = usize> + '_ {
        (0..SLOTS as usize).filter(|&slot| self.state(slot).load(Ordering::Acquire) == WAITING)
    }

    /// Whether the holder of `slot` (a slot that is not `FREE`) still runs.
    fn holder_alive(&self, slot: usize, liveness: &mut Liveness) -> bool {
        liveness.alive(self.holder(slot).load(Ordering::Relaxed))
    }

    /// The first `FREE` slot.
    fn free_slot(&self) -> Option<usize> {
        (0..SLOTS as usize).find(|&slot| self.state(slot).load(Ordering::Relaxed) == FREE)
    }

    /// Frees every slot held by a process that no longer runs, waiting or notified (a waiter
    /// that died before it saw its notification). Under the mutex.
    fn reclaim_dead(&self) {
        let mut liveness = Liveness::new();
        for slot in 0..SLOTS as usize {
            if self.state(slot).load(Ordering::Relaxed) != FREE
                && !self.holder_alive(slot, &mut liveness)
            {
                self.state(slot).swap(FREE, Ordering::Relaxed);
            }
        }
    }

    /// Runs `f` under the internal mutex.
    fn locked<T>(&self, f: impl FnOnce() -> T) -> Result<T, Error> {
        self.mutex.lock()?;
        let result = f();
        self.mutex.unlock();
        Ok(result)
    }
}

impl WaiterQueue for SlotQueue {
    type Waiter = SlotWaiter;
    type Word = SharedWord;

    fn word(waiter: &SlotWaiter) -> &SharedWord {
        &waiter.state
    }

    /// Takes a free slot with the next ticket, recording the caller's process as its holder;
    /// when none is free, first frees the slots of processes that died.
    fn push(&self) -> Result<SlotWaiter, Error> {
        self.locked(|| {
            let slot = match self.free_slot() {
                Some(slot) => slot,
                None => {
                    self.reclaim_dead();
                    self.free_slot().ok_or_else(|| {
                        Error::SharedMemory(format!(
                            "more than {SLOTS} callers wait on one process condition"
                        ))
                    })?
                }
            };
            let ticket = self.next().fetch_add(1, Ordering::Relaxed);
            self.ticket(slot).store(ticket, Ordering::Relaxed);
            self.holder(slot)
                .store(sys::current_pid(), Ordering::Relaxed);
            let state = self.state(slot);
            // Release: whoever sees the slot `WAITING` sees its ticket and holder.
            state.swap(WAITING, Ordering::Release);
            Ok(SlotWaiter { slot, state })
        })?
    }

    /// Frees the waiter's slot if it still waits.
    fn remove(&self, waiter: &SlotWaiter) -> Result<bool, Error> {
        self.locked(|| {
            self.state(waiter.slot)
                .compare_exchange(WAITING, FREE, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        })
    }

    /// Notifies the waiting slots with the oldest tickets, one by one (a notified slot no
    /// longer waits, so the next round finds the next oldest). A slot whose holder no longer
    /// runs is freed instead, and neither counts nor stops the search: no notification is
    /// spent on a dead process.
    fn take_oldest(&self, n: usize, mut notify: impl FnMut(&SharedWord)) -> Result<usize, Error> {
        let mut taken = 0;
        self.locked(|| {
            let next = self.next().load(Ordering::Relaxed);
            let mut liveness = Liveness::new();
            while taken < n {
                let oldest = self.waiting_slots().max_by_key(|&slot| {
                    next.wrapping_sub(self.ticket(slot).load(Ordering::Relaxed))
                });
                let Some(slot) = oldest else { break };
                if self.holder_alive(slot, &mut liveness) {
                    notify(&self.state(slot));
                    taken += 1;
                } else {
                    self.state(slot).swap(FREE, Ordering::Relaxed);
                }
            }
        })?;
        Ok(taken)
    }

    /// Frees the slot of a waiter that a notify chose.
    fn retire(&self, waiter: &SlotWaiter) {
        waiter.state.swap(FREE, Ordering::Relaxed);
    }

    /// The waiting slots whose holder still runs.
    fn len(&self) -> usize {
        let mut liveness = Liveness::new();
        self.waiting_slots()
            .filter(|&slot| self.holder_alive(slot, &mut liveness))
            .count()
    }
}

/// A condition variable shared by processes, as Python's `multiprocessing.Condition`.
///
/// Callers hold its lock, check some shared state, and [`wait`](Condition::wait) until another
/// caller (in any process of the tree) changes that state and calls
/// [`notify`](Condition::notify), which wakes exactly the `n` oldest waiters. By default it owns
/// a process [`RLock`]; [`Condition::with_lock`] builds one over a given [`Lock`] or [`RLock`].
/// Pass it to children as arguments. At most 64 callers may wait at once; a waiter whose
/// process is killed gives its slot back and is never counted or woken by a notify (see the
/// module docs).
///
/// Waiting or notifying without holding the lock is [`Error::NotOwner`].
///
/// # Examples
///
/// ```
/// use amphi::process::{Condition, Process, Value};
///
/// fn produce((cond, ready): (Condition, Value<u32>)) {
///     let _held = cond.acquire().unwrap();
///     ready.set(1);
///     cond.notify_all().unwrap();
/// }
///
/// let cond = Condition::new()?;
/// let ready = Value::new(0u32)?;
/// let child = Process::new(produce, (cond.clone(), ready.clone()));
/// let held = cond.acquire()?;
/// child.start()?;
/// cond.wait_for(|| ready.get() == 1)?;
/// drop(held);
/// child.join()?;
/// # Ok::<(), amphi::Error>(())
/// ```
pub struct Condition<L: ConditionLock = RLock> {
    object: Object,
    lock: L,
    raw: RawCondition<SlotQueue>,
}

impl Condition<RLock> {
    /// A condition over a new process [`RLock`] of its own. [`Error::SharedMemory`] where there
    /// is no region or it is full.
    ///
    /// # Examples
    ///
    /// ```
    /// let cond = amphi::process::Condition::new()?;
    /// assert_eq!(cond.waiting(), 0);
    /// assert!(!cond.lock().locked());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn new() -> Result<Condition<RLock>, Error> {
        Condition::with_lock(RLock::new()?)
    }
}

impl<L: ConditionLock> Condition<L> {
    /// A condition over `lock`, which other conditions may share (Python's `Condition(lock)`).
    ///
    /// # Examples
    ///
    /// ```
    /// use amphi::process::{Condition, Lock};
    /// let lock = Lock::new()?;
    /// let not_empty = Condition::with_lock(lock.clone())?;
    /// let not_full = Condition::with_lock(lock)?;
    /// let _held = not_empty.acquire()?;
    /// assert!(not_full.lock().locked());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn with_lock(lock: L) -> Result<Condition<L>, Error> {
        let object = Object::create(KIND_CONDITION, SLOTS, BODY)?;
        Ok(Condition::from_parts(object, lock))
    }

    fn from_parts(object: Object, lock: L) -> Condition<L> {
        Condition {
            raw: RawCondition::from_queue(SlotQueue::from_object(object.clone())),
            object,
            lock,
        }
    }

    /// The underlying lock (for its `try_` and `_timeout` acquiring forms).
    ///
    /// # Examples
    ///
    /// ```
    /// let cond = amphi::process::Condition::new()?;
    /// let _held = cond.lock().try_acquire().expect("free");
    /// assert_eq!(cond.notify(1)?, 0, "holding the lock allows notifying");
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn lock(&self) -> &L {
        &self.lock
    }

    /// Acquires the underlying lock, blocking (Python's `with cond:`).
    ///
    /// # Examples
    ///
    /// ```
    /// let cond = amphi::process::Condition::new()?;
    /// assert_eq!(cond.notify(1), Err(amphi::Error::NotOwner));
    /// let _held = cond.acquire()?;
    /// assert_eq!(cond.notify(1)?, 0);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn acquire(&self) -> Result<L::Guard<'_>, Error> {
        self.lock.acquire_guard()
    }

    /// Releases the lock, sleeps until notified, and re-acquires the lock.
    /// [`Error::NotOwner`] without the lock.
    ///
    /// # Examples
    ///
    /// ```
    /// use amphi::process::Condition;
    /// let cond = Condition::new()?;
    /// let notifier = {
    ///     let cond = cond.clone();
    ///     std::thread::spawn(move || loop {
    ///         let _held = cond.acquire().unwrap();
    ///         if cond.notify(1).unwrap() == 1 {
    ///             break;
    ///         }
    ///     })
    /// };
    /// let held = cond.acquire()?;
    /// cond.wait()?; // the lock is free while asleep, and held again on return
    /// assert!(cond.lock().is_owned());
    /// drop(held);
    /// notifier.join().unwrap();
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn wait(&self) -> Result<(), Error> {
        self.raw.wait_until(&self.lock, Deadline::NEVER)
    }

    /// As [`wait`](Condition::wait), but gives up after `timeout` with [`Error::Timeout`]
    /// (the lock is re-acquired either way).
    ///
    /// # Examples
    ///
    /// ```
    /// let cond = amphi::process::Condition::new()?;
    /// let _held = cond.acquire()?;
    /// let outcome = cond.wait_timeout(std::time::Duration::from_millis(5));
    /// assert_eq!(outcome, Err(amphi::Error::Timeout));
    /// assert!(cond.lock().is_owned(), "the lock is held again after the wait");
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> Result<(), Error> {
        self.raw.wait_until(&self.lock, Deadline::after(timeout))
    }

    /// Waits until `predicate()` holds, re-checking after every wake-up. Returns at once if it
    /// already holds.
    ///
    /// # Examples
    ///
    /// ```
    /// let cond = amphi::process::Condition::new()?;
    /// let _held = cond.acquire()?;
    /// cond.wait_for(|| true)?;
    /// assert!(cond.lock().is_owned());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn wait_for(&self, predicate: impl FnMut() -> bool) -> Result<(), Error> {
        self.raw
            .wait_for_until(&self.lock, predicate, Deadline::NEVER)
    }

    /// As [`wait_for`](Condition::wait_for) with an overall `timeout`: [`Error::Timeout`] if
    /// the predicate still does not hold when it passes.
    ///
    /// # Examples
    ///
    /// ```
    /// let cond = amphi::process::Condition::new()?;
    /// let _held = cond.acquire()?;
    /// let never = cond.wait_for_timeout(|| false, std::time::Duration::from_millis(5));
    /// assert_eq!(never, Err(amphi::Error::Timeout));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn wait_for_timeout(
        &self,
        predicate: impl FnMut() -> bool,
        timeout: Duration,
    ) -> Result<(), Error> {
        self.raw
            .wait_for_until(&self.lock, predicate, Deadline::after(timeout))
    }

    /// Wakes the `n` callers that have waited longest, in any process (fewer if fewer wait);
    /// returns how many it woke. Waiters whose process has ended are skipped (their slots
    /// freed), neither woken nor counted. [`Error::NotOwner`] without the lock.
    ///
    /// # Examples
    ///
    /// ```
    /// let cond = amphi::process::Condition::new()?;
    /// let _held = cond.acquire()?;
    /// assert_eq!(cond.notify(5)?, 0, "nobody waits");
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn notify(&self, n: usize) -> Result<usize, Error> {
        self.raw.notify(&self.lock, n)
    }

    /// Wakes every waiting caller; returns how many, counting only waiters whose process still
    /// runs (dead ones are skipped and their slots freed). [`Error::NotOwner`] without the lock.
    ///
    /// # Examples
    ///
    /// ```
    /// let cond = amphi::process::Condition::new()?;
    /// assert_eq!(cond.notify_all(), Err(amphi::Error::NotOwner));
    /// let _held = cond.acquire()?;
    /// assert_eq!(cond.notify_all()?, 0);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn notify_all(&self) -> Result<usize, Error> {
        self.notify(usize::MAX)
    }

    /// How many callers are waiting, in all processes, not counting those whose process has
    /// ended (a snapshot).
    ///
    /// # Examples
    ///
    /// ```
    /// let cond = amphi::process::Condition::new()?;
    /// assert_eq!(cond.waiting(), 0);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn waiting(&self) -> usize {
        self.raw.waiting()
    }
}

impl<L: ConditionLock> Clone for Condition<L> {
    /// Another handle to the same condition (and lock).
    fn clone(&self) -> Condition<L> {
        Condition::from_parts(self.object.clone(), self.lock.clone())
    }
}

impl<L: ConditionLock> fmt::Debug for Condition<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condition")
            .field("waiting", &self.waiting())
            .finish_non_exhaustive()
    }
}

impl<L: ConditionLock> Serialize for Condition<L> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (&self.lock, self.object.handle()).serialize(serializer)
    }
}

impl<'de, L: ConditionLock> Deserialize<'de> for Condition<L> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Condition<L>, D::Error> {
        let (lock, handle) = <(L, Handle)>::deserialize(deserializer)?;
        let object = Object::open(handle, KIND_CONDITION, |aux| (aux == SLOTS).then_some(BODY))
            .map_err(serde::de::Error::custom)?;
        Ok(Condition::from_parts(object, lock))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the tests' notify stores in a chosen waiter's word (any state but `WAITING`).
    const CHOSEN: u32 = 9;

    /// A pid no running process has (one the browser's table never handed out).
    fn ended_pid() -> u32 {
        (65_000..65_535)
            .find(|&pid| !sys::pid_alive(pid))
            .expect("some pid is free")
    }

    fn queue() -> SlotQueue {
        SlotQueue::from_object(Object::create(KIND_CONDITION, SLOTS, BODY).unwrap())
    }

    /// A process killed inside the internal mutex does not wedge the condition: the next
    /// caller takes the mutex over after a slice.
    #[test]
    fn a_mutex_held_by_an_ended_process_is_taken_over() {
        let queue = queue();
        let word = queue.mutex.lock.word();
        word.swap(ended_pid() | crate::sync::SLEEPERS, Ordering::Relaxed);
        assert_eq!(queue.locked(|| 7), Ok(7));
        assert_eq!(word.load(Ordering::Relaxed), 0, "free again");
    }

    /// A notify skips and frees an ended process's waiters; a full queue reclaims such slots.
    #[test]
    fn slots_held_by_ended_processes_are_skipped_and_reclaimed() {
        let queue = queue();
        let ended = ended_pid();
        let live = SLOTS as usize - 2;
        let waiters: Vec<SlotWaiter> = (0..SLOTS).map(|_| queue.push().unwrap()).collect();
        assert!(queue.push().is_err(), "every slot is taken");
        for waiter in &waiters[..live] {
            queue.holder(waiter.slot).store(ended, Ordering::Relaxed);
        }
        assert_eq!(queue.len(), 2, "only live waiters count");
        let notify = |word: &SharedWord| {
            word.swap(CHOSEN, Ordering::Release);
        };
        assert_eq!(queue.take_oldest(1, notify), Ok(1));
        assert_eq!(waiters[live].state.load(Ordering::Relaxed), CHOSEN);
        assert_eq!(waiters[live + 1].state.load(Ordering::Relaxed), WAITING);
        let freed = waiters[..live]
            .iter()
            .filter(|waiter| waiter.state.load(Ordering::Relaxed) == FREE)
            .count();
        assert_eq!(
            freed, live,
            "the dead waiters it passed were freed, not notified"
        );
        // Taken again, then ended too: a full queue reclaims them.
        let again: Vec<SlotWaiter> = (0..live).map(|_| queue.push().unwrap()).collect();
        for waiter in &again {
            queue.holder(waiter.slot).store(ended, Ordering::Relaxed);
        }
        let newest = queue.push().expect("a dead waiter's slot is reclaimed");
        assert_eq!(queue.len(), 2, "the live waiter and the newest");
        assert_eq!(queue.take_oldest(usize::MAX, notify), Ok(2));
        assert_eq!(newest.state.load(Ordering::Relaxed), CHOSEN);
    }
}
