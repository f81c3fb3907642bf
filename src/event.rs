//! [`Event`]: Python's `threading.Event`, a flag that threads wait for.
//!
//! # State machine
//!
//! One word: bit 0 is the flag (`SET_BIT`), the other bits count the `set` calls that found the
//! flag clear (a generation). `set` moves an unset word to the next generation with the flag
//! on and wakes every sleeper; `clear` turns the flag off and keeps the generation. A waiter
//! remembers the word it saw and sleeps while the word is unchanged.
//!
//! # Guarantees
//!
//! A thread waiting when `set` is called returns successfully even if `clear` follows at once:
//! it sees that the generation moved on (CPython's behaviour since bpo-13502). A timed wait that
//! times out still succeeds if a `set` happened before it gave up.
//!
//! # Memory ordering
//!
//! `set` is `Release` and the waiters' reads are `Acquire`: what the setter wrote before `set`
//! is visible to every thread that sees the flag set.

use std::fmt;
use std::time::Duration;

use crate::atomic::{AtomicU32, Ordering};
use crate::time::Deadline;
use crate::word::Word;
use crate::{sys, Error};

const SET_BIT: u32 = 1;
const GENERATION: u32 = 2;

/// A flag that threads can wait for, as Python's `threading.Event`.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use amphi::{Event, Thread};
///
/// let ready = Arc::new(Event::new());
/// let waiter = {
///     let ready = Arc::clone(&ready);
///     Thread::spawn(move || ready.wait())?
/// };
/// ready.set();
/// waiter.join()??;
/// assert!(ready.is_set());
/// # Ok::<(), amphi::Error>(())
/// ```
pub struct Event {
    raw: RawEvent<AtomicU32>,
}

impl Event {
    /// A new event, not set.
    ///
    /// # Examples
    ///
    /// ```
    /// let event = amphi::Event::new();
    /// assert!(!event.is_set());
    /// ```
    pub fn new() -> Event {
        Event {
            raw: RawEvent::from_word(AtomicU32::new(0)),
        }
    }

    /// Whether the flag is set (a snapshot). Never blocks: this is also the `try_` form.
    ///
    /// # Examples
    ///
    /// ```
    /// let event = amphi::Event::new();
    /// assert!(!event.is_set());
    /// event.set();
    /// assert!(event.is_set());
    /// ```
    pub fn is_set(&self) -> bool {
        self.raw.is_set()
    }

    /// Sets the flag and wakes every waiter.
    ///
    /// # Examples
    ///
    /// ```
    /// let event = amphi::Event::new();
    /// event.set();
    /// assert!(event.is_set());
    /// event.wait()?; // returns at once
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn set(&self) {
        self.raw.set();
    }

    /// Clears the flag; later waits sleep until the next `set`.
    ///
    /// # Examples
    ///
    /// ```
    /// let event = amphi::Event::new();
    /// event.set();
    /// event.clear();
    /// assert!(!event.is_set());
    /// ```
    pub fn clear(&self) {
        self.raw.clear();
    }

    /// Sleeps until the flag is set.
    ///
    /// Returns [`Error::WouldBlock`] on a thread that may not block (the browser's main thread).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let done = Arc::new(amphi::Event::new());
    /// let worker = {
    ///     let done = done.clone();
    ///     amphi::Thread::spawn(move || done.set())?
    /// };
    /// done.wait()?; // returns once the worker has set the flag
    /// assert!(done.is_set());
    /// worker.join()?;
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn wait(&self) -> Result<(), Error> {
        self.raw.wait_until(Deadline::NEVER)
    }

    /// Sleeps until the flag is set, or returns [`Error::Timeout`] once `timeout` has passed
    /// with the flag still unset.
    ///
    /// # Examples
    ///
    /// ```
    /// let event = amphi::Event::new();
    /// let outcome = event.wait_timeout(std::time::Duration::from_millis(5));
    /// assert_eq!(outcome, Err(amphi::Error::Timeout));
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> Result<(), Error> {
        self.raw.wait_until(Deadline::after(timeout))
    }

    /// Waits for the flag without blocking the thread. Works on the browser's main thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let event = amphi::Event::new();
    /// event.set();
    /// futures_executor::block_on(event.wait_async());
    /// ```
    pub async fn wait_async(&self) {
        self.raw.wait_async().await;
    }
}

/// The event's state machine over any [`Word`]: the thread `Event` and the process-shared one
/// are this, over different words.
pub(crate) struct RawEvent<W> {
    /// Bit 0: the flag; bits 1..: the generation (see the module docs).
    word: W,
}

impl<W: Word> RawEvent<W> {
    /// An event living in `word`, which must hold 0 (unset) for a new event.
    pub(crate) fn from_word(word: W) -> RawEvent<W> {
        RawEvent { word }
    }

    pub(crate) fn is_set(&self) -> bool {
        self.word.load(Ordering::Acquire) & SET_BIT != 0
    }

    pub(crate) fn set(&self) {
        let mut word = self.word.load(Ordering::Relaxed);
        while word & SET_BIT == 0 {
            let next = (word & !SET_BIT).wrapping_add(GENERATION) | SET_BIT;
            match self
                .word
                .compare_exchange(word, next, Ordering::Release, Ordering::Relaxed)
            {
                Ok(_) => return self.word.wake_all(),
                Err(seen) => word = seen,
            }
        }
    }

    pub(crate) fn clear(&self) {
        self.word.fetch_and(!SET_BIT, Ordering::Relaxed);
    }

    pub(crate) async fn wait_async(&self) {
        let seen = self.word.load(Ordering::Acquire);
        while !self.was_set_since(seen) {
            self.word.wait_async(seen).await;
        }
    }

    /// Whether the flag is set, or a `set` happened, since the waiter saw `seen`.
    fn was_set_since(&self, seen: u32) -> bool {
        let now = self.word.load(Ordering::Acquire);
        seen & SET_BIT != 0 || now & SET_BIT != 0 || now >> 1 != seen >> 1
    }

    /// Waits for a `set` until `deadline`; refuses on threads that may not block.
    pub(crate) fn wait_until(&self, deadline: Deadline) -> Result<(), Error> {
        if !sys::can_block() {
            return Err(Error::WouldBlock);
        }
        let seen = self.word.load(Ordering::Acquire);
        while !self.was_set_since(seen) {
            match deadline.remaining() {
                Ok(left) => self.word.wait(seen, left),
                Err(timeout) if !self.was_set_since(seen) => return Err(timeout),
                Err(_) => return Ok(()),
            };
        }
        Ok(())
    }
}

impl Default for Event {
    fn default() -> Event {
        Event::new()
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("set", &self.is_set())
            .finish()
    }
}
