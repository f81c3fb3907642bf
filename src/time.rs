//! Time on the platform's monotonic clock: [`Instant`], and the crate's deadlines.
//!
//! `std::time::Instant` panics in the browser (`wasm32-unknown-unknown` has no clock), and
//! each Web Worker's `performance.now()` starts at a different origin. amphi's clock is one
//! clock for every thread on both targets: `CLOCK_MONOTONIC` natively, and
//! `performance.timeOrigin + performance.now()` in the browser.
//!
//! Timed waits turn their `Duration` into a `Deadline` once, then re-compute what is left
//! after every (possibly spurious) wake-up, so a wait never sleeps longer than asked in total.

use std::time::Duration;

use crate::{sys, Error};

/// A point on amphi's monotonic clock, comparable across threads (and workers).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let start = amphi::time::Instant::now();
/// amphi::thread::sleep(Duration::from_millis(5))?;
/// assert!(start.elapsed() >= Duration::from_millis(5));
/// # Ok::<(), amphi::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(Duration);

impl Instant {
    /// The current time.
    ///
    /// # Examples
    ///
    /// ```
    /// let first = amphi::time::Instant::now();
    /// let second = amphi::time::Instant::now();
    /// assert!(second >= first, "the clock never goes back");
    /// ```
    pub fn now() -> Instant {
        Instant(sys::now())
    }

    /// Time passed since this instant (zero if it is in the future).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let start = amphi::time::Instant::now();
    /// amphi::thread::sleep(Duration::from_millis(2))?;
    /// assert!(start.elapsed() >= Duration::from_millis(2));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn elapsed(self) -> Duration {
        sys::now().saturating_sub(self.0)
    }

    /// Time from `earlier` to this instant (zero if `earlier` is later).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let earlier = amphi::time::Instant::now();
    /// amphi::thread::sleep(Duration::from_millis(2))?;
    /// let later = amphi::time::Instant::now();
    /// assert!(later.saturating_duration_since(earlier) >= Duration::from_millis(2));
    /// assert_eq!(earlier.saturating_duration_since(later), Duration::ZERO);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        self.0.saturating_sub(earlier.0)
    }
}

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
