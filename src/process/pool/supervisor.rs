//! The parent's side of one worker slot: a supervisor thread (an amphi thread) that starts the
//! slot's worker process, hands it one task at a time, delivers each reply, and replaces the
//! worker when it dies or has done its `maxtasksperchild`.
//!
//! # How a death is detected, and what happens then
//!
//! While its worker runs a task, the supervisor waits for the reply on the worker's pipe in
//! slices of [`SLICE`]; after each quiet slice it asks whether the process is still alive (its
//! exit word, set by the platform when the child is reaped: natively a signal, in the browser
//! the worker's end). A worker that died sending nothing more, or ended its pipe (`Eof`,
//! `PeerDied`), is dead: the supervisor reaps it and fails the one task it was running with
//! [`Error::WorkerDied`] (its name, pid and exit code, `-N` for signal `N`), then starts a
//! replacement and goes on with the queue (billiard's semantics; Python's `multiprocessing`
//! would wait forever for that task). So a death is reported within a slice or two of the
//! platform noticing it.
//!
//! An executor's supervisor breaks the pool instead (CPython's `BrokenProcessPool`): the dead
//! worker's task fails with `WorkerDied`, every other task, queued or running, with
//! [`Error::BrokenPool`] naming the dead worker, and the other workers are stopped.
//!
//! A worker that cannot start, or whose initializer fails, breaks the pool
//! ([`Error::BrokenPool`]): the queued tasks fail, and no replacement is started, so a pool
//! never spins up workers forever.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use super::call::Call;
use super::shared::{Job, Phase, Shared};
use super::worker::{self, FromWorker, ToWorker, WorkerStart};
use crate::process::{Builder, Connection, Pipe, Process};
use crate::time::Instant;
use crate::{Error, RecvError};

/// How long the supervisor waits for a reply before it looks at the worker's pulse.
pub(super) const SLICE: Duration = Duration::from_millis(50);

/// How many tasks a supervisor keeps sent to its worker while its tasks are quick: the next
/// one waits in the worker's pipe while the current one runs, so the worker never waits for
/// the parent between short tasks.
const PIPELINE: usize = 2;

/// A task whose worker answered within this (from when it could start) counts as quick.
const QUICK: Duration = Duration::from_millis(1);

/// The largest task message sent while another task is still unanswered: the messages in a
/// worker's pipe stay well within its ring, so a send never waits for the worker, which may
/// itself be waiting for the parent to take its reply.
const SMALL_MESSAGE: usize = 8 << 10;

/// How long a worker that was asked to stop, or was seen dead, may take to be reaped before it
/// is killed.
const REAP_PATIENCE: Duration = Duration::from_secs(5);

/// What a supervisor needs to start workers.
#[derive(Debug, Clone)]
pub(super) struct Recipe {
    /// The workers' names: `{prefix}-{n}`.
    pub(super) prefix: String,
    pub(super) initializer: Option<Call>,
    pub(super) max_tasks: Option<usize>,
    /// What a worker's death does: `false` (the pool) fails its task and replaces it; `true`
    /// (the executor) also breaks the pool, failing every other pending task.
    pub(super) break_on_death: bool,
}

/// A started worker process and the parent's end of its pipe.
pub(super) struct Worker {
    pub(super) process: Arc<Process<()>>,
    channel: Connection<FromWorker>,
}

/// How waiting for a worker's message ended otherwise than with a message.
struct Died;

impl Worker {
    /// Starts a worker (not waiting for it to be ready).
    pub(super) fn start(recipe: &Recipe, number: usize) -> Result<Worker, Error> {
        let name = format!("{}-{number}", recipe.prefix);
        let (here, there) = Pipe::new::<FromWorker>(true)?;
        let start = WorkerStart {
            channel: there,
            initializer: recipe.initializer.clone(),
        };
        let process = Builder::new()
            .name(name)
            .daemon(true)
            .build(worker::work, start);
        process.start()?;
        Ok(Worker {
            process: Arc::new(process),
            channel: here,
        })
    }

