//! What the parent's side of a pool shares: the queue of tasks not yet handed to a worker, the
//! pool's phase, the worker processes of the moment, and the words its threads sleep on.
//!
//! The phase goes `Running -> Closed` (`close`: queued tasks still run), or to `Terminated`
//! (`terminate`, drop) or `Broken` (an initializer failed, or a worker could not start) from
//! either; those two are final, and cancel every queued task. Each change wakes every
//! supervisor. A supervisor takes the next task from the queue, so the parent always knows
//! which task each worker runs.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use super::call::Reply;
use crate::process::Process;
use crate::sync::atomic::{AtomicU32, Ordering};
use crate::sync::{spin, Word};
use crate::time::Deadline;
use crate::Error;

/// Claims a task for running: `false` if it was cancelled meanwhile (it is then skipped).
pub(super) type Start = Box<dyn FnMut() -> bool + Send>;
/// Delivers a task's outcome: the worker's reply (decoded with the worker's name), or why it
/// has none (the worker died, the task was cancelled).
pub(super) type Finish = Box<dyn FnOnce(Result<Reply, Error>, &str) + Send>;

/// A task waiting for a worker.
pub(super) struct Job {
    /// The message that asks a worker to run it, serialised
    /// ([`Code::message`](super::call::Code::message)).
    pub(super) message: Vec<u8>,
    pub(super) start: Start,
    pub(super) finish: Finish,
}

impl Job {
    /// Ends a task that will not run with `reason`.
    pub(super) fn cancel(self, reason: Error) {
        (self.finish)(Err(reason), "");
    }
}

/// The pool's phase (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Phase {
    Running,
    Closed,
    Terminated,
    /// The reason, as [`Error::BrokenPool`] carries it.
    Broken(String),
}

pub(super) struct State {
    pub(super) phase: Phase,
    pub(super) queue: VecDeque<Job>,
    /// Streaming iterators still feeding tasks: the workers stay after `close` until they end.
    pub(super) feeds: usize,
    /// The worker each supervisor runs now, by slot (for `terminate`).
    pub(super) workers: Vec<Option<Arc<Process<()>>>>,
}

/// The parent's side of a pool, shared by its handle, its supervisors and its iterators.
pub(super) struct Shared {
    state: Mutex<State>,
    /// Bumped at every new task and phase change: idle supervisors sleep on it.
    signal: AtomicU32,
    /// Supervisors still running: `join` sleeps on it.
    pub(super) running: AtomicU32,
}

impl Shared {
    pub(super) fn new(size: usize) -> Shared {
        Shared {
            state: Mutex::new(State {
                phase: Phase::Running,
                queue: VecDeque::new(),
                feeds: 0,
                workers: vec![None; size],
            }),
            signal: AtomicU32::new(0),
            running: AtomicU32::new(0),
        }
    }

