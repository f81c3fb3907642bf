//! `Completion`: the one-shot cell a submitted task delivers its outcome into, and
//! [`AsyncResult`], the pool's handle on it (Python's `AsyncResult`).
//!
//! The state word goes `PENDING -> RUNNING -> DONE`, or `PENDING -> CANCELLED` (a task that
//! never starts: a cancelled future, a terminated pool, a broken one). `DONE` and `CANCELLED`
//! are final; waiters sleep on the word while it is below `DONE`, and the one transition into
//! a final state wakes them all. The outcome is stored, and the done-callbacks taken, under
//! the cell's small lock in the same critical section that publishes the final state, so a
//! callback added concurrently is either run by the finisher or, seeing the final state, by
//! the caller that adds it: never lost, never run twice.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::sync::atomic::{AtomicU32, Ordering};
use crate::sync::{spin, Word};
use crate::sys;
use crate::time::Deadline;
use crate::Error;

pub(crate) const PENDING: u32 = 0;
pub(crate) const RUNNING: u32 = 1;
pub(crate) const DONE: u32 = 2;
pub(crate) const CANCELLED: u32 = 3;

/// How a task ended, as its done-callbacks are told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// It returned a value.
    Succeeded,
    /// It panicked (or its pool was broken while it ran).
    Failed,
    /// It never ran.
    Cancelled,
}

type DoneCallback = Box<dyn FnOnce(Outcome) + Send>;

/// The one-shot cell (see the module docs).
pub(crate) struct Completion<T> {
    state: AtomicU32,
    inner: Mutex<Inner<T>>,
}

struct Inner<T> {
    /// The outcome until it is taken; `Err` stays (errors are `Clone`) for `error()`.
    outcome: Option<Result<T, Error>>,
    taken: bool,
    succeeded: bool,
    callbacks: Vec<DoneCallback>,
}

impl<T> Completion<T> {
    pub(crate) fn new() -> Arc<Completion<T>> {
        Arc::new(Completion {
            state: AtomicU32::new(PENDING),
            inner: Mutex::new(Inner {
                outcome: None,
                taken: false,
                succeeded: false,
                callbacks: Vec::new(),
            }),
        })
    }

