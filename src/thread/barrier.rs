//! [`Barrier`]: Python's `threading.Barrier`, over the engine [`RawBarrier`](crate::sync::RawBarrier)
//! on ordinary atomic words, with the optional action run by one party per generation.

use crate::sync::atomic::AtomicU32;
use crate::sync::{RawBarrier, FILLING};
use crate::time::Deadline;
use crate::Error;
use std::fmt;
use std::time::Duration;

type Action = Box<dyn Fn() + Send + Sync>;

/// A barrier for a fixed number of threads, as Python's `threading.Barrier`.
///
/// Each of `parties` threads calls [`wait`](Barrier::wait); all of them sleep until the last
/// arrives, then all are released together, each with a distinct index in `0..parties`. The
/// barrier then fills again for the next round.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use amphi::{Barrier, Thread};
///
/// let barrier = Arc::new(Barrier::new(3)?);
/// let threads: Vec<_> = (0..3)
///     .map(|_| {
///         let barrier = barrier.clone();
///         Thread::spawn(move || barrier.wait())
///     })
///     .collect::<Result<_, _>>()?;
/// let mut indices: Vec<u32> = threads.into_iter().map(|t| t.join()?).collect::<Result<_, _>>()?;
/// indices.sort();
/// assert_eq!(indices, [0, 1, 2]);
/// # Ok::<(), amphi::Error>(())
/// ```
pub struct Barrier {
    parties: u32,
    action: Option<Action>,
    timeout: Option<Duration>,
    raw: RawBarrier<AtomicU32>,
}

