//! The child's side of a process start, which runs before `main`.
//!
//! A child is the current executable started again (`/proc/self/exe`) with `AMPHI_PROCESS_FD`
//! set to the number of an inherited socket. A constructor ([`start_up`], via `ctor`) runs in
//! every process before `main`: without that variable it only notes that it is linked; with it,
//! the process is a child and never reaches `main`:
//!
//! 1. it removes the variable (a grandchild gets its own), adopts the shared-memory region the
//!    parent may have handed over (`shm.rs`), marks the socket close-on-exec and reads the
//!    [`Header`], payload and inherited values (`sys::set_inherited`, such as manager keys,
//!    kept out of the environment) the parent wrote there, giving up if the socket stays
//!    silent for [`START_UP_TIMEOUT`] (see below);
//! 2. it checks that it is the same executable file as its parent (device and inode of
//!    `/proc/self/exe`), else it refuses with a clear error;
//! 3. it finds the entry and the target as offsets from [`start_up`] (same file, so same
//!    layout; only the load address differs), checks both lie in the executable, calls the
//!    entry, sends its report frame and exits with the entry's exit code.
//!
//! Start-up deadline: a parent writes the whole message as soon as the child runs, so a socket
//! that stays open but silent means a parent that is stopped, stuck, or not amphi at all. Each
//! read of the message waits at most [`START_UP_TIMEOUT`] (10 s; the socket's receive timeout,
//! so the wait sleeps in the kernel), or the number of milliseconds in
//! `AMPHI_START_UP_TIMEOUT_MS` ([`START_UP_TIMEOUT_ENV`], inherited by the whole process tree
//! and never removed). The timeout measures silence, not the whole transfer: every piece that
//! arrives starts it again, so a large payload that keeps coming is never cut short. A child
//! that gives up says so on stderr, sends the parent a broken report (in case it reads after
//! all) and exits with code [`START_UP_TIMEOUT_EXIT`] (124, as `timeout(1)`); every other
//! reason not to run exits with code 1.
//!
//! Trust: the socket is the parent's (only a parent that set the variable could hand it over),
//! so what arrives on it is checked against accidents (magic, lengths, the executable's
//! identity, offsets that land inside the executable), not against a forger, who would need
//! the power to run this program with chosen descriptors anyway.
//!
//! The constructor runs at `late` priority, after the other constructors of the program (as a
//! Python "spawn" child re-imports the main module before running its target). Because `main`
//! never runs in a child, the Rust runtime's start-up has not run either: the target runs on a
//! main thread without a name and without the stack-overflow message (an overflow is a plain
//! `SIGSEGV`, exit code -11), and `std::env::args` is that of the child (the parent's `argv[0]`).

use std::ffi::OsStr;
use std::io::{ErrorKind, Read};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::frame::{self, Header, HEADER_LEN, KIND_BROKEN, KIND_REPORT};
use crate::sys::ProcessEntry;

/// The variable that makes a process a child: the number of its socket.
pub(super) const CHILD_ENV: &str = "AMPHI_PROCESS_FD";

/// How long a child waits, at most, for each piece of its start-up message before it gives up.
const START_UP_TIMEOUT: Duration = Duration::from_secs(10);

/// The variable that overrides [`START_UP_TIMEOUT`]: a whole number of milliseconds, at least 1.
const START_UP_TIMEOUT_ENV: &str = "AMPHI_START_UP_TIMEOUT_MS";

/// The exit code of a child that gave up waiting for its start-up message.
const START_UP_TIMEOUT_EXIT: i32 = 124;

/// The exit code of a child that could not run for any other reason.
const CANNOT_RUN_EXIT: i32 = 1;

/// Set by [`start_up`] in every process where it ran, so a parent can refuse to start children
/// from an executable whose constructor was lost (they would run `main` instead).
static LINKED: AtomicBool = AtomicBool::new(false);

/// The constructor: a no-op in a parent, the whole life of a child.
///
/// Running before `main` is sound here because the constructor only uses what the C runtime
/// and Rust's `std` provide before `main` on Linux (environment, files, sockets, threads,
/// `catch_unwind`), lets no panic escape (the entry catches the target's), and never returns
/// into `main` in a child.
// SAFETY: a constructor runs before `main`; the paragraph above says why this one may.
#[ctor::ctor(unsafe, priority = late)]
fn start_up() {
    LINKED.store(true, Ordering::Relaxed);
    let Some(fd) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    // Before main, no other thread exists yet to read the environment concurrently.
    std::env::remove_var(CHILD_ENV);
    super::shm::inherit();
    std::process::exit(run(&fd));
}

/// Whether the constructor ran in this process (it did, wherever this module was linked).
pub(super) fn constructor_linked() -> bool {
    LINKED.load(Ordering::Relaxed)
}

/// The fixed point of this executable that code offsets are measured from.
fn anchor() -> *const u8 {
    start_up as fn() as *const u8
}

