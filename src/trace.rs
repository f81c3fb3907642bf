//! Spans of what ran where and when, and their export as Chrome trace-event JSON.
//!
//! Behind the cargo feature `trace` (off by default) the crate emits
//! [`tracing`](https://docs.rs/tracing) spans for thread lifetimes (`thread`), a child process's
//! lifetime (`process`, in the child) and the parent's start of and wait for it (`process.start`,
//! `process.join`), pool tasks, thread and process alike (`pool.submit` where a task is queued,
//! `pool.task` where it runs, in the worker process for a process pool, both with the task's
//! `submission` id, which a process pool's task message carries), and the sleeping paths of the
//! primitives, thread and process alike, and of the queues and pipes (`wait.lock`,
//! `wait.semaphore`, `wait.event`, `wait.condition`, `wait.barrier`, `wait.get` and `wait.put`
//! for the thread queues and pipes, `wait.ring` for a process queue's or pipe's ring). A wait
//! span is created inside the slow-path function only: an uncontended acquire stays one
//! compare-and-swap. Without the feature the `span!` macro expands to a unit struct without
//! `Drop` and `tracing` is not a dependency at all.
//!
//! With the feature on, the recorder (a small `tracing::Subscriber`, installed once as the
//! process's global subscriber) keeps the spans of one recording at a time: [`record`] starts
//! one and [`Recording::finish`] ends it and returns its events, as often as a program likes
//! (the browser page records each run this way). Its child processes record too, each sending
//! its events to the parent as the platform allows (`crate::sys::trace_files` natively,
//! `sys/web/process.rs` in the browser). Natively a recording names a trace file ([`start`]'s,
//! or one of its own): children started while it records inherit its name through the
//! environment variable `AMPHI_TRACE_FILE` and append each event, the moment its span closes,
//! as one JSON line to `FILE.part-PID` beside it (so a child killed mid-run loses only its
//! open spans); the end of the recording ([`finish`] after [`start`]) merges and removes
//! those part files. In the browser a child learns from its start message that its parent
//! records, records in memory, and hands its events back with its exit report, or, when it is
//! terminated or killed, as its worker is stopped (so it too loses only its open spans); the
//! parent's instance adds them to its own recording (grandchildren's events travel up the same
//! way).
//!
//! The events: complete slices (`"ph":"X"`, microseconds), flow events from a task's submission
//! to its run (`"s"`/`"f"`), and process and thread name metadata (`"M"`), with amphi's process
//! ids and native thread ids. Timestamps are amphi's monotonic clock ([`crate::time::Instant`]),
//! natively the machine's `CLOCK_MONOTONIC` and in the browser `performance.timeOrigin +
//! performance.now()`: one clock for the whole process tree.

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

/// In a child, before its target runs: natively, records the child's spans if its parent
/// traces to a file (a browser child is told by its start message, see [`child_records`]).
#[cfg(feature = "trace")]
pub(crate) fn child_begins() {
    if let Some(part) = crate::sys::trace_files::child_part() {
        recorder::stream_to(part);
    }
}

/// In a child, before its target runs: records the child's spans if its parent traces.
#[cfg(not(feature = "trace"))]
#[inline(always)]
pub(crate) fn child_begins() {}

/// Whether this process records now: a child it starts is told to record too.
#[cfg(feature = "trace")]
#[allow(dead_code)] // the hand-back of a child's events: the browser's platform code only
pub(crate) fn recording() -> bool {
    recorder::active()
}

/// Whether this process records now (never without the feature `trace`).
#[cfg(not(feature = "trace"))]
#[allow(dead_code)] // the hand-back of a child's events: the browser's platform code only
#[inline(always)]
pub(crate) fn recording() -> bool {
    false
}

/// In a child whose parent records and which hands its events back itself (the browser's):
/// starts recording in memory before the child's entry runs.
#[cfg(feature = "trace")]
#[allow(dead_code)] // the hand-back of a child's events: the browser's platform code only
pub(crate) fn child_records() {
    // A child's instance is fresh: nothing else installed a subscriber or records there.
    std::mem::forget(record());
}

/// In a child whose parent records: nothing to record without the feature `trace`.
#[cfg(not(feature = "trace"))]
#[allow(dead_code)] // the hand-back of a child's events: the browser's platform code only
#[inline(always)]
pub(crate) fn child_records() {}