impl Barrier {
    /// A barrier for `parties` threads. [`Error::InvalidArgument`] if `parties` is 0.
    ///
    /// # Examples
    ///
    /// ```
    /// let barrier = amphi::Barrier::new(3)?;
    /// assert_eq!(barrier.parties(), 3);
    /// assert!(matches!(amphi::Barrier::new(0), Err(amphi::Error::InvalidArgument(_))));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn new(parties: u32) -> Result<Barrier, Error> {
        if parties == 0 {
            return Err(Error::InvalidArgument(
                "a barrier needs at least one party".into(),
            ));
        }
        Ok(Barrier {
            parties,
            action: None,
            timeout: None,
            raw: RawBarrier::from_words(
                AtomicU32::new(0),
                AtomicU32::new(FILLING),
                AtomicU32::new(0),
                AtomicU32::new(0),
            ),
        })
    }

    /// Runs `action` in the last arriving thread of each round, before anyone is released.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU32, Ordering};
    /// use std::sync::Arc;
    /// let rounds = Arc::new(AtomicU32::new(0));
    /// let counter = rounds.clone();
    /// let barrier = amphi::Barrier::new(1)?.with_action(move || {
    ///     counter.fetch_add(1, Ordering::Relaxed);
    /// });
    /// barrier.wait()?;
    /// barrier.wait()?;
    /// assert_eq!(rounds.load(Ordering::Relaxed), 2);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn with_action(mut self, action: impl Fn() + Send + Sync + 'static) -> Barrier {
        self.action = Some(Box::new(action));
        self
    }

    /// Sets the timeout [`wait`](Barrier::wait) uses (Python's `Barrier(timeout=...)`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let barrier = amphi::Barrier::new(2)?.with_timeout(Duration::from_millis(5));
    /// assert_eq!(barrier.wait(), Err(amphi::Error::BrokenBarrier), "nobody else came");
    /// assert!(barrier.broken());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn with_timeout(mut self, timeout: Duration) -> Barrier {
        self.timeout = Some(timeout);
        self
    }

    /// The number of threads needed to pass the barrier.
    ///
    /// # Examples
    ///
    /// ```
    /// let barrier = amphi::Barrier::new(4)?;
    /// assert_eq!(barrier.parties(), 4);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn parties(&self) -> u32 {
        self.parties
    }

    /// How many threads are waiting in the current round (a snapshot).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let barrier = Arc::new(amphi::Barrier::new(2)?);
    /// let first = {
    ///     let barrier = barrier.clone();
    ///     amphi::Thread::spawn(move || barrier.wait())?
    /// };
    /// while barrier.n_waiting() == 0 {
    ///     amphi::thread::sleep(std::time::Duration::from_millis(1))?;
    /// }
    /// assert_eq!(barrier.n_waiting(), 1);
    /// barrier.wait()?; // the second party releases both
    /// first.join()??;
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
    /// let barrier = amphi::Barrier::new(2)?;
    /// assert!(!barrier.broken());
    /// barrier.abort()?;
    /// assert!(barrier.broken());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn broken(&self) -> bool {
        self.raw.broken()
    }

    /// Waits for all parties, using the barrier's default timeout if it has one. Returns this
    /// thread's index in `0..parties` (distinct within a round).
    ///
    /// [`Error::BrokenBarrier`] if the barrier is or becomes broken (on a timeout, the barrier
    /// breaks, as in Python); [`Error::WouldBlock`] on the browser's main thread.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let barrier = Arc::new(amphi::Barrier::new(2)?);
    /// let other = {
    ///     let barrier = barrier.clone();
    ///     amphi::Thread::spawn(move || barrier.wait())?
    /// };
    /// let mine = barrier.wait()?;
    /// let theirs = other.join()??;
    /// assert_eq!(mine + theirs, 1, "the indices are 0 and 1");
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn wait(&self) -> Result<u32, Error> {
        let deadline = Deadline::within(self.timeout);
        self.raw
            .wait_until(self.parties, self.action.as_deref().map(as_fn), deadline)
    }

    /// Waits for all parties for at most `timeout`; on timeout the barrier breaks and this
    /// returns [`Error::BrokenBarrier`] (Python's behaviour), as do the other waiters.
    ///
    /// # Examples
    ///
    /// ```
    /// let barrier = amphi::Barrier::new(2)?;
    /// let alone = barrier.wait_timeout(std::time::Duration::from_millis(5));
    /// assert_eq!(alone, Err(amphi::Error::BrokenBarrier));
    /// assert!(barrier.broken());
    /// barrier.reset()?;
    /// assert!(!barrier.broken());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> Result<u32, Error> {
        let action = self.action.as_deref().map(as_fn);
        self.raw
            .wait_until(self.parties, action, Deadline::after(timeout))
    }

    /// Waits for all parties without blocking the thread (no timeout). Works on the browser's
    /// main thread.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let barrier = Arc::new(amphi::Barrier::new(2)?);
    /// let other = {
    ///     let barrier = barrier.clone();
    ///     amphi::Thread::spawn(move || barrier.wait())?
    /// };
    /// let mine = futures_executor::block_on(barrier.wait_async())?;
    /// let theirs = other.join()??;
    /// assert_eq!(mine + theirs, 1, "the indices are 0 and 1");
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub async fn wait_async(&self) -> Result<u32, Error> {
        let action = self.action.as_deref().map(as_fn);
        self.raw.wait_async(self.parties, action).await
    }

    /// Puts the barrier back to its empty state. Threads waiting in it get
    /// [`Error::BrokenBarrier`]; a broken barrier becomes usable again.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let barrier = Arc::new(amphi::Barrier::new(2)?);
    /// let waiter = {
    ///     let barrier = barrier.clone();
    ///     amphi::Thread::spawn(move || barrier.wait())?
    /// };
    /// while barrier.n_waiting() == 0 {
    ///     amphi::thread::sleep(std::time::Duration::from_millis(1))?;
    /// }
    /// barrier.reset()?;
    /// assert_eq!(waiter.join()?, Err(amphi::Error::BrokenBarrier));
    /// assert!(!barrier.broken(), "ready for a new round");
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn reset(&self) -> Result<(), Error> {
        self.raw.reset()
    }

    /// Breaks the barrier: every waiter and later caller gets [`Error::BrokenBarrier`] until
    /// [`reset`](Barrier::reset). Use it to stop a rendezvous that can no longer complete.
    ///
    /// # Examples
    ///
    /// ```
    /// let barrier = amphi::Barrier::new(2)?;
    /// barrier.abort()?;
    /// assert_eq!(barrier.wait(), Err(amphi::Error::BrokenBarrier));
    /// barrier.reset()?;
    /// assert!(!barrier.broken());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn abort(&self) -> Result<(), Error> {
        self.raw.abort()
    }
}

/// The action as the plain `dyn Fn()` that [`RawBarrier`] takes.
fn as_fn(action: &(dyn Fn() + Send + Sync)) -> &dyn Fn() {
    action
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Barrier")
            .field("parties", &self.parties)
            .field("n_waiting", &self.n_waiting())
            .field("broken", &self.broken())
            .finish()
    }
}
