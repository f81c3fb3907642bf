//! [`Process`]: Python's `multiprocessing.Process`, one target function run in a child.

use std::fmt;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::packet::Packet;
use super::wire::Start;
use super::{child, children, current, region, Builder};
use crate::sys::{self, ProcessEntry, ProcessStart, Signal};
use crate::time::Deadline;
use crate::Error;

/// A child process running `target(args)`, created by [`Process::new`] or a [`Builder`],
/// started by [`start`](Process::start).
///
/// `R` is what the target returns; [`join`](Process::join) hands it back, serialised by the
/// child and deserialised here. The handle stays usable after the child ended: `exitcode`,
/// `is_alive` and further joins work as in Python. Dropping it neither waits for nor stops the
/// child (which is still reaped when it ends: no zombies).
///
/// # Examples
///
/// ```
/// use amphi::process::Process;
///
/// fn square(x: u64) -> u64 {
///     x * x
/// }
///
/// let child = Process::new(square, 12);
/// child.start()?;
/// assert_eq!(child.join()?, 144);
/// assert_eq!(child.exitcode(), Some(0));
/// # Ok::<(), amphi::Error>(())
/// ```
pub struct Process<R> {
    name: String,
    daemon: bool,
    identity: Vec<u32>,
    /// What `start` needs, until it succeeds.
    launch: Mutex<Option<Launch>>,
    /// Set by a successful `start`; taken by `close`.
    packet: OnceLock<Arc<Packet>>,
    /// Set by `close`: what the snapshots still answer.
    closed: Option<Closed>,
    result: PhantomData<fn() -> R>,
}

/// What a closed handle remembers: the child's pid and exit code (`None` if it never started).
#[derive(Debug, Clone, Copy)]
struct Closed {
    pid: Option<u32>,
    exitcode: Option<i32>,
}

struct Launch {
    entry: ProcessEntry,
    target: usize,
    args: Result<serde_json::Value, String>,
    /// The shared objects named in the arguments, kept alive until the child holds them.
    keep: Vec<region::Holding>,
}

impl Process<()> {
    /// A [`Builder`], to name a process or make it daemonic.
    ///
    /// # Examples
    ///
    /// ```
    /// fn nothing(_: ()) {}
    /// let child = amphi::process::Process::builder().name("idle").build(nothing, ());
    /// assert_eq!(child.name(), "idle");
    /// ```
    pub fn builder() -> Builder {
        Builder::new()
    }
}

impl<R: Serialize + DeserializeOwned> Process<R> {
    /// A process, not started yet, that will run `target(args)` in a child, named `Process-N`
    /// as in Python. `target` must be a plain function of this program (see [`Builder::build`]).
    ///
    /// # Examples
    ///
    /// ```
    /// fn greet(name: String) -> String {
    ///     format!("hello, {name}")
    /// }
    /// let child = amphi::process::Process::new(greet, "world".to_owned());
    /// child.start()?;
    /// assert_eq!(child.join()?, "hello, world");
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn new<A>(target: fn(A) -> R, args: A) -> Process<R>
    where
        A: Serialize + DeserializeOwned,
    {
        Builder::new().build(target, args)
    }

    pub(super) fn create<A>(
        name: Option<String>,
        daemon: bool,
        target: fn(A) -> R,
        args: A,
    ) -> Process<R>
    where
        A: Serialize + DeserializeOwned,
    {
        let (identity, default_name) = current::next_child();
        let (args, keep) =
            region::capture(|| serde_json::to_value(&args).map_err(|err| err.to_string()));
        let launch = Launch {
            entry: child::entry::<A, R>,
            target: target as usize,
            args,
            keep,
        };
        Process {
            name: name.unwrap_or(default_name),
            daemon,
            identity,
            launch: Mutex::new(Some(launch)),
            packet: OnceLock::new(),
            closed: None,
            result: PhantomData,
        }
    }