/// The base address of the loaded object (executable or shared library) holding `address`, if
/// the dynamic loader knows it (it does not in a fully static executable).
fn object_base(address: *const u8) -> Option<usize> {
    // SAFETY: `Dl_info` is plain data (pointers and integers): all zeros is a valid value.
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    // SAFETY: dladdr only compares `address` with the loaded objects' ranges (it never reads
    // through it) and writes into `info`, a valid, writable `Dl_info`.
    let found = unsafe { libc::dladdr(address.cast(), &mut info) };
    (found != 0).then_some(info.dli_fbase as usize)
}

/// Checks that `address` lies in the same loaded object as the anchor: the executable.
fn in_executable(address: *const u8) -> Result<(), String> {
    match object_base(anchor()) {
        None => Ok(()), // a static executable: everything is in it
        Some(base) if object_base(address) == Some(base) => Ok(()),
        Some(_) => Err(format!(
            "the function at {address:p} is not part of the executable file (is it in a shared \
             library?), so a child process could not find it"
        )),
    }
}

/// The offset of `address` (a function of this executable) from the anchor.
pub(super) fn code_offset(address: usize) -> Result<i64, String> {
    in_executable(address as *const u8)?;
    Ok(address.wrapping_sub(anchor() as usize) as i64)
}

/// The address `offset` from the anchor, checked to lie in the executable.
pub(super) fn code_at(offset: i64) -> Result<*const u8, String> {
    let address = anchor().wrapping_offset(offset as isize);
    in_executable(address)?;
    Ok(address)
}

/// The device and inode of the running executable.
pub(super) fn exe_identity() -> Result<(u64, u64), String> {
    let meta = std::fs::metadata("/proc/self/exe")
        .map_err(|err| format!("cannot inspect /proc/self/exe: {err}"))?;
    Ok((meta.dev(), meta.ino()))
}

/// Why a child does not run its entry.
#[derive(Debug, PartialEq, Eq)]
enum NotRun {
    /// The parent sent nothing for the whole start-up timeout.
    Silent(String),
    /// Anything else: the message, the executable or an offset is wrong.
    Broken(String),
}

impl From<String> for NotRun {
    fn from(why: String) -> NotRun {
        NotRun::Broken(why)
    }
}

/// The start-up timeout that `value` (of [`START_UP_TIMEOUT_ENV`]) asks for: a whole number of
/// milliseconds, at least 1; [`START_UP_TIMEOUT`] without the variable, or an error saying why
/// its value is not one.
fn start_up_timeout(value: Option<&OsStr>) -> Result<Duration, String> {
    let Some(value) = value else {
        return Ok(START_UP_TIMEOUT);
    };
    value
        .to_str()
        .and_then(|text| text.parse::<u64>().ok())
        .filter(|&millis| millis > 0)
        .map(Duration::from_millis)
        .ok_or_else(|| {
            format!(
                "{START_UP_TIMEOUT_ENV}={value:?} is not a whole number of milliseconds above 0"
            )
        })
}

/// Runs the child; returns its exit code.
fn run(fd: &OsStr) -> i32 {
    let socket = match claim(fd) {
        Ok(socket) => socket,
        Err(why) => {
            eprintln!("amphi: {CHILD_ENV} is set but {why}; exiting");
            return CANNOT_RUN_EXIT;
        }
    };
    let timeout = start_up_timeout(std::env::var_os(START_UP_TIMEOUT_ENV).as_deref())
        .unwrap_or_else(|why| {
            eprintln!("amphi: {why}; waiting {START_UP_TIMEOUT:?} for the start-up message");
            START_UP_TIMEOUT
        });
    let (kind, body, code) = match receive_and_run(&socket, timeout) {
        Ok(exit) => (KIND_REPORT, exit.report, exit.code),
        Err(not_run) => {
            let (why, code) = match not_run {
                NotRun::Silent(why) => (why, START_UP_TIMEOUT_EXIT),
                NotRun::Broken(why) => (why, CANNOT_RUN_EXIT),
            };
            eprintln!("amphi: this child process cannot run: {why}");
            // A parent that does not read must not keep this child from exiting either.
            let _ = socket.set_write_timeout(Some(timeout));
            (KIND_BROKEN, why.into_bytes(), code)
        }
    };
    // A parent that is gone cannot be told; the exit code is all that is left.
    let _ = frame::send_all(socket.as_fd(), &frame::report_frame(kind, &body));
    code
}

