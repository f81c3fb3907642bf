//! Spans of what ran where and when, and their export as Chrome trace-event JSON.
//!
//! Behind the cargo feature `trace` (off by default) the crate emits
//! [`tracing`](https://docs.rs/tracing) spans for thread lifetimes (`thread`), a child process's
//! lifetime (`process`, in the child) and the parent's start of and wait for it (`process.start`,
//! `process.join`), thread pool tasks (`pool.submit` where a task is queued, `pool.task` where it
//! runs, both with the task's `submission` id), process pool tasks in their worker (`pool.task`),
//! and the sleeping paths of the `Lock` (thread and process), `Condition`, queue
//! and pipe waits (`wait.lock`, `wait.condition`, `wait.get` and `wait.put` for the thread queues
//! and pipes, `wait.ring` for a process queue's or pipe's ring). A wait span is created inside the
//! slow-path function only: an uncontended acquire stays one compare-and-swap. Without the feature
//! the `span!` macro expands to a unit struct without `Drop` and `tracing` is not a dependency at
//! all.
//!
//! With the feature on, `start` installs a recorder (a small `tracing::Subscriber`) as the
//! process's global subscriber and names a trace file; children started afterwards inherit the
//! file's name through the environment variable `AMPHI_TRACE_FILE`, record their own spans and,
//! when their entry returns, append them as JSON lines to `FILE.part-PID` beside it. `finish`
//! takes the parent's events, merges and removes the children's part files, and returns the
//! events: complete slices (`"ph":"X"`, microseconds), flow events from a task's submission to
//! its run (`"s"`/`"f"`), and process and thread name metadata (`"M"`). Timestamps are amphi's
//! monotonic clock ([`crate::time::Instant`]), which natively is the machine's `CLOCK_MONOTONIC`
//! and so one clock for the whole process tree.

/// A span entered until the end of the enclosing scope; `()` without the feature `trace`.
#[cfg(feature = "trace")]
macro_rules! span {
    ($name:literal $(, $($field:tt)*)?) => {
        ::tracing::info_span!(target: "amphi", $name $(, $($field)*)?).entered()
    };
}

/// A span entered until the end of the enclosing scope; `()` without the feature `trace`.
#[cfg(not(feature = "trace"))]
macro_rules! span {
    ($($anything:tt)*) => {
        $crate::trace::NoSpan
    };
}

/// What `span!` gives without the feature `trace`: nothing to record, and nothing to drop.
#[cfg(not(feature = "trace"))]
#[derive(Debug)]
pub(crate) struct NoSpan;

pub(crate) use span;

/// A fresh id linking a task's submission to its run (0 without the feature `trace`).
#[cfg(feature = "trace")]
pub(crate) fn next_submission() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// A fresh id linking a task's submission to its run (0 without the feature `trace`).
#[cfg(not(feature = "trace"))]
#[inline(always)]
pub(crate) fn next_submission() -> u64 {
    0
}

/// In a child, before its target runs: records the child's spans if its parent traces.
#[cfg(feature = "trace")]
pub(crate) fn child_begins() {
    if let Some(path) = std::env::var_os(TRACE_FILE_ENV) {
        recorder::install(std::path::PathBuf::from(path));
    }
}

/// In a child, before its target runs: records the child's spans if its parent traces.
#[cfg(not(feature = "trace"))]
#[inline(always)]
pub(crate) fn child_begins() {}

/// In a child, after its target returned: appends what it recorded to its part file.
#[cfg(feature = "trace")]
pub(crate) fn child_ends() {
    recorder::append_part();
}

/// In a child, after its target returned: appends what it recorded to its part file.
#[cfg(not(feature = "trace"))]
#[inline(always)]
pub(crate) fn child_ends() {}

#[cfg(feature = "trace")]
pub use recorder::{finish, start, TRACE_FILE_ENV};

/// A slice named `run` with the field `example` on the calling thread, until the returned
/// guard drops: a program's own part of the timeline (the CLI wraps each example in one).
#[cfg(feature = "trace")]
pub fn run_span(example: &str) -> tracing::span::EnteredSpan {
    tracing::info_span!(target: "amphi", "run", example).entered()
}

#[cfg(feature = "trace")]
mod recorder {
    //! The recorder: a `tracing::Subscriber` that keeps each span's start, thread and fields,
    //! and turns it into a complete trace event when the span closes.