    /// Starts the child. A process starts once: a second call returns
    /// [`Error::AlreadyStarted`]. A daemonic process may not start children.
    ///
    /// # Examples
    ///
    /// ```
    /// fn noop(_: ()) {}
    /// let child = amphi::process::Process::new(noop, ());
    /// child.start()?;
    /// assert!(matches!(child.start(), Err(amphi::Error::AlreadyStarted(_))));
    /// child.join()?;
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn start(&self) -> Result<(), Error> {
        self.check_open()?;
        let mut launch = lock(&self.launch);
        let Some(pending) = launch.as_ref() else {
            return Err(Error::AlreadyStarted(self.name.clone()));
        };
        let fail = |reason: String| Error::ProcessStart {
            name: self.name.clone(),
            reason,
        };
        if current::is_daemon() {
            return Err(fail(
                "daemonic processes are not allowed to have children".into(),
            ));
        }
        let args = pending
            .args
            .as_ref()
            .map_err(|err| fail(format!("the arguments do not serialise: {err}")))?;
        let reservation =
            region::Reservation::new(&pending.keep).map_err(|err| fail(err.to_string()))?;
        let start = Start {
            name: self.name.clone(),
            daemon: self.daemon,
            identity: self.identity.clone(),
            parent: current::current_process(),
            args,
            holdings: reservation.as_ref().map_or(0, region::Reservation::record),
        };
        let payload = serde_json::to_vec(&start).map_err(|err| fail(err.to_string()))?;
        let packet = Arc::new(Packet::new(self.name.clone(), self.daemon));
        let start = ProcessStart {
            daemon: self.daemon,
            entry: pending.entry,
            target: pending.target,
            payload,
            lost: child::lost,
        };
        let handle = {
            let _span = crate::trace::span!("process.start", name = self.name.as_str());
            sys::spawn_process(start, packet.clone()).map_err(fail)?
        };
        if let Some(reservation) = reservation {
            reservation.started(handle.pid());
        }
        packet.set_handle(handle);
        launch.take();
        children::register(Arc::clone(&packet));
        let _ = self.packet.set(packet);
        Ok(())
    }

    /// Waits for the child to end and returns what its target returned.
    ///
    /// A panic in the target comes back as [`Error::Panicked`] (message and location); a child
    /// that ended otherwise (killed, or exiting by itself) as [`Error::ProcessFailed`] with its
    /// exit code; a child that could not run its target as [`Error::ProcessBroken`]. Joining
    /// again returns the same outcome.
    ///
    /// # Examples
    ///
    /// ```
    /// fn fail(_: ()) {
    ///     panic!("no luck");
    /// }
    /// let child = amphi::process::Process::new(fail, ());
    /// child.start()?;
    /// let err = child.join().unwrap_err();
    /// assert!(matches!(err, amphi::Error::Panicked(ref report) if report.message == "no luck"));
    /// assert_eq!(child.exitcode(), Some(1));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn join(&self) -> Result<R, Error> {
        self.join_until(Deadline::NEVER)
    }

    /// Waits at most `timeout` for the child to end. On [`Error::Timeout`] the child keeps
    /// running and the handle stays usable.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// fn nap(millis: u64) {
    ///     std::thread::sleep(Duration::from_millis(millis));
    /// }
    /// let child = amphi::process::Process::new(nap, 60_000);
    /// child.start()?;
    /// assert_eq!(child.join_timeout(Duration::from_millis(50)), Err(amphi::Error::Timeout));
    /// assert!(child.is_alive());
    /// child.kill()?;
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn join_timeout(&self, timeout: Duration) -> Result<R, Error> {
        self.join_until(Deadline::after(timeout))
    }

    /// Waits for the child to end without blocking the calling thread (no thread waits per
    /// caller: the process service wakes the future when the child ends).
    ///
    /// # Examples
    ///
    /// ```
    /// fn add(pair: (i32, i32)) -> i32 {
    ///     pair.0 + pair.1
    /// }
    /// let child = amphi::process::Process::new(add, (40, 2));
    /// child.start()?;
    /// assert_eq!(futures_executor::block_on(child.join_async())?, 42);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub async fn join_async(&self) -> Result<R, Error> {
        let packet = self.started()?;
        packet.wait_async().await;
        children::forget(packet);
        packet.outcome()
    }

    fn join_until(&self, deadline: Deadline) -> Result<R, Error> {
        let packet = self.started()?;
        {
            let _span = crate::trace::span!("process.join", name = self.name.as_str());
            packet.wait_until(deadline)?;
        }
        children::forget(packet);
        packet.outcome()
    }
}

impl<R> Process<R> {
    /// The process's name.
    ///
    /// # Examples
    ///
    /// ```
    /// fn noop(_: ()) {}
    /// let child = amphi::process::Process::new(noop, ());
    /// assert!(child.name().starts_with("Process-"), "Python's default naming");
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the process is daemonic.
    ///
    /// # Examples
    ///
    /// ```
    /// fn noop(_: ()) {}
    /// assert!(!amphi::process::Process::new(noop, ()).daemon());
    /// ```
    pub fn daemon(&self) -> bool {
        self.daemon
    }

