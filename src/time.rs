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

use crate::sys;

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

pub(crate) use self::deadline::Deadline;

/// [`Deadline`] is `pub` (the crate-internal lock traits, themselves `pub` but unnameable, take
/// one) in a private module, so that nothing outside the crate can name it.
mod deadline {
    use std::time::Duration;

    use crate::{sys, Error};

    /// How long a wait may last: the one way amphi says it, everywhere above `sys`.
    ///
    /// A public `_timeout(Duration)` method turns its timeout into a deadline once, at the top
    /// ([`Deadline::after`]); the blocking forms wait until [`Deadline::NEVER`]; the `try_` forms
    /// do not wait at all ([`Deadline::NOW`]). Waits below re-compute what is left after every
    /// (possibly spurious) wake-up, so a wait never sleeps longer than asked in total.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Deadline(Limit);

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Limit {
        /// Do not wait at all.
        Now,
        /// Give up at this point of `sys::now`'s clock.
        At(Duration),
        /// Wait as long as it takes.
        Never,
    }

    impl Deadline {
        /// A deadline that never passes (the blocking forms).
        pub(crate) const NEVER: Deadline = Deadline(Limit::Never);

        /// A deadline that has always passed: the caller does not wait at all (the `try_` forms).
        /// Unlike a timeout of zero, callers may tell it apart ([`is_now`](Deadline::is_now)) to
        /// answer "full" or "empty" rather than "timed out".
        pub(crate) const NOW: Deadline = Deadline(Limit::Now);

        /// The deadline `timeout` from now.
        pub(crate) fn after(timeout: Duration) -> Deadline {
            Deadline(Limit::At(sys::now().saturating_add(timeout)))
        }

        /// [`Deadline::after`] a timeout, or [`Deadline::NEVER`] without one (a default timeout
        /// that may be unset).
        pub(crate) fn within(timeout: Option<Duration>) -> Deadline {
            timeout.map_or(Deadline::NEVER, Deadline::after)
        }

        /// Whether this is [`Deadline::NOW`]: the caller asked not to wait at all.
        pub(crate) fn is_now(self) -> bool {
            self.0 == Limit::Now
        }

        /// What is left: `Ok(None)` for no limit, `Ok(Some(left))`, or `Err(Timeout)` once passed.
        pub(crate) fn remaining(self) -> Result<Option<Duration>, Error> {
            match self.0 {
                Limit::Never => Ok(None),
                Limit::Now => Err(Error::Timeout),
                Limit::At(at) => match at.checked_sub(sys::now()) {
                    Some(left) if !left.is_zero() => Ok(Some(left)),
                    _ => Err(Error::Timeout),
                },
            }
        }

        /// Whether the deadline has passed (never true for [`Deadline::NEVER`]).
        pub(crate) fn passed(self) -> bool {
            self.remaining().is_err()
        }

        /// The earlier of this deadline and `slice` from now, for waits that wake up every so
        /// often to check on something else; [`Error::Timeout`] once this deadline has passed.
        pub(crate) fn capped(self, slice: Duration) -> Result<Deadline, Error> {
            let now = sys::now();
            let cap = now.saturating_add(slice);
            match self.0 {
                Limit::Never => Ok(Deadline(Limit::At(cap))),
                Limit::Now => Err(Error::Timeout),
                Limit::At(at) if at > now => Ok(Deadline(Limit::At(at.min(cap)))),
                Limit::At(_) => Err(Error::Timeout),
            }
        }
    }
}
