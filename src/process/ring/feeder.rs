//! The sender-side buffer of an unbounded process queue: Python's feeder thread.
//!
//! A put into an unbounded queue never waits. If nothing of this process is waiting to go
//! into the ring and the item's frame fits the ring's room now, it is written at once;
//! otherwise it joins this process's buffer (in memory, in order), and a feeder thread writes
//! the buffer into the ring as consumers make room, one frame after another, so the items of
//! one process arrive in the order they were put. The feeder thread exists only while there
//! is a buffer; it keeps the queue's object alive meanwhile.
//!
//! A consumer that died never blocks a producer: the producer's puts buffer, and only its
//! feeder thread waits. What happens to a buffer when the process ends is [`flush_at_exit`]'s:
//! a child process, once its target returned, waits for its feeders to flush (as Python joins
//! its feeder threads at exit) unless [`Feeder::cancel_join`] was called for the queue
//! (Python's `cancel_join_thread`), and gives up a buffer whose ring took nothing for
//! [`STALL`] (its consumers are gone); a killed process loses its buffer.
//!
//! If a write fails (the queue was closed by another process, or broken by a death in the
//! middle of an item), the rest of the buffer is dropped and the failure is kept: the next
//! put reports it.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::Duration;

use super::drive;
use super::frames::{Ring, Sending};
use crate::process::region::Object;
use crate::time::Deadline;
use crate::{sys, Error};

/// How long a flush at exit waits for a ring that takes nothing.
pub(crate) const STALL: Duration = Duration::from_secs(5);

/// An item waiting in the sender: its frame, and what to do if it is never sent.
struct Pending {
    payload: Vec<u8>,
    undo: Option<Box<dyn FnOnce() + Send>>,
}

impl Pending {
    fn discard(self) {
        if let Some(undo) = self.undo {
            undo();
        }
    }
}

#[derive(Default)]
struct State {
    buffer: VecDeque<Pending>,
    /// A feeder thread runs.
    running: bool,
    /// The feeder thread is writing an item it took from the buffer.
    in_flight: bool,
    /// `close` was called here while items were buffered: the ring closes once they are in.
    close_after: bool,
    /// The exit flush skips this queue.
    cancelled: bool,
    /// Why the last write failed, for the next put.
    failed: Option<Error>,
    /// Items written by the feeder thread, to tell a stalled flush.
    written: u64,
}

/// A queue's sender side in this process (see the module docs), shared by its handles here.
pub(crate) struct Feeder {
    /// Holds the queue's object for this process's handles (and a feeder thread).
    _object: Object,
    ring: Ring,
    refuse: fn(u32) -> Option<Error>,
    state: Mutex<State>,
    changed: Condvar,
}