    /// The state, locked by spinning: its critical sections are short, and the page's main
    /// thread, which may not sleep, submits and terminates too.
    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        spin::lock(&self.state)
    }

    pub(super) fn phase(&self) -> Phase {
        self.lock().phase.clone()
    }

    /// The error a submission gets in `phase`, if it may not submit.
    fn refusal(phase: &Phase, feeding: bool) -> Option<Error> {
        match phase {
            Phase::Running => None,
            Phase::Closed if feeding => None,
            Phase::Closed | Phase::Terminated => Some(Error::PoolClosed),
            Phase::Broken(reason) => Some(Error::BrokenPool(reason.clone())),
        }
    }

    /// Whether a task may be submitted now (`feeding`: by an iterator created earlier).
    pub(super) fn check_open(&self, feeding: bool) -> Result<(), Error> {
        match Shared::refusal(&self.lock().phase, feeding) {
            None => Ok(()),
            Some(error) => Err(error),
        }
    }

    /// Queues `jobs`; if the pool takes no more, hands them back with the reason.
    pub(super) fn submit(&self, jobs: Vec<Job>, feeding: bool) -> Result<(), (Vec<Job>, Error)> {
        {
            let mut state = self.lock();
            if let Some(error) = Shared::refusal(&state.phase, feeding) {
                return Err((jobs, error));
            }
            state.queue.extend(jobs);
        }
        self.signal.fetch_add(1, Ordering::Release);
        self.signal.wake_all();
        Ok(())
    }

    /// The next task for a supervisor, waiting for one; `None` once there will be none (the
    /// pool is closed and drained, terminated or broken).
    pub(super) fn next_job(&self) -> Option<Job> {
        loop {
            let seen = self.signal.load(Ordering::Acquire);
            {
                let mut state = self.lock();
                match state.phase {
                    Phase::Terminated | Phase::Broken(_) => return None,
                    Phase::Running | Phase::Closed => {}
                }
                if let Some(job) = state.queue.pop_front() {
                    return Some(job);
                }
                if state.phase == Phase::Closed && state.feeds == 0 {
                    return None;
                }
            }
            // Supervisors are amphi threads, which may block.
            let _ = self.signal.wait(seen, Deadline::NEVER);
        }
    }

    /// The next task if one is queued, without waiting; `None` also once the pool has ended.
    pub(super) fn try_next_job(&self) -> Option<Job> {
        let mut state = self.lock();
        match state.phase {
            Phase::Terminated | Phase::Broken(_) => None,
            Phase::Running | Phase::Closed => state.queue.pop_front(),
        }
    }

    /// Puts tasks that were claimed but never started back at the head of the queue, in
    /// order, for any worker; once the pool has ended, hands them back with the reason to
    /// cancel them with.
    pub(super) fn requeue(&self, jobs: Vec<Job>) -> Result<(), (Vec<Job>, Error)> {
        if jobs.is_empty() {
            return Ok(());
        }
        {
            let mut state = self.lock();
            match &state.phase {
                Phase::Terminated => return Err((jobs, Error::Cancelled)),
                Phase::Broken(reason) => {
                    let reason = Error::BrokenPool(reason.clone());
                    return Err((jobs, reason));
                }
                Phase::Running | Phase::Closed => {}
            }
            for mut job in jobs.into_iter().rev() {
                // Claimed already: whoever takes it next runs it.
                job.start = Box::new(|| true);
                state.queue.push_front(job);
            }
        }
        self.wake();
        Ok(())
    }

    /// Moves to `phase` (a final one: `Terminated` or `Broken`) unless already final, cancels
    /// every queued task, and returns the workers to stop.
    pub(super) fn end(&self, phase: Phase) -> Vec<Arc<Process<()>>> {
        let (jobs, workers) = {
            let mut state = self.lock();
            if matches!(state.phase, Phase::Terminated | Phase::Broken(_)) {
                return Vec::new();
            }
            state.phase = phase.clone();
            let jobs: Vec<Job> = state.queue.drain(..).collect();
            let workers: Vec<_> = state.workers.iter().flatten().cloned().collect();
            (jobs, workers)
        };
        self.wake();
        let reason = match phase {
            Phase::Broken(reason) => Error::BrokenPool(reason),
            _ => Error::Cancelled,
        };
        for job in jobs {
            job.cancel(reason.clone());
        }
        workers
    }

    /// `close`: no more tasks; those queued still run.
    pub(super) fn close(&self) {
        {
            let mut state = self.lock();
            if state.phase != Phase::Running {
                return;
            }
            state.phase = Phase::Closed;
        }
        self.wake();
    }

    /// Cancels every queued task with `reason`, leaving the phase as it is.
    pub(super) fn cancel_queued(&self, reason: &Error) {
        let jobs: Vec<Job> = self.lock().queue.drain(..).collect();
        for job in jobs {
            job.cancel(reason.clone());
        }
    }

    /// Wakes every idle supervisor, to look at the phase again.
    pub(super) fn wake(&self) {
        self.signal.fetch_add(1, Ordering::Release);
        self.signal.wake_all();
    }

    /// An iterator started feeding tasks.
    pub(super) fn feed_started(&self) {
        self.lock().feeds += 1;
    }

    /// An iterator stopped feeding tasks.
    pub(super) fn feed_ended(&self) {
        self.lock().feeds -= 1;
        self.wake();
    }

    /// Waits until every supervisor has ended, or `deadline`.
    pub(super) fn join_until(&self, deadline: Deadline) -> Result<(), Error> {
        if matches!(self.phase(), Phase::Running) {
            return Err(Error::PoolRunning);
        }
        if !deadline.is_now() && !crate::sys::can_block() {
            return Err(Error::WouldBlock);
        }
        loop {
            let running = self.running.load(Ordering::Acquire);
            if running == 0 {
                return Ok(());
            }
            if deadline.is_now() {
                return Err(Error::NotReady);
            }
            self.running.wait(running, deadline)?;
        }
    }

    /// Waits without blocking the thread until every supervisor has ended.
    pub(super) async fn join_async(&self) -> Result<(), Error> {
        if matches!(self.phase(), Phase::Running) {
            return Err(Error::PoolRunning);
        }
        loop {
            let running = self.running.load(Ordering::Acquire);
            if running == 0 {
                return Ok(());
            }
            self.running.wait_async(running).await;
        }
    }

    /// A supervisor ended.
    pub(super) fn supervisor_ended(&self) {
        self.running.fetch_sub(1, Ordering::AcqRel);
        self.running.wake_all();
    }
}
