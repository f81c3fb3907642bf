//! The process tree's shared region in the browser: a `SharedArrayBuffer` outside every
//! module's memory, reached through `Atomics` (see `region.js`).
//!
//! A browser process is a module instance with its own `WebAssembly.Memory`, so the one
//! memory all processes of a tree share cannot be any instance's: it is a separate
//! `SharedArrayBuffer`, created by the tree's first instance and handed to every worker amphi
//! starts (threads and processes alike), which `region.js` keeps per JS realm.
//!
//! # Locations as zero-sized proxies
//!
//! The shared-object code above `sys` is written once, over `&'static` atomics at byte offsets
//! of a mapping. Here the "mapping" is a fixed, otherwise unused range of the address space
//! starting at [`REGION_BASE`], and the atomics are zero-sized proxies ([`atomics`]): a
//! `&'static AtomicU32` whose address is `REGION_BASE + offset` names the word at `offset` of
//! the buffer, and its methods call `Atomics` there. A reference to a zero-sized value reads
//! and writes no memory, so such references are sound at any non-null, aligned address; the
//! bounds and alignment checks of the region code apply to them unchanged.
//!
//! # Beyond the objects
//!
//! The buffer is the region's bytes of objects (16 MiB, or what [`set_region_size`] asked for
//! before the buffer was made), then a tail of [`TAIL_LEN`] bytes only this module uses:
//!
//! | offset from the tail | content |
//! |---|---|
//! | 0 | initialised flag (`u32`): the first instance to see 0 initialises the objects' header |
//! | 4 | process numbers handed out (`u32`); browser process ids are 2, 3, ... (the page is 1) |
//! | 64.. | one `u32` per process id below [`MAX_PIDS`]: 0 once it ended, else its parent's id + 1 |
//!
//! A process is alive while its entry and those of all its ancestors are (a browser process's
//! workers end with its parent's, so a dead ancestor means a dead process).

use std::ptr::NonNull;
use std::time::Duration;

use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// Bytes of objects in the region unless [`set_region_size`] says otherwise (as natively).
const DEFAULT_REGION_SIZE: usize = 16 << 20;
/// The least and the most bytes of objects a region may have.
pub(crate) const REGION_SIZE_LIMITS: (usize, usize) = (1 << 20, 1 << 30);
/// Where the proxies' addresses start: 2 GiB, far above anything the region code is given
/// (it only ever offsets from here, and `REGION_BASE + 1 GiB + tail` fits in 32 bits).
const REGION_BASE: usize = 0x8000_0000;
/// Process ids with a liveness entry; processes beyond count as alive.
const MAX_PIDS: u32 = 1 << 16;
/// The tail's bytes.
const TAIL_LEN: u32 = 64 + 4 * MAX_PIDS;

/// Bytes of objects: the size a buffer is made with, then the one this realm's buffer has.
static REGION_SIZE: std::sync::atomic::AtomicUsize =
    std::sync::atomic::AtomicUsize::new(DEFAULT_REGION_SIZE);

