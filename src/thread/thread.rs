//! [`Thread`]: Python's `threading.Thread`, on OS threads natively and Web Workers in browsers.
//!
//! A spawned thread shares a `Packet` with its [`Thread`] handle. The packet's exit word goes
//! `RUNNING -> EXITED` when the closure returns or panics (the result, or a [`PanicReport`], is
//! stored first), or `RUNNING -> LOST` when the platform loses the worker (see
//! `crate::sys::ThreadWatch`). Joiners sleep on that word, so every form of `join` wakes on
//! every kind of end: nothing waits forever on a dead thread.
//!
//! Panics are reported the same way on both targets: a process-wide panic hook (installed on
//! the first spawn, chained to the previous hook) records the message and location of a panic
//! in an amphi thread into its packet, and the unwind is then caught, in the browser too
//! (wasm exception handling). A browser worker that traps instead (out of memory, an
//! `unreachable`) is reported lost by the platform, and the join still returns
//! [`Error::Panicked`], with the recorded report if there is one.

use std::cell::RefCell;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::AtomicU64;

use crate::sync::atomic::{AtomicBool, AtomicU32, Ordering, UnsafeCell};
use crate::sync::Word;
use std::sync::{Arc, Mutex, MutexGuard, Once};
use std::time::Duration;

use crate::error::PanicReport;
use crate::sys::{self, ThreadWatch, THREAD_EXITED, THREAD_RUNNING};
use crate::time::Deadline;
use crate::Error;

/// A running or finished thread, returned by [`Thread::spawn`] and [`Builder::spawn`].
///
/// `T` is what the thread's closure returns; [`join`](Thread::join) hands it back. Dropping a
/// `Thread` detaches it: the thread keeps running.
///
/// # Examples
///
/// ```
/// let worker = amphi::Thread::spawn(|| 6 * 7)?;
/// assert_eq!(worker.join()?, 42);
/// # Ok::<(), amphi::Error>(())
/// ```
pub struct Thread<T> {
    packet: Arc<Packet<T>>,
}

/// Configures a thread before it starts, as the keyword arguments of Python's `Thread(...)`.
///
/// # Examples
///
/// ```
/// let worker = amphi::thread::Builder::new()
///     .name("downloader")
///     .spawn(|| amphi::thread::current_name())?;
/// assert_eq!(worker.join()?, "downloader");
/// # Ok::<(), amphi::Error>(())
/// ```
#[derive(Debug, Default, Clone)]
pub struct Builder {
    name: Option<String>,
    daemon: Option<bool>,
}

struct Packet<T> {
    name: String,
    daemon: bool,
    /// `THREAD_RUNNING`, `THREAD_EXITED` or `THREAD_LOST` (see `crate::sys`).
    exit: AtomicU32,
    /// The closure's outcome: written by the thread before `exit` becomes `THREAD_EXITED`
    /// (`Release`), then read by the one join that claims it (see `claimed`).
    result: UnsafeCell<Option<Result<T, Error>>>,
    /// Set by the join that takes `result`; later joins get [`Error::AlreadyJoined`].
    claimed: AtomicBool,
    /// The panic recorded by the hook, or the reason the platform gave for losing the thread.
    death: Mutex<Option<Death>>,
}

// SAFETY: the packet's only unsynchronised part is `result`, which moves a `T` from the thread
// to the one join that claims it (see `run_body` and `take_result`): sharing the packet only
// sends a `T` between threads, which `T: Send` allows.
unsafe impl<T: Send> Sync for Packet<T> {}
// SAFETY: as above: the packet owns at most one `T`, which may move to another thread.
unsafe impl<T: Send> Send for Packet<T> {}
// A panic in a joiner cannot leave the packet half-updated: `result` is written once, by the
// thread, before `exit` is published, and taken whole by the one join that won `claimed`; the
// rest is atomics and a mutex. So a `Thread` may be held across `catch_unwind` (as std's
// `JoinHandle` may), which async exports that await a join need (wasm-bindgen's futures must
// be `UnwindSafe` when panics unwind).
impl<T> std::panic::RefUnwindSafe for Packet<T> {}

enum Death {
    Panicked(PanicReport),
    // Constructed only when the platform loses a thread, which native threads never are.
    #[allow(dead_code)]
    Lost(String),
}

/// What the panic hook needs of the current thread's packet, whatever its `T`.
trait PanicSink: Send + Sync {
    fn record_panic(&self, report: PanicReport);
}

thread_local! {
    static CURRENT: RefCell<Option<(String, Arc<dyn PanicSink>)>> = const { RefCell::new(None) };
}

