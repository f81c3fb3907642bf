//! The children this process started and has not joined: [`active_children`] and the
//! [`ChildProcess`] handles it returns.
//!
//! A child is registered when it starts and forgotten when a join sees it end, as in Python
//! (`_children`); [`active_children`] also forgets those that have ended, and returns the rest.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use super::packet::Packet;
use crate::sys::Signal;
use crate::Error;

static CHILDREN: Mutex<Vec<Arc<Packet>>> = Mutex::new(Vec::new());

fn children() -> MutexGuard<'static, Vec<Arc<Packet>>> {
    CHILDREN.lock().unwrap_or_else(|poison| poison.into_inner())
}

/// Registers a started child, forgetting those that have ended (as Python's `start` does).
pub(super) fn register(packet: Arc<Packet>) {
    let mut children = children();
    children.retain(|child| child.is_alive());
    children.push(packet);
}

pub(super) fn forget(packet: &Arc<Packet>) {
    children().retain(|child| !Arc::ptr_eq(child, packet));
}

/// The children of this process that were started, are still alive and have not been joined
/// (Python's `multiprocessing.active_children()`). Children that have ended are forgotten.
///
/// # Examples
///
/// ```
/// use amphi::process::{active_children, Process};
///
/// fn nap(millis: u64) {
///     std::thread::sleep(std::time::Duration::from_millis(millis));
/// }
///
/// let sleeper = Process::new(nap, 60_000);
/// sleeper.start()?;
/// let active = active_children();
/// assert!(active.iter().any(|child| child.pid() == sleeper.pid()));
/// sleeper.kill()?;
/// assert!(sleeper.join().is_err(), "a killed child returns no value");
/// assert!(active_children().iter().all(|child| child.pid() != sleeper.pid()));
/// # Ok::<(), amphi::Error>(())
/// ```
pub fn active_children() -> Vec<ChildProcess> {
    let mut children = children();
    children.retain(|child| child.is_alive());
    children
        .iter()
        .map(|packet| ChildProcess {
            packet: Arc::clone(packet),
        })
        .collect()
}

/// A started child as [`active_children`] returns it, whatever its result type: enough to
/// identify it, watch it, and stop it.
///
/// # Examples
///
/// ```
/// use amphi::process::{active_children, Process};
///
/// fn nap(millis: u64) {
///     std::thread::sleep(std::time::Duration::from_millis(millis));
/// }
///
/// let sleeper = Process::builder().name("sleeper").build(nap, 60_000);
/// sleeper.start()?;
/// for child in active_children() {
///     if child.name() == "sleeper" {
///         child.terminate()?;
///     }
/// }
/// assert!(sleeper.join().is_err());
/// assert_eq!(sleeper.exitcode(), Some(-15));
/// # Ok::<(), amphi::Error>(())
/// ```
#[derive(Clone)]
pub struct ChildProcess {
    packet: Arc<Packet>,
}

impl ChildProcess {
    /// The child's name.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn nap(millis: u64) { std::thread::sleep(std::time::Duration::from_millis(millis)) }
    /// let child = amphi::process::Process::builder().name("napper").build(nap, 60_000);
    /// child.start()?;
    /// let found = amphi::process::active_children();
    /// assert!(found.iter().any(|c| c.name() == "napper"));
    /// child.kill()?;
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn name(&self) -> &str {
        &self.packet.name
    }

    /// The child's process id.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn nap(millis: u64) { std::thread::sleep(std::time::Duration::from_millis(millis)) }
    /// let child = amphi::process::Process::new(nap, 60_000);
    /// child.start()?;
    /// let found = amphi::process::active_children();
    /// assert!(found.iter().any(|c| c.pid() == child.pid()));
    /// child.kill()?;
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn pid(&self) -> Option<u32> {
        self.packet.pid()
    }

    /// Whether the child is daemonic.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn nap(millis: u64) { std::thread::sleep(std::time::Duration::from_millis(millis)) }
    /// let child = amphi::process::Process::builder().daemon(true).build(nap, 60_000);
    /// child.start()?;
    /// let found = amphi::process::active_children();
    /// assert!(found.iter().any(|c| c.pid() == child.pid() && c.daemon()));
    /// child.kill()?;
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn daemon(&self) -> bool {
        self.packet.daemon
    }

    /// Whether the child is still running (a snapshot).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn nap(millis: u64) { std::thread::sleep(std::time::Duration::from_millis(millis)) }
    /// let child = amphi::process::Process::new(nap, 60_000);
    /// child.start()?;
    /// assert!(amphi::process::active_children().iter().all(|c| c.is_alive()));
    /// child.kill()?;
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn is_alive(&self) -> bool {
        self.packet.is_alive()
    }

    /// The child's exit code: `None` while it runs (see [`Process::exitcode`]).
    ///
    /// [`Process::exitcode`]: super::Process::exitcode
    ///
    /// # Examples
    ///
    /// ```
    /// # fn nap(millis: u64) { std::thread::sleep(std::time::Duration::from_millis(millis)) }
    /// let child = amphi::process::Process::new(nap, 60_000);
    /// child.start()?;
    /// let handle = amphi::process::active_children().remove(0);
    /// assert_eq!(handle.exitcode(), None);
    /// handle.kill()?;
    /// let _ = child.join();
    /// assert_eq!(handle.exitcode(), Some(-9));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn exitcode(&self) -> Option<i32> {
        self.packet.exitcode()
    }

    /// Asks the child to stop: SIGTERM natively (see [`Process::terminate`]).
    ///
    /// [`Process::terminate`]: super::Process::terminate
    ///
    /// # Examples
    ///
    /// ```
    /// # fn nap(millis: u64) { std::thread::sleep(std::time::Duration::from_millis(millis)) }
    /// let child = amphi::process::Process::new(nap, 60_000);
    /// child.start()?;
    /// amphi::process::active_children().iter().try_for_each(|c| c.terminate())?;
    /// assert!(child.join().is_err());
    /// assert_eq!(child.exitcode(), Some(-15));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn terminate(&self) -> Result<(), Error> {
        self.packet.signal(Signal::Terminate)
    }

    /// Stops the child at once: SIGKILL natively (see [`Process::kill`]).
    ///
    /// [`Process::kill`]: super::Process::kill
    ///
    /// # Examples
    ///
    /// ```
    /// # fn nap(millis: u64) { std::thread::sleep(std::time::Duration::from_millis(millis)) }
    /// let child = amphi::process::Process::new(nap, 60_000);
    /// child.start()?;
    /// amphi::process::active_children().iter().try_for_each(|c| c.kill())?;
    /// assert!(child.join().is_err());
    /// assert_eq!(child.exitcode(), Some(-9));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn kill(&self) -> Result<(), Error> {
        self.packet.signal(Signal::Kill)
    }
}

impl fmt::Debug for ChildProcess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildProcess")
            .field("name", &self.packet.name)
            .field("pid", &self.packet.pid())
            .field("daemon", &self.packet.daemon)
            .field("exitcode", &self.packet.exitcode())
            .finish()
    }
}
