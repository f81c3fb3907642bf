//! The process service: one thread per parent that starts, feeds, watches and reaps children.
//!
//! Started on the first process start, the thread `amphi-processes` never exits. It waits in
//! `epoll_wait` on:
//! - an `eventfd` that [`launch`] writes after queueing a request: the thread starts the child
//!   (see `process.rs`) and answers with its shared handle;
//! - each child's socket: it writes the start-up message as the socket accepts it (never
//!   blocking anyone) and reads the report as it arrives (so a child never blocks writing a
//!   large report while nobody reads);
//! - each child's `pidfd` (Linux 5.3+), readable once the child has exited. Without pidfds
//!   (older kernels) the thread wakes every [`POLL_INTERVAL_MS`] and polls `waitpid(WNOHANG)`.
//!
//! When a child has exited it is reaped (`waitpid`, under the child's `reaped` lock, so a
//! signal is never sent to a recycled pid), its socket is drained, and its watch gets the exit
//! code and the report; then the exit word moves to `PROCESS_EXITED` and every waiter wakes.
//!
//! Why one long-lived thread starts every child: `PR_SET_PDEATHSIG`, which kills a daemonic
//! child with its parent, fires when the *thread* that forked the child ends, not the process.
//! Forking from a thread that never ends makes it fire exactly when the parent process ends
//! (normally, by a signal, or by `SIGKILL`).

use std::collections::HashMap;
use std::io::{self, Read};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{mpsc, Arc, Mutex, MutexGuard, OnceLock};

use super::frame::{self, Inbox};
use super::process::{spawn_child, Shared};
use crate::sync::atomic::Ordering;
use crate::sys::process::{Watch, PROCESS_EXITED};
use crate::sys::ChildReport;

/// How often children are polled when the kernel has no pidfds.
pub(super) const POLL_INTERVAL_MS: i32 = 10;
const WAKE_KEY: u64 = u64::MAX;
const SOCKET: u64 = 0;
const PIDFD: u64 = 1;

/// A child to start: whether it is daemonic, the bytes to send it, and its watch.
pub(super) struct Launch {
    pub(super) daemon: bool,
    pub(super) bytes: Vec<u8>,
    pub(super) watch: Watch,
}

type Request = (Launch, mpsc::SyncSender<Result<Arc<Shared>, String>>);

/// Requests for the service; `None` once the service has stopped (it never does unless it
/// panics, and then every request fails instead of waiting forever).
static QUEUE: Mutex<Option<Vec<Request>>> = Mutex::new(Some(Vec::new()));
/// A `fork` without `exec` copies a process but not its threads: no service runs in the copy.
const FORKED: &str = "this process was forked (without exec) from the one that owns the \
                      process service, whose thread did not survive the fork";
/// The service's `eventfd` and the process it runs in, or why the service could not start.
static WAKEUP: OnceLock<Result<(OwnedFd, u32), String>> = OnceLock::new();

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poison| poison.into_inner())
}

/// Has the service start a child; returns its shared handle once it runs.
pub(super) fn launch(launch: Launch) -> Result<Arc<Shared>, String> {
    let (wakeup, owner) = WAKEUP
        .get_or_init(start_service)
        .as_ref()
        .map_err(Clone::clone)?;
    if *owner != std::process::id() {
        return Err(FORKED.to_owned());
    }
    let (reply, answer) = mpsc::sync_channel(1);
    lock(&QUEUE)
        .as_mut()
        .ok_or("amphi's process service has stopped")?
        .push((launch, reply));
    let one = 1u64.to_ne_bytes();
    // SAFETY: writes 8 readable bytes to the eventfd, which stays open for the process's life.
    unsafe { libc::write(wakeup.as_raw_fd(), one.as_ptr().cast(), one.len()) };
    answer
        .recv()
        .map_err(|_| "amphi's process service stopped".to_owned())?
}

/// Takes ownership of a descriptor a system call just returned, or says why it failed.
fn created(fd: i32, what: &str) -> Result<OwnedFd, String> {
    if fd < 0 {
        return Err(format!("{what} failed: {}", io::Error::last_os_error()));
    }
    // SAFETY: `fd` was just created by the calling thread and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn start_service() -> Result<(OwnedFd, u32), String> {
    // SAFETY: epoll_create1 takes flags, no pointers.
    let epoll = created(
        unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) },
        "epoll_create1",
    )?;
    let flags = libc::EFD_CLOEXEC | libc::EFD_NONBLOCK;
    // SAFETY: eventfd takes an initial value and flags, no pointers.
    let wakeup = created(unsafe { libc::eventfd(0, flags) }, "eventfd")?;
    let theirs = wakeup.try_clone().map_err(|err| err.to_string())?;
    let service = Service {
        epoll,
        wakeup: theirs,
        children: HashMap::new(),
        next_id: 0,
    };
    service.watch(service.wakeup.as_raw_fd(), libc::EPOLLIN, WAKE_KEY)?;
    std::thread::Builder::new()
        .name("amphi-processes".to_owned())
        .spawn(move || serve(service))
        .map_err(|err| format!("cannot start the process service thread: {err}"))?;
    Ok((wakeup, std::process::id()))
}