    /// Claims the task for running: `false` if it was cancelled (or already claimed).
    pub(crate) fn start(&self) -> bool {
        self.state
            .compare_exchange(PENDING, RUNNING, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Whether the task may still deliver: not cancelled, not done.
    pub(crate) fn is_open(&self) -> bool {
        self.state.load(Ordering::Acquire) < DONE
    }

    pub(crate) fn state(&self) -> u32 {
        self.state.load(Ordering::Acquire)
    }

    pub(crate) fn is_final(&self) -> bool {
        self.state() >= DONE
    }

    /// Delivers the outcome of a task that ran; `false` (and `outcome` dropped) if the cell
    /// was already final.
    pub(crate) fn finish(&self, outcome: Result<T, Error>) -> bool {
        let result = if outcome.is_ok() {
            Outcome::Succeeded
        } else {
            Outcome::Failed
        };
        self.settle(DONE, outcome, result, |state| state < DONE)
    }

    /// Settles a task that has not started with `reason` (normally [`Error::Cancelled`]):
    /// `false` if it had started or was final already.
    pub(crate) fn cancel(&self, reason: Error) -> bool {
        self.settle(CANCELLED, Err(reason), Outcome::Cancelled, |state| {
            state == PENDING
        })
    }

    fn settle(
        &self,
        final_state: u32,
        outcome: Result<T, Error>,
        result: Outcome,
        allowed: impl Fn(u32) -> bool,
    ) -> bool {
        let callbacks = {
            let mut inner = spin::lock(&self.inner);
            let state = self.state.load(Ordering::Acquire);
            if !allowed(state) {
                drop(inner);
                drop(outcome);
                return false;
            }
            inner.succeeded = outcome.is_ok();
            inner.outcome = Some(outcome);
            self.state.store(final_state, Ordering::Release);
            std::mem::take(&mut inner.callbacks)
        };
        self.state.wake_all();
        for callback in callbacks {
            run_callback(move || callback(result));
        }
        true
    }

    /// Runs `callback` once the cell is final: later on the finishing thread, or now on this
    /// one if it already is.
    pub(crate) fn on_done(&self, callback: DoneCallback) {
        let mut inner = spin::lock(&self.inner);
        if self.state.load(Ordering::Acquire) < DONE {
            inner.callbacks.push(callback);
            return;
        }
        let result = self.outcome_locked(&inner);
        drop(inner);
        run_callback(move || callback(result));
    }

    fn outcome_locked(&self, inner: &Inner<T>) -> Outcome {
        match self.state.load(Ordering::Acquire) {
            CANCELLED => Outcome::Cancelled,
            _ if inner.succeeded => Outcome::Succeeded,
            _ => Outcome::Failed,
        }
    }

    /// How the task ended; `None` while it has not.
    pub(crate) fn outcome(&self) -> Option<Outcome> {
        let inner = spin::lock(&self.inner);
        (self.state.load(Ordering::Acquire) >= DONE).then(|| self.outcome_locked(&inner))
    }

    /// The task's error (a panic, a cancellation), once final; `None` if it succeeded or has
    /// not ended.
    pub(crate) fn error(&self) -> Option<Error> {
        match spin::lock(&self.inner).outcome.as_ref() {
            Some(Err(error)) if self.is_final() => Some(error.clone()),
            _ => None,
        }
    }

    /// Waits until the cell is final, or `deadline`: [`Error::NotReady`] for
    /// [`Deadline::NOW`], [`Error::Timeout`], [`Error::WouldBlock`] where the thread may not
    /// block.
    pub(crate) fn wait_until(&self, deadline: Deadline) -> Result<(), Error> {
        // As every blocking form in amphi: refused where the thread may not block, even when
        // there would be nothing to wait for, so code that works there works everywhere.
        if !deadline.is_now() && !sys::can_block() {
            return Err(Error::WouldBlock);
        }
        loop {
            let state = self.state.load(Ordering::Acquire);
            if state >= DONE {
                return Ok(());
            }
            if deadline.is_now() {
                return Err(Error::NotReady);
            }
            self.state.wait(state, deadline)?;
        }
    }

    /// Waits until the cell is final without blocking the thread.
    pub(crate) async fn wait_async(&self) {
        loop {
            let state = self.state.load(Ordering::Acquire);
            if state >= DONE {
                return;
            }
            self.state.wait_async(state).await;
        }
    }

    /// Takes the outcome of a final cell: the value once, the error every time.
    pub(crate) fn take(&self) -> Result<T, Error> {
        let mut inner = spin::lock(&self.inner);
        match inner.outcome.take() {
            Some(Ok(value)) => {
                inner.taken = true;
                Ok(value)
            }
            Some(Err(error)) => {
                inner.outcome = Some(Err(error.clone()));
                Err(error)
            }
            None if inner.taken => Err(Error::ResultTaken),
            None => Err(Error::NotReady),
        }
    }

    pub(crate) fn get_until(&self, deadline: Deadline) -> Result<T, Error> {
        self.wait_until(deadline)?;
        self.take()
    }

    pub(crate) async fn get_async(&self) -> Result<T, Error> {
        self.wait_async().await;
        self.take()
    }
}

/// Runs a user's callback; a panic in it is reported by the panic hook and goes no further.
///
/// Never inlined: each caller then holds a plain call, not a catch. Inlined into
/// `Callbacks::run` for some result types, the catch made a shape that crashes LLVM's
/// WebAssembly back end (CFG stackification) in optimised wasm32 builds.
#[inline(never)]
pub(crate) fn run_callback(callback: impl FnOnce()) {
    let _ = super::catch::run_caught(callback);
}

/// A task that terminate or shutdown may still cancel, whatever its result type.
pub(crate) trait Cancel: Send + Sync {
    /// Cancels the task if it has not started; `true` if it did.
    fn cancel_with(&self, reason: Error) -> bool;
    /// Whether the task is over (done or cancelled): it can leave the pending list.
    fn is_over(&self) -> bool;
}

impl<T: Send> Cancel for Completion<T> {
    fn cancel_with(&self, reason: Error) -> bool {
        self.cancel(reason)
    }
    fn is_over(&self) -> bool {
        self.is_final()
    }
}

/// The result of [`Pool::apply_async`](crate::ThreadPool::apply_async) or
/// [`Pool::map_async`](crate::ThreadPool::map_async): Python's `AsyncResult`.
///
/// The value moves out once: the first successful `get` takes it, later ones return
/// [`Error::ResultTaken`]. A task that panicked gives [`Error::Panicked`] (with the panic's
/// message and location) to every `get`; one that never ran, because its pool was terminated,
/// gives [`Error::Cancelled`].
///
/// # Examples
///
/// ```
/// let pool = amphi::ThreadPool::new(2)?;
/// let result = pool.apply_async(|| 6 * 7)?;
/// assert_eq!(result.get()?, 42);
/// assert!(result.ready());
/// assert_eq!(result.successful(), Some(true));
/// # Ok::<(), amphi::Error>(())
/// ```
pub struct AsyncResult<T> {
    cell: Arc<Completion<T>>,
}

impl<T> AsyncResult<T> {
    pub(crate) fn new(cell: Arc<Completion<T>>) -> AsyncResult<T> {
        AsyncResult { cell }
    }

    /// Waits for the result and takes it. [`Error::WouldBlock`] on the browser's main
    /// thread: use [`get_async`](AsyncResult::get_async) there.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = amphi::ThreadPool::new(1)?;
    /// let failing = pool.apply_async(|| -> u32 { panic!("no luck") })?;
    /// let amphi::Error::Panicked(report) = failing.get().unwrap_err() else { panic!() };
    /// assert_eq!(report.message, "no luck");
    /// assert_eq!(pool.apply(|| 1)?, 1, "the pool is still usable");
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn get(&self) -> Result<T, Error> {
        self.cell.get_until(Deadline::NEVER)
    }

    /// [`get`](AsyncResult::get), or [`Error::Timeout`] once `timeout` has passed (the result
    /// stays to be taken later).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = amphi::ThreadPool::new(1)?;
    /// let gate = std::sync::Arc::new(amphi::Event::new());
    /// let waiting = {
    ///     let gate = gate.clone();
    ///     pool.apply_async(move || gate.wait_timeout(Duration::from_secs(10)))?
    /// };
    /// assert_eq!(waiting.get_timeout(Duration::from_millis(10)).err(), Some(amphi::Error::Timeout));
    /// gate.set();
    /// waiting.get_timeout(Duration::from_secs(10))??;
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn get_timeout(&self, timeout: Duration) -> Result<T, Error> {
        self.cell.get_until(Deadline::after(timeout))
    }

    /// Takes the result if it is ready, without waiting: [`Error::NotReady`] otherwise. Works
    /// everywhere.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = amphi::ThreadPool::new(1)?;
    /// let result = pool.apply_async(|| "hi")?;
    /// result.wait()?;
    /// assert_eq!(result.try_get()?, "hi");
    /// assert_eq!(result.try_get(), Err(amphi::Error::ResultTaken));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn try_get(&self) -> Result<T, Error> {
        self.cell.get_until(Deadline::NOW)
    }

    /// Waits for the result without blocking the thread, and takes it: works on the browser's
    /// main thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = amphi::ThreadPool::new(2)?;
    /// let squares = pool.map_async(0..4u32, |n| n * n)?;
    /// assert_eq!(futures_executor::block_on(squares.get_async())?, [0, 1, 4, 9]);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub async fn get_async(&self) -> Result<T, Error> {
        self.cell.get_async().await
    }

