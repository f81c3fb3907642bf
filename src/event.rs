//! [`Event`]: Python's `threading.Event`, a flag that threads wait for.
//!
//! # State machine
//!
//! One word, `UNSET` (0) or `SET` (1). Waiters sleep while it is `UNSET`; `set` swaps in `SET`
//! and wakes every sleeper if the flag was unset; `clear` stores `UNSET` (no one to wake).
//!
//! # Guarantees
//!
//! A waiter that starts before `set` returns, even if `clear` follows immediately, only if it
//! observed the flag set: as in Python, a `set` quickly undone by `clear` may be missed by a
//! waiter that had not yet re-checked the word. A timed wait that times out still succeeds if
//! the flag is set when it gives up (Python returns the flag).
//!
//! # Memory ordering
//!
//! `set` is `Release` and the waiters' reads are `Acquire`: what the setter wrote before `set`
//! is visible to every thread that sees the flag set.

use std::fmt;
use std::time::Duration;

use crate::atomic::{AtomicU32, Ordering};
use crate::time::Deadline;
use crate::{sys, Error};

const UNSET: u32 = 0;
const SET: u32 = 1;

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
    /// `UNSET` or `SET`.
    flag: AtomicU32,
}

impl Event {
    /// A new event, not set.
    pub fn new() -> Event {
        Event {
            flag: AtomicU32::new(UNSET),
        }
    }

    /// Whether the flag is set (a snapshot). Never blocks: this is also the `try_` form.
    pub fn is_set(&self) -> bool {
        self.flag.load(Ordering::Acquire) == SET
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
        if self.flag.swap(SET, Ordering::Release) == UNSET {
            sys::wake_all(&self.flag);
        }
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
        self.flag.store(UNSET, Ordering::Relaxed);
    }

    /// Sleeps until the flag is set.
    ///
    /// Returns [`Error::WouldBlock`] on a thread that may not block (the browser's main thread).
    pub fn wait(&self) -> Result<(), Error> {
        self.wait_until(Deadline::NEVER)
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
        self.wait_until(Deadline::after(timeout))
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
        while !self.is_set() {
            sys::wait_async(&self.flag, UNSET).await;
        }
    }

    fn wait_until(&self, deadline: Deadline) -> Result<(), Error> {
        if !sys::can_block() {
            return Err(Error::WouldBlock);
        }
        while !self.is_set() {
            match deadline.remaining() {
                Ok(left) => sys::wait(&self.flag, UNSET, left),
                Err(timeout) if !self.is_set() => return Err(timeout),
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
