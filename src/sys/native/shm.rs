//! The shared-memory region of a process tree, natively: an anonymous `memfd`.
//!
//! The first process of a tree that needs shared objects creates the region with
//! `memfd_create(MFD_CLOEXEC)` (a file with no name in any directory, so no other user can open
//! it), sizes it with `ftruncate` (sparse: untouched pages cost nothing) and maps it
//! `MAP_SHARED`. The descriptor stays open, close-on-exec, for the life of the process.
//!
//! Children started by amphi inherit it: `process.rs` clears close-on-exec on the descriptor
//! between `fork` and `exec` (in the child only) and names it in `AMPHI_SHM_FD`. The child's
//! start-up hook ([`inherit`]) removes the variable, checks the descriptor (a regular file of
//! a size within [`REGION_SIZE_LIMITS`], which becomes its region's size), marks it
//! close-on-exec again and keeps it; the child maps it
//! the first time it needs a shared object, and hands it on to its own children the same way.
//!
//! The mapping is never unmapped: references into it live as long as the process.

use std::io;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicI32, AtomicPtr, AtomicUsize, Ordering};

/// The region's size unless [`set_region_size`] says otherwise (sparse).
const DEFAULT_REGION_SIZE: usize = 16 << 20;

/// The least and the most bytes a region may have (the allocator names blocks by their offset
/// in units of 8 bytes in 32 bits, so at most 32 GiB).
pub(crate) const REGION_SIZE_LIMITS: (usize, usize) = (1 << 20, 16 << 30);

/// The region's size in this process (sparse): the default, the one set before it was
/// created, or the inherited region's.
static REGION_SIZE: AtomicUsize = AtomicUsize::new(DEFAULT_REGION_SIZE);

fn region_size() -> usize {
    REGION_SIZE.load(Ordering::Acquire)
}

/// Sets the size of a region not created (nor inherited) yet.
pub(crate) fn set_region_size(bytes: usize) -> Result<(), String> {
    if region_fd().is_some() || !BASE.load(Ordering::Acquire).is_null() {
        return Err(format!(
            "the shared region already exists ({} bytes); set its size before the first \
             shared object",
            region_size()
        ));
    }
    REGION_SIZE.store(bytes, Ordering::Release);
    Ok(())
}

/// The variable that names the inherited region's descriptor in a child.
pub(super) const SHM_ENV: &str = "AMPHI_SHM_FD";

/// The region's descriptor in this process, or -1 before there is one.
static FD: AtomicI32 = AtomicI32::new(-1);

/// The region's mapping in this process, or null before [`map_region`] mapped it.
static BASE: AtomicPtr<u8> = AtomicPtr::new(std::ptr::null_mut());

/// In a child, before `main`: adopts the region named by [`SHM_ENV`], if any. A value that
/// does not name a region is reported and ignored (shared objects then fail with an error).
pub(super) fn inherit() {
    let Some(value) = std::env::var_os(SHM_ENV) else {
        return;
    };
    // Before main, no other thread exists yet to read the environment concurrently.
    std::env::remove_var(SHM_ENV);
    let Some(fd) = value
        .to_str()
        .and_then(|text| text.parse::<libc::c_int>().ok())
        .filter(|&fd| fd > 2)
    else {
        eprintln!("amphi: {SHM_ENV}={value:?} is not a descriptor number; ignored");
        return;
    };
    // SAFETY: `libc::stat` is plain integers, so all zeros is a valid value; fstat writes into
    // it, a valid, writable `libc::stat`; an unknown descriptor is an error, never used.
    let size = unsafe {
        let mut stat: libc::stat = std::mem::zeroed();
        let regular =
            libc::fstat(fd, &mut stat) == 0 && (stat.st_mode & libc::S_IFMT) == libc::S_IFREG;
        usize::try_from(stat.st_size)
            .ok()
            .filter(|size| regular && (REGION_SIZE_LIMITS.0..=REGION_SIZE_LIMITS.1).contains(size))
    };
    let fits = size.is_some();
    // SAFETY: fcntl on an open descriptor (checked above), integer flags.
    if !fits || unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) } == -1 {
        eprintln!("amphi: descriptor {fd} is not a shared-memory region; ignored");
        return;
    }
    if let Some(size) = size {
        REGION_SIZE.store(size, Ordering::Release);
    }
    FD.store(fd, Ordering::Release);
}

/// The region's descriptor, once this process created or inherited one (for its children).
pub(super) fn region_fd() -> Option<libc::c_int> {
    let fd = FD.load(Ordering::Acquire);
    (fd >= 0).then_some(fd)
}

