//! Deadlines on the platform's monotonic clock.
//!
//! Timed waits turn their `Duration` into a [`Deadline`] once, then re-compute what is left
//! after every (possibly spurious) wake-up, so a wait never sleeps longer than asked in total.

use std::time::Duration;

use crate::{sys, Error};

/// A point in time after which a wait gives up, or never.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline(Option<Duration>);

impl Deadline {
    /// A deadline that never passes.
    pub(crate) const NEVER: Deadline = Deadline(None);

    /// The deadline `timeout` from now.
    pub(crate) fn after(timeout: Duration) -> Deadline {
        Deadline(Some(sys::now().saturating_add(timeout)))
    }

    /// What is left: `Ok(None)` for no limit, `Ok(Some(left))`, or `Err(Timeout)` once passed.
    pub(crate) fn remaining(self) -> Result<Option<Duration>, Error> {
        match self.0 {
            None => Ok(None),
            Some(at) => match at.checked_sub(sys::now()) {
                Some(left) if !left.is_zero() => Ok(Some(left)),
                _ => Err(Error::Timeout),
            },
        }
    }
}
