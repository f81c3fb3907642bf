//! [`Future`]: the handle [`Executor::submit`](crate::thread::Executor::submit) returns, as
//! Python's `concurrent.futures.Future`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::thread::pool::completion::{Completion, CANCELLED, RUNNING};
use crate::time::Deadline;
use crate::Error;

/// A task submitted to an [`Executor`](crate::thread::Executor): Python's `Future`.
///
/// Clones share the task. The value moves out once: the first successful `result` takes it,
/// later ones return [`Error::ResultTaken`]; a task that panicked gives [`Error::Panicked`]
/// (message and location) to every `result`, a cancelled one [`Error::Cancelled`].
/// [`error`](Future::error) tells the error without taking anything (Python's `exception()`).
///
/// Not to be confused with `std::future::Future`: the async form of waiting for this one is
/// [`result_async`](Future::result_async).
///
/// # Examples
///
/// ```
/// let executor = amphi::thread::Executor::new(2)?;
/// let future = executor.submit(|| 6 * 7)?;
/// assert_eq!(future.result()?, 42);
/// assert!(future.done());
/// # Ok::<(), amphi::Error>(())
/// ```
pub struct Future<T> {
    pub(crate) cell: Arc<Completion<T>>,
}

impl<T> Clone for Future<T> {
    fn clone(&self) -> Future<T> {
        Future {
            cell: Arc::clone(&self.cell),
        }
    }
}

impl<T> Future<T> {
    /// Waits for the task and takes its value. [`Error::WouldBlock`] on the browser's main
    /// thread: use [`result_async`](Future::result_async) there.
    ///
    /// # Examples
    ///
    /// ```
    /// let executor = amphi::thread::Executor::new(1)?;
    /// let future = executor.submit(|| -> u8 { panic!("nope") })?;
    /// let amphi::Error::Panicked(report) = future.result().unwrap_err() else { panic!() };
    /// assert_eq!(report.message, "nope");
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn result(&self) -> Result<T, Error> {
        self.cell.get_until(Deadline::NEVER)
    }

    /// [`result`](Future::result), or [`Error::Timeout`] once `timeout` has passed (Python's
    /// `result(timeout)`); the task goes on.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let executor = amphi::thread::Executor::new(1)?;
    /// let gate = std::sync::Arc::new(amphi::Event::new());
    /// let future = {
    ///     let gate = gate.clone();
    ///     executor.submit(move || gate.wait_timeout(Duration::from_secs(10)))?
    /// };
    /// assert_eq!(future.result_timeout(Duration::from_millis(10)).err(), Some(amphi::Error::Timeout));
    /// gate.set();
    /// future.result_timeout(Duration::from_secs(10))??;
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn result_timeout(&self, timeout: Duration) -> Result<T, Error> {
        self.cell.get_until(Deadline::after(timeout))
    }

    /// Takes the value if the task is done, without waiting: [`Error::NotReady`] if not.
    ///
    /// # Examples
    ///
    /// ```
    /// let executor = amphi::thread::Executor::new(1)?;
    /// let future = executor.submit(|| 1)?;
    /// amphi::thread::wait(&[future.clone()], amphi::thread::ReturnWhen::AllCompleted)?;
    /// assert_eq!(future.try_result()?, 1);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn try_result(&self) -> Result<T, Error> {
        self.cell.get_until(Deadline::NOW)
    }

    /// Waits for the task without blocking the thread and takes its value: works on the
    /// browser's main thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let executor = amphi::thread::Executor::new(1)?;
    /// let future = executor.submit(|| "async")?;
    /// assert_eq!(futures_executor::block_on(future.result_async())?, "async");
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub async fn result_async(&self) -> Result<T, Error> {
        self.cell.get_async().await
    }

    /// Cancels the task if it has not started (Python's `cancel`): `true` if it is cancelled
    /// (now or before), `false` if it runs or ran.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let executor = amphi::thread::Executor::new(1)?;
    /// let gate = std::sync::Arc::new(amphi::Event::new());
    /// let busy = {
    ///     let gate = gate.clone();
    ///     executor.submit(move || gate.wait_timeout(Duration::from_secs(10)))?
    /// };
    /// let queued = executor.submit(|| "never")?;
    /// assert!(queued.cancel());
    /// assert!(queued.cancelled());
    /// assert_eq!(queued.result(), Err(amphi::Error::Cancelled));
    /// gate.set();
    /// busy.result()??;
    /// assert!(!busy.cancel(), "a finished task cannot be cancelled");
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn cancel(&self) -> bool {
        self.cell.cancel(Error::Cancelled) || self.cancelled()
    }

    /// Whether the task was cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// let executor = amphi::thread::Executor::new(1)?;
    /// let future = executor.submit(|| ())?;
    /// future.result()?;
    /// assert!(!future.cancelled());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn cancelled(&self) -> bool {
        self.cell.state() == CANCELLED
    }

    /// Whether the task is running now (a snapshot).
    ///
    /// # Examples
    ///
    /// ```
    /// let executor = amphi::thread::Executor::new(1)?;
    /// let future = executor.submit(|| ())?;
    /// future.result()?;
    /// assert!(!future.running());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn running(&self) -> bool {
        self.cell.state() == RUNNING
    }

    /// Whether the task has ended or was cancelled (a snapshot).
    ///
    /// # Examples
    ///
    /// ```
    /// let executor = amphi::thread::Executor::new(1)?;
    /// let future = executor.submit(|| ())?;
    /// future.result()?;
    /// assert!(future.done());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn done(&self) -> bool {
        self.cell.is_final()
    }

    /// The task's error, once it ended with one (a panic, a cancellation), without taking
    /// anything: Python's `exception()` without the wait. `None` while it runs or if it
    /// returned.
    ///
    /// # Examples
    ///
    /// ```
    /// let executor = amphi::thread::Executor::new(1)?;
    /// let future = executor.submit(|| -> u8 { panic!("bad input") })?;
    /// let _ = future.result();
    /// assert!(matches!(future.error(), Some(amphi::Error::Panicked(r)) if r.message == "bad input"));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn error(&self) -> Option<Error> {
        self.cell.error()
    }
}

impl<T: Send + 'static> Future<T> {
    /// Calls `callback` with the future once it is done or cancelled (Python's
    /// `add_done_callback`): on the thread that finishes it, or right away on this one if it
    /// already is. A callback that panics is reported by the panic hook and changes nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::mpsc;
    /// let executor = amphi::thread::Executor::new(1)?;
    /// let (tx, rx) = mpsc::channel();
    /// let future = executor.submit(|| 5)?;
    /// future.add_done_callback(move |done| tx.send(done.try_result().unwrap()).unwrap());
    /// assert_eq!(rx.recv().unwrap(), 5);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn add_done_callback(&self, callback: impl FnOnce(&Future<T>) + Send + 'static) {
        let future = self.clone();
        self.cell
            .on_done(Box::new(move |_outcome| callback(&future)));
    }
}

impl<T> fmt::Debug for Future<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.cell.state() {
            RUNNING => "running",
            CANCELLED => "cancelled",
            _ if self.cell.is_final() => "finished",
            _ => "pending",
        };
        f.debug_struct("Future").field("state", &state).finish()
    }
}
