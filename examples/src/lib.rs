//! The seed programs, written once and run from the CLI, the web page and the tests.
//!
//! Each example is a function over a [`Run`], which collects its output lines and its named
//! checks. [`run`] executes one by name and returns a [`Report`]: the same JSON object the CLI
//! prints with `--json` and the npm package's `runExample` resolves to.
//!
//! | name | seed | what it shows |
//! |---|---|---|
//! | `bank-account` | 002 | 100 threads deposit under a [`Lock`](amphi::Lock); the race without it |
//! | `early-stop` | 004 | a child [`Process`](amphi::process::Process) loops printing; its parent stops it with `terminate` |
//! | `shared-memory` | 001 | two processes update a shared [`Value`](amphi::process::Value) and [`Array`](amphi::process::Array), without and with a lock |
//! | `producer-consumer` | 001 | a producer and a consumer thread share a [`Queue`](amphi::Queue); a `None` sentinel ends it |
//! | `pipe` | 001 | a sender thread sends three messages through a [`pipe`](amphi::pipe()) and closes it; the receiver stops at end of file |
//! | `queue-workers-lock` | 004 | two workers drain a [`Queue`](amphi::Queue), doing each job under a [`Lock`](amphi::Lock) |
//! | `queue-workers-semaphore` | 004 | three workers drain a [`Queue`](amphi::Queue); a [`Semaphore`](amphi::Semaphore) lets at most two work at once |
//! | `washer-dryer` | 004 | a washer fills a [`JoinableQueue`](amphi::JoinableQueue), two detached dryers empty it, `join` waits for the last dish |
//! | `pool` | 004 | a [`ThreadPool`](amphi::ThreadPool) squares numbers with `map`, `apply_async` and a list of `apply_async` results |
//! | `process-pool` | 004 | the same on a process [`Pool`](amphi::process::Pool), as the seed runs it |
//! | `pool-executor` | 001 | `map`, `apply`, `map_async` on a [`ThreadPool`](amphi::ThreadPool); `map` and `submit` + [`as_completed`](amphi::thread::as_completed) on an [`Executor`](amphi::thread::Executor) |
//! | `process-pool-executor` | 001 | the same on a process [`Pool`](amphi::process::Pool) and a process [`Executor`](amphi::process::Executor) (`ProcessPoolExecutor`) |
//! | `cpu-speedup` | 001 | four CPU-bound sums, serial against an [`Executor`](amphi::thread::Executor) of four: equal results, both timings and the speed-up |
//! | `process-cpu-speedup` | 001 | four larger CPU-bound sums, serial against four threads against four processes: equal results, the three timings and their ratios |
//! | `manager` | 001 | three children append their pids to a [`Manager`](amphi::process::Manager)'s shared list and update a shared dict's counter: racy, then under a lock, then with the server-side `add` |
//! | `manager-dict` | 003 | two children each write one key of a [`Manager`](amphi::process::Manager)'s shared dict; the parent prints `{'a': 1, 'b': 2}` |
//! | `image-processing` | 001 | eight simulated image jobs, serial against [`ThreadPool::map`](amphi::ThreadPool::map) on four workers: equal results, both timings |
//! | `four-processes` | 004 | four child [`Process`](amphi::process::Process)es say who they are: four distinct pids, none the parent's |
//! | `distributed-squares` | — | a process [`Pool`](amphi::process::Pool) and `Executor` over Redis (`$AMPHI_REDIS`, or a local `redis-server`): three worker processes square 0..12, each result naming the worker's pid (native only) |
//! | `daemon` | 004 | a daemonic process outlives a timed `join`, a non-daemonic one finishes, and the daemon ends with its parent |
//! | `attacks-threads` | 000 | two pooled threads draw random attacks, each draw under one shared lock |
//! | `attacks-processes` | 000 | the same on a process [`Pool`](amphi::process::Pool) |
//! | `downloads` | 002 | two concurrent "downloads": the total time is near the longer one, not the sum |
//! | `primitives-tour` | 003 | `Lock`, `RLock`, `Semaphore`, `Event`, `Condition` and `Value` between processes, a scene each |
//! | `thread-jobs` | 004 | a long and a short job on threads while the main thread works; the short one finishes first |
//! | `thread-info` | 004 | [`active_count`](amphi::thread::active_count), [`enumerate`](amphi::thread::enumerate), [`current_thread`](amphi::thread::current_thread), [`main_thread`](amphi::thread::main_thread) and the idents |
//! | `timer` | — ¹ | a [`Timer`](amphi::thread::Timer) fires after its interval; a cancelled one never does |
//! | `daemon-threads` | 004 | a daemonic thread is still running when the work is done; the non-daemonic one is joined |
//! | `process-basics` | 001 | pids and parent pids, and `is_alive`, `daemon`, `pid`, `exitcode` before and after `start` |
//! | `start-methods` | 001 | the start methods offered and the one in use (natively re-execution, in the browser an isolated worker) |
//!
//! ¹ The issue that asked for `timer` lists it with seed 004's threading topics, but no seed
//! has `threading.Timer` code, so it has no Python original.
//!
//! Each example carries its sources: [`Example::source`], the Rust module that holds its
//! body, and [`Example::python`], the Python program of its seed that it translates
//! (`examples/python/`), for every example with a seed above.
//!
//! The pool examples are written once over a family of workers (`family`): the thread and
//! process variants run the same code.

