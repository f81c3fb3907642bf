//! Futures that wait on a word of the shared region, natively: [`wait_shared_async`].
//!
//! A futex wake from another process reaches only threads asleep in the kernel, so a future
//! cannot simply register a `Waker` (as `async_wait` does for this process's own words). One
//! watcher thread per process sleeps for all of them at once, in `futex_waitv` (Linux 5.16),
//! which sleeps on up to 128 words and returns when any of them is woken or differs from the
//! value it was given:
//!
//! - slot 0 is the watcher's private control word, bumped (and woken) whenever a future
//!   registers, so the watcher rebuilds its list;
//! - the other slots are the distinct `(word, expected)` pairs of the registered futures.
//!
//! After every return the watcher completes, and removes from the registry, each future whose
//! word no longer holds its expected value, whose slot was woken (a spurious completion, which
//! the contract allows) or whose timeout passed. A future first checks its word itself, so a wait that is already over
//! never reaches the watcher; a future dropped while registered removes its entry.
//!
//! No lost wake-ups: the watcher reads the control word before it reads the registry, and
//! `futex_waitv` checks every word against its value as it queues the thread; a registration
//! or a change after those reads makes it return at once.
//!
//! Where `futex_waitv` is missing (kernels before 5.16), or more than 127 distinct words are
//! waited for, the watcher also polls every millisecond: slower, still correct.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering::SeqCst};
use std::sync::{Arc, Mutex, MutexGuard, Once};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::sys::{Futex, Wake};

/// The most words `futex_waitv` takes in one call (`FUTEX_WAITV_MAX`).
const WAITV_MAX: usize = 128;
/// `FUTEX2_SIZE_U32`: a 32-bit futex word.
const FUTEX2_SIZE_U32: u32 = 0x02;
/// `FUTEX2_PRIVATE`: a word private to this process (the control word).
const FUTEX2_PRIVATE: u32 = 128;
/// How often the watcher polls when it cannot sleep on every word.
const POLL: Duration = Duration::from_millis(1);

/// The kernel's `struct futex_waitv`.
#[repr(C)]
struct FutexWaitv {
    val: u64,
    uaddr: u64,
    flags: u32,
    reserved: u32,
}

/// Bumped and woken whenever a future registers; slot 0 of every `futex_waitv`.
static CONTROL: AtomicU32 = AtomicU32::new(0);
static REGISTRY: Mutex<Vec<Entry>> = Mutex::new(Vec::new());
static NEXT_TOKEN: AtomicU64 = AtomicU64::new(1);
static WATCHER: Once = Once::new();
/// Set if the watcher thread could not be started: futures then complete at once.
static NO_WATCHER: AtomicBool = AtomicBool::new(false);

/// A wait's outcome, shared by its future and the watcher.
struct Outcome {
    state: AtomicU8,
    waker: Mutex<Option<Waker>>,
}

const PENDING: u8 = 0;
const WOKEN: u8 = 1;
const TIMED_OUT: u8 = 2;

impl Outcome {
    fn complete(&self, state: u8) {
        self.state.store(state, SeqCst);
        if let Some(waker) = lock(&self.waker).take() {
            waker.wake();
        }
    }
}

struct Entry {
    word: &'static AtomicU32,
    expected: u32,
    deadline: Option<Instant>,
    token: u64,
    outcome: Arc<Outcome>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poison| poison.into_inner())
}

/// A future that completes once `word` (a word of the shared region, which stays mapped for
/// the life of the process) may no longer hold `expected`: `true` when woken, changed or
/// spuriously, `false` once `deadline` passed.
pub(crate) fn wait_shared_async(
    word: &'static AtomicU32,
    expected: u32,
    deadline: crate::time::Deadline,
) -> SharedWait {
    let deadline = match deadline.remaining() {
        Ok(left) => left.map(|left| Instant::now() + left),
        Err(_passed) => Some(Instant::now()),
    };
    SharedWait {
        word,
        expected,
        deadline,
        registered: None,
        yielded: false,
    }
}

/// The future returned by [`wait_shared_async`].
pub(crate) struct SharedWait {
    word: &'static AtomicU32,
    expected: u32,
    deadline: Option<Instant>,
    registered: Option<(u64, Arc<Outcome>)>,
    /// Whether this future yielded once already for want of a watcher.
    yielded: bool,
}

