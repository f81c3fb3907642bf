//! [`Backoff`]: amphi's one spin policy, for every loop that waits on another thread's word.
//!
//! A waiter that finds a word not yet as it needs it goes through three phases:
//!
//! 1. **spin**: it re-reads the word after `1, 2, 4, ... 64` spin-loop hints (the doubling
//!    of crossbeam's backoff: a re-read of a contended line costs the writer, so the reads
//!    thin out), [`SPIN_STEPS`] times by default. The other side is running and usually
//!    finishes within that time: a lock's holder leaves a short critical section, a queue's
//!    other side frees a slot or adds an item. Catching it awake saves a sleep here and a
//!    wake-up system call there;
//! 2. **yield**: [`YIELD_STEPS`] re-reads with a `yield_now` between them, in case the other
//!    side was preempted and needs this core;
//! 3. **sleep on the word**: the caller's futex wait (`Word::wait`), which the backoff only
//!    announces ([`snooze`](Backoff::snooze) and [`spin`](Backoff::spin) return `false`).
//!
//! A lock's slow path uses the spin phase only ([`spin`](Backoff::spin)), as std's futex mutex
//! does; a queue's blocking put or get spins and yields ([`snooze`](Backoff::snooze)); a
//! process ring's driver spins longer ([`Backoff::spinning`]), since a peer in another process
//! answers in microseconds and its wake-up costs more. Where there is no word to sleep on (a
//! ring slot another thread has claimed and is writing right now, a tiny internal critical
//! section), [`pause`](Backoff::pause) spins and then yields for as long as it takes.
//!
//! Fast paths never construct a backoff: an uncontended acquire is one compare-and-swap.
//!
//! # Under loom
//!
//! A model has no time and one running thread: spinning would only multiply the interleavings
//! to explore. Under `--cfg amphi_loom` there is no spin and no yield phase (`spin` and
//! `snooze` return `false` at once, so callers go straight to their futex wait), and `pause`
//! yields to loom's scheduler, so the thread it waits for gets to run.

/// How many doubling spin steps a backoff makes before it yields or sleeps by default
/// (`1 + 2 + ... + 64` = 127 spin-loop hints in 7 re-reads).
pub(crate) const SPIN_STEPS: u32 = if cfg!(amphi_loom) { 0 } else { 7 };
/// How many `yield_now`s [`Backoff::snooze`] makes after spinning, before it is time to sleep.
pub(crate) const YIELD_STEPS: u32 = if cfg!(amphi_loom) { 0 } else { 4 };
/// The doubling of the spin-loop hints between two re-reads stops at `1 << MOST_DOUBLINGS`
/// (64).
const MOST_DOUBLINGS: u32 = 6;

/// One waiter's progress through the spin policy (see the module docs).
#[derive(Debug)]
pub(crate) struct Backoff {
    step: u32,
    spin_steps: u32,
}

impl Backoff {
    /// A backoff with the default spin phase.
    #[inline]
    pub(crate) const fn new() -> Backoff {
        Backoff::spinning(SPIN_STEPS)
    }

    /// A backoff whose spin phase lasts `spin_steps` re-reads (none under loom). From the
    /// seventh on, each step waits 64 hints.
    #[inline]
    pub(crate) const fn spinning(spin_steps: u32) -> Backoff {
        Backoff {
            step: 0,
            spin_steps: if cfg!(amphi_loom) { 0 } else { spin_steps },
        }
    }

    /// The spin phase: waits a little longer than last time and returns `true`, or returns
    /// `false` (without waiting) once the spin phase is over. For waiters that then sleep.
    #[inline]
    pub(crate) fn spin(&mut self) -> bool {
        if self.step >= self.spin_steps {
            return false;
        }
        self.hint();
        true
    }

    /// The spin phase, then the yield phase: `true` after waiting, `false` (without waiting)
    /// once it is time to sleep on the word.
    #[inline]
    pub(crate) fn snooze(&mut self) -> bool {
        if self.step < self.spin_steps {
            self.hint();
            true
        } else if self.step < self.spin_steps + YIELD_STEPS {
            std::thread::yield_now();
            self.step += 1;
            true
        } else {
            false
        }
    }

    /// Waits a moment for another thread to finish what it started, where there is no word to
    /// sleep on: spins, then yields the core every time (under loom: yields to the model's
    /// scheduler). Never gives up; for waits of a few instructions.
    #[inline]
    pub(crate) fn pause(&mut self) {
        if cfg!(amphi_loom) {
            #[cfg(amphi_loom)]
            loom::thread::yield_now();
        } else if self.step < self.spin_steps {
            self.hint();
        } else {
            std::thread::yield_now();
        }
    }

    /// Spends this step's spin-loop hints and moves to the next step.
    #[inline]
    fn hint(&mut self) {
        for _ in 0..1u32 << self.step.min(MOST_DOUBLINGS) {
            std::hint::spin_loop();
        }
        self.step += 1;
    }
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff::new()
    }
}