/// In such a child at its end: its events (with its own children's) as a JSON array, for its
/// exit report; `None` when it did not record.
#[cfg(feature = "trace")]
#[allow(dead_code)] // the hand-back of a child's events: the browser's platform code only
pub(crate) fn child_events() -> Option<String> {
    recorder::active().then(|| serde_json::Value::from(recorder::end()).to_string())
}

/// In such a child at its end: no events without the feature `trace`.
#[cfg(not(feature = "trace"))]
#[allow(dead_code)] // the hand-back of a child's events: the browser's platform code only
#[inline(always)]
pub(crate) fn child_events() -> Option<String> {
    None
}

/// In the parent, when a child that recorded has ended: adds its events (a JSON array, as
/// [`child_events`] wrote it) to this process's recording, if it still records.
#[cfg(feature = "trace")]
#[allow(dead_code)] // the hand-back of a child's events: the browser's platform code only
pub(crate) fn adopt_child_events(events: &str) {
    if let Ok(serde_json::Value::Array(events)) = serde_json::from_str(events) {
        recorder::adopt(events);
    }
}

/// In the parent, when a child that recorded has ended: nothing without the feature `trace`.
#[cfg(not(feature = "trace"))]
#[allow(dead_code)] // the hand-back of a child's events: the browser's platform code only
#[inline(always)]
pub(crate) fn adopt_child_events(_events: &str) {}

#[cfg(feature = "trace")]
pub use recorder::{finish, record, start, Recording, TRACE_FILE_ENV};

/// A slice named `run` with the field `example` on the calling thread, until the returned
/// guard drops: a program's own part of the timeline (the CLI wraps each example in one).
#[cfg(feature = "trace")]
pub fn run_span(example: &str) -> tracing::span::EnteredSpan {
    tracing::info_span!(target: "amphi", "run", example).entered()
}

#[cfg(feature = "trace")]
mod recorder {
    //! The recorder: a `tracing::Subscriber` that keeps each span's start, thread and fields,
    //! and turns it into a complete trace event when the span closes, while a recording is
    //! under way.
    //!
    //! Its locks are taken by spinning (`crate::sync::spin`): in the browser the page's main
    //! thread adds a child's events, and may not sleep on a contended mutex.

    use std::collections::hash_map::Entry;
    use std::collections::HashMap;
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::{Mutex, MutexGuard, OnceLock};

