//! wasm-bindgen exports: `listExamples`, `exampleSources`, `runExample`, `runBenchmark`, and the
//! TypeScript types they return.

use std::future::{poll_fn, Future};
use std::panic::AssertUnwindSafe;
use std::pin::{pin, Pin};
use std::sync::{Arc, Mutex, TryLockError};
use std::task::Poll;

use amphi_examples::{self as examples, Report};

use crate::bench;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = r#"
/** One example amphi can run. */
export interface ExampleInfo { name: string; summary: string }
/** An example's sources (`exampleSources`). */
export interface ExampleSources {
  /** The Rust source: the module of the examples crate that holds the example's body. */
  rust: string;
  /** The Python program of its seed that it translates; null when no seed has code for it. */
  python: string | null;
}
/** A named check an example makes about its own result. */
export interface Check { name: string; ok: boolean; detail: string }
/** The outcome of one example run (the same object as `amphi run NAME --json`). */
export interface Report {
  example: string;
  /** True when the example finished and every check held. */
  ok: boolean;
  checks: Check[];
  output: string[];
  error: string | null;
  elapsed_ms: number;
}
/** Options of `runExample`. */
export interface RunOptions {
  /** Called with each output line while the example runs, in the order of `Report.output`. */
  onLine?: (line: string) => void;
  /** Record the run's timeline: the report then carries `trace` (or `trace_error`). */
  trace?: boolean;
}
/**
 * One Chrome trace-event (the format of `amphi run NAME --trace`, which Perfetto and
 * chrome://tracing open): a complete slice (`ph: "X"`, `ts` and `dur` in microseconds), a flow
 * from a task's submission to its run (`"s"`/`"f"`, paired by `id`), or process and thread
 * name metadata (`"M"`, the name in `args.name`). `pid` is amphi's process id (the page's and
 * each isolated worker's), `tid` the native thread id within it.
 */
export interface TraceEvent {
  name: string;
  ph: "X" | "s" | "f" | "M";
  ts: number;
  dur?: number;
  pid: number;
  tid: number;
  cat?: string;
  id?: number;
  bp?: string;
  args?: Record<string, unknown>;
}
/** The report of a run with `{ trace: true }`. */
export interface TracedReport extends Report {
  /** The run's events, its child processes' included, ordered by time; null if it could not record. */
  trace: TraceEvent[] | null;
  /** Why the run could not be recorded (another run was recording), else absent. */
  trace_error?: string;
}
/** One browser benchmark: amphi against its std peer, measured in the same call. */
export interface BenchmarkResult {
  /** "lock-contended", "event-ping-pong" or "queue-throughput". */
  name: string;
  /** What one op is. */
  op: string;
  amphi: string;
  amphi_ns_per_op: number;
  peer: string;
  peer_ns_per_op: number;
  /** amphi_ns_per_op / peer_ns_per_op: below 1 means amphi is faster. */
  ratio: number;
  ops_per_run: number;
  /** Timed runs of each side (after a warm-up run); the figures are their medians. */
  runs: number;
}
"#;

/// The examples this build can run, in a stable order.
#[wasm_bindgen(js_name = listExamples, unchecked_return_type = "ExampleInfo[]")]
#[allow(unreachable_pub)] // exported to JavaScript
pub fn list_examples() -> JsValue {
    let list: Vec<_> = examples::list()
        .iter()
        .map(|e| serde_json::json!({ "name": e.name, "summary": e.summary }))
        .collect();
    to_js(&list)
}

/// The sources of the example `name`: its Rust source and the Python original it translates
/// (`null` for an example no seed has code for), as `amphi show NAME` prints them. Kept apart
/// from `listExamples`, which stays light. Throws an `Error` for an unknown name.
#[wasm_bindgen(js_name = exampleSources, unchecked_return_type = "ExampleSources")]
#[allow(unreachable_pub)] // exported to JavaScript
pub fn example_sources(name: &str) -> Result<JsValue, JsError> {
    let example =
        examples::find(name).ok_or_else(|| JsError::new(&format!("no example named '{name}'")))?;
    Ok(to_js(&serde_json::json!({
        "rust": example.source,
        "python": example.python,
    })))
}

