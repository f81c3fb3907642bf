//! The served event: a flag that waiters wait to see set. It holds nothing for anyone, so a
//! connection's end gives nothing back.

use serde_json::Value;

use super::lock::refusal;
use super::{done, not_a_method, Monitor, Wait};
use crate::process::manager::protocol::{Reply, SyncCall};

/// A served event.
pub(crate) struct ServedEvent {
    monitor: Monitor<bool>,
}

impl ServedEvent {
    pub(super) fn new() -> ServedEvent {
        ServedEvent {
            monitor: Monitor::new(false),
        }
    }

    pub(super) fn call(&self, call: SyncCall, wait: &Wait<'_>) -> Reply {
        match call {
            SyncCall::Set => self.monitor.update(|set| *set = true).and_then(|()| done()),
            SyncCall::Clear => self
                .monitor
                .update(|set| *set = false)
                .and_then(|()| done()),
            SyncCall::Locked => self.monitor.update(|set| Value::from(*set)),
            SyncCall::Wait => {
                self.monitor
                    .wait(wait, |set| set.then(done), |_, stop| Err(refusal(stop)))
            }
            call => Err(not_a_method("event", &call)),
        }
    }
}
