//! Processes in the browser: each one a Web Worker with its own instance of this module and its
//! own `WebAssembly.Memory`.
//!
//! # Starting a child
//!
//! [`spawn_process`] gives the child a process id (from the region, see `region.rs`), records
//! its watch under that id and asks `worker.js` for a process worker. Like a thread's worker,
//! the worker is created by a realm that never blocks: the calling realm when it is not an
//! amphi thread, else (through a message) the realm that started that thread's worker. The
//! process worker receives the module, the region's buffer and the start: the addresses of the
//! entry, of its `lost` twin and of the target (table indices, the same in every instance of
//! the module), and the payload. It instantiates the module afresh (a new memory) and calls
//! [`process_main`].
//!
//! # In the child
//!
//! [`process_main`] records the child's id, runs the entry on an amphi thread of the new
//! instance (so the target may block, and the process worker stays free to start that
//! instance's thread workers), waits for it without blocking, then for the child's own
//! non-daemonic children (as a Python process does before it exits; daemonic ones end with it),
//! and resolves with the exit code and the report. A panic unwinds into the entry's
//! `catch_unwind`; if the thread traps instead, the entry's `lost` twin makes the report.
//!
//! With the feature `trace`, a parent that records says so in the start message (`trace`); the
//! child then records in memory and resolves with its events too (its own children's included,
//! which reached it the same way), which [`process_exited`] adds to the parent's recording.
//! A child that is terminated or killed hands back what it recorded so far when its process
//! worker is asked to stop ([`take_trace_events`]): it loses only its spans still open.
//!
//! # Ends
//!
//! The realm that created the worker hears the end (a report, a start-up failure, or the
//! worker's `error` event) and calls [`process_exited`] there, which fills in the watch, marks
//! the id ended in the region and wakes the exit word. `terminate`/`kill` are
//! `Worker.terminate()` (through that realm too), reported as exit codes -15 and -9, Python's
//! for SIGTERM and SIGKILL; terminating a worker ends the workers it started, so a process's
//! children end with it.
//!
//! [`exit_process`] on a thread of a child other than the entry's (the entry's thread unwinds
//! instead, see `crate::process::exit`) records the code and wakes [`process_main`], which
//! resolves with that code and no report while the calling thread parks; the worker and its
//! threads are then stopped as at any end. The page (process [`ROOT_PID`]) cannot exit.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use js_sys::{Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;

use super::region::{self, ROOT_PID};
use crate::sys::process::{
    ChildExit, ChildLost, ChildReport, ProcessEntry, ProcessStart, Signal, Watch, PROCESS_EXITED,
};
use crate::sys::{ThreadWatch, PROCESS_RUNNING, THREAD_EXITED, THREAD_RUNNING};

#[wasm_bindgen(module = "/src/sys/web/worker.js")]
extern "C" {
    #[wasm_bindgen(js_name = requestProcess, catch)]
    fn request_process(
        module: JsValue,
        main_url: &str,
        start: &Object,
        exited: &JsValue,
    ) -> Result<(), JsValue>;
    #[wasm_bindgen(js_name = signalProcess, catch)]
    fn signal_process(pid: u32, code: i32) -> Result<(), JsValue>;
}

/// This instance's process id: [`ROOT_PID`] for the page's, else set by [`process_main`].
static PID: AtomicU32 = AtomicU32::new(ROOT_PID);

/// This process's id.
pub(crate) fn current_pid() -> u32 {
    PID.load(Ordering::Relaxed)
}

struct Child {
    watch: Watch,
    daemon: bool,
}

/// The children this instance started that have not ended, by process id.
static CHILDREN: Mutex<Option<HashMap<u32, Child>>> = Mutex::new(None);

/// Locks the children by spinning: the page's main thread may not sleep on a mutex, and the
/// critical sections are single map operations.
fn children() -> MutexGuard<'static, Option<HashMap<u32, Child>>> {
    crate::sync::spin::lock(&CHILDREN)
}

thread_local! {
    /// [`process_exited`] as a JS function of this realm, for the workers it creates.
    static EXITED: JsValue =
        Closure::<dyn Fn(u32, i32, Option<Vec<u8>>, Option<String>, Option<String>)>::new(
            process_exited
        )
            .into_js_value();
}

/// [`process_exited`] as a JS function of this realm.
pub(super) fn exited_callback() -> JsValue {
    EXITED.with(JsValue::clone)
}

/// A started child: its process id.
#[derive(Debug)]
pub(crate) struct ChildHandle {
    pid: u32,
}

impl ChildHandle {
    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    /// `Worker.terminate()`; the end is reported as -15 (terminate) or -9 (kill).
    pub(crate) fn signal(&self, signal: Signal) -> Result<(), String> {
        let code = match signal {
            Signal::Terminate => -15,
            Signal::Kill => -9,
        };
        // From now on the child's workers may not write shared memory (see `region.js`), even
        // while they run on before the browser stops them.
        region::pid_ended(self.pid);
        signal_process(self.pid, code).map_err(|err| format!("{err:?}"))
    }
}

