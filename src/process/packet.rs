//! What a started process's handles share with the platform: the exit word, the exit code and
//! the child's report; and the waits, signals and result decoding built on them.
//!
//! The word goes `PROCESS_RUNNING -> PROCESS_EXITED` once, after the platform stored the exit
//! code and the report (see `crate::sys::ProcessWatch`). Every wait sleeps on that word, so
//! every form of join wakes whatever ended the child.

use std::sync::{Mutex, MutexGuard, OnceLock};

use serde::de::DeserializeOwned;

use super::wire::Report;
use crate::error::PanicReport;
use crate::sync::atomic::{AtomicU32, Ordering};
use crate::sync::Word;
use crate::sys::{self, ChildHandle, ChildReport, ProcessWatch, Signal, PROCESS_RUNNING};
use crate::time::Deadline;
use crate::Error;

/// A started process, shared by its `Process`, `active_children()` and the platform.
#[derive(Debug)]
pub(super) struct Packet {
    pub(super) name: String,
    pub(super) daemon: bool,
    /// `PROCESS_RUNNING`, then `PROCESS_EXITED` (see `crate::sys`).
    exit: AtomicU32,
    /// The exit code and report, stored before the word leaves `PROCESS_RUNNING`.
    end: Mutex<Option<(i32, ChildReport)>>,
    /// The platform's handle, set as soon as the start returned it.
    handle: OnceLock<ChildHandle>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poison| poison.into_inner())
}

impl Packet {
    pub(super) fn new(name: String, daemon: bool) -> Packet {
        Packet {
            name,
            daemon,
            exit: AtomicU32::new(PROCESS_RUNNING),
            end: Mutex::new(None),
            handle: OnceLock::new(),
        }
    }

    pub(super) fn set_handle(&self, handle: ChildHandle) {
        // Only the start that created this packet sets it, once.
        let _ = self.handle.set(handle);
    }

    pub(super) fn pid(&self) -> Option<u32> {
        self.handle.get().map(ChildHandle::pid)
    }

    pub(super) fn is_alive(&self) -> bool {
        self.exit.load(Ordering::Acquire) == PROCESS_RUNNING
    }

    pub(super) fn exitcode(&self) -> Option<i32> {
        if self.is_alive() {
            return None;
        }
        lock(&self.end).as_ref().map(|(code, _)| *code)
    }

    pub(super) fn signal(&self, signal: Signal) -> Result<(), Error> {
        let Some(handle) = self.handle.get() else {
            return Err(Error::NotStarted(self.name.clone()));
        };
        handle
            .signal(signal)
            .map_err(|reason| Error::ProcessBroken {
                name: self.name.clone(),
                reason,
            })
    }

    /// Sleeps until the child has ended or `deadline` passed.
    pub(super) fn wait_until(&self, deadline: Deadline) -> Result<(), Error> {
        if !sys::can_block() {
            return Err(Error::WouldBlock);
        }
        while self.is_alive() {
            self.exit.wait(PROCESS_RUNNING, deadline)?;
        }
        Ok(())
    }

    /// Waits without blocking until the child has ended.
    pub(super) async fn wait_async(&self) {
        while self.is_alive() {
            sys::wait_async(&self.exit, PROCESS_RUNNING).await;
        }
    }

    /// The target's result, decoded afresh from the child's report (so every join gets it).
    pub(super) fn outcome<R: DeserializeOwned>(&self) -> Result<R, Error> {
        let end = lock(&self.end);
        let Some((exitcode, report)) = end.as_ref() else {
            return Err(self.broken("it ended without an exit status".to_owned()));
        };
        let bytes = match report {
            ChildReport::Sent(bytes) => bytes,
            ChildReport::Missing => {
                return Err(Error::ProcessFailed {
                    name: self.name.clone(),
                    exitcode: *exitcode,
                })
            }
            ChildReport::Broken(reason) => return Err(self.broken(reason.clone())),
        };
        match serde_json::from_slice::<Report<serde_json::Value>>(bytes) {
            Ok(Report::Returned(value)) => serde_json::from_value(value).map_err(|err| {
                self.broken(format!("its return value does not deserialise: {err}"))
            }),
            Ok(Report::Panicked { message, location }) => Err(Error::Panicked(PanicReport {
                thread: self.name.clone(),
                message,
                location,
            })),
            Ok(Report::Exited(exitcode)) => Err(Error::ProcessFailed {
                name: self.name.clone(),
                exitcode,
            }),
            Ok(Report::Failed(reason)) => Err(self.broken(reason)),
            Err(err) => Err(self.broken(format!("its report is not valid: {err}"))),
        }
    }

    fn broken(&self, reason: String) -> Error {
        Error::ProcessBroken {
            name: self.name.clone(),
            reason,
        }
    }
}

impl ProcessWatch for Packet {
    fn exit_word(&self) -> &AtomicU32 {
        &self.exit
    }

    fn exited(&self, exitcode: i32, report: ChildReport) {
        lock(&self.end).get_or_insert((exitcode, report));
    }
}
