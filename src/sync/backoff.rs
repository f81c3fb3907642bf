//! [`Backoff`]: amphi's one spin policy, for every loop that waits on another thread's word.
//!
//! A waiter that finds a word not yet as it needs it goes through three phases:
//!
//! 1. **spin**: it re-tries after `1, 2, 4, ... 64` spin-loop hints (the doubling of
//!    crossbeam's backoff: a retry that writes the contended line costs the other side, so
//!    the retries thin out), [`SPIN_STEPS`] times by default. A waiter that only *reads* the
//!    word until it changes ([`poll`](Backoff::poll): a lock's slow path, a ring driver's
//!    sequence word) spends the same budget of hints with a read after each one, as std's
//!    futex mutex does: a read of a line nobody else writes costs the writer nothing, and the
//!    change is seen within one hint. The other side is running and usually finishes within
//!    that time: a lock's holder leaves a short critical section, a queue's other side frees a
//!    slot or adds an item. Catching it awake saves a sleep here and a wake-up system call
//!    there;
//! 2. **yield**: [`YIELD_STEPS`] re-reads with a `yield_now` between them, in case the other
//!    side was preempted and needs this core;
//! 3. **sleep on the word**: the caller's futex wait (`Word::wait`), which the backoff only
//!    announces ([`snooze`](Backoff::snooze) and [`poll`](Backoff::poll) return `false`).
//!
//! A lock's slow path uses the spin phase only, polling ([`poll`](Backoff::poll)), as std's
//! futex mutex does; a queue's blocking put or get spins and yields
//! ([`snooze`](Backoff::snooze)); a process ring's driver polls longer
//! ([`Backoff::spinning`]), since a peer in another process answers in microseconds and its
//! wake-up costs more. Where there is no word to sleep on (a ring slot another thread has
//! claimed and is writing right now, a tiny internal critical section),
//! [`pause`](Backoff::pause) spins and then yields for as long as it takes.
//!
//! Fast paths never construct a backoff: an uncontended acquire is one compare-and-swap.
//!
//! # Under loom
//!
//! A model has no time and one running thread: spinning would only multiply the interleavings
//! to explore. Under `--cfg amphi_loom` there is no spin and no yield phase (`snooze` and
//! `poll` return `false` at once, so callers go straight to their futex wait), and `pause`
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
    /// Steps of the spin and yield phases taken.
    step: u32,
    /// Spin steps before the yield phase.
    spin_steps: u32,
    /// Hints [`poll`](Backoff::poll) has spent.
    polls: u32,
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
            polls: 0,
        }
    }

    /// The spin phase for a waiter that only reads the word: one spin-loop hint and `true`,
    /// or `false` (without waiting) once the phase's budget of hints is spent (the hints
    /// [`snooze`](Backoff::snooze) spends in its spin phase: 127 by default).
    #[inline]
    pub(crate) fn poll(&mut self) -> bool {
        if self.polls >= hints_in(self.spin_steps) {
            return false;
        }
        std::hint::spin_loop();
        self.polls += 1;
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

/// The spin-loop hints of the first `steps` spin steps.
const fn hints_in(steps: u32) -> u32 {
    let doubling = if steps < MOST_DOUBLINGS {
        steps
    } else {
        MOST_DOUBLINGS
    };
    ((1 << doubling) - 1) + (steps - doubling) * (1 << MOST_DOUBLINGS)
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff::new()
    }
}
