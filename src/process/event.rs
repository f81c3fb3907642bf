//! [`Event`] shared by processes: the thread event's state machine (`RawEvent`) over one word
//! of the shared region (the flag and a generation count; see `crate::sync`'s `event`).

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::region::{Handle, Object, SharedWord};
use crate::sync::RawEvent;
use crate::time::Deadline;
use crate::Error;

const KIND_EVENT: u32 = 4;
const BODY: usize = 8;

/// A flag processes can wait for, as Python's `multiprocessing.Event`.
///
/// A handle to a word in the shared region: pass it to children as an argument.
/// [`wait_async`](Event::wait_async) waits without blocking the thread (the browser's main
/// thread included); [`wait_timeout`](Event::wait_timeout) never waits forever on a child that
/// died before setting it.
///
/// # Examples
///
/// ```
/// use amphi::process::{Event, Process};
///
/// fn signal(event: Event) {
///     event.set();
/// }
///
/// let event = Event::new()?;
/// let child = Process::new(signal, event.clone());
/// child.start()?;
/// event.wait_timeout(std::time::Duration::from_secs(60))?;
/// assert!(event.is_set());
/// child.join()?;
/// # Ok::<(), amphi::Error>(())
/// ```
pub struct Event {
    object: Object,
    raw: RawEvent<SharedWord>,
}

impl Event {
    /// A new, unset event in the shared region.
    ///
    /// # Examples
    ///
    /// ```
    /// let event = amphi::process::Event::new()?;
    /// assert!(!event.is_set());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn new() -> Result<Event, Error> {
        Object::create(KIND_EVENT, 0, BODY).map(Event::from_object)
    }

    fn from_object(object: Object) -> Event {
        Event {
            raw: RawEvent::from_word(object.word(0)),
            object,
        }
    }

    /// Whether the flag is set.
    ///
    /// # Examples
    ///
    /// ```
    /// let event = amphi::process::Event::new()?;
    /// event.set();
    /// assert!(event.is_set());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn is_set(&self) -> bool {
        self.raw.is_set()
    }

    /// Sets the flag and wakes every waiter, in every process.
    ///
    /// # Examples
    ///
    /// ```
    /// let event = amphi::process::Event::new()?;
    /// event.set();
    /// event.wait()?;
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn set(&self) {
        self.raw.set();
    }

    /// Clears the flag.
    ///
    /// # Examples
    ///
    /// ```
    /// let event = amphi::process::Event::new()?;
    /// event.set();
    /// event.clear();
    /// assert!(!event.is_set());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn clear(&self) {
        self.raw.clear();
    }

    /// Waits until the flag is set (returns at once if it is).
    ///
    /// # Examples
    ///
    /// ```
    /// let event = amphi::process::Event::new()?;
    /// event.set();
    /// assert_eq!(event.wait(), Ok(()));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn wait(&self) -> Result<(), Error> {
        self.raw.wait_until(Deadline::NEVER)
    }

    /// Waits until the flag is set, or returns [`Error::Timeout`] once `timeout` has passed.
    ///
    /// # Examples
    ///
    /// ```
    /// let event = amphi::process::Event::new()?;
    /// let outcome = event.wait_timeout(std::time::Duration::from_millis(5));
    /// assert_eq!(outcome, Err(amphi::Error::Timeout));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> Result<(), Error> {
        self.raw.wait_until(Deadline::after(timeout))
    }
}

impl Event {
    /// Waits until the flag is set, without blocking the thread: a `set` in any process wakes
    /// the future (`Atomics.waitAsync` in the browser, the process's watcher thread natively).
    /// Dropping the future before it completes leaves nothing behind.
    ///
    /// # Examples
    ///
    /// ```
    /// let event = amphi::process::Event::new()?;
    /// event.set();
    /// futures_executor::block_on(event.wait_async());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub async fn wait_async(&self) {
        self.raw.wait_async().await;
    }
}

impl Clone for Event {
    /// Another handle to the same event.
    fn clone(&self) -> Event {
        Event::from_object(self.object.clone())
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("set", &self.is_set())
            .finish_non_exhaustive()
    }
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.object.handle().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Event, D::Error> {
        let handle = Handle::deserialize(deserializer)?;
        Object::open(handle, KIND_EVENT, |aux| (aux == 0).then_some(BODY))
            .map(Event::from_object)
            .map_err(serde::de::Error::custom)
    }
}
