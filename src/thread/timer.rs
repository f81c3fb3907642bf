//! [`Timer`]: Python's `threading.Timer`, a closure run after an interval on a thread of its
//! own, unless cancelled first.
//!
//! The timer's thread waits on an [`Event`] for the interval: [`Timer::cancel`] sets it, which
//! wakes the thread early, and the thread runs the closure only if the event is still clear
//! once the interval has passed. As in Python, a cancel that comes after the closure has
//! started changes nothing.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use super::{Builder, Event, Thread};
use crate::Error;

type Action = Box<dyn FnOnce() + Send>;

/// Runs a closure once, `interval` after [`start`](Timer::start), on its own amphi thread,
/// unless [`cancel`](Timer::cancel)led before. Python's `threading.Timer`.
///
/// [`join`](Timer::join) (and its timed and async forms) waits for the timer's thread and says
/// whether the closure ran; a panic in the closure comes back as [`Error::Panicked`].
///
/// # Examples
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::sync::Arc;
/// use std::time::Duration;
///
/// let rang = Arc::new(AtomicBool::new(false));
/// let bell = {
///     let rang = rang.clone();
///     amphi::thread::Timer::new(Duration::from_millis(10), move || rang.store(true, Ordering::SeqCst))
/// };
/// bell.start()?;
/// assert!(bell.join()?, "the closure ran");
/// assert!(rang.load(Ordering::SeqCst));
///
/// let never = amphi::thread::Timer::new(Duration::from_secs(60), || unreachable!());
/// never.start()?;
/// never.cancel();
/// assert!(!never.join()?, "cancelled before its interval passed");
/// # Ok::<(), amphi::Error>(())
/// ```
pub struct Timer {
    interval: Duration,
    builder: Mutex<Option<Builder>>,
    action: Mutex<Option<Action>>,
    cancelled: Arc<Event>,
    thread: OnceLock<Thread<bool>>,
}

impl Timer {
    /// A timer that will run `action` `interval` after it is started.
    pub fn new<F>(interval: Duration, action: F) -> Timer
    where
        F: FnOnce() + Send + 'static,
    {
        Timer::with_builder(interval, Builder::new(), action)
    }

    /// A timer whose thread is configured by `builder` (its name, its daemon flag).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let builder = amphi::thread::Builder::new().name("alarm");
    /// let timer = amphi::thread::Timer::with_builder(Duration::ZERO, builder, || ());
    /// timer.start()?;
    /// assert_eq!(timer.name().as_deref(), Some("alarm"));
    /// timer.join()?;
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn with_builder<F>(interval: Duration, builder: Builder, action: F) -> Timer
    where
        F: FnOnce() + Send + 'static,
    {
        Timer {
            interval,
            builder: Mutex::new(Some(builder)),
            action: Mutex::new(Some(Box::new(action))),
            cancelled: Arc::new(Event::new()),
            thread: OnceLock::new(),
        }
    }

    /// The interval between [`start`](Timer::start) and the closure's run.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Starts the timer's thread. A second start is [`Error::InvalidArgument`] (Python's
    /// "threads can only be started once").
    ///
    /// # Examples
    ///
    /// ```
    /// let timer = amphi::thread::Timer::new(std::time::Duration::ZERO, || ());
    /// timer.start()?;
    /// assert!(matches!(timer.start(), Err(amphi::Error::InvalidArgument(_))));
    /// timer.join()?;
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn start(&self) -> Result<(), Error> {
        let (Some(builder), Some(action)) = (
            crate::sync::spin::lock(&self.builder).take(),
            crate::sync::spin::lock(&self.action).take(),
        ) else {
            return Err(Error::InvalidArgument(format!(
                "timer '{}' was already started",
                self.display_name()
            )));
        };
        let cancelled = Arc::clone(&self.cancelled);
        let interval = self.interval;
        let thread = builder.spawn(move || {
            // `Ok` when cancelled (the event was set), `Timeout` once the interval passed.
            let _ = cancelled.wait_timeout(interval);
            if cancelled.is_set() {
                return false;
            }
            // From here a cancel is too late, as in Python.
            cancelled.set();
            action();
            true
        })?;
        // Only the one start that took the builder gets here.
        let _ = self.thread.set(thread);
        Ok(())
    }

    /// Stops the timer if its closure has not started yet: then it never runs. Cancelling a
    /// timer not yet started keeps it from ever running; cancelling one that already ran its
    /// closure does nothing. Never blocks: works on the browser's main thread.
    pub fn cancel(&self) {
        self.cancelled.set();
    }

    /// Whether the timer's thread is running (a snapshot): `false` before
    /// [`start`](Timer::start) and once it has ended.
    pub fn is_alive(&self) -> bool {
        self.thread.get().is_some_and(Thread::is_alive)
    }

    /// The name of the timer's thread, once started.
    pub fn name(&self) -> Option<String> {
        self.thread.get().map(|thread| thread.name().to_owned())
    }

    /// Waits for the timer's thread to end: `true` if the closure ran, `false` if the timer was
    /// cancelled first. [`Error::InvalidArgument`] before [`start`](Timer::start); as
    /// [`Thread::join`] otherwise ([`Error::WouldBlock`] on the browser's main thread,
    /// [`Error::Panicked`] if the closure panicked, [`Error::AlreadyJoined`] the second time).
    pub fn join(&self) -> Result<bool, Error> {
        let thread = self.started()?;
        loop {
            match thread.join_timeout(Duration::from_secs(3600)) {
                Err(Error::Timeout) => continue,
                outcome => return outcome,
            }
        }
    }

    /// [`join`](Timer::join), waiting at most `timeout` ([`Error::Timeout`] then, the timer
    /// still usable).
    pub fn join_timeout(&self, timeout: Duration) -> Result<bool, Error> {
        self.started()?.join_timeout(timeout)
    }

    /// [`join`](Timer::join) without blocking: works on the browser's main thread.
    pub async fn join_async(&self) -> Result<bool, Error> {
        self.started()?.join_async().await
    }

    fn started(&self) -> Result<&Thread<bool>, Error> {
        self.thread.get().ok_or_else(|| {
            Error::InvalidArgument("cannot join a timer before it is started".to_owned())
        })
    }

    fn display_name(&self) -> String {
        self.name().unwrap_or_else(|| "timer".to_owned())
    }
}

impl std::fmt::Debug for Timer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Timer")
            .field("interval", &self.interval)
            .field("name", &self.name())
            .field("alive", &self.is_alive())
            .field("cancelled", &self.cancelled.is_set())
            .finish()
    }
}
