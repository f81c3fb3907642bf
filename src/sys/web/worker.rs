//! Threads as pooled Web Workers that share this module's `WebAssembly.Memory`.
//!
//! `spawn` registers the thread's closure under a fresh id and queues the id. Idle workers
//! sleep on `QUEUED` (the number of queued ids), take the next id, run its closure and wait
//! again; a worker idle for `RETIRE_AFTER` leaves the pool. `SPARE` counts workers that are
//! idle or starting, minus queued jobs: when a spawn finds none spare it asks `worker.js` for
//! one more worker (see there for why a worker's parent, not the worker, creates it).
//!
//! JS never passes a pointer or id into Rust: `__amphi_worker_main` takes jobs from the queue,
//! and `__amphi_worker_lost` finds the lost job in the worker's own thread-local.
//!
//! Losing a worker never hangs a joiner. A trap inside a job (panics unwind; out of memory or
//! an `unreachable` trap) is caught by `worker.js`, which calls `__amphi_worker_lost`; a worker that cannot load the
//! module is reported by its parent through the callback `spawn` hands to `requestWorker`
//! (`START_FAILED`), which fails the oldest queued job with the reason (all workers load the
//! same way, so it would fail too). A callback, not an export: a bundled page has no URL from
//! which the parent could import the glue's exports.

use std::cell::Cell;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use wasm_bindgen::prelude::*;

use crate::sys::{ThreadWatch, THREAD_LOST, THREAD_RUNNING};

#[wasm_bindgen(module = "/src/sys/web/worker.js")]
extern "C" {
    #[wasm_bindgen(js_name = requestWorker, catch)]
    fn request_worker(
        module: JsValue,
        memory: JsValue,
        main_url: &str,
        start_failed: &JsValue,
        process_exited: &JsValue,
    ) -> Result<(), JsValue>;
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(thread_local_v2, js_namespace = ["import", "meta"], js_name = url)]
    static MAIN_URL: String;
    #[wasm_bindgen(thread_local_v2, js_name = crossOriginIsolated)]
    static CROSS_ORIGIN_ISOLATED: JsValue;
}

struct Job {
    body: Box<dyn FnOnce() + Send>,
    watch: Arc<dyn ThreadWatch>,
}

#[derive(Default)]
struct Pool {
    jobs: HashMap<u32, Job>,
    queue: VecDeque<u32>,
}

static POOL: Mutex<Option<Pool>> = Mutex::new(None);
/// Queued jobs: the word idle workers sleep on.
static QUEUED: AtomicU32 = AtomicU32::new(0);
/// Idle or starting workers minus queued jobs.
static SPARE: AtomicI32 = AtomicI32::new(0);
static NEXT_ID: AtomicU32 = AtomicU32::new(1);
const RETIRE_AFTER: Duration = Duration::from_secs(20);

thread_local! {
    /// The watch of the job this worker is running, for `__amphi_worker_lost`.
    static RUNNING_JOB: Cell<Option<*const dyn ThreadWatch>> = const { Cell::new(None) };
    /// The address of the running job's exit word (0 between jobs), which `worker.js` reads
    /// from memory to mark the job lost with `Atomics` when the glue refuses
    /// `__amphi_worker_lost` (it refuses every call into an instance once a call trapped).
    static RUNNING_EXIT: Cell<usize> = const { Cell::new(0) };
    /// `worker_start_failed` as a JS function of this thread, for the workers it starts.
    static START_FAILED: JsValue =
        Closure::<dyn Fn(String)>::new(worker_start_failed).into_js_value();
}

/// Locks the pool by spinning: the page's main thread may not sleep on a contended mutex,
/// and the critical sections are a few map and queue operations.
fn pool() -> MutexGuard<'static, Option<Pool>> {
    crate::sync::spin::lock(&POOL)
}

/// Queues `body` to run on a pooled worker; `watch` learns if that worker is lost.
pub(crate) fn spawn(
    _name: &str,
    body: Box<dyn FnOnce() + Send>,
    watch: Arc<dyn ThreadWatch>,
) -> Result<(), String> {
    if !cross_origin_isolated() {
        return Err(NOT_ISOLATED.to_owned());
    }
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    {
        let mut guard = pool();
        let pool = guard.get_or_insert_with(Pool::default);
        pool.jobs.insert(id, Job { body, watch });
        pool.queue.push_back(id);
    }
    QUEUED.fetch_add(1, Ordering::Release);
    super::wake(crate::sys::Futex::Private(&QUEUED), crate::sys::Wake::One);
    if SPARE.fetch_sub(1, Ordering::AcqRel) <= 0 {
        SPARE.fetch_add(1, Ordering::AcqRel);
        super::region::ensure_buffer();
        let main_url = MAIN_URL.with(String::clone);
        START_FAILED
            .with(|start_failed| {
                request_worker(
                    wasm_bindgen::module(),
                    wasm_bindgen::memory(),
                    &main_url,
                    start_failed,
                    &super::process::exited_callback(),
                )
            })
            .map_err(|err| {
                fail_oldest_job(&format!("could not start a Web Worker: {err:?}"));
                format!("could not start a Web Worker: {err:?}")
            })?;
    }
    Ok(())
}

/// The URL this realm loaded the module's glue from.
pub(super) fn main_url() -> String {
    MAIN_URL.with(String::clone)
}

