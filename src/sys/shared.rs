//! The shared-memory interface every backend offers: one region per process tree, words in it
//! that processes sleep on, and whether a process still runs.
//!
//! | item | meaning |
//! |---|---|
//! | [`map_region`] | map the process tree's region (inherited, or new and initialised) |
//! | [`set_region_size`], [`REGION_SIZE_LIMITS`] | the size of a region not created yet, and its bounds |
//! | [`wait_shared_async`] | a futex wait on a word that several processes map, as a future, until a deadline |
//! | [`pid_alive`] | whether a process still runs (for locks whose owner died) |
//! | [`process_start_time`] | when a process started, telling it apart from a later one with the same pid (natively; `None` in the browser, whose pids are never reused) |
//! | [`random_u64`] | a random region identity |
//! | [`region_write_bytes`], [`region_read_bytes`] | bulk copies into and out of the region (bounds-checked) |
//! | [`atomics`] | the atomic types that name locations of the region |
//!
//! Natively (`sys/native/shm.rs`) the region is an anonymous `memfd` inherited by children,
//! mapped into each process, and its atomics are `std`'s. In the browser (`sys/web/region.rs`)
//! it is a `SharedArrayBuffer` outside every module's memory, and its atomics are zero-sized
//! proxies whose addresses name offsets of that buffer (see there). The loom model has no
//! region: [`map_region`] returns an error saying so, so no shared word ever exists there and
//! the wait and wake below are never reached. The blocking wait and the wake on a shared word
//! are the one futex call of `sys` ([`super::wait`], [`super::wake`] with [`super::Futex::Shared`]).

// Under loom no region is ever mapped: the parts it reads go unread.
#![cfg_attr(amphi_loom, allow(dead_code))]

#[cfg(target_arch = "wasm32")]
pub(crate) use super::backend::region::{
    atomics, map_region, pid_alive, process_start_time, random_u64, region_read_bytes,
    region_write_bytes, set_region_size, wait_shared_async, REGION_SIZE_LIMITS,
};
#[cfg(all(not(target_arch = "wasm32"), not(amphi_loom)))]
pub(crate) use super::backend::shm::{
    map_region, pid_alive, process_start_time, random_u64, region_read_bytes, region_write_bytes,
    set_region_size, REGION_SIZE_LIMITS,
};
#[cfg(all(not(target_arch = "wasm32"), not(amphi_loom)))]
pub(crate) use super::backend::wait_shared_async;
#[cfg(amphi_loom)]
pub(crate) use unsupported::{
    map_region, pid_alive, process_start_time, random_u64, region_read_bytes, region_write_bytes,
    set_region_size, wait_shared_async, REGION_SIZE_LIMITS,
};

/// The region's atomics natively and under loom: `std`'s, in a mapping of this process.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) mod atomics {
    pub(crate) use std::sync::atomic::{
        AtomicI16, AtomicI32, AtomicI64, AtomicI8, AtomicU16, AtomicU32, AtomicU64, AtomicU8,
    };
}

/// The loom model, which has no shared region.
#[cfg(amphi_loom)]
mod unsupported {
    use std::ptr::NonNull;
    use std::sync::atomic::AtomicU32;

    const WHY: &str = "shared memory between processes is not modelled under loom";

    /// Any size is refused below, where the region is.
    pub(crate) const REGION_SIZE_LIMITS: (usize, usize) = (1 << 20, 16 << 30);

    /// Refuses, saying why.
    pub(crate) fn set_region_size(_bytes: usize) -> Result<(), String> {
        Err(WHY.to_owned())
    }

    /// Refuses, saying why.
    pub(crate) fn map_region(
        _init: impl FnOnce(NonNull<u8>, usize),
    ) -> Result<(NonNull<u8>, usize), String> {
        Err(WHY.to_owned())
    }

    /// Never reached (no region, so no shared word); completes at once, a spurious wake-up.
    pub(crate) async fn wait_shared_async(
        _word: &'static AtomicU32,
        _expected: u32,
        _deadline: crate::time::Deadline,
    ) -> bool {
        true
    }

    /// No other processes here: only this one runs.
    pub(crate) fn pid_alive(pid: u32) -> bool {
        pid == super::super::current_pid()
    }

    /// Unknown: only this process runs here.
    pub(crate) fn process_start_time(_pid: u32) -> Option<u64> {
        None
    }

    /// Not needed without a region.
    pub(crate) fn random_u64() -> u64 {
        0
    }

    /// Never reached (no region, so no object to copy into).
    pub(crate) fn region_write_bytes(_at: usize, _bytes: &[u8]) {
        unreachable!("{WHY}")
    }

    /// Never reached (no region, so no object to copy from).
    pub(crate) fn region_read_bytes(_at: usize, _out: &mut [u8]) {
        unreachable!("{WHY}")
    }
}
