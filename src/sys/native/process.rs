//! Native child processes: the current executable started again, Python's "spawn".
//!
//! [`spawn_process`] measures where the entry and the target are (offsets from a fixed symbol,
//! see `child.rs`), writes them with the executable's identity and the payload into a start-up
//! message, and asks the process service (`reaper.rs`) to start the child and feed it. The
//! child is `execve("/proc/self/exe")`, which is this very file even if it was since replaced
//! on disk, with `argv[0]` kept, standard input from `/dev/null` (as Python's children), and
//! `AMPHI_PROCESS_FD` naming the one descriptor it inherits: its end of a socket pair. When
//! this process has a shared-memory region (`shm.rs`), the child also inherits its descriptor,
//! named by `AMPHI_SHM_FD`.
//!
//! Between `fork` and `exec` a daemonic child asks for `SIGKILL` when its parent dies
//! (`PR_SET_PDEATHSIG`) and then checks that its parent is still the process that forked it:
//! if that parent died first, the request came too late to fire, and the child gives up.
//! Non-daemonic children are left alone and outlive their parent.
//!
//! [`ChildHandle::signal`] sends a signal only while the child is not reaped, under the same lock
//! the service reaps with, so it can never reach an unrelated process that reused the pid.

use std::io;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Once};

use super::child::{code_at, code_offset, constructor_linked, exe_identity, CHILD_ENV};
use super::frame::{Header, MAX_BODY};
use super::reaper::{self, Launch};
use super::shm::SHM_ENV;
use crate::sys::process::Watch;
use crate::sys::{ProcessStart, Signal};

/// What a child's handle and the service share.
#[derive(Debug)]
pub(super) struct Shared {
    pid: libc::pid_t,
    /// True once `waitpid` collected the child: from then on its pid may belong to another.
    reaped: Mutex<bool>,
}

impl Shared {
    pub(super) fn new(pid: libc::pid_t) -> Shared {
        Shared {
            pid,
            reaped: Mutex::new(false),
        }
    }

    fn reaped(&self) -> MutexGuard<'_, bool> {
        self.reaped
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Collects the child if it has exited: its exit code in Python's terms (the status, or
    /// `-N` after signal `N`). If other code of this process collected it first (a stray
    /// `waitpid(-1)`), the status is lost and the code is 255.
    pub(super) fn reap(&self) -> Option<i32> {
        let mut reaped = self.reaped();
        if *reaped {
            return None;
        }
        let mut status = 0;
        // SAFETY: `status` is a valid, writable int; WNOHANG never blocks.
        let collected = unsafe { libc::waitpid(self.pid, &mut status, libc::WNOHANG) };
        let code = match collected {
            0 => return None,
            -1 if io::Error::last_os_error().raw_os_error() != Some(libc::ECHILD) => return None,
            -1 => 255,
            _ if libc::WIFSIGNALED(status) => -libc::WTERMSIG(status),
            _ => libc::WEXITSTATUS(status),
        };
        *reaped = true;
        Some(code)
    }
}

/// A started child, as its `Process` holds it.
#[derive(Debug)]
pub(crate) struct ChildHandle {
    shared: Arc<Shared>,
}

impl ChildHandle {
    /// The child's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.shared.pid as u32
    }

    /// Sends `signal` to the child unless it has already been reaped (then it did end, and
    /// there is nothing to do).
    pub(crate) fn signal(&self, signal: Signal) -> Result<(), String> {
        let number = match signal {
            Signal::Terminate => libc::SIGTERM,
            Signal::Kill => libc::SIGKILL,
        };
        let reaped = self.shared.reaped();
        // SAFETY: kill takes a pid and a signal number; the pid is our unreaped child's (the
        // lock keeps the service from reaping it meanwhile), so it names no other process.
        if *reaped || unsafe { libc::kill(self.shared.pid, number) } == 0 {
            return Ok(());
        }
        Err(format!(
            "cannot signal the process: {}",
            io::Error::last_os_error()
        ))
    }
}

/// This process's id.
/// This process's id, cached (`getpid` is a system call, and the process-shared lock records its
/// owner on every acquire). A `fork` that amphi did not make resets the cache in the child
/// through a `pthread_atfork` handler registered with the first read.
pub(crate) fn current_pid() -> u32 {
    static PID: AtomicU32 = AtomicU32::new(0);
    static RESET_ON_FORK: Once = Once::new();
    extern "C" fn forget_pid_in_child() {
        PID.store(0, Ordering::Relaxed);
    }
    match PID.load(Ordering::Relaxed) {
        0 => {
            RESET_ON_FORK.call_once(|| {
                // SAFETY: registers a handler that only stores to an atomic, which is
                // async-signal-safe and so allowed in a forked child.
                unsafe { libc::pthread_atfork(None, None, Some(forget_pid_in_child)) };
            });
            let pid = std::process::id();
            PID.store(pid, Ordering::Relaxed);
            pid
        }
        pid => pid,
    }
}

