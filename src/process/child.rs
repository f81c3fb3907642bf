//! The child's side: the entry the platform calls in a child, one per `(A, R)`.
//!
//! `entry::<A, R>` is monomorphised in the parent when a `Process<R>` is built from a
//! `fn(A) -> R`, and the parent hands the platform the pair (entry, target). In the child the
//! platform calls the entry with the target's address and the start-up payload; the entry
//! decodes the [`Start`], records who the child is, deserialises `A`, calls the target under
//! `catch_unwind`, and returns the [`Report`] and the exit code: 0 when the target returned,
//! 1 when it panicked or could not be run (Python's code for an uncaught exception), and the
//! code given to [`exit`] when the target called it (Python's `SystemExit`): `exit` unwinds the
//! target's thread with a private payload, which the entry tells apart from a panic.
//!
//! A panic's message and location are recorded by a panic hook (chained to the previous one,
//! which still prints the panic on standard error, as Python prints the traceback) while the
//! target runs on this thread. If the thread is lost instead (in the browser, a trap: out of
//! memory, an `unreachable`), the platform calls [`lost`], which reports what the hook recorded,
//! if anything, or the reason.

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Mutex, Once};

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::wire::{Report, Start};
use super::{current, region};
use crate::sys::ChildExit;
use crate::Error;

thread_local! {
    static IN_TARGET: Cell<bool> = const { Cell::new(false) };
}

/// The last panic of the target: (message, location).
static PANIC: Mutex<Option<(String, Option<String>)>> = Mutex::new(None);
static HOOK: Once = Once::new();

/// Runs the target in a child (see the module docs).
///
/// # Safety
///
/// `target` must be the address of a `fn(A) -> R` in this process.
pub(super) unsafe fn entry<A, R>(target: *const (), payload: &[u8]) -> ChildExit
where
    A: DeserializeOwned,
    R: Serialize,
{
    // SAFETY: the caller guarantees `target` is the address of a `fn(A) -> R` in this process;
    // a function pointer and `*const ()` have the same size and representation.
    let target = unsafe { std::mem::transmute::<*const (), fn(A) -> R>(target) };
    crate::trace::child_begins();
    let report = {
        let _span = crate::trace::span!("process", pid = crate::sys::current_pid());
        run(target, payload)
    };
    let code = match report {
        Report::Returned(_) => 0,
        Report::Exited(code) => code,
        Report::Panicked { .. } | Report::Failed(_) => 1,
    };
    match serde_json::to_vec(&report) {
        Ok(report) => ChildExit { report, code },
        Err(err) => ChildExit {
            report: failure(&format!("the return value does not serialise: {err}")),
            code: 1,
        },
    }
}

/// What a child reports when the thread running its entry was lost before the entry returned:
/// in the browser, a trap. A panic the hook recorded first is reported as the cause; without a
/// record, the reason is.
pub(super) fn lost(reason: &str) -> ChildExit {
    let recorded = PANIC
        .lock()
        .unwrap_or_else(|poison| poison.into_inner())
        .take();
    let report = match recorded {
        Some((message, location)) => Report::<()>::Panicked { message, location },
        None => Report::Failed(format!("the process's thread was lost: {reason}")),
    };
    ChildExit {
        report: serde_json::to_vec(&report).unwrap_or_default(),
        code: 1,
    }
}

fn failure(reason: &str) -> Vec<u8> {
    serde_json::to_vec(&Report::<()>::Failed(reason.to_owned())).unwrap_or_default()
}

