//! `Engine`: one `rayon::ThreadPool` whose threads are amphi [`Thread`]s, with the life cycle
//! Python's pools have (running, closed, terminated) and the list of tasks not yet started
//! that `terminate` and `shutdown(cancel_futures)` cancel.
//!
//! rayon starts its workers through `spawn_handler`, which here spawns amphi threads: natively
//! OS threads, in the browser pooled Web Workers, so the browser has one worker mechanism.
//! rayon's `build` does not wait for its workers to start, so a pool is created on the page's
//! main thread too. Every task is wrapped (`catch::run_caught`) and rayon gets a panic handler,
//! so a panic never reaches rayon's abort.
//!
//! States: `RUNNING -> CLOSED -> (TERMINATED)` or `RUNNING -> TERMINATED`. Leaving `RUNNING`
//! drops the engine's handle on the rayon pool; rayon ends its workers once every handle is
//! gone and every spawned job has run (a job queued before a terminate runs as a no-op: its
//! task was cancelled), and `join` waits for the amphi threads to end.

use std::fmt;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use crate::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use crate::sync::spin;
use crate::sys;
use crate::thread::{Builder, Thread};
use crate::time::Deadline;
use crate::Error;

use super::catch;
use super::completion::Cancel;

const RUNNING: u32 = 0;
const CLOSED: u32 = 1;
const TERMINATED: u32 = 2;

/// A worker's initializer, called once on each worker before any task.
pub(crate) type Initializer = Arc<dyn Fn() + Send + Sync>;
/// Names worker `index`.
pub(crate) type ThreadNamer = Arc<dyn Fn(usize) -> String + Send + Sync>;

/// How to build an engine.
pub(crate) struct Config {
    pub(crate) size: usize,
    pub(crate) initializer: Option<Initializer>,
    pub(crate) thread_name: ThreadNamer,
}

/// The shared core of a [`Pool`](crate::ThreadPool) or an
/// [`Executor`](crate::thread::Executor) (see the module docs).
pub(crate) struct Engine {
    shared: Arc<Shared>,
}

struct Shared {
    state: AtomicU32,
    size: usize,
    rayon: Mutex<Option<Arc<rayon::ThreadPool>>>,
    workers: Mutex<Vec<Arc<Thread<()>>>>,
    pending: Mutex<Pending>,
    /// The first initializer panic, once one happened.
    broken: Mutex<Option<String>>,
    /// Whether `broken` holds one: read by every job as it starts, without the lock.
    is_broken: AtomicBool,
}

/// Tasks submitted and perhaps not started, pruned of the finished ones as it grows. Weak: a
/// queued task's job holds its cell, so the list keeps no result alive.
struct Pending {
    tasks: Vec<Weak<dyn Cancel>>,
    prune_at: usize,
}

/// What a task needs to reach the rayon pool: held only while submitting (and by an `imap`
/// still feeding its input, which may go on after `close`, as its tasks were accepted).
#[derive(Clone)]
pub(crate) struct Submitter {
    shared: Arc<Shared>,
    rayon: Arc<rayon::ThreadPool>,
}

