//! The executors' `shutdown`, one for the thread executor and the process executor: take no
//! more tasks, optionally cancel the ones not started (`cancel_futures`), and optionally wait
//! for the workers to end. Each executor brings its [`Workers`].

use crate::sys;
use crate::thread::pool::engine::Engine;
use crate::time::Deadline;
use crate::Error;

/// What a shutdown asks of an executor's workers.
pub(crate) trait Workers {
    /// Takes no more tasks; the queued ones still run.
    fn close(&self);
    /// Cancels the tasks not yet started, as [`Error::Cancelled`].
    fn cancel_queued(&self);
    /// Waits until every worker has ended.
    fn join_until(&self, deadline: Deadline) -> Result<(), Error>;
}

/// Shuts `workers` down, then waits for them until `deadline` (`None`: does not wait).
/// [`Error::WouldBlock`] where the thread may not block and a wait is asked for (nothing is
/// shut down then).
pub(crate) fn shutdown_until(
    workers: &impl Workers,
    deadline: Option<Deadline>,
    cancel_futures: bool,
) -> Result<(), Error> {
    if deadline.is_some() && !sys::can_block() {
        return Err(Error::WouldBlock);
    }
    stop(workers, cancel_futures);
    match deadline {
        Some(deadline) => workers.join_until(deadline),
        None => Ok(()),
    }
}

/// Closes `workers`, and cancels their queued tasks if `cancel_futures`.
pub(crate) fn stop(workers: &impl Workers, cancel_futures: bool) {
    workers.close();
    if cancel_futures {
        workers.cancel_queued();
    }
}

impl Workers for Engine {
    fn close(&self) {
        Engine::close(self);
    }

    fn cancel_queued(&self) {
        self.cancel_pending(Error::Cancelled);
    }

    fn join_until(&self, deadline: Deadline) -> Result<(), Error> {
        Engine::join_until(self, deadline)
    }
}