fn run<A: DeserializeOwned, R>(target: fn(A) -> R, payload: &[u8]) -> Report<R> {
    let start = match serde_json::from_slice::<Start<serde_json::Value>>(payload) {
        Ok(start) => start,
        Err(err) => return Report::Failed(format!("the start-up message is not valid: {err}")),
    };
    if let Err(err) = region::adopt(start.holdings) {
        return Report::Failed(format!("the arguments cannot be opened: {err}"));
    }
    let args = serde_json::from_value::<A>(start.args);
    region::settle();
    let args = match args {
        Ok(args) => args,
        Err(err) => {
            let expected = std::any::type_name::<A>();
            return Report::Failed(format!(
                "the arguments do not deserialise as {expected}: {err}"
            ));
        }
    };
    current::become_child(start.name, start.daemon, start.identity, start.parent);
    HOOK.call_once(install_panic_hook);
    IN_TARGET.with(|flag| flag.set(true));
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| target(args)));
    IN_TARGET.with(|flag| flag.set(false));
    // As Python at a child's exit: what the target put into unbounded queues and still waits
    // in this process's buffers goes in first (see `ring::feeder`).
    super::ring::flush_at_exit();
    match outcome {
        Ok(value) => Report::Returned(value),
        Err(payload) if payload.is::<ExitRequest>() => Report::Exited(
            payload
                .downcast_ref::<ExitRequest>()
                .map_or(1, |exit| exit.0),
        ),
        Err(payload) => {
            let recorded = PANIC
                .lock()
                .unwrap_or_else(|poison| poison.into_inner())
                .take();
            let (message, location) = recorded.unwrap_or_else(|| (text(payload.as_ref()), None));
            Report::Panicked { message, location }
        }
    }
}

/// Runs one task of a process pool's worker on the target's thread: a panic becomes its
/// message and location (recorded by the hook), and the worker goes on; a call to [`exit`]
/// keeps unwinding, so the worker ends with that code.
pub(super) fn catch_task<T>(task: impl FnOnce() -> T) -> Result<T, (String, Option<String>)> {
    PANIC
        .lock()
        .unwrap_or_else(|poison| poison.into_inner())
        .take();
    match panic::catch_unwind(AssertUnwindSafe(task)) {
        Ok(value) => Ok(value),
        Err(payload) if payload.is::<ExitRequest>() => panic::resume_unwind(payload),
        Err(payload) => {
            let recorded = PANIC
                .lock()
                .unwrap_or_else(|poison| poison.into_inner())
                .take();
            let report = recorded.unwrap_or_else(|| (text(payload.as_ref()), None));
            // A payload whose destructor panics in turn is leaked instead.
            if let Err(again) = panic::catch_unwind(AssertUnwindSafe(move || drop(payload))) {
                std::mem::forget(again);
            }
            Err(report)
        }
    }
}

/// The unwind payload of [`exit`] on the target's thread: the exit code.
struct ExitRequest(i32);

/// Ends the calling process with exit code `code`, as Python's `sys.exit(code)`; returns only
/// where the process cannot end (then with the reason).
///
/// The parent sees the code as [`Process::exitcode`](super::Process::exitcode), and its
/// [`join`](super::Process::join) returns [`Error::ProcessFailed`] carrying it (there is no
/// return value; also for code 0). The code is kept as an operating system keeps it, its low 8
/// bits (`exit(-1)` is seen as 255), on both targets.
///
/// Where it is called:
/// - on the thread running a child's target: the thread unwinds to the entry (destructors run,
///   so guards release their locks, as `finally` blocks run for `SystemExit`), which reports the
///   exit; a `catch_unwind` in the target would stop it, as `except BaseException` would;
/// - on another thread of a child: the process ends at once (natively `exit(3)`; in the
///   browser the process worker is stopped with its threads), without unwinding anything;
/// - natively outside a child (the main program): `std::process::exit(code)`;
/// - in the browser outside a child (the page and its threads), which no code may close: it
///   returns [`Error::CannotExit`].
///
/// # Examples
///
/// ```
/// use amphi::process::Process;
///
/// fn give_up(code: i32) {
///     let error = amphi::process::exit(code);
///     unreachable!("a child exits: {error}");
/// }
///
/// let child = Process::new(give_up, 3);
/// child.start()?;
/// let err = child.join().unwrap_err();
/// assert!(matches!(err, amphi::Error::ProcessFailed { exitcode: 3, .. }));
/// assert_eq!(child.exitcode(), Some(3));
/// # Ok::<(), amphi::Error>(())
/// ```
pub fn exit(code: i32) -> Error {
    let code = code & 0xff;
    if IN_TARGET.with(Cell::get) {
        panic::resume_unwind(Box::new(ExitRequest(code)));
    }
    Error::CannotExit(crate::sys::exit_process(code))
}

fn install_panic_hook() {
    let previous = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        if IN_TARGET.with(Cell::get) {
            let record = (
                text(info.payload()),
                info.location().map(ToString::to_string),
            );
            *PANIC.lock().unwrap_or_else(|poison| poison.into_inner()) = Some(record);
        }
        previous(info);
    }));
}

fn text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "Box<dyn Any>".to_owned())
}