impl Future for SharedWait {
    type Output = bool;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<bool> {
        let this = self.get_mut();
        if let Some((_, outcome)) = &this.registered {
            *lock(&outcome.waker) = Some(cx.waker().clone());
            return match outcome.state.load(SeqCst) {
                PENDING => Poll::Pending,
                state => {
                    this.registered = None;
                    Poll::Ready(state == WOKEN)
                }
            };
        }
        if this.word.load(SeqCst) != this.expected {
            return Poll::Ready(true);
        }
        if this
            .deadline
            .is_some_and(|deadline| deadline <= Instant::now())
        {
            return Poll::Ready(false);
        }
        WATCHER.call_once(start_watcher);
        if NO_WATCHER.load(SeqCst) {
            // No thread to sleep in: yield to the executor once, then report a spurious
            // wake-up, so the caller re-checks its word without starving other tasks.
            if std::mem::replace(&mut this.yielded, true) {
                return Poll::Ready(true);
            }
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let token = NEXT_TOKEN.fetch_add(1, SeqCst);
        let outcome = Arc::new(Outcome {
            state: AtomicU8::new(PENDING),
            waker: Mutex::new(Some(cx.waker().clone())),
        });
        lock(&REGISTRY).push(Entry {
            word: this.word,
            expected: this.expected,
            deadline: this.deadline,
            token,
            outcome: Arc::clone(&outcome),
        });
        this.registered = Some((token, outcome));
        CONTROL.fetch_add(1, SeqCst);
        super::futex::wake(Futex::Private(&CONTROL), Wake::All);
        Poll::Pending
    }
}

impl Drop for SharedWait {
    fn drop(&mut self) {
        if let Some((token, _)) = self.registered.take() {
            lock(&REGISTRY).retain(|entry| entry.token != token);
        }
    }
}

fn start_watcher() {
    let started = std::thread::Builder::new()
        .name("amphi-shared-wait".to_owned())
        .spawn(watch);
    if started.is_err() {
        NO_WATCHER.store(true, SeqCst);
    }
}

/// The watcher thread's loop (see the module docs).
fn watch() {
    let mut waitv_missing = false;
    let mut slots: Vec<FutexWaitv> = Vec::with_capacity(WAITV_MAX);
    loop {
        let control = CONTROL.load(SeqCst);
        slots.clear();
        slots.push(FutexWaitv {
            val: u64::from(control),
            uaddr: CONTROL.as_ptr() as u64,
            flags: FUTEX2_SIZE_U32 | FUTEX2_PRIVATE,
            reserved: 0,
        });
        let mut earliest: Option<Instant> = None;
        let mut overflow = false;
        {
            let now = Instant::now();
            let mut entries = lock(&REGISTRY);
            settle(&mut entries, |entry| {
                if entry.word.load(SeqCst) != entry.expected {
                    Some(WOKEN)
                } else if entry.deadline.is_some_and(|deadline| deadline <= now) {
                    Some(TIMED_OUT)
                } else {
                    None
                }
            });
            for entry in entries.iter() {
                earliest = match (earliest, entry.deadline) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                let uaddr = entry.word.as_ptr() as u64;
                let val = u64::from(entry.expected);
                if slots.iter().any(|s| s.uaddr == uaddr && s.val == val) {
                    continue;
                }
                if slots.len() == WAITV_MAX {
                    overflow = true;
                    continue;
                }
                slots.push(FutexWaitv {
                    val,
                    uaddr,
                    flags: FUTEX2_SIZE_U32,
                    reserved: 0,
                });
            }
        }
        if waitv_missing || overflow {
            let poll = Instant::now() + POLL;
            earliest = Some(earliest.map_or(poll, |deadline| deadline.min(poll)));
        }
        if waitv_missing {
            let left = earliest.map(|deadline| deadline.saturating_duration_since(Instant::now()));
            super::futex::wait(Futex::Private(&CONTROL), control, left);
            continue;
        }
        match futex_waitv(&slots, earliest) {
            Ok(index) if index > 0 => {
                let woken = slots[index].uaddr;
                settle(&mut lock(&REGISTRY), |entry| {
                    (entry.word.as_ptr() as u64 == woken).then_some(WOKEN)
                });
            }
            Ok(_) => {}
            Err(libc::ENOSYS) => waitv_missing = true,
            // EAGAIN (a word differs), ETIMEDOUT, EINTR: the next round sorts them out.
            Err(_) => {}
        }
    }
}

/// Completes, and removes from the registry, every entry to which `outcome_of` gives an
/// outcome.
fn settle(entries: &mut Vec<Entry>, mut outcome_of: impl FnMut(&Entry) -> Option<u8>) {
    entries.retain(|entry| match outcome_of(entry) {
        Some(state) => {
            entry.outcome.complete(state);
            false
        }
        None => true,
    });
}

/// Sleeps in `futex_waitv` on `slots` until one is woken or differs, or `deadline`;
/// the index of the woken slot, or the errno.
fn futex_waitv(slots: &[FutexWaitv], deadline: Option<Instant>) -> Result<usize, i32> {
    let timeout = deadline.map(|deadline| {
        // The kernel wants an absolute CLOCK_MONOTONIC time, the clock `Instant` reads.
        super::futex::timespec(super::now() + deadline.saturating_duration_since(Instant::now()))
    });
    let timeout_ptr = timeout
        .as_ref()
        .map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: `slots` is a live array of `slots.len()` (at most 128) `struct futex_waitv`s
    // whose addresses are aligned 32-bit words that stay mapped (the control word is a static,
    // the others are in the region, never unmapped); `timeout_ptr` is null or points at a
    // timespec that outlives the call. The kernel only reads them.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_futex_waitv,
            slots.as_ptr(),
            slots.len() as libc::c_uint,
            0 as libc::c_uint,
            timeout_ptr,
            libc::CLOCK_MONOTONIC,
        )
    };
    if rc < 0 {
        Err(std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EINVAL))
    } else {
        Ok(rc as usize)
    }
}