static NEXT_THREAD_NUMBER: AtomicU64 = AtomicU64::new(1);
static PANIC_HOOK: Once = Once::new();

impl Thread<()> {
    /// A [`Builder`], to name a thread before spawning it.
    ///
    /// # Examples
    ///
    /// ```
    /// let worker = amphi::Thread::builder()
    ///     .name("indexer")
    ///     .spawn(amphi::thread::current_name)?;
    /// assert_eq!(worker.join()?, "indexer");
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn builder() -> Builder {
        Builder::new()
    }
}

impl<T: Send + 'static> Thread<T> {
    /// Starts a thread running `f`, named `Thread-N` as in Python.
    ///
    /// # Examples
    ///
    /// ```
    /// let worker = amphi::Thread::spawn(|| "done")?;
    /// assert_eq!(worker.join()?, "done");
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn spawn<F>(f: F) -> Result<Thread<T>, Error>
    where
        F: FnOnce() -> T + Send + 'static,
    {
        Builder::new().spawn(f)
    }
}

impl<T> Thread<T> {
    /// The thread's name.
    ///
    /// # Examples
    ///
    /// ```
    /// let named = amphi::Thread::builder().name("parser").spawn(|| ())?;
    /// assert_eq!(named.name(), "parser");
    /// let unnamed = amphi::Thread::spawn(|| ())?;
    /// assert!(unnamed.name().starts_with("Thread-"), "Python's default naming");
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn name(&self) -> &str {
        &self.packet.name
    }

    /// Whether the thread is daemonic (see [`Builder::daemon`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let worker = amphi::Thread::builder().daemon(true).spawn(|| ())?;
    /// assert!(worker.daemon());
    /// assert!(!amphi::Thread::spawn(|| ())?.daemon(), "inherited from the main thread");
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn daemon(&self) -> bool {
        self.packet.daemon
    }

    /// Whether the thread is still running (a snapshot), as Python's `is_alive()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let worker = amphi::Thread::spawn(|| ())?;
    /// worker.join_timeout(std::time::Duration::from_secs(10))?;
    /// assert!(!worker.is_alive());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn is_alive(&self) -> bool {
        self.packet.exit.load(Ordering::Acquire) == THREAD_RUNNING
    }

    /// Waits for the thread to end and returns what its closure returned.
    ///
    /// A panic in the thread comes back as [`Error::Panicked`]; a browser worker lost for any
    /// other reason as [`Error::ThreadLost`]. On a thread that may not block (the browser's
    /// main thread) this returns [`Error::WouldBlock`]: use [`join_async`](Thread::join_async).
    ///
    /// # Examples
    ///
    /// ```
    /// let worker = amphi::Thread::spawn(|| panic!("boom"))?;
    /// let err = worker.join().unwrap_err();
    /// assert!(matches!(err, amphi::Error::Panicked(ref report) if report.message == "boom"));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn join(self) -> Result<T, Error> {
        self.wait_until(Deadline::NEVER)?;
        self.take_result()
    }

    /// Waits at most `timeout` for the thread to end. On [`Error::Timeout`] the thread keeps
    /// running and this handle stays usable; on success the result is taken, and a later join
    /// returns [`Error::AlreadyJoined`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let gate = std::sync::Arc::new(amphi::Lock::new());
    /// gate.acquire()?.leak();
    /// let waiter = {
    ///     let gate = gate.clone();
    ///     amphi::Thread::spawn(move || drop(gate.acquire()))?
    /// };
    /// assert_eq!(waiter.join_timeout(Duration::from_millis(20)), Err(amphi::Error::Timeout));
    /// gate.release()?;
    /// waiter.join_timeout(Duration::from_secs(10))?;
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn join_timeout(&self, timeout: Duration) -> Result<T, Error> {
        self.wait_until(Deadline::after(timeout))?;
        self.take_result()
    }

    /// Waits for the thread to end without blocking: works on the browser's main thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let worker = amphi::Thread::spawn(|| 1 + 1)?;
    /// assert_eq!(futures_executor::block_on(worker.join_async())?, 2);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub async fn join_async(&self) -> Result<T, Error> {
        while self.packet.exit.load(Ordering::Acquire) == THREAD_RUNNING {
            sys::wait_async(&self.packet.exit, THREAD_RUNNING).await;
        }
        self.take_result()
    }

    fn wait_until(&self, deadline: Deadline) -> Result<(), Error> {
        if !sys::can_block() {
            return Err(Error::WouldBlock);
        }
        while self.packet.exit.load(Ordering::Acquire) == THREAD_RUNNING {
            self.packet.exit.wait(THREAD_RUNNING, deadline)?;
        }
        Ok(())
    }

    /// Takes the outcome of a thread whose exit word is no longer `RUNNING`.
    fn take_result(&self) -> Result<T, Error> {
        let packet = &self.packet;
        match packet.exit.load(Ordering::Acquire) {
            THREAD_EXITED if packet.claimed.swap(true, Ordering::AcqRel) => {
                Err(Error::AlreadyJoined(packet.name.clone()))
            }
            // SAFETY: the thread wrote `result` before its `Release` store of `THREAD_EXITED`,
            // which the `Acquire` load above read, and never touches it again; the swap of
            // `claimed` lets exactly one join past this point, so no other access races.
            THREAD_EXITED => packet
                .result
                .with_mut(|result| unsafe { (*result).take() })
                .unwrap_or_else(|| Err(Error::AlreadyJoined(packet.name.clone()))),
            _lost => Err(match lock(&packet.death).take() {
                Some(Death::Panicked(report)) => Error::Panicked(report),
                Some(Death::Lost(reason)) => Error::ThreadLost {
                    name: packet.name.clone(),
                    reason,
                },
                None => Error::ThreadLost {
                    name: packet.name.clone(),
                    reason: "the worker could not load the wasm module".to_owned(),
                },
            }),
        }
    }
}