    use serde_json::{json, Value};
    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Metadata, Subscriber};

    use crate::sys::trace_files::PartFile;

    pub use crate::sys::trace_files::TRACE_FILE_ENV;

    /// The recorder of this process (of this instance, in the browser).
    static RECORDER: OnceLock<Recorder> = OnceLock::new();

    /// Whether [`Global`] became the global subscriber; set once.
    static INSTALLED: OnceLock<bool> = OnceLock::new();

    /// A recording under way: its events are [`Recording::finish`]'s. Dropping it unfinished
    /// ends it and discards them.
    #[derive(Debug)]
    pub struct Recording {
        finished: bool,
    }

    impl Recording {
        /// Ends the recording: the events of this process and of the children that sent theirs
        /// (natively those started while it recorded, from their part files; in the browser
        /// those that ended while it recorded), ordered by time, with process and thread name
        /// metadata.
        pub fn finish(mut self) -> Vec<Value> {
            self.finished = true;
            finish_recording()
        }
    }

    impl Drop for Recording {
        fn drop(&mut self) {
            if !self.finished {
                finish_recording();
            }
        }
    }

    /// Starts recording the spans of this process, and of the child processes it starts while
    /// it records, installing the recorder as the global subscriber the first time. Fails if
    /// another global subscriber was installed first, or while another recording is under way.
    ///
    /// # Examples
    ///
    /// ```
    /// let recording = amphi::trace::record().expect("nothing else records");
    /// let worker = amphi::thread::Builder::new().name("worker").spawn(|| 6 * 7)?;
    /// assert_eq!(worker.join()?, 42);
    /// let events = recording.finish();
    /// assert!(events.iter().any(|event| event["name"] == "thread" && event["ph"] == "X"));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn record() -> Result<Recording, String> {
        record_into(None)
    }

    /// Natively: starts a recording ([`record`]) whose children append their events beside
    /// `path` (see the module docs); [`finish`] ends it. In the browser, which has no files,
    /// this fails: use [`record`].
    pub fn start(path: &Path) -> Result<(), String> {
        // Ended by `finish`.
        std::mem::forget(record_into(Some(path))?);
        Ok(())
    }

    /// Ends the recording [`start`] began: this process's events and those its children
    /// appended (their part files are removed), ordered by time, with process and thread name
    /// metadata; empty without a recording.
    pub fn finish() -> Vec<Value> {
        if !active() {
            return Vec::new();
        }
        finish_recording()
    }

    /// Starts a recording whose children write beside `path` (natively; a path of its own
    /// when `None`).
    fn record_into(path: Option<&Path>) -> Result<Recording, String> {
        let files = crate::sys::trace_files::for_recording(path)?;
        begin()?;
        if let Some(files) = &files {
            crate::sys::trace_files::announce(files);
        }
        *lock(&recorder().trace_file) = files;
        Ok(Recording { finished: false })
    }

    /// Starts recording in memory.
    fn begin() -> Result<(), String> {
        let recorder = recorder();
        let installed =
            *INSTALLED.get_or_init(|| tracing::subscriber::set_global_default(Global).is_ok());
        if !installed {
            return Err("another tracing subscriber is already installed".into());
        }
        if recorder.active.swap(true, Ordering::AcqRel) {
            return Err("a recording is already under way in this process".into());
        }
        recorder.generation.fetch_add(1, Ordering::AcqRel);
        lock(&recorder.events).clear();
        lock(&recorder.threads).clear();
        Ok(())
    }

    /// Ends the recording: its events and its children's part files', sorted.
    fn finish_recording() -> Vec<Value> {
        let path = lock(&recorder().trace_file).take();
        if path.is_some() {
            crate::sys::trace_files::withdraw();
        }
        let mut events = end();
        if let Some(path) = path {
            events.extend(crate::sys::trace_files::take_parts(&path));
        }
        events.sort_by(|a, b| {
            let ts = |event: &Value| event["ts"].as_f64().unwrap_or(0.0);
            ts(a).total_cmp(&ts(b))
        });
        events
    }

    fn recorder() -> &'static Recorder {
        RECORDER.get_or_init(|| Recorder {
            active: AtomicBool::new(false),
            generation: AtomicU64::new(0),
            next_id: AtomicU64::new(1),
            open: Mutex::new(HashMap::new()),
            events: Mutex::new(Vec::new()),
            threads: Mutex::new(HashMap::new()),
            trace_file: Mutex::new(None),
            part: OnceLock::new(),
            process_named: AtomicBool::new(false),
        })
    }

    /// Whether a recording is under way.
    pub(super) fn active() -> bool {
        RECORDER
            .get()
            .is_some_and(|recorder| recorder.active.load(Ordering::Acquire))
    }

    /// Ends the recording: its events, with this process's name metadata.
    pub(super) fn end() -> Vec<Value> {
        let Some(recorder) = RECORDER.get() else {
            return Vec::new();
        };
        recorder.active.store(false, Ordering::Release);
        recorder.take_events()
    }

    /// Adds events a child sent back to the recording, if one is under way.
    pub(super) fn adopt(events: Vec<Value>) {
        if let Some(recorder) = RECORDER.get().filter(|_| active()) {
            lock(&recorder.events).extend(events);
        }
    }

    /// In a child whose parent traces to a file: records from now on, writing each event to
    /// `part` as it closes instead of keeping it.
    pub(super) fn stream_to(part: PartFile) {
        // The part file first: no event of the recording is kept in memory. The child records
        // until it ends; its events are in its part file as they close.
        if recorder().part.set(part).is_ok() {
            let _ = begin();
        }
    }

    /// The current time on amphi's clock, in microseconds.
    fn now_us() -> f64 {
        crate::sys::now().as_nanos() as f64 / 1000.0
    }

    fn lock<V>(mutex: &Mutex<V>) -> MutexGuard<'_, V> {
        crate::sync::spin::lock(mutex)
    }

    /// A span not yet closed.
    struct Open {
        name: &'static str,
        args: serde_json::Map<String, Value>,
        submission: Option<u64>,
        start_us: f64,
        tid: u64,
        /// The recording it was opened in: it is kept only if that one is still under way.
        generation: u64,
        references: usize,
    }

    /// What the recorder keeps for this process.
    struct Recorder {
        /// Whether a recording is under way: spans opened otherwise are not kept.
        active: AtomicBool,
        /// Which recording is (or was last) under way, counted from 1.
        generation: AtomicU64,
        next_id: AtomicU64,
        open: Mutex<HashMap<u64, Open>>,
        events: Mutex<Vec<Value>>,
        /// Thread ids to thread names, for the metadata events.
        threads: Mutex<HashMap<u64, String>>,
        /// Natively, the file beside which the children of the recording under way write.
        trace_file: Mutex<Option<PathBuf>>,
        /// In a child writing to its part file: that file.
        part: OnceLock<PartFile>,
        /// Whether this child wrote its process name to its part file.
        process_named: AtomicBool,
    }

    /// A process name metadata event.
    fn process_name(pid: u32) -> Value {
        let process = crate::process::current_process().name;
        json!({
            "name": "process_name", "ph": "M", "ts": 0, "pid": pid, "tid": 0,
            "args": { "name": process },
        })
    }

    /// A thread name metadata event.
    fn thread_name(pid: u32, tid: u64, name: &str) -> Value {
        json!({
            "name": "thread_name", "ph": "M", "ts": 0, "pid": pid, "tid": tid,
            "args": { "name": name },
        })
    }

    impl Recorder {
        /// Takes the events recorded so far, with this process's name metadata.
        fn take_events(&self) -> Vec<Value> {
            let pid = crate::sys::current_pid();
            let mut events = std::mem::take(&mut *lock(&self.events));
            events.push(process_name(pid));
            let threads = std::mem::take(&mut *lock(&self.threads));
            for (tid, name) in threads {
                events.push(thread_name(pid, tid, &name));
            }
            events
        }

        /// Keeps `event`, or in a child with a part file, appends it there at once.
        fn emit(&self, event: Value) {
            match self.part.get() {
                Some(part) => {
                    if !self.process_named.swap(true, Ordering::AcqRel) {
                        part.append(&process_name(crate::sys::current_pid()).to_string());
                    }
                    part.append(&event.to_string());
                }
                None => lock(&self.events).push(event),
            }
        }

        /// Records the calling thread's name the first time it opens a span, and the name of
        /// each further amphi thread that starts on it (`starts_thread`: the span is a thread's
        /// life). In the browser a worker keeps its number for every amphi thread it runs, so
        /// one thread id can carry several threads one after another; its name is then theirs,
        /// joined with " / " (the last `thread_name` event of a thread id is the one a viewer
        /// shows, as it is the one [`Recorder::take_events`] writes).
        fn saw_thread(&self, tid: u64, starts_thread: bool) {
            let named = {
                let mut threads = lock(&self.threads);
                match threads.entry(tid) {
                    Entry::Vacant(vacant) => {
                        Some(vacant.insert(crate::thread::current_name()).clone())
                    }
                    Entry::Occupied(mut occupied) if starts_thread => {
                        let name = crate::thread::current_name();
                        let names = occupied.get_mut();
                        if names.split(" / ").any(|known| known == name) {
                            None
                        } else {
                            names.push_str(" / ");
                            names.push_str(&name);
                            Some(names.clone())
                        }
                    }
                    Entry::Occupied(_) => None,
                }
            };
            if let (Some(name), Some(part)) = (named, self.part.get()) {
                part.append(&thread_name(crate::sys::current_pid(), tid, &name).to_string());
            }
        }

        fn close(&self, open: Open) {
            if !self.active.load(Ordering::Acquire)
                || open.generation != self.generation.load(Ordering::Acquire)
            {
                return;
            }
            let pid = crate::sys::current_pid();
            let end_us = now_us();
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
                self.emit(flow);
            }
            self.emit(json!({
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
            let id = recorder.next_id.fetch_add(1, Ordering::Relaxed);
            if !recorder.active.load(Ordering::Acquire) {
                // Not kept: closing an id that is not open does nothing.
                return Id::from_u64(id);
            }
            let tid = crate::sys::native_thread_id();
            let name = attributes.metadata().name();
            recorder.saw_thread(tid, name == "thread");
            let open = Open {
                name,
                args,
                submission,
                start_us: now_us(),
                tid,
                generation: recorder.generation.load(Ordering::Acquire),
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