/// Takes ownership of the socket named by the variable, after checking it is one.
fn claim(fd: &OsStr) -> Result<UnixStream, String> {
    let number: libc::c_int = fd
        .to_str()
        .and_then(|text| text.parse().ok())
        .filter(|&number| number > 2)
        .ok_or_else(|| format!("{fd:?} is not a descriptor number"))?;
    // SAFETY: `libc::stat` is plain integers, so all zeros is a valid value; fstat writes into
    // it, a valid, writable `libc::stat`; an unknown descriptor is an error, never used.
    let is_socket = unsafe {
        let mut stat: libc::stat = std::mem::zeroed();
        libc::fstat(number, &mut stat) == 0 && (stat.st_mode & libc::S_IFMT) == libc::S_IFSOCK
    };
    if !is_socket {
        return Err(format!("descriptor {number} is not an open socket"));
    }
    // SAFETY: the parent handed this descriptor to this process for this purpose alone (that
    // is what the variable, now removed, says): nothing else here owns or closes it.
    let owned = unsafe { OwnedFd::from_raw_fd(number) };
    // SAFETY: fcntl on a descriptor we own; F_SETFD takes an integer flag.
    if unsafe { libc::fcntl(owned.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) } == -1 {
        return Err(format!("descriptor {number} cannot be configured"));
    }
    Ok(UnixStream::from(owned))
}

/// Fills `buffer` with `what` (a part of the start-up message) from the socket, whose receive
/// timeout is `timeout`: a timeout is [`NotRun::Silent`], any other failure (an early end
/// included) is [`NotRun::Broken`].
fn read_start_up(
    mut socket: &UnixStream,
    buffer: &mut [u8],
    timeout: Duration,
    what: &str,
) -> Result<(), NotRun> {
    socket.read_exact(buffer).map_err(|err| match err.kind() {
        ErrorKind::WouldBlock | ErrorKind::TimedOut => NotRun::Silent(format!(
            "the parent sent nothing for {timeout:?} while this child waited for {what} (a \
             start-up deadline; {START_UP_TIMEOUT_ENV} sets it in milliseconds), so it gives up"
        )),
        _ => NotRun::Broken(format!("the parent did not send {what} ({err})")),
    })
}

fn receive_and_run(
    socket: &UnixStream,
    timeout: Duration,
) -> Result<crate::sys::ChildExit, NotRun> {
    socket
        .set_read_timeout(Some(timeout))
        .map_err(|err| format!("the start-up socket takes no timeout ({err})"))?;
    let mut head = [0u8; HEADER_LEN];
    read_start_up(socket, &mut head, timeout, "its start-up message")?;
    let header = Header::decode(&head)?;
    let exe = exe_identity()?;
    if exe != header.exe {
        return Err(NotRun::Broken(format!(
            "it is not the same executable file as its parent (device {}, inode {} here; \
             {}, {} in the parent): was the program rebuilt or replaced while running?",
            exe.0, exe.1, header.exe.0, header.exe.1
        )));
    }
    let mut payload = vec![0u8; header.payload_len as usize];
    read_start_up(socket, &mut payload, timeout, "the rest of its payload")?;
    let mut inherited = vec![0u8; header.inherited_len as usize];
    read_start_up(socket, &mut inherited, timeout, "its inherited values")?;
    crate::sys::process::adopt_inherited(&inherited)
        .map_err(|why| NotRun::Broken(format!("its inherited values are not valid: {why}")))?;
    let entry = code_at(header.entry_offset)?;
    let target = code_at(header.target_offset)?;
    // SAFETY: the parent measured `entry_offset` from a value of type `ProcessEntry` and the
    // anchor, both in its executable (it checked), and sent it through a socket only it could
    // hand us. This process is that same executable file (checked above), mapped whole at
    // another base address, so the anchor here plus the same offset is that same function,
    // whose address we also checked lies in the executable. A function pointer and
    // `*const u8` have the same size.
    let entry = unsafe { std::mem::transmute::<*const u8, ProcessEntry>(entry) };
    // SAFETY: by the same reasoning, `target` is the function the parent named in the
    // `ProcessStart` that paired it with this entry; that pairing is the entry's contract.
    Ok(unsafe { entry(target.cast(), &payload) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_start_up_timeout_is_ten_seconds_unless_overridden() {
        assert_eq!(start_up_timeout(None), Ok(Duration::from_secs(10)));
        assert_eq!(
            start_up_timeout(Some(OsStr::new("250"))),
            Ok(Duration::from_millis(250))
        );
        for bad in ["0", "-5", "1.5", "10s", ""] {
            let why = start_up_timeout(Some(OsStr::new(bad))).unwrap_err();
            assert!(why.contains(START_UP_TIMEOUT_ENV), "{why}");
        }
    }

    #[test]
    fn a_silent_parent_is_a_timeout_and_a_closed_one_is_broken() {
        let (child, parent) = UnixStream::pair().unwrap();
        let timeout = Duration::from_millis(20);
        child.set_read_timeout(Some(timeout)).unwrap();
        let mut head = [0u8; HEADER_LEN];
        let silent = read_start_up(&child, &mut head, timeout, "its start-up message");
        assert!(
            matches!(&silent, Err(NotRun::Silent(why)) if why.contains("sent nothing for 20ms")),
            "{silent:?}"
        );
        drop(parent);
        let closed = read_start_up(&child, &mut head, timeout, "its start-up message");
        assert!(matches!(closed, Err(NotRun::Broken(_))), "{closed:?}");
    }
}
