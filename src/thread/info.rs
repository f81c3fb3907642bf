//! Thread information: Python's `threading.current_thread`, `main_thread`, `active_count`,
//! `enumerate`, `get_ident` and `get_native_id`.
//!
//! Every amphi thread registers itself while its closure runs (`register`, called by the
//! thread's body): a [`ThreadInfo`] with its name, a fresh ident, its native id and its daemon
//! flag, in a list that [`enumerate`] reads. The main thread is not in the list; it is
//! described on demand ([`main_thread`]). A thread that is neither (natively, a thread some
//! other code started, such as a test harness's) is, as in Python, a "dummy" thread:
//! [`current_thread`] describes it as `Dummy-N`, daemonic, and it is not enumerated.
//!
//! Idents are numbers amphi gives out, never reused while the process lives: the main
//! thread's is 1, the others' count up from 2 (Python's are addresses, which it reuses).
//! Native ids come from the platform (see `crate::sys`): natively the kernel's thread id; in
//! the browser a stable number per worker, 1 for the main thread (the page's thread, or the
//! worker that started amphi).

use std::cell::RefCell;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::sys;

/// The main thread's ident.
const MAIN_IDENT: u64 = 1;

/// The next ident to give out (2 and up: 1 is the main thread's).
static NEXT_IDENT: AtomicU64 = AtomicU64::new(MAIN_IDENT + 1);
/// The next dummy thread's number, as Python's `Dummy-N`.
static NEXT_DUMMY: AtomicU64 = AtomicU64::new(1);

/// The amphi threads running now, in the order they started.
static RUNNING: Mutex<Vec<Arc<Entry>>> = Mutex::new(Vec::new());

/// What a thread's [`ThreadInfo`] shares with the thread while it runs.
#[derive(Debug)]
struct Entry {
    name: String,
    ident: u64,
    native_id: u64,
    daemon: bool,
    /// Cleared when the thread's closure has ended (amphi threads only).
    alive: AtomicBool,
}

thread_local! {
    /// The calling thread's own entry: an amphi thread's while its closure runs, or a dummy
    /// thread's once it asked.
    static CURRENT: RefCell<Option<Arc<Entry>>> = const { RefCell::new(None) };
}

/// A description of a thread, as Python's `threading.Thread` object answers questions about
/// it: [`name`](ThreadInfo::name), [`ident`](ThreadInfo::ident),
/// [`native_id`](ThreadInfo::native_id), [`daemon`](ThreadInfo::daemon) and
/// [`is_alive`](ThreadInfo::is_alive). Two descriptions of one thread are equal.
///
/// # Examples
///
/// ```
/// let worker = amphi::Thread::builder()
///     .name("reporter")
///     .spawn(amphi::thread::current_thread)?;
/// let info = worker.join()?;
/// assert_eq!(info.name(), "reporter");
/// assert!(!info.is_alive(), "its closure has returned");
/// assert_ne!(info.ident(), amphi::thread::main_thread().ident());
/// # Ok::<(), amphi::Error>(())
/// ```
#[derive(Clone)]
pub struct ThreadInfo {
    entry: Arc<Entry>,
}

impl ThreadInfo {
    /// The thread's name (`MainThread` for the main thread).
    pub fn name(&self) -> &str {
        &self.entry.name
    }

    /// The thread's ident: a non-zero number amphi gives it, unique in this process (1 for the
    /// main thread). Python's `Thread.ident`.
    pub fn ident(&self) -> u64 {
        self.entry.ident
    }

    /// The thread's native id: natively the kernel's thread id, in the browser the number of
    /// the worker that runs it. Python's `Thread.native_id`.
    pub fn native_id(&self) -> u64 {
        self.entry.native_id
    }

    /// Whether the thread is daemonic, as set by [`Builder::daemon`](crate::thread::Builder::daemon)
    /// or inherited from the thread that started it. The main thread is not; dummy threads are.
    pub fn daemon(&self) -> bool {
        self.entry.daemon
    }

    /// Whether the thread is still running (a snapshot). The main thread always is, while
    /// anything can ask.
    pub fn is_alive(&self) -> bool {
        self.entry.alive.load(Ordering::Acquire)
    }
}

impl PartialEq for ThreadInfo {
    fn eq(&self, other: &ThreadInfo) -> bool {
        self.entry.ident == other.entry.ident
    }
}

impl Eq for ThreadInfo {}

impl fmt::Debug for ThreadInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadInfo")
            .field("name", &self.entry.name)
            .field("ident", &self.entry.ident)
            .field("native_id", &self.entry.native_id)
            .field("daemon", &self.entry.daemon)
            .field("alive", &self.is_alive())
            .finish()
    }
}

/// Python's repr: `<Thread(worker-1, started daemon 12345)>`, with the native id.
impl fmt::Display for ThreadInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.entry.ident == MAIN_IDENT {
            "_MainThread"
        } else {
            "Thread"
        };
        let state = if self.is_alive() {
            "started"
        } else {
            "stopped"
        };
        let daemon = if self.entry.daemon { " daemon" } else { "" };
        write!(
            f,
            "<{kind}({}, {state}{daemon} {})>",
            self.entry.name, self.entry.native_id
        )
    }
}

/// The calling amphi thread's registration, removed from the list when dropped.
pub(crate) struct Registration {
    entry: Arc<Entry>,
}