/// A function of this module (its address: a function-table index, the same in every instance
/// of the module, so in every process of the tree) as a number.
pub(crate) fn code_ref(address: usize) -> Result<u64, String> {
    Ok(address as u64)
}

/// The address of the function [`code_ref`] numbered `code`: a table index. A wrong one can
/// only make `call_indirect` trap (wasm checks the index and the signature), never run
/// something else as if it had the right type.
pub(crate) fn code_address(code: u64) -> Result<usize, String> {
    u32::try_from(code)
        .map(|index| index as usize)
        .map_err(|_| format!("{code} is not a function of this module"))
}

/// Starts a child process worker (see the module docs).
pub(crate) fn spawn_process(start: ProcessStart, watch: Watch) -> Result<ChildHandle, String> {
    // The child needs the region's buffer (not its header, which the first instance to use a
    // shared object initialises); the first process of a tree creates it.
    region::isolated_buffer()?;
    let pid = region::new_pid(current_pid());
    let spec = Object::new();
    let set = |key: &str, value: JsValue| Reflect::set(&spec, &key.into(), &value).map(drop);
    set("pid", pid.into())
        .and_then(|()| set("entry", (start.entry as usize).into()))
        .and_then(|()| set("lost", (start.lost as usize).into()))
        .and_then(|()| set("target", start.target.into()))
        .and_then(|()| set("payload", Uint8Array::from(start.payload.as_slice()).into()))
        // Whether the child records its trace events and hands them back (feature `trace`).
        .and_then(|()| set("trace", crate::trace::recording().into()))
        .map_err(|err| format!("{err:?}"))?;
    children().get_or_insert_with(HashMap::new).insert(
        pid,
        Child {
            watch,
            daemon: start.daemon,
        },
    );
    let main_url = super::worker::main_url();
    let requested =
        EXITED.with(|exited| request_process(wasm_bindgen::module(), &main_url, &spec, exited));
    if let Err(err) = requested {
        if let Some(map) = children().as_mut() {
            map.remove(&pid);
        }
        region::pid_ended(pid);
        return Err(format!("could not start a process worker: {err:?}"));
    }
    Ok(ChildHandle { pid })
}

/// The end of child `pid`, in the realm that created its worker: its exit code and its report,
/// or why it could not run, and the trace events it recorded (a JSON array) if it was told to.
fn process_exited(
    pid: u32,
    code: i32,
    report: Option<Vec<u8>>,
    broken: Option<String>,
    trace_events: Option<String>,
) {
    let Some(child) = children().as_mut().and_then(|map| map.remove(&pid)) else {
        return;
    };
    // Before the exit is visible: whoever joins the child finds its events recorded.
    if let Some(events) = trace_events {
        crate::trace::adopt_child_events(&events);
    }
    region::pid_ended(pid);
    let report = match (report, broken) {
        (_, Some(reason)) => ChildReport::Broken(reason),
        (Some(bytes), None) => ChildReport::Sent(bytes),
        (None, None) => ChildReport::Missing,
    };
    child.watch.exited(code, report);
    let word = child.watch.exit_word();
    word.store(PROCESS_EXITED, Ordering::Release);
    super::wake(crate::sys::Futex::Private(word), crate::sys::Wake::All);
}

/// How the entry's thread ended.
#[derive(Default)]
struct Run {
    exit: AtomicU32,
    outcome: Mutex<Option<ChildExit>>,
    lost: Mutex<Option<String>>,
    /// The code another thread of this process asked to exit with (see [`exit_process`]).
    exit_request: Mutex<Option<i32>>,
}

/// The exit word's value once another thread asked the process to exit (the entry's thread
/// still runs; it is stopped with the worker).
const EXIT_REQUESTED: u32 = 3;

/// This process's run, for [`exit_process`]; set once by [`process_main`].
static RUN: OnceLock<Arc<Run>> = OnceLock::new();

/// Ends this child process with `code` from any of its threads (see the module docs): never
/// returns there. On the page, which cannot exit, returns why.
pub(crate) fn exit_process(code: i32) -> String {
    let Some(run) = RUN.get().filter(|_| current_pid() != ROOT_PID) else {
        return "the page's process cannot end itself (only a child process can exit)".to_owned();
    };
    crate::sync::spin::lock(&run.exit_request).get_or_insert(code);
    let _ = run.exit.compare_exchange(
        THREAD_RUNNING,
        EXIT_REQUESTED,
        Ordering::AcqRel,
        Ordering::Acquire,
    );
    super::wake(crate::sys::Futex::Private(&run.exit), crate::sys::Wake::All);
    // Every thread of a child is a worker, which may sleep: this one sleeps until the process
    // worker stops it.
    loop {
        super::sleep(std::time::Duration::from_secs(3600));
    }
}