/// Maps the process tree's region: the inherited one, or a new one, which `init` fills in
/// before any child can inherit it. Returns the base and length of the mapping, which is
/// never unmapped. Called once per process (the caller keeps the result).
pub(crate) fn map_region(
    init: impl FnOnce(NonNull<u8>, usize),
) -> Result<(NonNull<u8>, usize), String> {
    if let Some(fd) = region_fd() {
        let base = map(fd)?;
        BASE.store(base.as_ptr(), Ordering::Release);
        return Ok((base, region_size()));
    }
    // SAFETY: the name is a NUL-terminated literal; the flags are integers.
    let fd = unsafe { libc::memfd_create(c"amphi-shared".as_ptr(), libc::MFD_CLOEXEC) };
    if fd == -1 {
        return Err(format!(
            "memfd_create failed: {}",
            io::Error::last_os_error()
        ));
    }
    // SAFETY: ftruncate on the descriptor just created; the size is at most 16 GiB, which
    // fits an `off_t`.
    if unsafe { libc::ftruncate(fd, region_size() as libc::off_t) } == -1 {
        let err = io::Error::last_os_error();
        // SAFETY: closing the descriptor this function created and nothing else uses.
        unsafe { libc::close(fd) };
        return Err(format!("cannot size the shared region: {err}"));
    }
    let base = map(fd)?;
    init(base, region_size());
    BASE.store(base.as_ptr(), Ordering::Release);
    FD.store(fd, Ordering::Release);
    Ok((base, region_size()))
}

/// The mapping's base, checking that `[at, at + len)` lies inside the region.
fn range(at: usize, len: usize) -> *mut u8 {
    let base = BASE.load(Ordering::Acquire);
    assert!(!base.is_null(), "the shared region is not mapped");
    assert!(
        at.checked_add(len).is_some_and(|end| end <= region_size()),
        "bytes {at}+{len} lie outside the shared region"
    );
    base
}

/// Copies `bytes` into the region at byte offset `at` (panics outside the region).
///
/// The caller's protocol must give it those bytes alone (no other process reads or writes
/// them until it publishes them through an atomic), as a ring's writer has its free space.
pub(crate) fn region_write_bytes(at: usize, bytes: &[u8]) {
    let base = range(at, bytes.len());
    // SAFETY: `[at, at + len)` lies inside the mapping (checked by `range`), which is never
    // unmapped; `bytes` is ordinary memory of this process, so the ranges do not overlap. The
    // caller's protocol keeps other processes off these bytes during the copy, and publishes
    // them with a release store afterwards.
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), base.add(at), bytes.len()) };
}

/// Copies the region's bytes at offset `at` into `out` (panics outside the region).
///
/// The caller's protocol must keep writers off those bytes during the copy (they were
/// published to it through an atomic it read with acquire ordering).
pub(crate) fn region_read_bytes(at: usize, out: &mut [u8]) {
    let base = range(at, out.len());
    // SAFETY: `[at, at + len)` lies inside the mapping (checked by `range`), never unmapped;
    // `out` is ordinary memory of this process, so the ranges do not overlap, and every byte
    // pattern is a valid `u8`. The caller's protocol keeps writers off these bytes meanwhile.
    unsafe { std::ptr::copy_nonoverlapping(base.add(at), out.as_mut_ptr(), out.len()) };
}

fn map(fd: libc::c_int) -> Result<NonNull<u8>, String> {
    // SAFETY: a fresh shared mapping chosen by the kernel (null hint) of a descriptor sized
    // `region_size()` bytes; it overlaps nothing Rust owns. It is never unmapped.
    let base = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            region_size(),
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            fd,
            0,
        )
    };
    if base == libc::MAP_FAILED {
        return Err(format!(
            "cannot map the shared region: {}",
            io::Error::last_os_error()
        ));
    }
    NonNull::new(base.cast()).ok_or_else(|| "the shared region mapped at 0".to_owned())
}

/// When process `pid` started, in clock ticks after boot (field 22 of `/proc/PID/stat`):
/// with its pid, what tells it apart from a later process given the same pid. `None` when it
/// cannot be read (no such process).
pub(crate) fn process_start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields 3 onwards follow the ")" that ends the command name (which may hold spaces
    // and parentheses); field 22 is the 20th of them.
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_ascii_whitespace().nth(19)?.parse().ok()
}

/// Whether process `pid` still runs: it exists (`kill(pid, 0)`) and is not a zombie.
pub(crate) fn pid_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks that the process exists; nothing is sent.
    if unsafe { libc::kill(pid, 0) } == -1
        && io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
    {
        return false;
    }
    // A zombie still exists until reaped; its state in /proc is 'Z' (after the ")" of the name).
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !matches!(
            stat.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().as_bytes().first()),
            Some(Some(b'Z' | b'X'))
        ),
        Err(_) => false,
    }
}

/// 64 random bits from the kernel (or, failing that, from the clock and the pid).
pub(crate) fn random_u64() -> u64 {
    let mut bytes = [0u8; 8];
    // SAFETY: getrandom writes at most `bytes.len()` bytes into the valid, writable buffer.
    let got = unsafe { libc::getrandom(bytes.as_mut_ptr().cast(), bytes.len(), 0) };
    if got == bytes.len() as isize {
        return u64::from_ne_bytes(bytes);
    }
    let now = super::now();
    now.as_nanos() as u64 ^ (u64::from(std::process::id()) << 32)
}