/// Registers the calling thread, an amphi thread about to run its closure, until the
/// returned [`Registration`] is dropped.
pub(crate) fn register(name: &str, daemon: bool) -> Registration {
    let entry = Arc::new(Entry {
        name: name.to_owned(),
        ident: NEXT_IDENT.fetch_add(1, Ordering::Relaxed),
        native_id: sys::native_thread_id(),
        daemon,
        alive: AtomicBool::new(true),
    });
    CURRENT.with(|current| *current.borrow_mut() = Some(Arc::clone(&entry)));
    crate::sync::spin::lock(&RUNNING).push(Arc::clone(&entry));
    Registration { entry }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.entry.alive.store(false, Ordering::Release);
        crate::sync::spin::lock(&RUNNING).retain(|entry| !Arc::ptr_eq(entry, &self.entry));
        CURRENT.with(|current| current.borrow_mut().take());
    }
}

/// The calling thread's entry, if it is an amphi thread or a dummy thread that asked before.
fn own_entry() -> Option<Arc<Entry>> {
    CURRENT.with(|current| current.borrow().clone())
}

/// The daemon flag a new thread inherits from the thread that starts it, as in Python.
pub(crate) fn inherited_daemon() -> bool {
    current_thread().daemon()
}

/// The calling thread, as Python's `threading.current_thread()`: an amphi thread's own
/// description, the [`main_thread`], or (natively, on a thread amphi did not start and that
/// is not the main thread) a daemonic `Dummy-N`.
///
/// # Examples
///
/// ```
/// let worker = amphi::Thread::builder().name("asker").spawn(|| {
///     let me = amphi::thread::current_thread();
///     (me.name().to_owned(), me.ident() == amphi::thread::get_ident(), me.is_alive())
/// })?;
/// assert_eq!(worker.join()?, ("asker".to_owned(), true, true));
/// # Ok::<(), amphi::Error>(())
/// ```
pub fn current_thread() -> ThreadInfo {
    if let Some(entry) = own_entry() {
        return ThreadInfo { entry };
    }
    if sys::is_main_thread() {
        return main_thread();
    }
    let entry = Arc::new(Entry {
        name: format!("Dummy-{}", NEXT_DUMMY.fetch_add(1, Ordering::Relaxed)),
        ident: NEXT_IDENT.fetch_add(1, Ordering::Relaxed),
        native_id: sys::native_thread_id(),
        daemon: true,
        alive: AtomicBool::new(true),
    });
    CURRENT.with(|current| *current.borrow_mut() = Some(Arc::clone(&entry)));
    ThreadInfo { entry }
}

/// The main thread, as Python's `threading.main_thread()`: natively the process's first
/// thread; in the browser the page's thread (or the worker that started amphi, or a process
/// worker's own thread). Named `MainThread`, ident 1, not daemonic.
///
/// # Examples
///
/// ```
/// let main = amphi::thread::main_thread();
/// assert_eq!(main.name(), "MainThread");
/// assert_eq!(main.ident(), 1);
/// let seen_from_a_thread = amphi::Thread::spawn(amphi::thread::main_thread)?.join()?;
/// assert_eq!(seen_from_a_thread, main);
/// # Ok::<(), amphi::Error>(())
/// ```
pub fn main_thread() -> ThreadInfo {
    ThreadInfo {
        entry: Arc::new(Entry {
            name: "MainThread".to_owned(),
            ident: MAIN_IDENT,
            native_id: sys::main_thread_native_id(),
            daemon: false,
            alive: AtomicBool::new(true),
        }),
    }
}

/// The amphi threads running now, after the main thread, as Python's `threading.enumerate()`
/// (dummy threads are not listed).
///
/// # Examples
///
/// ```
/// let gate = std::sync::Arc::new(amphi::Event::new());
/// let waiter = {
///     let gate = gate.clone();
///     amphi::Thread::builder().name("waiter").spawn(move || gate.wait())?
/// };
/// amphi::thread::sleep(std::time::Duration::from_millis(50))?;
/// let names: Vec<String> =
///     amphi::thread::enumerate().iter().map(|t| t.name().to_owned()).collect();
/// assert_eq!(names[0], "MainThread");
/// gate.set();
/// waiter.join()??;
/// assert!(!amphi::thread::enumerate().iter().any(|t| t.name() == "waiter"));
/// # Ok::<(), amphi::Error>(())
/// ```
pub fn enumerate() -> Vec<ThreadInfo> {
    let running = crate::sync::spin::lock(&RUNNING).clone();
    std::iter::once(main_thread())
        .chain(running.into_iter().map(|entry| ThreadInfo { entry }))
        .collect()
}

/// How many threads [`enumerate`] lists: the amphi threads running now, plus the main
/// thread. Python's `threading.active_count()`.
///
/// # Examples
///
/// ```
/// assert!(amphi::thread::active_count() >= 1, "the main thread counts");
/// ```
pub fn active_count() -> usize {
    1 + crate::sync::spin::lock(&RUNNING).len()
}

/// The calling thread's ident (see [`ThreadInfo::ident`]). Python's `threading.get_ident()`.
///
/// # Examples
///
/// ```
/// assert_eq!(amphi::thread::get_ident(), amphi::thread::current_thread().ident());
/// ```
pub fn get_ident() -> u64 {
    current_thread().ident()
}

/// The calling thread's native id (see [`ThreadInfo::native_id`]). Python's
/// `threading.get_native_id()`.
///
/// # Examples
///
/// ```
/// let ids = amphi::Thread::spawn(|| {
///     (amphi::thread::get_native_id(), amphi::thread::current_thread().native_id())
/// })?
/// .join()?;
/// assert_eq!(ids.0, ids.1);
/// # Ok::<(), amphi::Error>(())
/// ```
pub fn get_native_id() -> u64 {
    current_thread().native_id()
}