/// The buffer's bytes of objects once this instance has seen its buffer, else 0.
static KNOWN_SIZE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Bytes of objects in the region (the buffer's, once there is one).
fn region_size() -> usize {
    use std::sync::atomic::Ordering::{Acquire, Release};
    let known = KNOWN_SIZE.load(Acquire);
    if known != 0 {
        return known;
    }
    let buffer = region_buffer();
    if let Some(buffer) = buffer.dyn_ref::<js_sys::SharedArrayBuffer>() {
        let size = (buffer.byte_length() - TAIL_LEN) as usize;
        KNOWN_SIZE.store(size, Release);
        return size;
    }
    REGION_SIZE.load(Acquire)
}

fn initialised_at() -> u32 {
    region_size() as u32
}

fn next_pid_at() -> u32 {
    region_size() as u32 + 4
}

fn pids_at() -> u32 {
    region_size() as u32 + 64
}

/// Sets the size of a region whose buffer this realm has not made (nor received) yet.
pub(crate) fn set_region_size(bytes: usize) -> Result<(), String> {
    if !region_buffer().is_null() {
        return Err(format!(
            "the shared region already exists ({} bytes); set its size before the first \
             thread, process or shared object",
            region_size()
        ));
    }
    REGION_SIZE.store(bytes, std::sync::atomic::Ordering::Release);
    Ok(())
}
/// The page's (or test runner's) process id.
pub(crate) const ROOT_PID: u32 = 1;

#[wasm_bindgen(module = "/src/sys/web/region.js")]
extern "C" {
    #[wasm_bindgen(js_name = regionBuffer)]
    fn region_buffer() -> JsValue;
    #[wasm_bindgen(js_name = createRegion)]
    fn create_region(byte_length: u32) -> u32;
    #[wasm_bindgen(js_name = regionRmw)]
    fn rmw(op: u32, width: u32, at: u32, value: u32) -> u32;
    #[wasm_bindgen(js_name = regionCas)]
    fn cas(width: u32, at: u32, expected: u32, value: u32) -> u32;
    #[wasm_bindgen(js_name = regionRmw64)]
    fn rmw64(op: u32, at: u32, value: u64) -> u64;
    #[wasm_bindgen(js_name = regionCas64)]
    fn cas64(at: u32, expected: u64, value: u64) -> u64;
    #[wasm_bindgen(js_name = regionWait)]
    fn region_wait(at: u32, expected: u32, timeout_ms: f64) -> bool;
    #[wasm_bindgen(js_name = regionNotify)]
    fn region_notify(at: u32, count: i32);
    #[wasm_bindgen(js_name = regionWaitAsync)]
    fn region_wait_async(at: u32, expected: u32, timeout_ms: f64) -> JsValue;
    #[wasm_bindgen(js_name = regionWriteBytes)]
    fn write_bytes(at: u32, bytes: &[u8]);
    #[wasm_bindgen(js_name = regionReadBytes)]
    fn read_bytes(at: u32, out: &mut [u8]);
}

const LOAD: u32 = 0;
const STORE: u32 = 1;
const EXCHANGE: u32 = 2;
const ADD: u32 = 3;
const SUB: u32 = 4;
const AND: u32 = 5;
const OR: u32 = 6;
const XOR: u32 = 7;

/// The region's atomics: zero-sized proxies for locations of the buffer (see the module docs),
/// with the methods of `std::sync::atomic`'s types that the region code uses. Every operation
/// is sequentially consistent, whatever ordering is asked for.
pub(crate) mod atomics {
    use super::XOR;
    use super::{cas, cas64, rmw, rmw64, ADD, AND, EXCHANGE, LOAD, OR, REGION_BASE, STORE, SUB};
    use std::sync::atomic::Ordering;

    /// The byte offset a proxy names.
    fn offset_of<T>(proxy: &T) -> u32 {
        (proxy as *const T as usize).wrapping_sub(REGION_BASE) as u32
    }

    macro_rules! proxy {
        ($($name:ident: $ty:ty as $bits:ty, $width:literal, $rmw:ident, $cas:ident;)*) => {$(
            #[doc = concat!("A `", stringify!($ty), "` of the region (a zero-sized proxy).")]
            // `pub`, unreachable: it appears in the sealed `Number` trait's associated type.
            #[allow(unreachable_pub)]
            #[repr(C, align($width))]
            #[derive(Debug)]
            pub struct $name {
                _zero: [u8; 0],
            }

            #[allow(dead_code)] // each type offers the whole std set; not every one is used
            impl $name {
                fn op(&self, op: u32, value: $ty) -> $ty {
                    $rmw(op, $width, offset_of(self), value as $bits as _) as $bits as $ty
                }
                pub(crate) fn load(&self, _: Ordering) -> $ty {
                    self.op(LOAD, 0 as $ty)
                }
                pub(crate) fn store(&self, value: $ty, _: Ordering) {
                    self.op(STORE, value);
                }
                pub(crate) fn swap(&self, value: $ty, _: Ordering) -> $ty {
                    self.op(EXCHANGE, value)
                }
                pub(crate) fn fetch_add(&self, value: $ty, _: Ordering) -> $ty {
                    self.op(ADD, value)
                }
                pub(crate) fn fetch_sub(&self, value: $ty, _: Ordering) -> $ty {
                    self.op(SUB, value)
                }
                pub(crate) fn fetch_and(&self, value: $ty, _: Ordering) -> $ty {
                    self.op(AND, value)
                }
                pub(crate) fn fetch_or(&self, value: $ty, _: Ordering) -> $ty {
                    self.op(OR, value)
                }
                pub(crate) fn fetch_xor(&self, value: $ty, _: Ordering) -> $ty {
                    self.op(XOR, value)
                }
                pub(crate) fn compare_exchange(
                    &self,
                    current: $ty,
                    new: $ty,
                    _: Ordering,
                    _: Ordering,
                ) -> Result<$ty, $ty> {
                    let seen = $cas(
                        $width,
                        offset_of(self),
                        current as $bits as _,
                        new as $bits as _,
                    ) as $bits as $ty;
                    if seen == current {
                        Ok(seen)
                    } else {
                        Err(seen)
                    }
                }
                pub(crate) fn compare_exchange_weak(
                    &self,
                    current: $ty,
                    new: $ty,
                    success: Ordering,
                    failure: Ordering,
                ) -> Result<$ty, $ty> {
                    self.compare_exchange(current, new, success, failure)
                }
            }
        )*};
    }

    fn rmw8(op: u32, _width: u32, at: u32, value: u64) -> u64 {
        rmw64(op, at, value)
    }
    fn cas8(_width: u32, at: u32, expected: u64, value: u64) -> u64 {
        cas64(at, expected, value)
    }

    proxy! {
        AtomicU8: u8 as u8, 1, rmw, cas;
        AtomicI8: i8 as u8, 1, rmw, cas;
        AtomicU16: u16 as u16, 2, rmw, cas;
        AtomicI16: i16 as u16, 2, rmw, cas;
        AtomicU32: u32 as u32, 4, rmw, cas;
        AtomicI32: i32 as u32, 4, rmw, cas;
        AtomicU64: u64 as u64, 8, rmw8, cas8;
        AtomicI64: i64 as u64, 8, rmw8, cas8;
    }

    /// The offset of a 32-bit proxy, for waits and wakes.
    pub(super) fn word_offset(word: &AtomicU32) -> u32 {
        offset_of(word)
    }
}

use atomics::{word_offset, AtomicU32};

fn tail_word(at: u32) -> u32 {
    rmw(LOAD, 4, at, 0)
}

/// Maps the process tree's region: this realm's buffer, or (in a realm with none that may make
/// one: not a thread's worker, which always receives it) a new one. The first instance to see
/// the buffer uninitialised runs `init`. Returns the proxies' base and the objects' length.
pub(crate) fn map_region(
    init: impl FnOnce(NonNull<u8>, usize),
) -> Result<(NonNull<u8>, usize), String> {
    isolated_buffer()?;
    let base = NonNull::new(REGION_BASE as *mut u8).expect("REGION_BASE is not null");
    // 0: nobody started; 1: an instance is initialising; 2: done. The header is a few stores,
    // so the others spin (the page's main thread may not sleep).
    let size = region_size();
    if cas(4, initialised_at(), 0, 1) == 0 {
        init(base, size);
        rmw(STORE, 4, pid_entry(ROOT_PID), 1);
        rmw(STORE, 4, initialised_at(), 2);
    } else {
        let mut backoff = crate::sync::Backoff::new();
        while tail_word(initialised_at()) != 2 {
            backoff.pause();
        }
    }
    Ok((base, size))
}

/// Makes the region's buffer in this realm unless it has one. A thread's worker always has it
/// (its parent made it before starting the first worker), so only a tree's first realm makes
/// one: the region exists before any worker, which receives it at its start.
pub(super) fn ensure_buffer() {
    if region_buffer().is_null() {
        create_region(REGION_SIZE.load(std::sync::atomic::Ordering::Acquire) as u32 + TAIL_LEN);
    }
}

/// As [`ensure_buffer`], after checking that the page may share memory at all.
pub(super) fn isolated_buffer() -> Result<(), String> {
    if !super::worker::cross_origin_isolated() {
        return Err(super::worker::NOT_ISOLATED.to_owned());
    }
    ensure_buffer();
    Ok(())
}

/// The liveness entry of `pid` (which must be below [`MAX_PIDS`]).
fn pid_entry(pid: u32) -> u32 {
    pids_at() + 4 * pid
}

/// A new process id, recorded alive as a child of `parent`.
pub(crate) fn new_pid(parent: u32) -> u32 {
    let pid = rmw(ADD, 4, next_pid_at(), 1).wrapping_add(ROOT_PID + 1);
    if pid < MAX_PIDS {
        rmw(STORE, 4, pid_entry(pid), parent + 1);
    }
    pid
}

/// Records that `pid` ended (and so, with it, every process below it).
pub(crate) fn pid_ended(pid: u32) {
    if pid <= ROOT_PID || pid >= MAX_PIDS || region_buffer().is_null() {
        return;
    }
    rmw(STORE, 4, pid_entry(pid), 0);
    // Its descendants end with it (their workers are stopped with its). A child's id is always
    // above its parent's, so one ascending pass finds every descendant.
    let handed_out = tail_word(next_pid_at())
        .saturating_add(ROOT_PID + 1)
        .min(MAX_PIDS);
    let mut ended = vec![pid];
    for child in pid + 1..handed_out {
        let entry = tail_word(pid_entry(child));
        if entry != 0 && ended.contains(&(entry - 1)) {
            rmw(STORE, 4, pid_entry(child), 0);
            ended.push(child);
        }
    }
}

/// When process `pid` started: never needed here, since the browser's process ids are
/// handed out once per tree and never reused, so a pid alone names one process.
pub(crate) fn process_start_time(_pid: u32) -> Option<u64> {
    None
}

/// Whether `pid` and all its ancestors still run. Unknown ids (beyond the table, or from a
/// corrupt word) count as alive: a lock never reports a living owner dead.
pub(crate) fn pid_alive(pid: u32) -> bool {
    if region_buffer().is_null() {
        return pid == super::process::current_pid();
    }
    let mut pid = pid;
    for _ in 0..64 {
        if pid == 0 || pid >= MAX_PIDS {
            return true;
        }
        match tail_word(pid_entry(pid)) {
            0 => return false,
            entry => pid = entry - 1,
        }
    }
    true
}

/// Checks that `[at, at + len)` lies inside the region's objects; returns `at` for JS.
fn range(at: usize, len: usize) -> u32 {
    assert!(
        at.checked_add(len).is_some_and(|end| end <= region_size()),
        "bytes {at}+{len} lie outside the shared region"
    );
    at as u32
}

/// Copies `bytes` into the region's buffer at byte offset `at` (panics outside the region):
/// one `Uint8Array.set`, ordered before the caller's next `Atomics` operation, which publishes
/// the bytes.
pub(crate) fn region_write_bytes(at: usize, bytes: &[u8]) {
    let at = range(at, bytes.len());
    if !bytes.is_empty() {
        write_bytes(at, bytes);
    }
}

/// Copies the region's bytes at offset `at` into `out` (panics outside the region): one
/// `Uint8Array.set` from the buffer into this module's memory.
pub(crate) fn region_read_bytes(at: usize, out: &mut [u8]) {
    let at = range(at, out.len());
    if !out.is_empty() {
        read_bytes(at, out);
    }
}

/// A random region identity.
pub(crate) fn random_u64() -> u64 {
    let half = || (js_sys::Math::random() * f64::from(u32::MAX)) as u64;
    (half() << 32) | half()
}

/// Sleeps while the region's word holds `expected`, for at most `timeout` (a worker only:
/// callers check `can_block`); `false` only on timeout. Reached through `sys::wait`.
pub(super) fn wait_shared(word: &AtomicU32, expected: u32, timeout: Option<Duration>) -> bool {
    let millis = timeout.map_or(-1.0, |timeout| timeout.as_secs_f64() * 1000.0);
    region_wait(word_offset(word), expected, millis)
}

/// Wakes one or every waiter of the region's word. Reached through `sys::wake`.
pub(super) fn wake_shared(word: &AtomicU32, count: crate::sys::Wake) {
    let count = match count {
        crate::sys::Wake::One => 1,
        crate::sys::Wake::All => -1,
    };
    region_notify(word_offset(word), count);
}

/// Completes once the region's word may no longer hold `expected` (spurious completions
/// allowed): `true`, or `false` once `deadline` passed. Works on any thread, the page's main
/// thread included.
pub(crate) async fn wait_shared_async(
    word: &'static AtomicU32,
    expected: u32,
    deadline: crate::time::Deadline,
) -> bool {
    let Ok(timeout) = deadline.remaining() else {
        return false;
    };
    let millis = timeout.map_or(-1.0, |timeout| timeout.as_secs_f64() * 1000.0);
    let pending = region_wait_async(word_offset(word), expected, millis);
    if let Some(promise) = pending.dyn_ref::<Promise>() {
        let settled = JsFuture::from(promise.clone()).await;
        return settled.ok().and_then(|value| value.as_string()).as_deref() != Some("timed-out");
    }
    if let Some(known) = pending.as_string() {
        return known != "timed-out";
    }
    // No Atomics.waitAsync.
    let changed = || word.load(std::sync::atomic::Ordering::SeqCst) != expected;
    super::wait::poll_until(changed, deadline).await
}