mod attacks;
mod bank_account;
mod cpu_speedup;
mod daemon;
mod daemon_threads;
mod distributed_squares;
mod downloads;
mod early_stop;
mod family;
mod four_processes;
mod image_processing;
mod manager;
mod manager_dict;
mod pipe_messages;
mod pool_executor;
mod pool_squares;
mod primitives_tour;
mod process_basics;
mod producer_consumer;
mod queue_workers_lock;
mod queue_workers_semaphore;
mod shared_memory;
mod start_methods;
mod thread_info;
mod thread_jobs;
mod timer;
mod washer_dryer;

use std::fmt;
use std::sync::{Arc, Mutex};

use serde::Serialize;

use amphi::Error;
pub use distributed_squares::serve as serve_redis_worker;
use family::{Processes, Threads};

/// One runnable example.
///
/// # Examples
///
/// ```
/// let example = &amphi_examples::list()[0];
/// assert_eq!(example.name, "bank-account");
/// assert!(example.summary.contains("Lock"));
/// assert!(example.source.contains("fn run("));
/// assert!(example.python.is_some_and(|python| python.contains("class Account")));
/// ```
#[derive(Clone, Copy)]
pub struct Example {
    /// The name used by `amphi run NAME` and `runExample(NAME)`.
    pub name: &'static str,
    /// One line saying what it shows.
    pub summary: &'static str,
    /// The Rust source of the example: the text of the module of this crate that holds its
    /// body (a module may hold the bodies of two examples, such as the thread and the process
    /// variant of one seed program). `amphi show NAME` prints it; the web page shows it beside
    /// the output.
    pub source: &'static str,
    /// The Python program the example translates, from its seed (`examples/python/NAME.py`),
    /// or `None` for an example no seed has code for. The thread and the process variant of
    /// one seed program share it.
    pub python: Option<&'static str>,
    body: fn(&mut Run) -> Result<(), Error>,
}

impl fmt::Debug for Example {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Example")
            .field("name", &self.name)
            .field("summary", &self.summary)
            .field("source", &format_args!("{} bytes", self.source.len()))
            .field("python", &self.python.is_some())
            .finish()
    }
}