/// Runs the example `name` on an amphi thread (a Web Worker) and resolves to its report.
/// `options.onLine`, if given, receives each output line while the example runs (this thread
/// collects them every `LINE_POLL_MS`, and hands over the last ones before resolving).
/// With `options.trace`, the run is recorded (`amphi::trace::record`, the child processes'
/// events included) and the report carries `trace`: its Chrome trace-event array, or `null`
/// and `trace_error` when another run was recording.
/// Never rejects: a failure to start (for instance a page that is not cross-origin isolated)
/// is a report with `ok: false` and the reason in `error`.
#[wasm_bindgen(
    js_name = runExample,
    unchecked_return_type = "Promise<Report | TracedReport>"
)]
#[allow(unreachable_pub)] // exported to JavaScript
pub fn run_example(
    name: String,
    #[wasm_bindgen(unchecked_optional_param_type = "RunOptions")] options: JsValue,
) -> js_sys::Promise {
    // Unwind safety: a panic in the example is caught on its own thread and reported; none
    // can escape this future half-way through a shared state it would leave broken.
    wasm_bindgen_futures::future_to_promise(AssertUnwindSafe(async move {
        let (on_line, trace) = match (on_line_option(&options), trace_option(&options)) {
            (Ok(on_line), Ok(trace)) => (on_line, trace),
            (Err(why), _) | (_, Err(why)) => return Ok(to_js(&failed_report(name, why))),
        };
        if !trace {
            return Ok(to_js(&run_example_here(name, on_line).await));
        }
        let recording = amphi::trace::record();
        let report = run_example_here(name, on_line).await;
        let (events, trace_error) = match recording {
            Ok(recording) => (Some(recording.finish()), None),
            Err(why) => (None, Some(why)),
        };
        let mut value = serde_json::to_value(&report).expect("reports always serialise");
        value["trace"] = serde_json::json!(events);
        if let Some(why) = trace_error {
            value["trace_error"] = serde_json::json!(why);
        }
        Ok(to_js(&value))
    }))
}

/// `options.trace`: false when `options` or the field is absent.
fn trace_option(options: &JsValue) -> Result<bool, String> {
    if !options.is_object() {
        return Ok(false);
    }
    let trace = js_sys::Reflect::get(options, &JsValue::from_str("trace"))
        .map_err(|error| format!("runExample: could not read options.trace: {error:?}"))?;
    match trace.as_bool() {
        Some(trace) => Ok(trace),
        None if trace.is_undefined() || trace.is_null() => Ok(false),
        None => Err("runExample: options.trace must be a boolean".to_owned()),
    }
}

/// How often a run with `onLine` hands new lines to it.
const LINE_POLL_MS: i32 = 25;

/// `options.onLine`: `None` when `options` or the field is absent.
fn on_line_option(options: &JsValue) -> Result<Option<js_sys::Function>, String> {
    if options.is_undefined() || options.is_null() {
        return Ok(None);
    }
    if !options.is_object() {
        return Err("runExample: options must be an object".to_owned());
    }
    let on_line = js_sys::Reflect::get(options, &JsValue::from_str("onLine"))
        .map_err(|error| format!("runExample: could not read options.onLine: {error:?}"))?;
    if on_line.is_undefined() || on_line.is_null() {
        return Ok(None);
    }
    on_line
        .dyn_into()
        .map(Some)
        .map_err(|_| "runExample: options.onLine must be a function".to_owned())
}