impl<T> fmt::Debug for Thread<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Thread")
            .field("name", &self.packet.name)
            .field("alive", &self.is_alive())
            .finish()
    }
}

impl Builder {
    /// A builder with default settings.
    ///
    /// # Examples
    ///
    /// ```
    /// let worker = amphi::thread::Builder::new().spawn(|| 2 + 2)?;
    /// assert_eq!(worker.join()?, 4);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Names the thread (shown in panics, debuggers and the browser's devtools).
    ///
    /// # Examples
    ///
    /// ```
    /// let worker = amphi::thread::Builder::new()
    ///     .name(format!("worker-{}", 7))
    ///     .spawn(amphi::thread::current_name)?;
    /// assert_eq!(worker.name(), "worker-7");
    /// assert_eq!(worker.join()?, "worker-7");
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> Builder {
        self.name = Some(name.into());
        self
    }

    /// Marks the thread daemonic or not, as Python's `daemon=`; by default it inherits the
    /// flag of the thread that starts it (the main thread's is `false`).
    ///
    /// Python's interpreter waits at exit for its non-daemonic threads; a Rust program that
    /// returns from `main` waits for none, so here the flag records the intent (a daemonic
    /// thread is left running, a non-daemonic one is joined) for [`Thread::daemon`],
    /// [`current_thread`](crate::thread::current_thread) and
    /// [`enumerate`](crate::thread::enumerate) to report.
    ///
    /// # Examples
    ///
    /// ```
    /// let worker = amphi::thread::Builder::new()
    ///     .daemon(true)
    ///     .spawn(|| amphi::thread::current_thread().daemon())?;
    /// assert!(worker.join()?, "the thread sees its own flag");
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn daemon(mut self, daemon: bool) -> Builder {
        self.daemon = Some(daemon);
        self
    }

    /// Starts the thread running `f`.
    ///
    /// In the browser this starts a Web Worker; it fails with [`Error::Spawn`] when the page
    /// is not cross-origin isolated (workers could not share memory), saying so.
    ///
    /// # Examples
    ///
    /// ```
    /// let worker = amphi::thread::Builder::new()
    ///     .name("summer")
    ///     .spawn(|| (1..=10).sum::<u32>())?;
    /// assert_eq!(worker.join()?, 55);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn spawn<F, T>(self, f: F) -> Result<Thread<T>, Error>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        PANIC_HOOK.call_once(install_panic_hook);
        let name = self.name.unwrap_or_else(|| {
            let number = NEXT_THREAD_NUMBER.fetch_add(1, Ordering::Relaxed);
            format!("Thread-{number}")
        });
        let daemon = self.daemon.unwrap_or_else(super::info::inherited_daemon);
        let packet = Arc::new(Packet {
            name: name.clone(),
            daemon,
            exit: AtomicU32::new(THREAD_RUNNING),
            result: UnsafeCell::new(None),
            claimed: AtomicBool::new(false),
            death: Mutex::new(None),
        });
        let body = {
            let packet = Arc::clone(&packet);
            Box::new(move || run_body(&packet, f))
        };
        let watch: Arc<dyn ThreadWatch> = packet.clone();
        sys::spawn(&name, body, watch).map_err(|reason| Error::Spawn {
            name: name.clone(),
            reason,
        })?;
        Ok(Thread { packet })
    }
}