const EXAMPLES: &[Example] = &[
    Example {
        name: "bank-account",
        summary: "100 threads each deposit 1 under a Lock; the balance is 100 (and what goes wrong without the lock)",
        body: bank_account::run,
        source: include_str!("bank_account.rs"),
        python: Some(include_str!("../python/bank-account.py")),
    },
    Example {
        name: "early-stop",
        summary: "a child process loops printing; the parent works a little, then stops it with terminate (exitcode -15)",
        body: early_stop::run,
        source: include_str!("early_stop.rs"),
        python: Some(include_str!("../python/early-stop.py")),
    },
    Example {
        name: "shared-memory",
        summary: "two processes update a shared Value and Array, first without a lock (updates may be lost), then with one (exactly 200)",
        body: shared_memory::run,
        source: include_str!("shared_memory.rs"),
        python: Some(include_str!("../python/shared-memory.py")),
    },
    Example {
        name: "producer-consumer",
        summary: "a producer thread puts 0..5 and a None sentinel on a Queue; a consumer thread takes them in order until the sentinel",
        body: producer_consumer::run,
        source: include_str!("producer_consumer.rs"),
        python: Some(include_str!("../python/producer-consumer.py")),
    },
    Example {
        name: "pipe",
        summary: "a sender thread sends three messages through a pipe and closes it; the receiver gets them, then end of file",
        body: pipe_messages::run,
        source: include_str!("pipe_messages.rs"),
        python: Some(include_str!("../python/pipe.py")),
    },
    Example {
        name: "queue-workers-lock",
        summary: "two worker threads drain a Queue of five jobs, doing each job under a Lock",
        body: queue_workers_lock::run,
        source: include_str!("queue_workers_lock.rs"),
        python: Some(include_str!("../python/queue-workers-lock.py")),
    },
    Example {
        name: "queue-workers-semaphore",
        summary: "three worker threads drain a Queue of five jobs; a Semaphore(2) lets at most two work at once",
        body: queue_workers_semaphore::run,
        source: include_str!("queue_workers_semaphore.rs"),
        python: Some(include_str!("../python/queue-workers-semaphore.py")),
    },
    Example {
        name: "washer-dryer",
        summary: "a washer puts dishes on a JoinableQueue; two detached dryer threads dry them; join() waits for the last dish",
        body: washer_dryer::run,
        source: include_str!("washer_dryer.rs"),
        python: Some(include_str!("../python/washer-dryer.py")),
    },
    Example {
        name: "pool",
        summary: "a ThreadPool of 3 squares 0..10 with map, 2 with apply_async, and 0..10 with a list of apply_async results",
        body: pool_squares::run::<Threads>,
        source: include_str!("pool_squares.rs"),
        python: Some(include_str!("../python/pool.py")),
    },
    Example {
        name: "process-pool",
        summary: "the pool example on processes: a process Pool of 3 squares 0..10 with map, 2 with apply_async, and 0..10 with a list of apply_async results",
        body: pool_squares::run::<Processes>,
        source: include_str!("pool_squares.rs"),
        python: Some(include_str!("../python/pool.py")),
    },
    Example {
        name: "pool-executor",
        summary: "map, apply and map_async on a ThreadPool of 4; map and submit + as_completed on an Executor of 4",
        body: pool_executor::run::<Threads>,
        source: include_str!("pool_executor.rs"),
        python: Some(include_str!("../python/pool-executor.py")),
    },
    Example {
        name: "process-pool-executor",
        summary: "the pool-executor example on processes: map, apply and map_async on a process Pool of 4; map and submit + as_completed on a ProcessPoolExecutor of 4",
        body: pool_executor::run::<Processes>,
        source: include_str!("pool_executor.rs"),
        python: Some(include_str!("../python/pool-executor.py")),
    },
    Example {
        name: "cpu-speedup",
        summary: "four CPU-bound sums of squares, serial and on an Executor of 4 workers: equal results, both timings and the speed-up",
        body: cpu_speedup::run,
        source: include_str!("cpu_speedup.rs"),
        python: Some(include_str!("../python/cpu-speedup.py")),
    },
    Example {
        name: "process-cpu-speedup",
        summary: "four larger CPU-bound sums, serial, on 4 threads and on 4 processes: equal results, the three timings and their ratios",
        body: cpu_speedup::run_with_processes,
        source: include_str!("cpu_speedup.rs"),
        python: Some(include_str!("../python/cpu-speedup.py")),
    },
    Example {
        name: "image-processing",
        summary: "eight simulated image jobs (50 ms each), serial and with ThreadPool.map on 4 workers: equal results, both timings and the speed-up",
        body: image_processing::run,
        source: include_str!("image_processing.rs"),
        python: Some(include_str!("../python/image-processing.py")),
    },
    Example {
        name: "four-processes",
        summary: "four child processes each report their pid: four distinct pids, none the parent's",
        body: four_processes::run,
        source: include_str!("four_processes.rs"),
        python: Some(include_str!("../python/four-processes.py")),
    },
    Example {
        name: "daemon",
        summary: "a daemonic process outlives a timed join, a non-daemonic one finishes, and the daemon ends when its parent ends",
        body: daemon::run,
        source: include_str!("daemon.rs"),
        python: Some(include_str!("../python/daemon.py")),
    },
    Example {
        name: "manager",
        summary: "three child processes append their pids to a Manager's shared list and update a shared dict's counter: racy, under a Lock, and with the server-side add",
        body: manager::run,
        source: include_str!("manager.rs"),
        python: Some(include_str!("../python/manager.py")),
    },
    Example {
        name: "distributed-squares",
        summary: "(native only) a process Pool and Executor over Redis ($AMPHI_REDIS, or a local redis-server): three worker processes square 0..12, and each result names the worker pid that ran it",
        body: distributed_squares::run,
        source: include_str!("distributed_squares.rs"),
        python: None,
    },
    Example {
        name: "manager-dict",
        summary: "two child processes each write one key of a Manager's shared dict, and the parent prints it",
        body: manager_dict::run,
        source: include_str!("manager_dict.rs"),
        python: Some(include_str!("../python/manager-dict.py")),
    },
    Example {
        name: "attacks-threads",
        summary: "a ThreadPool of 2 draws 3 random attacks per worker, each draw under one shared Lock: never two drawing at once",
        body: attacks::run::<Threads>,
        source: include_str!("attacks.rs"),
        python: Some(include_str!("../python/attacks-threads.py")),
    },
    Example {
        name: "attacks-processes",
        summary: "the attacks example on processes: a process Pool of 2 draws 3 random attacks per worker, each draw under one shared Lock",
        body: attacks::run::<Processes>,
        source: include_str!("attacks.rs"),
        python: Some(include_str!("../python/attacks-processes.py")),
    },
    Example {
        name: "downloads",
        summary: "two threads 'download' for 0.5 s and 1.5 s at once: the total is near the longer download, below the sum",
        body: downloads::run,
        source: include_str!("downloads.rs"),
        python: Some(include_str!("../python/downloads.py")),
    },
    Example {
        name: "primitives-tour",
        summary: "Lock, RLock, Semaphore, Event, Condition and Value between processes, each in a scene with its promise checked",
        body: primitives_tour::run,
        source: include_str!("primitives_tour.rs"),
        python: Some(include_str!("../python/primitives-tour.py")),
    },
    Example {
        name: "thread-jobs",
        summary: "a long and a short job on two threads while the main thread works: the short job finishes first",
        body: thread_jobs::run,
        source: include_str!("thread_jobs.rs"),
        python: Some(include_str!("../python/thread-jobs.py")),
    },
    Example {
        name: "thread-info",
        summary: "active_count, enumerate, current_thread, main_thread, get_ident and get_native_id, from the example and two threads",
        body: thread_info::run,
        source: include_str!("thread_info.rs"),
        python: Some(include_str!("../python/thread-info.py")),
    },
    Example {
        name: "timer",
        summary: "a Timer runs its function after 0.2 s on its own thread; a cancelled Timer never does",
        body: timer::run,
        source: include_str!("timer.rs"),
        python: None,
    },
    Example {
        name: "daemon-threads",
        summary: "a daemonic thread is still running when the work is done; the non-daemonic thread is joined",
        body: daemon_threads::run,
        source: include_str!("daemon_threads.rs"),
        python: Some(include_str!("../python/daemon.py")),
    },
    Example {
        name: "process-basics",
        summary: "two children report their pids and parent pid; a process's pid, is_alive, daemon and exitcode before start, after start and after join",
        body: process_basics::run,
        source: include_str!("process_basics.rs"),
        python: Some(include_str!("../python/process-basics.py")),
    },
    Example {
        name: "start-methods",
        summary: "the start methods this runtime offers and the one in use (natively spawn, in the browser an isolated worker); a child agrees",
        body: start_methods::run,
        source: include_str!("start_methods.rs"),
        python: Some(include_str!("../python/start-methods.py")),
    },
];