struct Service {
    epoll: OwnedFd,
    wakeup: OwnedFd,
    children: HashMap<u64, Child>,
    next_id: u64,
}

struct Child {
    shared: Arc<Shared>,
    watch: Watch,
    /// Our end of the child's socket, until it reaches end of file.
    socket: Option<UnixStream>,
    pidfd: Option<OwnedFd>,
    /// The start-up message, and how much of it the child has taken.
    outbox: Vec<u8>,
    sent: usize,
    inbox: Inbox,
}

fn serve(mut service: Service) {
    let Err(panic) = panic::catch_unwind(AssertUnwindSafe(|| service.run())) else {
        return;
    };
    let why = panic
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    lock(&QUEUE).take();
    for (_, child) in service.children.drain() {
        child.finish(
            255,
            ChildReport::Broken(format!("amphi's process service failed: {why}")),
        );
    }
}

impl Service {
    fn run(&mut self) {
        let mut events = [libc::epoll_event { events: 0, u64: 0 }; 32];
        loop {
            let polling = self.children.values().any(|child| child.pidfd.is_none());
            let timeout = if polling { POLL_INTERVAL_MS } else { -1 };
            // SAFETY: `events` is a valid, writable array of 32 epoll_event for the call.
            let ready = unsafe {
                libc::epoll_wait(self.epoll.as_raw_fd(), events.as_mut_ptr(), 32, timeout)
            };
            for event in &events[..usize::try_from(ready).unwrap_or(0)] {
                match event.u64 {
                    WAKE_KEY => self.take_requests(),
                    key => self.on_event(key >> 1, key & 1),
                }
            }
            if polling {
                let ids: Vec<u64> = self.children.keys().copied().collect();
                ids.into_iter().for_each(|id| self.try_reap(id));
            }
        }
    }

    fn watch(&self, fd: i32, events: i32, key: u64) -> Result<(), String> {
        control(self.epoll.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, events, key)
    }

    fn take_requests(&mut self) {
        let mut count = [0u8; 8];
        // SAFETY: reads at most 8 bytes into `count`, a valid writable buffer.
        unsafe { libc::read(self.wakeup.as_raw_fd(), count.as_mut_ptr().cast(), 8) };
        let requests = lock(&QUEUE)
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default();
        for (launch, reply) in requests {
            let _ = reply.send(self.start(launch));
        }
    }

    /// Starts a child, registers it, and returns its shared handle.
    fn start(&mut self, launch: Launch) -> Result<Arc<Shared>, String> {
        let (ours, theirs) = UnixStream::pair().map_err(|err| err.to_string())?;
        ours.set_nonblocking(true).map_err(|err| err.to_string())?;
        let theirs = OwnedFd::from(theirs);
        // Keep the child's descriptor clear of 0, 1 and 2, which its stdio set-up overwrites.
        let theirs = match theirs.as_raw_fd() {
            0..=2 => theirs.try_clone().map_err(|err| err.to_string())?,
            _ => theirs,
        };
        let pid = spawn_child(theirs.as_raw_fd(), launch.daemon)
            .map_err(|err| format!("the OS refused a new process: {err}"))?;
        drop(theirs);
        let shared = Arc::new(Shared::new(pid));
        let id = self.next_id;
        self.next_id += 1;
        let pidfd = pidfd_open(pid);
        let mut child = Child {
            shared: Arc::clone(&shared),
            watch: launch.watch,
            socket: Some(ours),
            pidfd,
            outbox: launch.bytes,
            sent: 0,
            inbox: Inbox::default(),
        };
        self.register(id, &mut child);
        self.children.insert(id, child);
        Ok(shared)
    }

