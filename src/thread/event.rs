//! [`Event`]: Python's `threading.Event`, over the engine [`RawEvent`](crate::sync::RawEvent) on
//! an ordinary atomic word.

use crate::sync::atomic::AtomicU32;
use crate::sync::RawEvent;
use crate::time::Deadline;
use crate::Error;
use std::fmt;
use std::time::Duration;

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