fn run_body<T: Send + 'static>(packet: &Arc<Packet<T>>, f: impl FnOnce() -> T) {
    renew_token();
    let registration = super::info::register(&packet.name, packet.daemon);
    let sink: Arc<dyn PanicSink> = packet.clone();
    CURRENT.with(|current| *current.borrow_mut() = Some((packet.name.clone(), sink)));
    let outcome = {
        let _span = crate::trace::span!("thread", name = packet.name.as_str());
        panic::catch_unwind(AssertUnwindSafe(f))
    };
    CURRENT.with(|current| current.borrow_mut().take());
    drop(registration);
    let result = outcome.map_err(|payload| {
        let recorded = match lock(&packet.death).take() {
            Some(Death::Panicked(report)) => Some(report),
            _ => None,
        };
        Error::Panicked(recorded.unwrap_or_else(|| PanicReport {
            thread: packet.name.clone(),
            message: payload_message(payload.as_ref()),
            location: None,
        }))
    });
    // SAFETY: only this thread writes `result`, once, before the `Release` store below; no join
    // reads it before that store (it reads `exit` with `Acquire` first).
    packet
        .result
        .with_mut(|slot| unsafe { *slot = Some(result) });
    packet.exit.store(THREAD_EXITED, Ordering::Release);
    packet.exit.wake_all();
}

impl<T: Send + 'static> ThreadWatch for Packet<T> {
    fn exit_word(&self) -> &AtomicU32 {
        &self.exit
    }

    fn lost(&self, reason: String) {
        lock(&self.death).get_or_insert(Death::Lost(reason));
    }
}

impl<T: Send + 'static> PanicSink for Packet<T> {
    fn record_panic(&self, report: PanicReport) {
        *lock(&self.death) = Some(Death::Panicked(report));
    }
}

static NEXT_TOKEN: AtomicU64 = AtomicU64::new(1);

fn next_token() -> u32 {
    let token = NEXT_TOKEN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    u32::try_from(token).expect("fewer than 2^32 threads")
}

#[cfg(not(amphi_loom))]
thread_local! {
    static TOKEN: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

// loom runs its threads on one OS thread: tokens must be per loom thread.
#[cfg(amphi_loom)]
loom::thread_local! {
    static TOKEN: std::cell::Cell<u32> = std::cell::Cell::new(0);
}

/// A non-zero number identifying the calling amphi thread among every thread the process has
/// run (the owner mark of an `RLock`). A browser worker runs many amphi threads one after
/// another; each gets a fresh token when it starts (`renew_token`), so a later thread never
/// inherits what an earlier one left held.
pub(crate) fn current_token() -> u32 {
    TOKEN.with(|token| {
        if token.get() == 0 {
            token.set(next_token());
        }
        token.get()
    })
}

fn renew_token() {
    TOKEN.with(|token| token.set(next_token()));
}

/// The name of the calling thread: its amphi name, or `MainThread` elsewhere (as in Python).
///
/// # Examples
///
/// ```
/// assert_eq!(amphi::thread::current_name(), "MainThread");
/// ```
pub fn current_name() -> String {
    CURRENT
        .with(|current| current.borrow().as_ref().map(|(name, _)| name.clone()))
        .unwrap_or_else(|| "MainThread".to_owned())
}

/// Sleeps the calling thread for `duration`.
///
/// Returns [`Error::WouldBlock`] on a thread that may not block (the browser's main thread).
///
/// # Examples
///
/// ```
/// amphi::thread::sleep(std::time::Duration::from_millis(1))?;
/// # Ok::<(), amphi::Error>(())
/// ```
pub fn sleep(duration: Duration) -> Result<(), Error> {
    if !sys::can_block() {
        return Err(Error::WouldBlock);
    }
    sys::sleep(duration);
    Ok(())
}

fn install_panic_hook() {
    let previous = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        CURRENT.with(|current| {
            if let Some((name, sink)) = current.borrow().as_ref() {
                sink.record_panic(PanicReport {
                    thread: name.clone(),
                    message: payload_message(info.payload()),
                    location: info.location().map(ToString::to_string),
                });
            }
        });
        previous(info);
    }));
}

fn payload_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "Box<dyn Any>".to_owned())
}

/// Locks a packet mutex, ignoring poison (a panic never happens while one is held).
fn lock<V>(mutex: &Mutex<V>) -> MutexGuard<'_, V> {
    mutex.lock().unwrap_or_else(|poison| poison.into_inner())
}