/// A function of this executable (its address) as the same number in every process of the
/// tree: its offset from a fixed symbol (see `child.rs`), since every process of a tree is the
/// same executable file (checked when a child starts). An error for code outside the
/// executable (a shared library's).
pub(crate) fn code_ref(address: usize) -> Result<u64, String> {
    code_offset(address).map(|offset| offset as u64)
}

/// The address of the function [`code_ref`] numbered `code`, checked to lie in the executable.
pub(crate) fn code_address(code: u64) -> Result<usize, String> {
    code_at(code as i64).map(|address| address as usize)
}

/// Ends this process now with `code` (`exit(3)`: buffered standard output is flushed, no
/// destructor of another thread runs). A child's parent sees `code` as its exit code. Never
/// returns: the reason it could not exit would be the return value, and natively there is none.
pub(crate) fn exit_process(code: i32) -> String {
    std::process::exit(code)
}

/// Starts a child running `start.entry` (see the module docs).
pub(crate) fn spawn_process(start: ProcessStart, watch: Watch) -> Result<ChildHandle, String> {
    if !constructor_linked() {
        return Err(
            "amphi's start-up hook is missing from this executable, so a child \
                    would run main instead of its target"
                .to_owned(),
        );
    }
    let payload_len = start.payload.len() as u64;
    if payload_len > MAX_BODY {
        return Err(format!(
            "the arguments weigh {payload_len} bytes, over the limit"
        ));
    }
    let inherited = crate::sys::process::inherited_message();
    let header = Header {
        exe: exe_identity()?,
        entry_offset: code_offset(start.entry as usize)?,
        target_offset: code_offset(start.target)?,
        payload_len,
        inherited_len: inherited.len() as u64,
    };
    let mut bytes = header.encode();
    bytes.extend_from_slice(&start.payload);
    bytes.extend_from_slice(&inherited);
    let shared = reaper::launch(Launch {
        daemon: start.daemon,
        bytes,
        watch,
    })?;
    Ok(ChildHandle { shared })
}

/// Forks and executes the child (on the service thread); returns its pid.
pub(super) fn spawn_child(socket: libc::c_int, daemon: bool) -> io::Result<libc::pid_t> {
    let mut command = Command::new("/proc/self/exe");
    if let Some(program) = std::env::args_os().next() {
        command.arg0(program);
    }
    command
        .env(CHILD_ENV, socket.to_string())
        .stdin(Stdio::null());
    let region = super::shm::region_fd();
    match region {
        Some(fd) => command.env(SHM_ENV, fd.to_string()),
        None => command.env_remove(SHM_ENV),
    };
    // SAFETY: getpid has no preconditions.
    let parent = unsafe { libc::getpid() };
    // SAFETY: the closure runs in the forked child before exec and only makes system calls
    // that are async-signal-safe (fcntl, prctl, getppid) on integers it captured by value; it
    // allocates nothing and touches no lock.
    unsafe { command.pre_exec(move || prepare_child(socket, region, daemon, parent)) };
    let child = command.spawn()?;
    Ok(child.id() as libc::pid_t)
}

/// In the forked child: keep the socket (and the shared region) across exec; tie a daemon's
/// life to its parent's.
fn prepare_child(
    socket: libc::c_int,
    region: Option<libc::c_int>,
    daemon: bool,
    parent: libc::pid_t,
) -> io::Result<()> {
    for fd in std::iter::once(socket).chain(region) {
        // SAFETY: fcntl on an open descriptor (inherited by the fork), integer flags.
        if unsafe { libc::fcntl(fd, libc::F_SETFD, 0) } == -1 {
            return Err(io::Error::last_os_error());
        }
    }
    if daemon {
        // SAFETY: prctl(PR_SET_PDEATHSIG) takes a signal number, no pointers.
        if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) } == -1 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: getppid has no preconditions.
        if unsafe { libc::getppid() } != parent {
            return Err(io::Error::from_raw_os_error(libc::ESRCH));
        }
    }
    Ok(())
}