/// Feeders with a buffer, for [`flush_at_exit`].
static FEEDERS: Mutex<Vec<Weak<Feeder>>> = Mutex::new(Vec::new());

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Feeder {
    /// The sender side of the ring `ring` of `object`; `refuse` turns the ring's flags into
    /// the error of a put that may not go in.
    pub(crate) fn new(object: Object, ring: Ring, refuse: fn(u32) -> Option<Error>) -> Arc<Feeder> {
        Arc::new(Feeder {
            _object: object,
            ring,
            refuse,
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
        })
    }

    /// Items buffered here and not yet in the ring.
    pub(crate) fn buffered(&self) -> usize {
        let state = lock(&self.state);
        state.buffer.len() + usize::from(state.in_flight)
    }

    /// Whether `close` was called here with items still buffered.
    pub(crate) fn closing(&self) -> bool {
        lock(&self.state).close_after
    }

    /// Puts `payload` without waiting: into the ring if it fits now and nothing is buffered,
    /// else into the buffer. `undo` runs if it is never sent. An error (the queue closed or
    /// broken) leaves nothing put.
    pub(crate) fn put(
        self: &Arc<Feeder>,
        payload: Vec<u8>,
        undo: Option<Box<dyn FnOnce() + Send>>,
    ) -> Result<(), Error> {
        let mut pending = Pending { payload, undo };
        let mut state = lock(&self.state);
        let refused = if state.close_after {
            Some(Error::Closed)
        } else if let Some(failed) = state.failed.take() {
            Some(failed)
        } else {
            (self.refuse)(self.ring.flags())
        };
        if let Some(refused) = refused {
            drop(state);
            pending.discard();
            return Err(refused);
        }
        if state.buffer.is_empty() && !state.running {
            let payload = std::mem::take(&mut pending.payload);
            let sent = self
                .ring
                .sending(payload, Deadline::NOW, 0, self.refuse)
                .map(Sending::whole_only)
                .and_then(|mut sending| match drive::run(&mut sending) {
                    Ok(()) => Ok(None),
                    Err(Error::Full) => Ok(Some(sending.into_payload())),
                    Err(failed) => Err(failed),
                });
            match sent {
                Ok(None) => return Ok(()),
                Ok(Some(payload)) => pending.payload = payload,
                Err(failed) => {
                    drop(state);
                    pending.discard();
                    return Err(failed);
                }
            }
        }
        state.buffer.push_back(pending);
        if !state.running {
            state.running = true;
            drop(state);
            self.start_thread();
        }
        Ok(())
    }

    fn start_thread(self: &Arc<Feeder>) {
        lock(&FEEDERS).retain(|feeder| feeder.strong_count() > 0);
        lock(&FEEDERS).push(Arc::downgrade(self));
        let feeder = Arc::clone(self);
        let started = crate::thread::Builder::new()
            .name("amphi-queue-feeder")
            .spawn(move || feeder.feed());
        if started.is_err() {
            // No thread: write the buffer here, waiting as a put without a feeder does.
            Arc::clone(self).feed();
        }
    }

    /// The feeder thread: writes the buffer, in order, until it is empty.
    fn feed(self: Arc<Feeder>) {
        loop {
            let pending = {
                let mut state = lock(&self.state);
                match state.buffer.pop_front() {
                    Some(pending) => {
                        state.in_flight = true;
                        pending
                    }
                    None => {
                        state.running = false;
                        let close = std::mem::take(&mut state.close_after);
                        drop(state);
                        if close {
                            self.ring.close(super::WRITE_CLOSED);
                        }
                        self.changed.notify_all();
                        return;
                    }
                }
            };
            let Pending { payload, undo } = pending;
            let written = self
                .ring
                .sending(payload, Deadline::NEVER, 0, self.refuse)
                .map(|sending| match undo {
                    Some(undo) => sending.undo_unless_sent(undo),
                    None => sending,
                })
                .and_then(|mut sending| drive::run(&mut sending));
            let mut state = lock(&self.state);
            state.written += 1;
            state.in_flight = false;
            if let Err(failed) = written {
                let dropped: Vec<Pending> = state.buffer.drain(..).collect();
                state.failed = Some(failed);
                drop(state);
                for pending in dropped {
                    pending.discard();
                }
                continue;
            }
            drop(state);
            self.changed.notify_all();
        }
    }

    /// Closes the ring for writing once what is buffered here is in (at once if nothing is).
    pub(crate) fn close(&self) {
        let mut state = lock(&self.state);
        if state.buffer.is_empty() && !state.running {
            drop(state);
            self.ring.close(super::WRITE_CLOSED);
        } else {
            state.close_after = true;
        }
    }

    /// Waits until what is buffered here is in the ring (or dropped after a failure), until
    /// `deadline`; with `stall`, gives up once the ring took nothing for that long.
    pub(crate) fn join(&self, deadline: Deadline, stall: Option<Duration>) -> Result<(), Error> {
        let mut state = lock(&self.state);
        let mut last = (state.written, sys::now());
        while state.running || !state.buffer.is_empty() {
            if !sys::can_block() {
                return Err(Error::WouldBlock);
            }
            let now = sys::now();
            if state.written != last.0 {
                last = (state.written, now);
            }
            if stall.is_some_and(|stall| now.saturating_sub(last.1) >= stall) {
                return Err(Error::Timeout);
            }
            let slice = deadline.capped(Duration::from_millis(100))?;
            let wait = slice.remaining()?.unwrap_or(Duration::from_millis(100));
            state = self
                .changed
                .wait_timeout(state, wait)
                .map(|(state, _)| state)
                .unwrap_or_else(|poisoned| poisoned.into_inner().0);
        }
        Ok(())
    }

    /// Skips this queue in the flush at exit (Python's `cancel_join_thread`).
    pub(crate) fn cancel_join(&self) {
        lock(&self.state).cancelled = true;
    }
}

/// At the end of a child process, once its target returned: waits for every buffer of the
/// process to be written, except for queues whose `cancel_join_thread` was called, giving up
/// a buffer whose ring took nothing for [`STALL`].
pub(crate) fn flush_at_exit() {
    let feeders: Vec<Arc<Feeder>> = lock(&FEEDERS).iter().filter_map(Weak::upgrade).collect();
    for feeder in feeders {
        if lock(&feeder.state).cancelled {
            continue;
        }
        let _ = feeder.join(Deadline::NEVER, Some(STALL));
    }
}