    fn name(&self) -> &str {
        self.process.name()
    }

    fn send(&self, message: &ToWorker<&Call>) -> Result<(), Died> {
        let bytes = serde_json::to_vec(message).map_err(|_| Died)?;
        self.channel.send_bytes(&bytes).map_err(|_| Died)
    }

    /// The worker's next message; `Died` once it is gone without sending one.
    ///
    /// A receive with a timeout, not a poll then a receive: a poll that finds nothing yet
    /// asks whether the writer still lives (a look at its `/proc` entry natively), which
    /// cost every task that much; a receive looks only after a quiet slice.
    fn receive(&self) -> Result<FromWorker, Died> {
        loop {
            match self.channel.recv_timeout(SLICE) {
                Ok(message) => return Ok(message),
                Err(RecvError::Timeout) if self.process.is_alive() => continue,
                // Dead: what it sent before it ended is still worth taking.
                Err(RecvError::Timeout) => return self.channel.try_recv().map_err(|_| Died),
                Err(_) => return Err(Died),
            }
        }
    }

    /// Reaps the worker (killing it if it does not end in time) and describes its death.
    fn death(&self) -> Error {
        if self.process.join_timeout(REAP_PATIENCE).is_err() && self.process.is_alive() {
            let _ = self.process.kill();
            let _ = self.process.join_timeout(REAP_PATIENCE);
        }
        Error::WorkerDied {
            name: self.name().to_owned(),
            pid: self.process.pid().unwrap_or(0),
            exitcode: self.process.exitcode().unwrap_or(-9),
        }
    }

    /// Sends `bytes` (a `ToWorker`).
    fn send_bytes(&self, bytes: &[u8]) -> Result<(), Died> {
        self.channel.send_bytes(bytes).map_err(|_| Died)
    }

    /// Asks the worker to stop and reaps it.
    fn stop(&self) {
        let _ = self.send(&ToWorker::<&Call>::Stop);
        if self.process.join_timeout(REAP_PATIENCE).is_err() && self.process.is_alive() {
            let _ = self.process.kill();
            let _ = self.process.join_timeout(REAP_PATIENCE);
        }
    }
}

/// Numbers the workers of all pools: `{prefix}-1`, `{prefix}-2`, ... as Python's
/// `SpawnPoolWorker-N`.
pub(super) fn next_number() -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Registers `worker` as slot `slot`'s, unless the pool has ended (then it is killed and reaped,
/// and `false` returned).
fn register(shared: &Shared, slot: usize, worker: &Worker) -> bool {
    {
        let mut state = shared.lock();
        if !matches!(state.phase, Phase::Terminated | Phase::Broken(_)) {
            state.workers[slot] = Some(Arc::clone(&worker.process));
            return true;
        }
    }
    let _ = worker.process.kill();
    let _ = worker.process.join_timeout(REAP_PATIENCE);
    false
}

/// Breaks the pool with `reason`, stopping every worker.
fn break_pool(shared: &Shared, reason: String) {
    for process in shared.end(Phase::Broken(reason)) {
        let _ = process.kill();
    }
}

/// Runs slot `slot` until the pool has no more tasks for it (see the module docs). `first`
/// is the worker the pool's build started.
pub(super) fn supervise(shared: Arc<Shared>, recipe: Recipe, slot: usize, first: Worker) {
    run(&shared, &recipe, slot, first);
    shared.lock().workers[slot] = None;
    shared.supervisor_ended();
}