/// Whether this page is cross-origin isolated (so `SharedArrayBuffer` exists).
pub(super) fn cross_origin_isolated() -> bool {
    CROSS_ORIGIN_ISOLATED.with(JsValue::is_truthy)
}

pub(super) const NOT_ISOLATED: &str =
    "this page is not cross-origin isolated, so Web Workers cannot share \
memory: serve it with the headers `Cross-Origin-Opener-Policy: same-origin` and \
`Cross-Origin-Embedder-Policy: require-corp` (then `crossOriginIsolated` is true)";

/// Takes the next queued job, or `None` when none came for `RETIRE_AFTER` and this worker
/// could leave the pool without stranding a job.
fn next_job() -> Option<Job> {
    loop {
        if let Some(job) = pop_job() {
            return Some(job);
        }
        if !super::wait(crate::sys::Futex::Private(&QUEUED), 0, Some(RETIRE_AFTER)) && retire() {
            return None;
        }
    }
}

fn pop_job() -> Option<Job> {
    let mut guard = pool();
    let pool = guard.as_mut()?;
    let id = pool.queue.pop_front()?;
    QUEUED.fetch_sub(1, Ordering::AcqRel);
    pool.jobs.remove(&id)
}

/// Leaves the pool if that strands no queued job.
fn retire() -> bool {
    let mut spare = SPARE.load(Ordering::Acquire);
    while spare > 0 {
        match SPARE.compare_exchange(spare, spare - 1, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return true,
            Err(seen) => spare = seen,
        }
    }
    false
}

fn fail_oldest_job(reason: &str) {
    let job = {
        let mut guard = pool();
        guard.as_mut().and_then(|pool| {
            let id = pool.queue.pop_front()?;
            QUEUED.fetch_sub(1, Ordering::AcqRel);
            pool.jobs.remove(&id)
        })
    };
    if let Some(job) = job {
        mark_lost(&*job.watch, reason.to_owned());
    }
}

fn mark_lost(watch: &dyn ThreadWatch, reason: String) {
    // Record the reason before publishing LOST, so a woken joiner finds it.
    watch.lost(reason);
    let word = watch.exit_word();
    let _ = word.compare_exchange(
        THREAD_RUNNING,
        THREAD_LOST,
        Ordering::AcqRel,
        Ordering::Acquire,
    );
    super::wake(crate::sys::Futex::Private(word), crate::sys::Wake::All);
}

/// Worker entry: runs queued jobs until the worker retires.
#[doc(hidden)]
#[allow(unreachable_pub)] // exported to JavaScript, not to Rust
#[wasm_bindgen(js_name = __amphi_worker_main)]
pub fn worker_main() {
    while let Some(Job { body, watch }) = next_job() {
        RUNNING_JOB.with(|running| running.set(Some(Arc::as_ptr(&watch))));
        let exit_word: *const AtomicU32 = watch.exit_word();
        RUNNING_EXIT.with(|running| running.set(exit_word as usize));
        body();
        RUNNING_EXIT.with(|running| running.set(0));
        RUNNING_JOB.with(|running| running.set(None));
        drop(watch);
        SPARE.fetch_add(1, Ordering::AcqRel);
    }
}

/// Worker entry after a trap: reports the job that was running here as lost.
#[doc(hidden)]
#[allow(unreachable_pub)] // exported to JavaScript, not to Rust
#[wasm_bindgen(js_name = __amphi_worker_lost)]
pub fn worker_lost(reason: String) {
    if let Some(watch) = RUNNING_JOB.with(Cell::take) {
        // SAFETY: the pointer came from the `Arc` that `worker_main` still holds: the trap
        // unwound nothing, so that frame's `watch` was never dropped and is leaked from now on.
        let watch = unsafe { &*watch };
        mark_lost(watch, reason);
    }
}

/// Where this worker keeps the address of its running job's exit word (see `RUNNING_EXIT`):
/// `worker.js` asks once, before the worker runs any job, and after a trap the glue refuses
/// to serve reads the word there itself.
#[doc(hidden)]
#[allow(unreachable_pub)] // exported to JavaScript, not to Rust
#[wasm_bindgen(js_name = __amphi_worker_exit_slot)]
pub fn worker_exit_slot() -> usize {
    RUNNING_EXIT.with(|slot| std::ptr::from_ref(slot) as usize)
}

/// Parent-side report that a worker could not load the module: fails the oldest queued job.
fn worker_start_failed(reason: String) {
    SPARE.fetch_sub(1, Ordering::AcqRel);
    fail_oldest_job(&format!("a Web Worker could not load amphi: {reason}"));
}

/// Sets the URL of amphi's worker script, for bundlers that do not emit it on their own: a copy
/// of `worker.js` served with the package's other files, or that file bundled as a module worker.
#[allow(unreachable_pub)] // exported to JavaScript, not to Rust
#[wasm_bindgen(js_name = setWorkerUrl)]
pub fn set_worker_url(url: Option<String>) {
    set_worker_url_js(url);
}

#[wasm_bindgen(module = "/src/sys/web/worker.js")]
extern "C" {
    #[wasm_bindgen(js_name = setWorkerUrl)]
    fn set_worker_url_js(url: Option<String>);
}
