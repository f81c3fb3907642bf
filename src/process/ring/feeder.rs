//! The sender-side buffer of an unbounded process queue: Python's feeder thread.
//!
//! A put into an unbounded queue never waits. If nothing of this process is waiting to go
//! into the ring and the item's frame fits the ring's room now, it is written at once;
//! otherwise it joins this process's buffer (in memory, in order), and a feeder thread writes
//! the buffer into the ring as consumers make room, one frame after another, so the items of
//! one process arrive in the order they were put. The feeder thread takes the whole buffer at
//! a time (so a fast producer and the feeder seldom meet on its lock), and exists only while
//! there is a buffer and for [`LINGER`] after; it keeps the queue's object alive meanwhile.
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
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::Duration;

use super::drive;
use super::frames::{Ring, Sending};
use crate::process::region::Object;
use crate::time::Deadline;
use crate::{sys, Error};

/// How long a flush at exit waits for a ring that takes nothing.
pub(crate) const STALL: Duration = Duration::from_secs(5);

/// How long a feeder thread with nothing to write waits for more before it ends (a burst of
/// puts that overflows the ring again soon finds it still there).
const LINGER: Duration = Duration::from_millis(50);

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
    /// The feeder thread waits for items (notify it).
    idle: bool,
    /// Threads waiting in `join` (notify them).
    joiners: usize,
    /// `close` was called here while items were buffered: the ring closes once they are in.
    close_after: bool,
    /// The exit flush skips this queue.
    cancelled: bool,
    /// Why the last write failed, for the next put.
    failed: Option<Error>,
}

/// A queue's sender side in this process (see the module docs), shared by its handles here.
pub(crate) struct Feeder {
    /// Holds the queue's object for this process's handles (and a feeder thread).
    _object: Object,
    ring: Ring,
    refuse: fn(u32) -> Option<Error>,
    state: Mutex<State>,
    /// Items the feeder thread took from the buffer and has not finished writing.
    in_flight: AtomicUsize,
    /// Items the feeder thread finished (written or dropped), to tell a stalled flush.
    written: AtomicU64,
    /// Wakes the feeder thread (new items) and joiners (the buffer drained).
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
            in_flight: AtomicUsize::new(0),
            written: AtomicU64::new(0),
            changed: Condvar::new(),
        })
    }

    /// Items buffered here and not yet in the ring.
    pub(crate) fn buffered(&self) -> usize {
        let state = lock(&self.state);
        state.buffer.len() + self.in_flight.load(Ordering::SeqCst)
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
        // Nothing of this process waits before this item: it may go straight in.
        if state.buffer.is_empty() && self.in_flight.load(Ordering::SeqCst) == 0 {
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
        if state.running {
            if state.idle {
                state.idle = false;
                self.changed.notify_all();
            }
            return Ok(());
        }
        state.running = true;
        drop(state);
        self.start_thread();
        Ok(())
    }

    fn start_thread(self: &Arc<Feeder>) {
        {
            let mut feeders = lock(&FEEDERS);
            feeders.retain(|feeder| feeder.strong_count() > 0);
            feeders.push(Arc::downgrade(self));
        }
        let feeder = Arc::clone(self);
        let started = crate::thread::Builder::new()
            .name("amphi-queue-feeder")
            .spawn(move || feeder.feed(LINGER));
        if started.is_err() {
            // No thread: write the buffer here, waiting as a put without a feeder does.
            Arc::clone(self).feed(Duration::ZERO);
        }
    }

    /// The feeder thread: writes the buffer, in order, a batch at a time, until it stayed
    /// empty for `linger`.
    fn feed(self: Arc<Feeder>, linger: Duration) {
        let mut state = lock(&self.state);
        loop {
            if state.buffer.is_empty() {
                if state.joiners > 0 {
                    self.changed.notify_all();
                }
                if !linger.is_zero() && !state.close_after && state.failed.is_none() {
                    state.idle = true;
                    state = self
                        .changed
                        .wait_timeout(state, linger)
                        .map(|(state, _)| state)
                        .unwrap_or_else(|poisoned| poisoned.into_inner().0);
                    state.idle = false;
                }
                if state.buffer.is_empty() {
                    state.running = false;
                    let close = std::mem::take(&mut state.close_after);
                    if state.joiners > 0 {
                        self.changed.notify_all();
                    }
                    drop(state);
                    if close {
                        self.ring.close(super::WRITE_CLOSED);
                    }
                    return;
                }
            }
            let batch = std::mem::take(&mut state.buffer);
            self.in_flight.store(batch.len(), Ordering::SeqCst);
            drop(state);
            let mut batch = batch.into_iter();
            let mut failure = None;
            for Pending { payload, undo } in batch.by_ref() {
                let written = self
                    .ring
                    .sending(payload, Deadline::NEVER, 0, self.refuse)
                    .map(|sending| match undo {
                        Some(undo) => sending.undo_unless_sent(undo),
                        None => sending,
                    })
                    .and_then(|mut sending| drive::run(&mut sending));
                self.written.fetch_add(1, Ordering::SeqCst);
                self.in_flight.fetch_sub(1, Ordering::SeqCst);
                if let Err(failed) = written {
                    failure = Some(failed);
                    break;
                }
            }
            state = lock(&self.state);
            if let Some(failed) = failure {
                // The rest is dropped, the buffer's too (those items came after).
                let rest: Vec<Pending> = batch.chain(state.buffer.drain(..)).collect();
                self.in_flight.store(0, Ordering::SeqCst);
                state.failed = Some(failed);
                drop(state);
                for pending in rest {
                    pending.discard();
                }
                state = lock(&self.state);
            }
        }
    }

    /// Closes the ring for writing once what is buffered here is in (at once if nothing is).
    pub(crate) fn close(&self) {
        let mut state = lock(&self.state);
        if state.buffer.is_empty() && self.in_flight.load(Ordering::SeqCst) == 0 {
            drop(state);
            self.ring.close(super::WRITE_CLOSED);
        } else {
            state.close_after = true;
            if state.idle {
                self.changed.notify_all();
            }
        }
    }

    /// Waits until what is buffered here is in the ring (or dropped after a failure), until
    /// `deadline`; with `stall`, gives up once the ring took nothing for that long.
    pub(crate) fn join(&self, deadline: Deadline, stall: Option<Duration>) -> Result<(), Error> {
        let mut state = lock(&self.state);
        let mut last = (self.written.load(Ordering::SeqCst), sys::now());
        while !state.buffer.is_empty() || self.in_flight.load(Ordering::SeqCst) != 0 {
            if !sys::can_block() {
                return Err(Error::WouldBlock);
            }
            let now = sys::now();
            let written = self.written.load(Ordering::SeqCst);
            if written != last.0 {
                last = (written, now);
            }
            if stall.is_some_and(|stall| now.saturating_sub(last.1) >= stall) {
                return Err(Error::Timeout);
            }
            let slice = deadline.capped(Duration::from_millis(100))?;
            let wait = slice.remaining()?.unwrap_or(Duration::from_millis(100));
            state.joiners += 1;
            state = self
                .changed
                .wait_timeout(state, wait)
                .map(|(state, _)| state)
                .unwrap_or_else(|poisoned| poisoned.into_inner().0);
            state.joiners -= 1;
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