/// Every example, in a stable order.
///
/// # Examples
///
/// ```
/// assert!(amphi_examples::list().iter().any(|e| e.name == "bank-account"));
/// ```
pub fn list() -> &'static [Example] {
    EXAMPLES
}

/// The example called `name`, if there is one.
///
/// # Examples
///
/// ```
/// use amphi_examples::find;
/// assert_eq!(find("bank-account").map(|e| e.name), Some("bank-account"));
/// assert!(find("no-such-example").is_none());
/// ```
pub fn find(name: &str) -> Option<&'static Example> {
    EXAMPLES.iter().find(|example| example.name == name)
}

/// A callback that receives each output line as it is produced.
///
/// # Examples
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use amphi_examples::{LineSink, Options};
/// let printed = Arc::new(Mutex::new(0));
/// let counter = printed.clone();
/// let sink: LineSink = Arc::new(move |_line: &str| *counter.lock().unwrap() += 1);
/// let report = amphi_examples::run("bank-account", &Options { on_line: Some(sink) });
/// assert_eq!(*printed.lock().unwrap(), report.output.len());
/// ```
pub type LineSink = Arc<dyn Fn(&str) + Send + Sync>;

/// How an example is run.
///
/// # Examples
///
/// ```
/// use std::sync::{Arc, Mutex};
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let sink = seen.clone();
/// let options = amphi_examples::Options {
///     on_line: Some(Arc::new(move |line: &str| sink.lock().unwrap().push(line.to_owned()))),
/// };
/// let report = amphi_examples::run("bank-account", &options);
/// assert_eq!(*seen.lock().unwrap(), report.output, "every line, live and in order");
/// ```
#[derive(Clone, Default)]
pub struct Options {
    /// Called with each output line as it is produced (the CLI prints them live).
    pub on_line: Option<LineSink>,
}

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("on_line", &self.on_line.is_some())
            .finish()
    }
}