fn run(shared: &Shared, recipe: &Recipe, slot: usize, first: Worker) {
    let mut worker = first;
    loop {
        if !register(shared, slot, &worker) {
            return;
        }
        match worker.receive() {
            Ok(FromWorker::Ready) => {}
            Ok(FromWorker::InitFailed(reply)) => {
                let reason = match reply.decode::<()>(worker.name()) {
                    Err(error) => format!("a worker's initializer failed: {error}"),
                    Ok(()) => "a worker's initializer failed".to_owned(),
                };
                worker.stop();
                break_pool(shared, reason);
                return;
            }
            Ok(FromWorker::Done(_)) | Err(Died) => {
                let death = worker.death();
                if matches!(shared.phase(), Phase::Running | Phase::Closed) {
                    break_pool(shared, format!("a worker did not start: {death}"));
                }
                return;
            }
        }
        let replace = serve(shared, recipe, &worker);
        if !replace || matches!(shared.phase(), Phase::Terminated | Phase::Broken(_)) {
            return;
        }
        worker = match Worker::start(recipe, next_number()) {
            Ok(worker) => worker,
            Err(error) => {
                break_pool(
                    shared,
                    format!("a replacement worker did not start: {error}"),
                );
                return;
            }
        };
    }
}

/// Feeds a ready worker tasks until there are no more (`false`: the supervisor ends), or the
/// worker must be replaced (`true`: it died, or did its `maxtasksperchild` and was stopped).
///
/// While the worker's tasks are quick, the next task is sent before the current one is
/// answered (see [`PIPELINE`]). When the worker dies, the oldest unanswered task is the one it
/// was running, which fails; the others never started and go back to the head of the queue.
fn serve(shared: &Shared, recipe: &Recipe, worker: &Worker) -> bool {
    let mut in_flight: VecDeque<(Job, Instant)> = VecDeque::new();
    let mut sent = 0usize;
    let mut quick = false;
    let mut last_reply = Instant::now();
    loop {
        let depth = if quick { PIPELINE } else { 1 };
        let exhausted = |sent: usize| recipe.max_tasks.is_some_and(|max| sent >= max);
        let mut died = false;
        while in_flight.len() < depth && !exhausted(sent) {
            let next = match in_flight.is_empty() {
                true => shared.next_job(),
                false => shared.try_next_job(),
            };
            let Some(mut job) = next else {
                break;
            };
            if !(job.start)() {
                continue;
            }
            if !in_flight.is_empty() && job.message.len() > SMALL_MESSAGE {
                if let Err((jobs, reason)) = shared.requeue(vec![job]) {
                    jobs.into_iter().for_each(|job| job.cancel(reason.clone()));
                }
                break;
            }
            let sending = worker.send_bytes(&job.message);
            in_flight.push_back((job, Instant::now()));
            sent += 1;
            if sending.is_err() {
                died = true;
                break;
            }
        }
        if in_flight.is_empty() {
            worker.stop();
            return exhausted(sent);
        }
        if !died {
            if let Ok(FromWorker::Done(reply)) = worker.receive() {
                let (job, sent_at) = in_flight.pop_front().expect("a task in flight");
                (job.finish)(Ok(reply), worker.name());
                // The task could start when it was sent or when the one before was answered.
                let waited = sent_at.elapsed().min(last_reply.elapsed());
                quick = waited < QUICK;
                last_reply = Instant::now();
                continue;
            }
        }
        // Dead (or talking nonsense, which is treated as dead once reaped).
        let death = worker.death();
        let outcome = match shared.phase() {
            // Another worker's death broke the pool and stopped this one.
            Phase::Broken(reason) => Error::BrokenPool(reason),
            Phase::Running | Phase::Closed if recipe.break_on_death => {
                break_pool(shared, death.to_string());
                death
            }
            _ => death,
        };
        let mut unanswered = in_flight.into_iter().map(|(job, _)| job);
        if let Some(running) = unanswered.next() {
            (running.finish)(Err(outcome), worker.name());
        }
        if let Err((jobs, reason)) = shared.requeue(unanswered.collect()) {
            jobs.into_iter().for_each(|job| job.cancel(reason.clone()));
        }
        return true;
    }
}
