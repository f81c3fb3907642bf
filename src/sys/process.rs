//! The process interface every backend offers: start a child running a function of this
//! executable, learn how it ended, signal it.
//!
//! `crate::process` builds Python's `Process` on these few items:
//!
//! | item | meaning |
//! |---|---|
//! | [`spawn_process`] | start a child that runs [`ProcessStart::entry`] on the payload |
//! | [`ProcessWatch`] | the exit word a child's handle sleeps on, and the `exited` callback |
//! | [`ChildHandle::signal`] | [`Signal::Terminate`] or [`Signal::Kill`] a child not yet reaped |
//! | [`current_pid`] | this process's id |
//! | [`exit_process`] | end the calling process now with an exit code, where that is possible |
//! | [`code_ref`], [`code_address`] | a function of this executable as a number every process of the tree reads alike, and back |
//!
//! A child runs `entry(target, payload)` and its [`ChildExit`] travels back to the parent, which
//! hands the watch a [`ChildReport`]: the entry's bytes, nothing (the child died first), or the
//! reason the child could not run the entry at all. The backend moves the exit word from
//! [`PROCESS_RUNNING`] to [`PROCESS_EXITED`] once it knows the exit code, after calling
//! [`ProcessWatch::exited`], and wakes every waiter of the word (futures included).
//!
//! Natively (`sys/native/process.rs`) children are re-executions of the current binary. In the
//! browser (`sys/web/process.rs`) each child is a Web Worker with its own instance of the
//! module and its own memory. The loom model cannot start processes: there [`spawn_process`]
//! returns an error that says so.

// Under loom no process starts: the parts it reads go unread.
#![cfg_attr(amphi_loom, allow(dead_code))]

use std::sync::{Arc, Mutex};

use crate::sync::atomic::AtomicU32;

#[cfg(all(not(target_arch = "wasm32"), not(amphi_loom)))]
pub(crate) use super::backend::process::{
    code_address, code_ref, current_pid, exit_process, spawn_process, ChildHandle,
};
#[cfg(target_arch = "wasm32")]
pub(crate) use super::backend::process::{
    code_address, code_ref, current_pid, exit_process, spawn_process, ChildHandle,
};
#[cfg(amphi_loom)]
pub(crate) use unsupported::{
    code_address, code_ref, current_pid, exit_process, spawn_process, ChildHandle,
};

/// What a child runs. `target` is the address, in the child, of the function the parent named
/// in [`ProcessStart::target`]; `payload` is [`ProcessStart::payload`].
///
/// # Safety
///
/// `target` must be the address of the function that this entry was paired with in the
/// [`ProcessStart`] the parent built (see there), relocated into the calling process.
pub(crate) type ProcessEntry = unsafe fn(target: *const (), payload: &[u8]) -> ChildExit;

/// What a child reports when the thread running the entry was lost before the entry returned
/// (in the browser, a trap), given the reason.
pub(crate) type ChildLost = fn(reason: &str) -> ChildExit;

/// Everything a backend needs to start a child.
#[derive(Debug)]
pub(crate) struct ProcessStart {
    /// A daemonic child dies with its parent, whatever ends the parent.
    pub(crate) daemon: bool,
    /// The function the child calls. It must be a function of this executable.
    pub(crate) entry: ProcessEntry,
    /// The address of a function of this executable that `entry` knows how to call: building
    /// a `ProcessStart` promises that `entry(target relocated, payload)` is sound in a child.
    pub(crate) target: usize,
    /// The bytes handed to `entry`.
    pub(crate) payload: Vec<u8>,
    /// What the child reports if the entry's thread is lost (a trap, in the browser).
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    pub(crate) lost: ChildLost,
}

/// What the entry hands back in the child: the bytes to report and the exit code to use.
#[derive(Debug)]
pub(crate) struct ChildExit {
    /// The report, delivered to the parent's watch as [`ChildReport::Sent`].
    pub(crate) report: Vec<u8>,
    /// The child's exit code.
    pub(crate) code: i32,
}

/// What the parent heard from a child by the time it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ChildReport {
    /// The entry's report, complete.
    Sent(Vec<u8>),
    /// No complete report: the child died (or exited) before sending one.
    Missing,
    /// The child could not run the entry (its reason), or what it sent was not a report.
    Broken(String),
}