/// A named check an example makes about its own result.
///
/// # Examples
///
/// ```
/// let report = amphi_examples::run("bank-account", &Default::default());
/// let check = &report.checks[0];
/// assert_eq!(check.name, "balance == 100");
/// assert!(check.ok);
/// assert_eq!(check.detail, "balance is 100");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What is checked, e.g. `balance == 100`.
    pub name: String,
    /// Whether it held.
    pub ok: bool,
    /// What was seen.
    pub detail: String,
}

/// The outcome of one example run: the CLI's `--json` object and `runExample`'s value.
///
/// # Examples
///
/// ```
/// let report = amphi_examples::run("no-such-example", &Default::default());
/// assert!(!report.ok);
/// assert_eq!(report.error.as_deref(), Some("no example named 'no-such-example'"));
/// let json = serde_json::to_value(&report).unwrap();
/// assert_eq!(json["example"], "no-such-example");
/// ```
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The example's name.
    pub example: String,
    /// True when the example finished without error and every check held.
    pub ok: bool,
    /// The example's checks, in order.
    pub checks: Vec<Check>,
    /// The lines it printed, in order.
    pub output: Vec<String>,
    /// The error that stopped it, if any.
    pub error: Option<String>,
    /// Wall-clock time of the run, in milliseconds.
    pub elapsed_ms: f64,
}

/// Where an example writes its lines. Clone it into threads; lines keep their order of arrival.
///
/// # Examples
///
/// ```
/// // An example's body writes through its `Output`; the lines end up in the report.
/// let report = amphi_examples::run("bank-account", &Default::default());
/// assert!(report.output.iter().any(|line| line.starts_with("With the lock:")));
/// ```
#[derive(Clone)]
pub struct Output {
    lines: Arc<Mutex<Vec<String>>>,
    on_line: Option<LineSink>,
}