    /// Waits until the result is ready, without taking it. [`Error::WouldBlock`] on the
    /// browser's main thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = amphi::ThreadPool::new(1)?;
    /// let result = pool.apply_async(|| 1)?;
    /// result.wait()?;
    /// assert!(result.ready());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn wait(&self) -> Result<(), Error> {
        self.cell.wait_until(Deadline::NEVER)
    }

    /// [`wait`](AsyncResult::wait), or [`Error::Timeout`] once `timeout` has passed.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = amphi::ThreadPool::new(1)?;
    /// let result = pool.apply_async(|| 1)?;
    /// result.wait_timeout(std::time::Duration::from_secs(10))?;
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> Result<(), Error> {
        self.cell.wait_until(Deadline::after(timeout))
    }

    /// Waits until the result is ready without blocking the thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = amphi::ThreadPool::new(1)?;
    /// let result = pool.apply_async(|| 1)?;
    /// futures_executor::block_on(result.wait_async());
    /// assert!(result.ready());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub async fn wait_async(&self) {
        self.cell.wait_async().await;
    }

    /// Whether the task has ended (or was cancelled): a snapshot.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = amphi::ThreadPool::new(1)?;
    /// let result = pool.apply_async(|| 1)?;
    /// result.wait()?;
    /// assert!(result.ready());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn ready(&self) -> bool {
        self.cell.is_final()
    }

    /// Whether the task returned without panicking; `None` while it is not ready (Python
    /// raises `ValueError` there).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = amphi::ThreadPool::new(1)?;
    /// let result = pool.apply_async(|| -> () { panic!("boom") })?;
    /// result.wait()?;
    /// assert_eq!(result.successful(), Some(false));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn successful(&self) -> Option<bool> {
        self.cell
            .outcome()
            .map(|outcome| outcome == Outcome::Succeeded)
    }

    /// The task's error once it has ended with one (a panic, a cancellation), without taking
    /// anything; `None` while it runs or if it succeeded.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = amphi::ThreadPool::new(1)?;
    /// let result = pool.apply_async(|| -> () { panic!("boom") })?;
    /// result.wait()?;
    /// assert!(matches!(result.error(), Some(amphi::Error::Panicked(_))));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn error(&self) -> Option<Error> {
        self.cell.error()
    }
}

impl<T> fmt::Debug for AsyncResult<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncResult")
            .field("ready", &self.ready())
            .finish()
    }
}