    /// The child's process id, once started.
    ///
    /// # Examples
    ///
    /// ```
    /// fn my_pid(_: ()) -> u32 {
    ///     std::process::id()
    /// }
    /// let child = amphi::process::Process::new(my_pid, ());
    /// assert_eq!(child.pid(), None);
    /// child.start()?;
    /// assert_eq!(Some(child.join()?), child.pid());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn pid(&self) -> Option<u32> {
        if let Some(closed) = self.closed {
            return closed.pid;
        }
        self.packet.get().and_then(|packet| packet.pid())
    }

    /// Whether the child is running: false before `start` and once it has ended (a snapshot).
    ///
    /// # Examples
    ///
    /// ```
    /// fn noop(_: ()) {}
    /// let child = amphi::process::Process::new(noop, ());
    /// assert!(!child.is_alive());
    /// child.start()?;
    /// child.join()?;
    /// assert!(!child.is_alive());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn is_alive(&self) -> bool {
        self.packet.get().is_some_and(|packet| packet.is_alive())
    }

    /// The child's exit code, as in Python: `None` before it ended, `Some(0)` after its target
    /// returned, `Some(1)` after a panic, `Some(-N)` after signal `N`.
    ///
    /// # Examples
    ///
    /// ```
    /// fn noop(_: ()) {}
    /// let child = amphi::process::Process::new(noop, ());
    /// assert_eq!(child.exitcode(), None);
    /// child.start()?;
    /// child.join()?;
    /// assert_eq!(child.exitcode(), Some(0));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn exitcode(&self) -> Option<i32> {
        if let Some(closed) = self.closed {
            return closed.exitcode;
        }
        self.packet.get().and_then(|packet| packet.exitcode())
    }

    /// Asks the child to stop: SIGTERM natively, so its exit code becomes -15. Nothing happens
    /// if it already ended. Join it afterwards to wait until it is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// fn nap(millis: u64) {
    ///     std::thread::sleep(std::time::Duration::from_millis(millis));
    /// }
    /// let child = amphi::process::Process::new(nap, 60_000);
    /// child.start()?;
    /// child.terminate()?;
    /// assert!(matches!(child.join(), Err(amphi::Error::ProcessFailed { exitcode: -15, .. })));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn terminate(&self) -> Result<(), Error> {
        self.started()?.signal(Signal::Terminate)
    }

    /// Stops the child at once: SIGKILL natively, so its exit code becomes -9.
    ///
    /// # Examples
    ///
    /// ```
    /// fn nap(millis: u64) {
    ///     std::thread::sleep(std::time::Duration::from_millis(millis));
    /// }
    /// let child = amphi::process::Process::new(nap, 60_000);
    /// child.start()?;
    /// child.kill()?;
    /// assert!(child.join().is_err());
    /// assert_eq!(child.exitcode(), Some(-9));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn kill(&self) -> Result<(), Error> {
        self.started()?.signal(Signal::Kill)
    }

    /// Releases what the handle holds (Python's `Process.close()`): the child's report (its
    /// return value or panic, kept for further joins), the platform's handle on it and its
    /// place among [`active_children`](super::active_children). Closing an unstarted process,
    /// or closing twice, is allowed.
    ///
    /// [`Error::ProcessRunning`] while the child runs (the handle stays usable): join it first.
    /// Afterwards `start`, the joins, `terminate` and `kill` return [`Error::ProcessClosed`];
    /// `name`, `daemon`, `pid`, `is_alive` (false) and `exitcode` still answer (where Python
    /// raises `ValueError`, these snapshots have no error to return, so they keep answering
    /// truthfully).
    ///
    /// # Examples
    ///
    /// ```
    /// fn nap(millis: u64) {
    ///     std::thread::sleep(std::time::Duration::from_millis(millis));
    /// }
    /// let mut child = amphi::process::Process::new(nap, 60_000);
    /// child.start()?;
    /// assert!(matches!(child.close(), Err(amphi::Error::ProcessRunning(_))));
    /// child.kill()?;
    /// assert!(child.join().is_err(), "killed");
    /// child.close()?;
    /// assert!(matches!(child.join(), Err(amphi::Error::ProcessClosed(_))));
    /// assert_eq!(child.exitcode(), Some(-9), "the exit code is remembered");
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn close(&mut self) -> Result<(), Error> {
        if self.closed.is_some() {
            return Ok(());
        }
        if self.is_alive() {
            return Err(Error::ProcessRunning(self.name.clone()));
        }
        self.closed = Some(Closed {
            pid: self.pid(),
            exitcode: self.exitcode(),
        });
        if let Some(packet) = self.packet.take() {
            children::forget(&packet);
        }
        lock(&self.launch).take();
        Ok(())
    }

    fn check_open(&self) -> Result<(), Error> {
        match self.closed {
            Some(_) => Err(Error::ProcessClosed(self.name.clone())),
            None => Ok(()),
        }
    }

    fn started(&self) -> Result<&Arc<Packet>, Error> {
        self.check_open()?;
        self.packet
            .get()
            .ok_or_else(|| Error::NotStarted(self.name.clone()))
    }
}

impl<R> fmt::Debug for Process<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Process")
            .field("name", &self.name)
            .field("daemon", &self.daemon)
            .field("pid", &self.pid())
            .field("exitcode", &self.exitcode())
            .finish()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poison| poison.into_inner())
}