    use std::collections::HashMap;
    use std::fs;
    use std::io::Write;
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Mutex, MutexGuard, OnceLock};

    use serde_json::{json, Value};
    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Metadata, Subscriber};

    /// The environment variable naming the trace file; children append their events beside it.
    pub const TRACE_FILE_ENV: &str = "AMPHI_TRACE_FILE";

    /// The recorder of this process, once installed.
    static RECORDER: OnceLock<Recorder> = OnceLock::new();

    /// Installs the recorder as this process's global subscriber and names the trace file:
    /// children started afterwards record too (see the module docs). Fails if another global
    /// subscriber was installed first.
    pub fn start(path: &Path) -> Result<(), String> {
        if !install(path.to_path_buf()) {
            return Err("another tracing subscriber is already installed".into());
        }
        // Set once before any child starts, from the thread that then starts them.
        std::env::set_var(TRACE_FILE_ENV, path);
        Ok(())
    }

    /// This process's events and those its children appended (their part files are removed),
    /// ordered by time, with process and thread name metadata; empty without [`start`].
    pub fn finish() -> Vec<Value> {
        let Some(recorder) = RECORDER.get() else {
            return Vec::new();
        };
        let mut events = recorder.take_events();
        if let Some(parts) = part_files(&recorder.path) {
            for part in parts {
                if let Ok(text) = fs::read_to_string(&part) {
                    events.extend(
                        text.lines()
                            .filter_map(|line| serde_json::from_str(line).ok()),
                    );
                }
                let _ = fs::remove_file(&part);
            }
        }
        events.sort_by(|a, b| {
            let ts = |event: &Value| event["ts"].as_f64().unwrap_or(0.0);
            ts(a).total_cmp(&ts(b))
        });
        events
    }

    /// Installs a recorder writing beside `path`; whether it became the global subscriber.
    pub(super) fn install(path: PathBuf) -> bool {
        let recorder = Recorder {
            path,
            next_id: AtomicU64::new(1),
            open: Mutex::new(HashMap::new()),
            events: Mutex::new(Vec::new()),
            threads: Mutex::new(HashMap::new()),
        };
        if RECORDER.set(recorder).is_err() {
            return false;
        }
        tracing::subscriber::set_global_default(Global).is_ok()
    }

    /// In a child: appends its events, one JSON object a line, to `FILE.part-PID`.
    pub(super) fn append_part() {
        let Some(recorder) = RECORDER.get() else {
            return;
        };
        let events = recorder.take_events();
        let mut name = recorder.path.file_name().unwrap_or_default().to_owned();
        name.push(format!(".part-{}", std::process::id()));
        let part = recorder.path.with_file_name(name);
        let mut text = String::new();
        for event in events {
            text.push_str(&event.to_string());
            text.push('\n');
        }
        if let Ok(mut file) = fs::OpenOptions::new().create(true).append(true).open(part) {
            // A trace is best effort: a child that cannot write it still runs its target.
            let _ = file.write_all(text.as_bytes());
        }
    }

    /// The part files beside `path` (`NAME.part-PID`).
    fn part_files(path: &Path) -> Option<Vec<PathBuf>> {
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let prefix = format!("{}.part-", path.file_name()?.to_string_lossy());
        let entries = fs::read_dir(dir).ok()?;
        Some(
            entries
                .filter_map(Result::ok)
                .filter(|entry| entry.file_name().to_string_lossy().starts_with(&prefix))
                .map(|entry| entry.path())
                .collect(),
        )
    }

    /// The current time on amphi's clock, in microseconds.
    fn now_us() -> f64 {
        crate::sys::now().as_nanos() as f64 / 1000.0
    }

    fn lock<V>(mutex: &Mutex<V>) -> MutexGuard<'_, V> {
        mutex.lock().unwrap_or_else(|poison| poison.into_inner())
    }

    /// A span not yet closed.
    struct Open {
        name: &'static str,
        args: serde_json::Map<String, Value>,
        submission: Option<u64>,
        start_us: f64,
        tid: u64,
        references: usize,
    }

    /// What the recorder keeps for this process.
    struct Recorder {
        path: PathBuf,
        next_id: AtomicU64,
        open: Mutex<HashMap<u64, Open>>,
        events: Mutex<Vec<Value>>,
        /// Thread ids to thread names, for the metadata events.
        threads: Mutex<HashMap<u64, String>>,
    }

    impl Recorder {
        /// Takes the events recorded so far, with this process's name metadata.
        fn take_events(&self) -> Vec<Value> {
            let pid = std::process::id();
            let process = crate::process::current_process().name;
            let mut events = std::mem::take(&mut *lock(&self.events));
            events.push(json!({
                "name": "process_name", "ph": "M", "ts": 0, "pid": pid, "tid": 0,
                "args": { "name": process },
            }));
            for (tid, name) in lock(&self.threads).iter() {
                events.push(json!({
                    "name": "thread_name", "ph": "M", "ts": 0, "pid": pid, "tid": tid,
                    "args": { "name": name },
                }));
            }
            events
        }

        fn close(&self, open: Open) {
            let pid = std::process::id();
            let end_us = now_us();
            let mut events = lock(&self.events);
            let mut args = open.args;
            if let Some(id) = open.submission {
                args.insert("submission".into(), json!(id));
                // The flow starts inside the submitting slice and ends at the task's start.
                let (ph, binding) = match open.name {
                    "pool.submit" => ("s", None),
                    _ => ("f", Some("e")),
                };
                let mut flow = json!({
                    "name": "task", "cat": "flow", "ph": ph, "id": id, "ts": open.start_us,
                    "pid": pid, "tid": open.tid,
                });
                if let Some(binding) = binding {
                    flow["bp"] = json!(binding);
                }
                events.push(flow);
            }
            events.push(json!({
                "name": open.name, "cat": "amphi", "ph": "X", "ts": open.start_us,
                "dur": (end_us - open.start_us).max(0.0), "pid": pid, "tid": open.tid,
                "args": args,
            }));
        }
    }

    /// The fields of a span, as trace-event `args`.
    struct Fields<'a> {
        args: &'a mut serde_json::Map<String, Value>,
        submission: &'a mut Option<u64>,
    }

    impl Visit for Fields<'_> {
        fn record_u64(&mut self, field: &Field, value: u64) {
            if field.name() == "submission" {
                *self.submission = Some(value);
            } else {
                self.args.insert(field.name().into(), json!(value));
            }
        }

        fn record_i64(&mut self, field: &Field, value: i64) {
            self.args.insert(field.name().into(), json!(value));
        }

        fn record_str(&mut self, field: &Field, value: &str) {
            self.args.insert(field.name().into(), json!(value));
        }

        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            self.args
                .insert(field.name().into(), json!(format!("{value:?}")));
        }
    }

    /// The global subscriber: forwards to [`RECORDER`].
    struct Global;

    impl Subscriber for Global {
        fn enabled(&self, metadata: &Metadata<'_>) -> bool {
            metadata.target() == "amphi"
        }

        fn new_span(&self, attributes: &Attributes<'_>) -> Id {
            let Some(recorder) = RECORDER.get() else {
                return Id::from_u64(u64::MAX);
            };
            let mut args = serde_json::Map::new();
            let mut submission = None;
            attributes.record(&mut Fields {
                args: &mut args,
                submission: &mut submission,
            });
            let tid = crate::sys::native_thread_id();
            lock(&recorder.threads)
                .entry(tid)
                .or_insert_with(crate::thread::current_name);
            let id = recorder.next_id.fetch_add(1, Ordering::Relaxed);
            let open = Open {
                name: attributes.metadata().name(),
                args,
                submission,
                start_us: now_us(),
                tid,
                references: 1,
            };
            lock(&recorder.open).insert(id, open);
            Id::from_u64(id)
        }

        fn record(&self, _span: &Id, _values: &Record<'_>) {}

        fn record_follows_from(&self, _span: &Id, _follows: &Id) {}

        fn event(&self, _event: &Event<'_>) {}

        fn enter(&self, _span: &Id) {}

        fn exit(&self, _span: &Id) {}

        fn clone_span(&self, id: &Id) -> Id {
            if let Some(recorder) = RECORDER.get() {
                if let Some(open) = lock(&recorder.open).get_mut(&id.into_u64()) {
                    open.references += 1;
                }
            }
            id.clone()
        }

        fn try_close(&self, id: Id) -> bool {
            let Some(recorder) = RECORDER.get() else {
                return false;
            };
            let closed = {
                let mut open = lock(&recorder.open);
                match open.get_mut(&id.into_u64()) {
                    Some(span) if span.references > 1 => {
                        span.references -= 1;
                        None
                    }
                    Some(_) => open.remove(&id.into_u64()),
                    None => None,
                }
            };
            match closed {
                Some(span) => {
                    recorder.close(span);
                    true
                }
                None => false,
            }
        }
    }
}