impl ThreadWatch for Run {
    fn exit_word(&self) -> &AtomicU32 {
        &self.exit
    }
    fn lost(&self, reason: String) {
        crate::sync::spin::lock(&self.lost).get_or_insert(reason);
    }
}

/// A process worker's main: runs the entry on a thread of this fresh instance and resolves with
/// `{ code, report }` once it and this process's non-daemonic children are done.
///
/// `entry`, `lost` and `target` are addresses the parent took in its instance of this module:
/// function table indices, identical here. A wrong one can only make `call_indirect` trap
/// (wasm checks the signature), which ends this worker as a lost process.
#[doc(hidden)]
#[allow(unreachable_pub)] // exported to JavaScript, not to Rust
#[wasm_bindgen(js_name = __amphi_process_main)]
pub async fn process_main(
    pid: u32,
    entry: usize,
    lost: usize,
    target: usize,
    payload: Vec<u8>,
    trace: bool,
) -> JsValue {
    PID.store(pid, Ordering::Relaxed);
    if trace {
        crate::trace::child_records();
    }
    // SAFETY: `entry` and `lost` are the parent's `ProcessStart::entry` and `::lost`, function
    // pointers of this same module (table indices, the same in every instance); function
    // pointers and `usize` have the same size on wasm32. `ProcessStart`'s contract makes
    // `entry(target, payload)` sound here.
    let (entry, lost) = unsafe {
        (
            std::mem::transmute::<usize, ProcessEntry>(entry),
            std::mem::transmute::<usize, ChildLost>(lost),
        )
    };
    let run = Arc::clone(RUN.get_or_init(|| Arc::new(Run::default())));
    let body = {
        let run = Arc::clone(&run);
        Box::new(move || {
            // SAFETY: see above: the parent paired `entry` with `target`.
            let exit = unsafe { entry(target as *const (), &payload) };
            *crate::sync::spin::lock(&run.outcome) = Some(exit);
            run.exit.store(THREAD_EXITED, Ordering::Release);
            super::wake(crate::sys::Futex::Private(&run.exit), crate::sys::Wake::All);
        })
    };
    let exit = match super::spawn(
        "process main",
        body,
        Arc::clone(&run) as Arc<dyn ThreadWatch>,
    ) {
        Ok(()) => {
            while run.exit.load(Ordering::Acquire) == THREAD_RUNNING {
                super::wait_async(&run.exit, THREAD_RUNNING).await;
            }
            let requested = *crate::sync::spin::lock(&run.exit_request);
            if let Some(code) = requested {
                wait_for_children().await;
                return exit_result(code, None);
            }
            let outcome = crate::sync::spin::lock(&run.outcome).take();
            outcome.unwrap_or_else(|| {
                let reason = crate::sync::spin::lock(&run.lost).take();
                lost(reason.as_deref().unwrap_or("its worker ended"))
            })
        }
        Err(reason) => lost(&reason),
    };
    wait_for_children().await;
    exit_result(exit.code, Some(&exit.report))
}

/// `{ code, report, traceEvents }` for `worker.js`; no report (an exit asked for by another
/// thread) is heard by the parent as a missing one. `traceEvents`, when the parent asked this
/// process to record: its events and its children's, a JSON array.
fn exit_result(code: i32, report: Option<&[u8]>) -> JsValue {
    let result = Object::new();
    let _ = Reflect::set(&result, &"code".into(), &code.into());
    if let Some(report) = report {
        let _ = Reflect::set(&result, &"report".into(), &Uint8Array::from(report).into());
    }
    if let Some(events) = crate::trace::child_events() {
        let _ = Reflect::set(&result, &"traceEvents".into(), &events.into());
    }
    result.into()
}

/// In a process worker about to be stopped (see `stopProcessWorker` in `worker.js`): ends this
/// process's recording and returns its events so far (a JSON array of the slices that closed),
/// or `None` when it does not record (any more: a process that exited sent its events with its
/// exit report). So a terminated or killed child loses only the spans still open, as natively.
#[doc(hidden)]
#[allow(unreachable_pub)] // exported to JavaScript, not to Rust
#[wasm_bindgen(js_name = __amphi_take_trace_events)]
pub fn take_trace_events() -> Option<String> {
    crate::trace::child_events()
}

/// Waits until every non-daemonic child of this process has ended.
async fn wait_for_children() {
    loop {
        let waiting = children().as_ref().and_then(|map| {
            map.values()
                .find(|child| !child.daemon)
                .map(|child| Arc::clone(&child.watch))
        });
        // Unwind safety: a panic here (there is none) would only abandon the wait.
        let Some(watch) = waiting.map(std::panic::AssertUnwindSafe) else {
            return;
        };
        let word = watch.exit_word();
        while word.load(Ordering::Acquire) == PROCESS_RUNNING {
            super::wait_async(word, PROCESS_RUNNING).await;
        }
    }
}