async fn run_example_here(name: String, on_line: Option<js_sys::Function>) -> Report {
    // Lines are printed on worker threads, which may block on this mutex; this thread only
    // ever `try_lock`s it (blocking here would trap) and calls `onLine` with the lock released.
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut options = examples::Options::default();
    if on_line.is_some() {
        let lines = Arc::clone(&lines);
        options.on_line = Some(Arc::new(move |line: &str| {
            let mut lines = lines.lock().unwrap_or_else(|poison| poison.into_inner());
            lines.push(line.to_owned());
        }));
    }
    let started = amphi::thread::Builder::new()
        .name(format!("example {name}"))
        .spawn({
            let name = name.clone();
            move || examples::run(&name, &options)
        });
    let outcome = match (started, on_line) {
        (Ok(thread), None) => thread.join_async().await,
        (Ok(thread), Some(on_line)) => {
            let mut delivered = 0;
            let mut joined = pin!(thread.join_async());
            loop {
                let mut tick = JsFuture::from(sleep(LINE_POLL_MS));
                let ended = poll_fn(|cx| match joined.as_mut().poll(cx) {
                    Poll::Ready(outcome) => Poll::Ready(Some(outcome)),
                    Poll::Pending => Pin::new(&mut tick).poll(cx).map(|_| None),
                })
                .await;
                match ended {
                    None => {
                        let fresh = take_new_lines(&lines, delivered);
                        deliver(&on_line, &mut delivered, &fresh);
                    }
                    Some(outcome) => {
                        // The report holds every line, in the order `lines` got them.
                        if let Ok(report) = &outcome {
                            let rest = report.output.get(delivered..).unwrap_or_default();
                            deliver(&on_line, &mut delivered, rest);
                        }
                        break outcome;
                    }
                }
            }
        }
        (Err(error), _) => Err(error),
    };
    outcome.unwrap_or_else(|error| failed_report(name, error.to_string()))
}

/// The lines after the first `delivered`, or none while a worker holds the lock.
fn take_new_lines(lines: &Mutex<Vec<String>>, delivered: usize) -> Vec<String> {
    match lines.try_lock() {
        Ok(lines) => lines[delivered..].to_vec(),
        Err(TryLockError::Poisoned(poison)) => poison.into_inner()[delivered..].to_vec(),
        Err(TryLockError::WouldBlock) => Vec::new(),
    }
}

/// Calls `on_line` with each of `fresh` and counts them in `delivered`.
fn deliver(on_line: &js_sys::Function, delivered: &mut usize, fresh: &[String]) {
    *delivered += fresh.len();
    for line in fresh {
        if let Err(error) = on_line.call1(&JsValue::UNDEFINED, &JsValue::from_str(line)) {
            console_error("amphi: runExample's onLine threw:", &error);
        }
    }
}

fn failed_report(name: String, error: String) -> Report {
    Report {
        example: name,
        ok: false,
        checks: Vec::new(),
        output: Vec::new(),
        error: Some(error),
        elapsed_ms: 0.0,
    }
}

/// A promise that resolves after `ms` milliseconds, on any thread with an event loop.
fn sleep(ms: i32) -> js_sys::Promise {
    js_sys::Promise::new(&mut |resolve, _reject| {
        set_timeout(&resolve, ms);
    })
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &js_sys::Function, ms: i32) -> JsValue;
    #[wasm_bindgen(js_namespace = console, js_name = error)]
    fn console_error(message: &str, error: &JsValue);
}

/// Runs the benchmark `name` (`"lock-contended"`, `"event-ping-pong"` or `"queue-throughput"`) on
/// an amphi thread (a Web Worker, which spawns the threads being measured) and resolves to
/// amphi's and the peer's time per op and their ratio. Rejects for an unknown name or when
/// threads cannot start.
#[wasm_bindgen(js_name = runBenchmark, unchecked_return_type = "Promise<BenchmarkResult>")]
#[allow(unreachable_pub)] // exported to JavaScript
pub fn run_benchmark(name: String) -> js_sys::Promise {
    // Unwind safety: as `run_example`'s (the benchmark runs on its own thread).
    wasm_bindgen_futures::future_to_promise(AssertUnwindSafe(async move {
        let outcome = match bench::NAMES.iter().find(|known| **known == name) {
            None => Err(format!(
                "unknown benchmark {name:?}; known: {}",
                bench::NAMES.join(", ")
            )),
            Some(&known) => match amphi::thread::Builder::new()
                .name(format!("benchmark {known}"))
                .spawn(move || bench::run(known))
            {
                Ok(thread) => match thread.join_async().await {
                    Ok(measured) => measured,
                    Err(error) => Err(error.to_string()),
                },
                Err(error) => Err(error.to_string()),
            },
        };
        match outcome {
            Ok(comparison) => Ok(to_js(&comparison)),
            Err(why) => Err(js_sys::Error::new(&format!("benchmark {name}: {why}")).into()),
        }
    }))
}

fn to_js(value: &impl serde::Serialize) -> JsValue {
    let text = serde_json::to_string(value).expect("reports always serialise");
    js_sys::JSON::parse(&text).expect("serde_json writes valid JSON")
}
