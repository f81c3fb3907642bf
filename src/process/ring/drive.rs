//! Running a ring operation to its end: blocking ([`run`]) or as a future ([`run_async`]).
//!
//! A send, a receive or a poll on a `ring` is an [`Op`]: a state machine whose
//! [`step`](Op::step) goes as far as it can without waiting, then says what it waits for (a
//! [`Block`]) and until when. The protocol lives once, in the ops; the two drivers only differ
//! in how they sleep:
//!
//! - [`run`] sleeps in the kernel (`Word::wait`), for the blocking, `try_` and `_timeout`
//!   forms;
//! - [`run_async`] sleeps in a future (`SharedWord::wait_async_until`: `Atomics.waitAsync` in the
//!   browser, the process's watcher thread natively), for the `_async` forms, on any thread,
//!   the browser's main thread included.
//!
//! Both sleep in slices of at most [`SLICE`]; after a quiet slice, [`Op::on_quiet`] checks on
//! the processes waited for (see `ring` for what dead peers do to a ring).
//!
//! # Dropped futures
//!
//! An op that has not begun its frame holds nothing the ring depends on: dropping its future
//! then loses nothing (an item is taken, or put, only in the step that completes the future).
//! An op dropped in the middle of a frame (a message longer than the ring, half streamed)
//! cannot stop there without breaking the ring for everyone, so it is handed to a new amphi
//! thread that finishes it with the blocking driver: a send is then delivered whole, a receive
//! reads the rest of its message and discards it. Only if no thread can be started is the
//! frame abandoned, and the ring marked broken ([`Error::PeerDied`]) rather than left to
//! deliver a torn message.

use std::time::Duration;

use crate::process::region::SharedWord;
use crate::sync::atomic::Ordering::SeqCst;
use crate::sync::{Backoff, Word};
use crate::time::Deadline;
use crate::{sys, Error};

/// The longest sleep before a waiter checks on the processes it waits for.
pub(crate) const SLICE: Duration = Duration::from_millis(100);

/// How many spin steps the blocking driver polls a sequence word for before it sleeps (13 steps
/// of [`Backoff`]: 511 spin-loop hints, a read after each): a peer in another process often answers within
/// microseconds, and catching its answer awake saves a futex wake on its side and a sleep and
/// wake-up on ours (most of a round trip's time).
const SPIN_STEPS: u32 = 13;

/// What an op waits for.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Block {
    /// A lock held by someone else, its word `announced` once marked as having sleepers
    /// (`RawOwnedLock::try_lock_or_announce`).
    Lock { word: SharedWord, announced: u32 },
    /// A sequence word to move on from `seen`, announcing the sleep in `sleepers`.
    Seq {
        seq: SharedWord,
        sleepers: SharedWord,
        seen: u32,
    },
}

/// The outcome of a [`step`](Op::step).
pub(crate) enum Step<T> {
    /// The op ended.
    Done(Result<T, Error>),
    /// The op waits for the block, until the deadline.
    Wait(Block, Deadline),
}

/// A ring operation (see the module docs).
pub(crate) trait Op {
    type Output;
    /// Goes as far as possible without waiting.
    fn step(&mut self) -> Step<Self::Output>;
    /// Called after a slice passed with no wake-up: checks on the processes waited for.
    fn on_quiet(&mut self) -> Result<(), Error>;
    /// Whether the op is in the middle of a frame (see the module docs).
    fn mid_frame(&self) -> bool;
}

/// The end of the next slice: `deadline`, or a [`SLICE`] from now if that is sooner;
/// [`Error::Timeout`] once `deadline` has passed.
fn slice_of(deadline: Deadline) -> Result<Deadline, Error> {
    deadline.capped(SLICE)
}

impl Block {
    /// Sleeps in the kernel until the end of `slice`, after spinning briefly on a sequence
    /// word; `false` if nothing happened meanwhile.
    fn sleep(self, slice: Deadline) -> bool {
        match self {
            Block::Lock { word, announced } => {
                let _wait = crate::trace::span!("wait.ring");
                word.wait(announced, slice).is_ok() && !slice.passed()
            }
            Block::Seq {
                seq,
                sleepers,
                seen,
            } => {
                let mut backoff = Backoff::spinning(SPIN_STEPS);
                loop {
                    if seq.load(SeqCst) != seen {
                        return true;
                    }
                    if !backoff.poll() {
                        break;
                    }
                }
                let _wait = crate::trace::span!("wait.ring");
                sleepers.fetch_add(1, SeqCst);
                let woken =
                    seq.load(SeqCst) != seen || (seq.wait(seen, slice).is_ok() && !slice.passed());
                sleepers.fetch_sub(1, SeqCst);
                woken
            }
        }
    }

    /// Sleeps as a future until the end of `slice`; `false` if nothing happened meanwhile.
    async fn sleep_async(self, slice: Deadline) -> bool {
        match self {
            Block::Lock { word, announced } => word.wait_async_until(announced, slice).await,
            Block::Seq {
                seq,
                sleepers,
                seen,
            } => {
                sleepers.fetch_add(1, SeqCst);
                let _announced = Announced(sleepers);
                seq.load(SeqCst) != seen || seq.wait_async_until(seen, slice).await
            }
        }
    }
}

/// A sleeper announced in a sleepers word, withdrawn when dropped (also with its future).
struct Announced(SharedWord);

impl Drop for Announced {
    fn drop(&mut self) {
        self.0.fetch_sub(1, SeqCst);
    }
}

/// Runs `op` to its end on this thread, sleeping in the kernel. [`Error::WouldBlock`] where
/// the thread may not block and the op must wait.
pub(crate) fn run<O: Op>(op: &mut O) -> Result<O::Output, Error> {
    loop {
        match op.step() {
            Step::Done(done) => return done,
            Step::Wait(block, deadline) => {
                if !sys::can_block() {
                    return Err(Error::WouldBlock);
                }
                if !block.sleep(slice_of(deadline)?) {
                    op.on_quiet()?;
                }
            }
        }
    }
}

/// Runs `op` to its end as a future (see the module docs for a future dropped on the way).
pub(crate) async fn run_async<O: Op + Send + 'static>(op: O) -> Result<O::Output, Error> {
    let mut held = HandOver(Some(op));
    let op = held.0.as_mut().expect("present until the end");
    let done = loop {
        match op.step() {
            Step::Done(done) => break done,
            Step::Wait(block, deadline) => {
                let slice = match slice_of(deadline) {
                    Ok(slice) => slice,
                    Err(timeout) => break Err(timeout),
                };
                if !block.sleep_async(slice).await {
                    if let Err(failed) = op.on_quiet() {
                        break Err(failed);
                    }
                }
            }
        }
    };
    held.0 = None;
    done
}

/// An op owned by a future; finished on another thread if the future is dropped mid-frame.
struct HandOver<O: Op + Send + 'static>(Option<O>);

impl<O: Op + Send + 'static> Drop for HandOver<O> {
    fn drop(&mut self) {
        let Some(mut op) = self.0.take() else {
            return;
        };
        if !op.mid_frame() {
            return;
        }
        // If no thread starts, the op is dropped here and breaks the ring (see `ring`).
        let _finisher = crate::thread::Builder::new()
            .name("amphi-ring-finish")
            .spawn(move || {
                // Any failure is the ring's, and every later call on it reports it.
                let _ = run(&mut op);
            });
    }
}
