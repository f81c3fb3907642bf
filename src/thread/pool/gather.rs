//! The `map` family's chunking, one for the thread pool and the process pool: the chunk size
//! (Python's default, or the caller's), the split of the items into chunks, and [`Gather`],
//! which assembles the chunks' outcomes, in order, into the call's one cell.
//!
//! A pool submits each chunk its own way (a rayon task, a serialised call to a worker) and
//! reports to the gather as the chunk starts ([`Gather::start`]) and ends
//! ([`Gather::deliver`]); the last chunk in settles the cell with the list, or with the first
//! error in order.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::sync::spin;
use crate::Error;

use super::completion::{Completion, PENDING};
use super::Callbacks;

/// One chunk's outcome in a `map`, once it is in.
type ChunkSlot<R> = Mutex<Option<Result<Vec<R>, Error>>>;

/// The state of one `map_async`: a slot per chunk, and a count of chunks still out; the last
/// chunk in assembles the list (or the first error, in order) into the cell.
pub(crate) struct Gather<R> {
    slots: Vec<ChunkSlot<R>>,
    remaining: AtomicUsize,
    total: usize,
    cell: Arc<Completion<Vec<R>>>,
    callbacks: Mutex<Option<Callbacks<Vec<R>>>>,
}

/// The chunks of a `map` and the gather they report to.
pub(crate) type Chunks<A, R> = (Vec<Vec<A>>, Arc<Gather<R>>);

/// A `map` split into chunks: the cell its result goes into, and, unless there were no items,
/// the chunks with the gather they report to.
pub(crate) struct Plan<A, R> {
    pub(crate) cell: Arc<Completion<Vec<R>>>,
    pub(crate) chunks: Option<Chunks<A, R>>,
}

/// Splits `items` into chunks of `chunksize` (`None`: Python's default for `workers`); with no
/// items, the cell is settled at once with an empty list (the callbacks run).
pub(crate) fn plan<A, R>(
    items: Vec<A>,
    chunksize: Option<usize>,
    workers: usize,
    callbacks: Callbacks<Vec<R>>,
) -> Plan<A, R> {
    let cell = Completion::new();
    let total = items.len();
    if total == 0 {
        settle(&cell, Ok(Vec::new()), callbacks);
        return Plan { cell, chunks: None };
    }
    let chunksize = chunksize.unwrap_or_else(|| default_chunksize(total, workers));
    let chunks = split(items, chunksize);
    let gather = Arc::new(Gather {
        slots: (0..chunks.len()).map(|_| Mutex::new(None)).collect(),
        remaining: AtomicUsize::new(chunks.len()),
        total,
        cell: Arc::clone(&cell),
        callbacks: Mutex::new(Some(callbacks)),
    });
    Plan {
        cell,
        chunks: Some((chunks, gather)),
    }
}

impl<R> Gather<R> {
    /// Called as a chunk starts: the first moves the cell to running; whether the call is
    /// still wanted (not cancelled).
    pub(crate) fn start(&self) -> bool {
        if self.cell.state() == PENDING {
            self.cell.start();
        }
        self.cell.is_open()
    }

    /// Ends the call with `error` before all its chunks were submitted (one did not
    /// serialise, or the pool stopped taking work): the chunks not started are skipped, the
    /// outcomes of those that ran are dropped, and no callback runs.
    pub(crate) fn abandon(&self, error: Error) {
        spin::lock(&self.callbacks).take();
        if !self.cell.cancel(error.clone()) {
            self.cell.finish(Err(error));
        }
    }

    /// Stores chunk `index`'s outcome; the last chunk in settles the cell.
    pub(crate) fn deliver(&self, index: usize, outcome: Result<Vec<R>, Error>) {
        *spin::lock(&self.slots[index]) = Some(outcome);
        if self.remaining.fetch_sub(1, Ordering::AcqRel) != 1 || !self.cell.is_open() {
            return;
        }
        let mut all = Vec::with_capacity(self.total);
        let mut outcome = Ok(());
        for slot in &self.slots {
            match spin::lock(slot).take() {
                Some(Ok(part)) => all.extend(part),
                Some(Err(error)) => {
                    outcome = Err(error);
                    break;
                }
                None => {}
            }
        }
        let callbacks = spin::lock(&self.callbacks).take().unwrap_or_default();
        settle(&self.cell, outcome.map(|()| all), callbacks);
    }
}

/// Settles `cell` with a task's outcome: an error before the task started cancels it (no
/// callback runs); otherwise the callbacks run, then the result becomes ready.
pub(crate) fn settle<T>(cell: &Completion<T>, outcome: Result<T, Error>, callbacks: Callbacks<T>) {
    match outcome {
        Err(reason) if cell.state() == PENDING => {
            cell.cancel(reason);
        }
        outcome => {
            cell.start();
            callbacks.run(&outcome);
            cell.finish(outcome);
        }
    }
}

/// Splits `items` into chunks of `chunksize` (the last may be shorter).
fn split<A>(items: Vec<A>, chunksize: usize) -> Vec<Vec<A>> {
    let mut chunks = Vec::with_capacity(items.len().div_ceil(chunksize));
    let mut items = items.into_iter();
    loop {
        let chunk: Vec<A> = items.by_ref().take(chunksize).collect();
        if chunk.is_empty() {
            return chunks;
        }
        chunks.push(chunk);
    }
}

/// Python's default chunk size for `map`: the items over four times the workers, rounded up.
fn default_chunksize(items: usize, workers: usize) -> usize {
    items.div_ceil(4 * workers).max(1)
}

/// [`Error::InvalidArgument`] for a chunk size of 0.
pub(crate) fn check_chunksize(chunksize: usize) -> Result<(), Error> {
    match chunksize {
        0 => Err(Error::InvalidArgument(
            "chunksize must be at least 1".to_owned(),
        )),
        _ => Ok(()),
    }
}

/// How many chunks an `imap` keeps in flight on `workers` workers: enough to keep every
/// worker busy while the consumer takes results, few enough to bound memory.
pub(crate) fn window(workers: usize) -> usize {
    4 * workers
}