impl Output {
    /// Prints one line.
    ///
    /// # Examples
    ///
    /// ```
    /// // The bank-account example prints one line per run, guarded and unguarded.
    /// let report = amphi_examples::run("bank-account", &Default::default());
    /// assert_eq!(report.output.len(), 2);
    /// assert!(report.output[1].starts_with("Without the lock:"));
    /// ```
    pub fn line(&self, text: impl Into<String>) {
        let text = text.into();
        let mut lines = self
            .lines
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        // Under the lock, so `on_line` sees the lines in the report's order.
        if let Some(on_line) = &self.on_line {
            on_line(&text);
        }
        lines.push(text);
    }
}

impl fmt::Debug for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Output").finish_non_exhaustive()
    }
}

/// An example in progress: its output and its checks.
///
/// # Examples
///
/// ```
/// // Each example's body is handed a `Run`; `run` turns it into a `Report`.
/// let report = amphi_examples::run("bank-account", &Default::default());
/// assert_eq!(report.checks.len(), 2);
/// assert_eq!(report.output.len(), 2);
/// ```
#[derive(Debug)]
pub struct Run {
    out: Output,
    checks: Vec<Check>,
}

impl Run {
    /// The output, to clone into threads.
    ///
    /// # Examples
    ///
    /// ```
    /// // Whatever a body writes, through `out()` (cloned into its threads) or `line`, is reported.
    /// let report = amphi_examples::run("bank-account", &Default::default());
    /// assert!(!report.output.is_empty());
    /// ```
    pub fn out(&self) -> &Output {
        &self.out
    }

    /// Prints one line.
    ///
    /// # Examples
    ///
    /// ```
    /// let report = amphi_examples::run("bank-account", &Default::default());
    /// assert!(report.output[0].ends_with("Account balance: 100"));
    /// ```
    pub fn line(&self, text: impl Into<String>) {
        self.out.line(text);
    }

    /// Records a check named `name` that holds when `ok`, with what was seen.
    ///
    /// # Examples
    ///
    /// ```
    /// let report = amphi_examples::run("bank-account", &Default::default());
    /// let names: Vec<_> = report.checks.iter().map(|c| c.name.as_str()).collect();
    /// assert_eq!(names, ["balance == 100", "the unguarded balance never exceeds the deposits"]);
    /// assert!(report.ok, "the report is ok when every check holds");
    /// ```
    pub fn check(&mut self, name: impl Into<String>, ok: bool, detail: impl Into<String>) {
        self.checks.push(Check {
            name: name.into(),
            ok,
            detail: detail.into(),
        });
    }
}

/// Runs the example called `name` on the calling thread (which must be allowed to block: in
/// the browser, a worker) and reports what happened. An unknown name is a failed report.
///
/// # Examples
///
/// ```
/// let report = amphi_examples::run("bank-account", &Default::default());
/// assert!(report.ok, "{report:?}");
/// assert!(report.checks.iter().any(|c| c.name == "balance == 100"));
/// ```
pub fn run(name: &str, options: &Options) -> Report {
    let started = amphi::time::Instant::now();
    let mut run = Run {
        out: Output {
            lines: Arc::default(),
            on_line: options.on_line.clone(),
        },
        checks: Vec::new(),
    };
    let error = match find(name) {
        Some(example) => (example.body)(&mut run).err().map(|e| e.to_string()),
        None => Some(format!("no example named '{name}'")),
    };
    let output = run
        .out
        .lines
        .lock()
        .unwrap_or_else(|poison| poison.into_inner())
        .clone();
    Report {
        example: name.to_owned(),
        ok: error.is_none() && !run.checks.is_empty() && run.checks.iter().all(|c| c.ok),
        checks: run.checks,
        output,
        error,
        elapsed_ms: started.elapsed().as_secs_f64() * 1000.0,
    }
}