/// A child's end as its handle sees it.
pub(crate) trait ProcessWatch: Send + Sync + 'static {
    /// The exit word: [`PROCESS_RUNNING`], then [`PROCESS_EXITED`].
    fn exit_word(&self) -> &AtomicU32;
    /// Records how the child ended, once, before the word becomes [`PROCESS_EXITED`].
    /// `exitcode` is Python's: the exit status, or `-N` after signal `N`.
    fn exited(&self, exitcode: i32, report: ChildReport);
}

/// The exit word's value while the child runs (or has not been reaped yet).
pub(crate) const PROCESS_RUNNING: u32 = 0;
/// The exit word's value once the child's exit code is known.
pub(crate) const PROCESS_EXITED: u32 = 1;

/// The signals a parent may send a child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    /// Ask it to stop (SIGTERM natively).
    Terminate,
    /// Stop it now (SIGKILL natively).
    Kill,
}

/// Keeps the watch type used by every backend in one place.
pub(crate) type Watch = Arc<dyn ProcessWatch>;

/// The loom model, which cannot start processes.
#[cfg(amphi_loom)]
mod unsupported {
    use super::{ProcessStart, Signal, Watch};

    const WHY: &str = "processes are not modelled under loom";

    /// A started child; never constructed here.
    #[derive(Debug)]
    pub(crate) enum ChildHandle {}

    impl ChildHandle {
        pub(crate) fn pid(&self) -> u32 {
            match *self {}
        }

        pub(crate) fn signal(&self, _signal: Signal) -> Result<(), String> {
            match *self {}
        }
    }

    /// Refuses, saying why.
    pub(crate) fn spawn_process(
        _start: ProcessStart,
        _watch: Watch,
    ) -> Result<ChildHandle, String> {
        Err(WHY.to_owned())
    }

    /// The host's.
    pub(crate) fn current_pid() -> u32 {
        std::process::id()
    }

    /// Refuses: no process of a model reads it.
    pub(crate) fn code_ref(_address: usize) -> Result<u64, String> {
        Err(WHY.to_owned())
    }

    /// Refuses, as [`code_ref`].
    pub(crate) fn code_address(_code: u64) -> Result<usize, String> {
        Err(WHY.to_owned())
    }

    /// The host's `exit`.
    pub(crate) fn exit_process(code: i32) -> String {
        std::process::exit(code)
    }
}

/// Values every child started from now on receives in its start-up message (natively; the
/// browser's workers receive none, and nothing reads these there): what the process tree
/// shares but no payload should carry, such as the keys of the managers this process reaches
/// over sockets. Not environment variables, which every descendant (even a program that is
/// not amphi) would inherit, and `/proc/PID/environ` would show. A child starts with its
/// parent's values, and passes them on to its own children.
static INHERITED: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

fn inherited_values() -> std::sync::MutexGuard<'static, Vec<(String, String)>> {
    INHERITED
        .lock()
        .unwrap_or_else(|poison| poison.into_inner())
}

/// Gives every child started from now on the value `value` under `name` (replacing an
/// earlier value of `name`), as [`inherited`] reads it there.
pub(crate) fn set_inherited(name: &str, value: String) {
    let mut values = inherited_values();
    values.retain(|(existing, _)| existing != name);
    values.push((name.to_owned(), value));
}

/// The value under `name`: set by [`set_inherited`] in this process, or received from the
/// parent at start-up.
pub(crate) fn inherited(name: &str) -> Option<String> {
    inherited_values()
        .iter()
        .find(|(existing, _)| existing == name)
        .map(|(_, value)| value.clone())
}

/// The values of [`set_inherited`] as a start-up message carries them (JSON), for a backend
/// starting a child.
#[allow(dead_code)] // read by the native backend only
pub(crate) fn inherited_message() -> Vec<u8> {
    serde_json::to_vec(&*inherited_values()).unwrap_or_default()
}

/// Adopts the values a child received in its start-up message ([`inherited_message`]'s
/// bytes; none at all is no values).
#[allow(dead_code)] // called by the native backend only
pub(crate) fn adopt_inherited(message: &[u8]) -> Result<(), String> {
    if message.is_empty() {
        return Ok(());
    }
    let values: Vec<(String, String)> =
        serde_json::from_slice(message).map_err(|err| err.to_string())?;
    *inherited_values() = values;
    Ok(())
}