impl Engine {
    /// Starts `config.size` workers. Never waits for them to start.
    pub(crate) fn new(config: Config) -> Result<Engine, Error> {
        if config.size == 0 {
            return Err(Error::InvalidArgument(
                "a pool needs at least one worker".to_owned(),
            ));
        }
        catch::install_hook();
        let shared = Arc::new(Shared {
            state: AtomicU32::new(RUNNING),
            size: config.size,
            rayon: Mutex::new(None),
            workers: Mutex::new(Vec::with_capacity(config.size)),
            pending: Mutex::new(Pending {
                tasks: Vec::new(),
                prune_at: 64,
            }),
            broken: Mutex::new(None),
            is_broken: AtomicBool::new(false),
        });
        let weak = Arc::downgrade(&shared);
        let initializer = config.initializer;
        let namer = config.thread_name;
        let spawn_error: Arc<Mutex<Option<Error>>> = Arc::new(Mutex::new(None));
        let workers = Arc::downgrade(&shared);
        let spawn_failure = Arc::clone(&spawn_error);
        let built = rayon::ThreadPoolBuilder::new()
            .num_threads(config.size)
            .thread_name(move |index| namer(index))
            // Tasks catch their own panics; this only keeps a stray one (rayon's own) from
            // aborting. The hook has printed it already.
            .panic_handler(|_payload| {})
            .start_handler(move |_index| start_worker(&weak, initializer.as_deref()))
            .exit_handler(|_index| catch::mark_pool_worker(false))
            .spawn_handler(move |thread| {
                let name = thread.name().unwrap_or("PoolWorker").to_owned();
                match Builder::new().name(name).spawn(move || thread.run()) {
                    Ok(handle) => {
                        if let Some(shared) = workers.upgrade() {
                            spin::lock(&shared.workers).push(Arc::new(handle));
                        }
                        Ok(())
                    }
                    Err(error) => {
                        let reason = error.to_string();
                        *spin::lock(&spawn_failure) = Some(error);
                        Err(std::io::Error::other(reason))
                    }
                }
            })
            .build();
        match built {
            Ok(rayon) => {
                *spin::lock(&shared.rayon) = Some(Arc::new(rayon));
                Ok(Engine { shared })
            }
            Err(error) => Err(spin::lock(&spawn_error)
                .take()
                .unwrap_or_else(|| Error::Spawn {
                    name: "pool worker".to_owned(),
                    reason: error.to_string(),
                })),
        }
    }

    pub(crate) fn size(&self) -> usize {
        self.shared.size
    }

    /// A submitter while the engine runs; [`Error::PoolClosed`] after close or terminate,
    /// [`Error::BrokenPool`] once an initializer failed.
    pub(crate) fn submitter(&self) -> Result<Submitter, Error> {
        if let Some(broken) = self.shared.broken() {
            return Err(broken);
        }
        let rayon = spin::lock(&self.shared.rayon).clone();
        match rayon {
            Some(rayon) if self.shared.state.load(Ordering::Acquire) == RUNNING => Ok(Submitter {
                shared: Arc::clone(&self.shared),
                rayon,
            }),
            _ => Err(Error::PoolClosed),
        }
    }

    pub(crate) fn is_running(&self) -> bool {
        self.shared.state.load(Ordering::Acquire) == RUNNING
    }

    /// Takes no more tasks; those accepted still run. Idempotent.
    pub(crate) fn close(&self) {
        let _ = self.shared.state.compare_exchange(
            RUNNING,
            CLOSED,
            Ordering::AcqRel,
            Ordering::Acquire,
        );
        self.release_rayon();
    }

    /// Takes no more tasks and cancels every accepted task that has not started (they fail
    /// with [`Error::Cancelled`]); running tasks finish. Returns at once.
    pub(crate) fn terminate(&self) {
        self.shared.state.store(TERMINATED, Ordering::Release);
        self.release_rayon();
        self.cancel_pending(Error::Cancelled);
    }

    /// Cancels every accepted task that has not started, with `reason`.
    pub(crate) fn cancel_pending(&self, reason: Error) {
        self.shared.cancel_pending(reason);
    }

    fn release_rayon(&self) {
        let rayon = spin::lock(&self.shared.rayon).take();
        drop(rayon);
    }

    /// Waits for every worker to end, until `deadline`. [`Error::PoolRunning`] before close or
    /// terminate; [`Error::NotReady`] for [`Deadline::NOW`] with workers alive.
    pub(crate) fn join_until(&self, deadline: Deadline) -> Result<(), Error> {
        if self.is_running() {
            return Err(Error::PoolRunning);
        }
        let workers = spin::lock(&self.shared.workers).clone();
        if deadline.is_now() {
            return match workers.iter().any(|worker| worker.is_alive()) {
                true => Err(Error::NotReady),
                false => Ok(()),
            };
        }
        if !sys::can_block() {
            return Err(Error::WouldBlock);
        }
        for worker in &workers {
            // `Thread::join` takes the handle; the workers' handles are shared, so wait in
            // slices (an hour each) when there is no deadline.
            loop {
                let slice = deadline.remaining()?.unwrap_or(Duration::from_secs(3600));
                match worker.join_timeout(slice) {
                    Err(Error::Timeout) if !deadline.passed() => continue,
                    joined => break ended(joined)?,
                }
            }
        }
        Ok(())
    }

