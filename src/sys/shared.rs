//! The shared-memory interface every backend offers: one region per process tree, words in it
//! that processes sleep on, and whether a process still runs.
//!
//! | item | meaning |
//! |---|---|
//! | [`map_region`] | map the process tree's region (inherited, or new and initialised) |
//! | [`wait_shared`], [`wake_shared`] | futex wait and wake on a word that several processes map |
//! | [`pid_alive`] | whether a process still runs (for locks whose owner died) |
//! | [`random_u64`] | a random region identity |
//!
//! Natively (`sys/native/shm.rs`) the region is an anonymous `memfd` inherited by children.
//! The browser and the loom model have no region yet: [`map_region`] returns an error saying
//! so (the browser's `SharedArrayBuffer` region plugs in here), so no shared word ever exists
//! there and the wait and wake below are never reached.

// Only the native backend maps a region: elsewhere the parts it reads go unread.
#![cfg_attr(any(target_arch = "wasm32", amphi_loom), allow(dead_code))]

#[cfg(all(not(target_arch = "wasm32"), not(amphi_loom)))]
pub(crate) use super::backend::shm::{map_region, pid_alive, random_u64};
#[cfg(all(not(target_arch = "wasm32"), not(amphi_loom)))]
pub(crate) use super::backend::{wait_shared, wake_shared};
#[cfg(any(target_arch = "wasm32", amphi_loom))]
pub(crate) use unsupported::{map_region, pid_alive, random_u64, wait_shared, wake_shared};

/// The backends without a shared region: the browser (for now) and the loom model.
#[cfg(any(target_arch = "wasm32", amphi_loom))]
mod unsupported {
    use std::ptr::NonNull;
    use std::sync::atomic::AtomicU32;
    use std::time::Duration;

    #[cfg(target_arch = "wasm32")]
    const WHY: &str = "shared memory between processes is not implemented in the browser yet";
    #[cfg(not(target_arch = "wasm32"))]
    const WHY: &str = "shared memory between processes is not modelled under loom";

    /// Refuses, saying why.
    pub(crate) fn map_region(
        _init: impl FnOnce(NonNull<u8>, usize),
    ) -> Result<(NonNull<u8>, usize), String> {
        Err(WHY.to_owned())
    }

    /// Never reached (no region, so no shared word); returns at once, a spurious wake-up.
    pub(crate) fn wait_shared(
        _word: &AtomicU32,
        _expected: u32,
        _timeout: Option<Duration>,
    ) -> bool {
        true
    }

    /// Never reached (no region, so no shared word).
    pub(crate) fn wake_shared(_word: &AtomicU32, _count: i32) {}

    /// No other processes here: only this one runs.
    pub(crate) fn pid_alive(pid: u32) -> bool {
        pid == super::super::current_pid()
    }

    /// Not needed without a region.
    pub(crate) fn random_u64() -> u64 {
        0
    }
}