    /// Watches the child's descriptors. One that cannot be watched is dropped: without its
    /// pidfd the child is polled; without its socket it reads end of file and exits.
    fn register(&self, id: u64, child: &mut Child) {
        let events = libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLRDHUP;
        let socket = child.socket.as_ref().map(AsRawFd::as_raw_fd);
        if socket.is_some_and(|fd| self.watch(fd, events, id << 1 | SOCKET).is_err()) {
            child.socket = None;
        }
        let pidfd = child.pidfd.as_ref().map(AsRawFd::as_raw_fd);
        if pidfd.is_some_and(|fd| self.watch(fd, libc::EPOLLIN, id << 1 | PIDFD).is_err()) {
            child.pidfd = None;
        }
    }

    fn on_event(&mut self, id: u64, kind: u64) {
        if kind == PIDFD {
            return self.try_reap(id);
        }
        let epoll = self.epoll.as_raw_fd();
        let Some(child) = self.children.get_mut(&id) else {
            return;
        };
        let Some(socket) = &child.socket else { return };
        let socket_fd = socket.as_raw_fd();
        let (finished_sending, at_end) = child.pump();
        if at_end {
            let _ = control(epoll, libc::EPOLL_CTL_DEL, socket_fd, 0, 0);
            child.socket = None;
        } else if finished_sending {
            let _ = control(
                epoll,
                libc::EPOLL_CTL_MOD,
                socket_fd,
                libc::EPOLLIN,
                id << 1 | SOCKET,
            );
        }
    }

    /// Reaps the child if it has exited, and delivers its end.
    fn try_reap(&mut self, id: u64) {
        let Some(child) = self.children.get(&id) else {
            return;
        };
        let Some(exitcode) = child.shared.reap() else {
            return;
        };
        let Some(mut child) = self.children.remove(&id) else {
            return;
        };
        child.pump();
        let socket = child.socket.as_ref().map(AsRawFd::as_raw_fd);
        let pidfd = child.pidfd.as_ref().map(AsRawFd::as_raw_fd);
        for fd in [socket, pidfd].into_iter().flatten() {
            let _ = control(self.epoll.as_raw_fd(), libc::EPOLL_CTL_DEL, fd, 0, 0);
        }
        let report = std::mem::take(&mut child.inbox).finish();
        child.finish(exitcode, report);
    }
}

/// `epoll_ctl` on the service's epoll instance.
fn control(epoll: i32, op: i32, fd: i32, events: i32, key: u64) -> Result<(), String> {
    let mut event = libc::epoll_event {
        events: events as u32,
        u64: key,
    };
    // SAFETY: `event` is a valid epoll_event; `epoll` and `fd` are open descriptors owned by
    // the service for the duration of the call.
    match unsafe { libc::epoll_ctl(epoll, op, fd, &mut event) } {
        0 => Ok(()),
        _ => Err(format!("epoll_ctl: {}", io::Error::last_os_error())),
    }
}

impl Child {
    /// Sends what the socket accepts and reads what it has; returns (the start-up message is
    /// all sent, the socket reached end of file).
    fn pump(&mut self) -> (bool, bool) {
        let Some(socket) = &self.socket else {
            return (true, true);
        };
        while self.sent < self.outbox.len() {
            match frame::send(socket.as_fd(), &self.outbox[self.sent..]) {
                Ok(sent) => self.sent += sent,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
                Err(_gone) => self.sent = self.outbox.len(),
            }
        }
        let finished_sending = self.sent == self.outbox.len();
        if finished_sending {
            self.outbox = Vec::new();
            self.sent = 0;
        }
        let mut buffer = [0u8; 64 * 1024];
        let mut reader = socket;
        loop {
            match reader.read(&mut buffer) {
                Ok(0) => return (finished_sending, true),
                Ok(read) => self.inbox.feed(&buffer[..read]),
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    return (finished_sending, false)
                }
                Err(_broken) => return (finished_sending, true),
            }
        }
    }

    /// Hands the watch the child's end, then publishes it on the exit word.
    fn finish(self, exitcode: i32, report: ChildReport) {
        self.watch.exited(exitcode, report);
        let word = self.watch.exit_word();
        word.store(PROCESS_EXITED, Ordering::Release);
        crate::sys::wake(crate::sys::Futex::Private(word), crate::sys::Wake::All);
    }
}

/// A pidfd for `pid` (our unreaped child, so the pid cannot be recycled meanwhile), if the
/// kernel has them.
fn pidfd_open(pid: libc::pid_t) -> Option<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags, no pointers; the result is checked.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    let fd = i32::try_from(fd).ok().filter(|&fd| fd >= 0)?;
    // SAFETY: the kernel just created this descriptor for us (close-on-exec by default).
    Some(unsafe { OwnedFd::from_raw_fd(fd) })
}