    /// Waits for every worker to end without blocking the thread.
    pub(crate) async fn join_async(&self) -> Result<(), Error> {
        if self.is_running() {
            return Err(Error::PoolRunning);
        }
        let workers = spin::lock(&self.shared.workers).clone();
        for worker in &workers {
            ended(worker.join_async().await)?;
        }
        Ok(())
    }

    /// Runs `op` in the rayon pool (see [`Pool::install`](crate::ThreadPool::install)).
    pub(crate) fn install<R: Send>(&self, op: impl FnOnce() -> R + Send) -> Result<R, Error> {
        let submitter = self.submitter()?;
        if !sys::can_block() {
            return Err(Error::WouldBlock);
        }
        let installed =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| submitter.rayon.install(op)));
        installed.map_err(catch::report_of)
    }
}

/// A joined worker's end as `join` sees it: however it ended, it has ended.
fn ended(joined: Result<(), Error>) -> Result<(), Error> {
    match joined {
        Err(error @ (Error::Timeout | Error::WouldBlock)) => Err(error),
        _ => Ok(()),
    }
}

fn start_worker(shared: &Weak<Shared>, initializer: Option<&(dyn Fn() + Send + Sync)>) {
    catch::mark_pool_worker(true);
    let Some(initializer) = initializer else {
        return;
    };
    if let Err(error) = catch::run_caught(initializer) {
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let report = format!("a worker's initializer failed: {error}");
        spin::lock(&shared.broken).get_or_insert(report.clone());
        shared.is_broken.store(true, Ordering::Release);
        shared.cancel_pending(Error::BrokenPool(report));
    }
}

impl Shared {
    fn cancel_pending(&self, reason: Error) {
        let tasks = std::mem::take(&mut spin::lock(&self.pending).tasks);
        for task in tasks.iter().filter_map(Weak::upgrade) {
            task.cancel_with(reason.clone());
        }
    }

    fn broken(&self) -> Option<Error> {
        if !self.is_broken.load(Ordering::Acquire) {
            return None;
        }
        spin::lock(&self.broken).clone().map(Error::BrokenPool)
    }
}

impl Submitter {
    /// Queues `job` on the rayon pool. The job is told whether to run: `Err(reason)` once the
    /// pool was terminated or broke (it must then settle its task with that reason).
    pub(crate) fn spawn(&self, job: impl FnOnce(Result<(), Error>) + Send + 'static) {
        let shared = Arc::clone(&self.shared);
        #[cfg_attr(not(feature = "trace"), allow(unused_variables))]
        let submission = crate::trace::next_submission();
        let _submit = crate::trace::span!("pool.submit", submission);
        self.rayon.spawn(move || {
            let _task = crate::trace::span!("pool.task", submission);
            let go = match shared.broken() {
                Some(broken) => Err(broken),
                None if shared.state.load(Ordering::Acquire) == TERMINATED => Err(Error::Cancelled),
                None => Ok(()),
            };
            job(go);
        });
    }

    /// Whether the pool was terminated (an `imap` stops feeding then).
    pub(crate) fn is_terminated(&self) -> bool {
        self.shared.state.load(Ordering::Acquire) == TERMINATED
    }

    /// Lists `task` among those terminate may cancel before it starts.
    pub(crate) fn register(&self, task: &Arc<dyn Cancel>) {
        let mut pending = spin::lock(&self.shared.pending);
        if pending.tasks.len() >= pending.prune_at {
            pending
                .tasks
                .retain(|task| task.upgrade().is_some_and(|task| !task.is_over()));
            pending.prune_at = (pending.tasks.len() * 2).max(64);
        }
        pending.tasks.push(Arc::downgrade(task));
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        // The workers hold only weak references; the last handle ends the rayon pool.
        self.release_rayon();
    }
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.shared.state.load(Ordering::Acquire) {
            RUNNING => "running",
            CLOSED => "closed",
            _ => "terminated",
        };
        f.debug_struct("Pool")
            .field("size", &self.shared.size)
            .field("state", &state)
            .finish()
    }
}
