//! Running a task so that its panic is an error for that task only, reported as a thread's is.
//!
//! A process-wide panic hook (installed once, chained to the previous one, which still prints)
//! records the message and location of every panic into a thread-local, and, on a pool's
//! worker, into a process-wide slot as well. [`run_caught`] catches the unwind of a task and
//! turns it into [`Error::Panicked`] with the recorded report; [`report_of`] does the same for
//! a panic that rayon carried from a worker to the thread that called `install`.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Mutex, Once};

use crate::error::PanicReport;
use crate::sync::spin;
use crate::thread::current_name;
use crate::Error;

thread_local! {
    /// The last panic on this thread, as the hook saw it.
    static LAST_PANIC: RefCell<Option<PanicReport>> = const { RefCell::new(None) };
    /// Whether this thread is a pool's worker (set by the pool's start handler).
    static POOL_WORKER: Cell<bool> = const { Cell::new(false) };
}

/// The last panic on any pool's worker: what `install` reports when rayon resumes a worker's
/// panic on the installing thread.
static LAST_WORKER_PANIC: Mutex<Option<PanicReport>> = Mutex::new(None);

static HOOK: Once = Once::new();

/// Installs the hook (once per process).
pub(crate) fn install_hook() {
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let report = PanicReport {
                thread: current_name(),
                message: payload_message(info.payload()),
                location: info.location().map(ToString::to_string),
            };
            if POOL_WORKER.with(Cell::get) {
                *spin::lock(&LAST_WORKER_PANIC) = Some(report.clone());
            }
            // `try_with`: a panic while the thread's locals are being destroyed has no slot.
            let _ = LAST_PANIC.try_with(|last| {
                if let Ok(mut last) = last.try_borrow_mut() {
                    *last = Some(report);
                }
            });
            previous(info);
        }));
    });
}

/// Marks the calling thread as a pool's worker (or no longer one).
pub(crate) fn mark_pool_worker(is_worker: bool) {
    POOL_WORKER.with(|flag| flag.set(is_worker));
}

/// Runs `task`, turning a panic into [`Error::Panicked`] with its message and location.
pub(crate) fn run_caught<R>(task: impl FnOnce() -> R) -> Result<R, Error> {
    LAST_PANIC.with(|last| last.borrow_mut().take());
    panic::catch_unwind(AssertUnwindSafe(task)).map_err(|payload| {
        let recorded = LAST_PANIC.with(|last| last.borrow_mut().take());
        let report = recorded.unwrap_or_else(|| PanicReport {
            thread: current_name(),
            message: payload_message(payload.as_ref()),
            location: None,
        });
        forget_payload(payload);
        Error::Panicked(report)
    })
}

/// The report of a panic that rayon resumed on this thread (from `install`): the worker's
/// recorded report when its message matches, else the payload's message alone.
pub(crate) fn report_of(payload: Box<dyn Any + Send>) -> Error {
    let message = payload_message(payload.as_ref());
    forget_payload(payload);
    let recorded = spin::lock(&LAST_WORKER_PANIC).take();
    let local = LAST_PANIC.with(|last| last.borrow_mut().take());
    let report = [local, recorded]
        .into_iter()
        .flatten()
        .find(|report| report.message == message)
        .unwrap_or_else(|| PanicReport {
            thread: current_name(),
            message,
            location: None,
        });
    Error::Panicked(report)
}

/// Drops a panic payload; a payload whose destructor panics in turn is leaked instead.
fn forget_payload(payload: Box<dyn Any + Send>) {
    if let Err(again) = panic::catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        std::mem::forget(again);
    }
}

fn payload_message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "Box<dyn Any>".to_owned())
}
