//! [`Barrier`]: a barrier shared by processes, the thread [`crate::Barrier`]'s state machine
//! (`RawBarrier`) over words in the shared region.
//!
//! # Layout
//!
//! Header aux: the number of parties (never 0). Body: four words, the internal lock, `state`,
//! `count` and `changed` (see [`crate::Barrier`]'s module docs for the states).
//!
//! # Limits
//!
//! There is no action: a closure cannot travel to the process that happens to arrive last. Run
//! the work after [`wait`](Barrier::wait) in the process that got index 0 instead. A process
//! that dies inside `wait` still counts as arrived in that round, so give waiters a timeout
//! (the round then breaks) or [`abort`](Barrier::abort) the barrier once a child is known dead.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::region::{Handle, Object, SharedWord};
use crate::sync::RawBarrier;
use crate::time::Deadline;
use crate::Error;

const KIND_BARRIER: u32 = 5;
const BODY: usize = 16;

/// A barrier for a fixed number of processes (or threads of several processes), as Python's
/// `multiprocessing.Barrier`.
///
/// Each of `parties` callers calls [`wait`](Barrier::wait); all of them sleep until the last
/// arrives, then all are released together, each with a distinct index in `0..parties`. It
/// lives in the process tree's shared region; pass the handle to children as arguments. Unlike
/// the thread [`crate::Barrier`] it takes no action (see the module docs) and has no async form.
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
    raw: RawBarrier<SharedWord>,
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
        Object::create(KIND_BARRIER, parties, BODY).map(Barrier::from_object)
    }

    fn from_object(object: Object) -> Barrier {
        Barrier {
            raw: RawBarrier::from_words(
                object.word(0),
                object.word(4),
                object.word(8),
                object.word(12),
            ),
            object,
        }
    }

    fn open(handle: Handle) -> Result<Barrier, String> {
        Object::open(handle, KIND_BARRIER, |aux| (aux != 0).then_some(BODY))
            .map(Barrier::from_object)
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

    /// Waits for all parties; returns this caller's index in `0..parties` (distinct within a
    /// round). [`Error::BrokenBarrier`] if the barrier is or becomes broken.
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
        self.raw.wait_until(self.parties(), None, Deadline::NEVER)
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
        self.raw
            .wait_until(self.parties(), None, Deadline::after(timeout))
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
        Barrier::from_object(self.object)
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Barrier")
            .field("parties", &self.parties())
            .field("n_waiting", &self.n_waiting())
            .field("broken", &self.broken())
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
