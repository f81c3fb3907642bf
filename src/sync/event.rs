//! [`RawEvent`]: the state machine of Python's `Event` (a flag that threads wait for), written
//! once for the thread and the process families.
//!
//! # State machine
//!
//! One word: bit 0 is the flag (`SET_BIT`), the other bits count the `set` calls that found the
//! flag clear (a generation). `set` moves an unset word to the next generation with the flag
//! on and wakes every sleeper; `clear` turns the flag off and keeps the generation. A waiter
//! remembers the word it saw and sleeps while the word is unchanged.
//!
//! # Guarantees
//!
//! A thread waiting when `set` is called returns successfully even if `clear` follows at once:
//! it sees that the generation moved on (CPython's behaviour since bpo-13502). A timed wait that
//! times out still succeeds if a `set` happened before it gave up.
//!
//! # Memory ordering
//!
//! `set` is `Release` and the waiters' reads are `Acquire`: what the setter wrote before `set`
//! is visible to every thread that sees the flag set.

use crate::sync::atomic::Ordering;
use crate::sync::Word;
use crate::time::Deadline;
use crate::{sys, Error};

const SET_BIT: u32 = 1;
const GENERATION: u32 = 2;

/// The event's state machine over any [`Word`]: the thread `Event` and the process-shared one
/// are this, over different words.
pub(crate) struct RawEvent<W> {
    /// Bit 0: the flag; bits 1..: the generation (see the module docs).
    word: W,
}

impl<W: Word> RawEvent<W> {
    /// An event living in `word`, which must hold 0 (unset) for a new event.
    pub(crate) fn from_word(word: W) -> RawEvent<W> {
        RawEvent { word }
    }

    pub(crate) fn is_set(&self) -> bool {
        self.word.load(Ordering::Acquire) & SET_BIT != 0
    }

    pub(crate) fn set(&self) {
        let mut word = self.word.load(Ordering::Relaxed);
        while word & SET_BIT == 0 {
            let next = (word & !SET_BIT).wrapping_add(GENERATION) | SET_BIT;
            match self
                .word
                .compare_exchange(word, next, Ordering::Release, Ordering::Relaxed)
            {
                Ok(_) => return self.word.wake_all(),
                Err(seen) => word = seen,
            }
        }
    }

    pub(crate) fn clear(&self) {
        self.word.fetch_and(!SET_BIT, Ordering::Relaxed);
    }

    pub(crate) async fn wait_async(&self) {
        let seen = self.word.load(Ordering::Acquire);
        while !self.was_set_since(seen) {
            self.word.wait_async(seen).await;
        }
    }

    /// Whether the flag is set, or a `set` happened, since the waiter saw `seen`.
    fn was_set_since(&self, seen: u32) -> bool {
        let now = self.word.load(Ordering::Acquire);
        seen & SET_BIT != 0 || now & SET_BIT != 0 || now >> 1 != seen >> 1
    }

    /// Waits for a `set` until `deadline`; refuses on threads that may not block.
    pub(crate) fn wait_until(&self, deadline: Deadline) -> Result<(), Error> {
        if !sys::can_block() {
            return Err(Error::WouldBlock);
        }
        let seen = self.word.load(Ordering::Acquire);
        if self.was_set_since(seen) {
            return Ok(());
        }
        let _wait = crate::trace::span!("wait.event");
        while !self.was_set_since(seen) {
            match self.word.wait(seen, deadline) {
                Ok(()) => {}
                Err(timeout) if !self.was_set_since(seen) => return Err(timeout),
                Err(_) => return Ok(()),
            }
        }
        Ok(())
    }
}
