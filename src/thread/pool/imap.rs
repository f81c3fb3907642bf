//! [`Imap`] and [`ImapUnordered`]: the streaming iterators of `imap` and `imap_unordered`,
//! one engine for the thread pool and the process pool.
//!
//! Both read their input lazily, on the thread that iterates, and keep at most a window of
//! chunks in flight (a few per worker): each result taken lets one more chunk in. So a huge or
//! endless input is never collected, the parent's memory stays bounded, and results come while
//! later items still run. `Imap` keeps its chunks' cells in submission order and waits on the
//! oldest; `ImapUnordered` has every chunk put its outcome in one list of arrivals, and takes
//! them as they come.
//!
//! What a pool brings is a [`Feed`]: it reads the next chunk and submits it, to deliver its
//! outcome through a [`Delivery`] (the thread pool runs the chunk on rayon, the process pool
//! serialises it for a worker). An iterator keeps feeding after the pool's `close` (its items
//! were accepted, as Python's are queued whole), and stops after `terminate`: the chunks in
//! flight end as [`Error::Cancelled`] (or [`Error::WorkerDied`] for one a killed worker was
//! running), and the stream ends with one last error.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::sync::atomic::{AtomicU32, Ordering};
use crate::sync::Word;
use crate::time::Deadline;
use crate::Error;

use super::completion::{Completion, PENDING};

/// What one submission of a [`Feed`] came to.
pub(crate) enum Fed {
    /// A chunk was submitted (or failed alone): its delivery will be settled; more may follow.
    More,
    /// The delivery was settled with an error that ends the input (the pool was terminated):
    /// nothing follows.
    Last,
    /// The input is exhausted: nothing was submitted.
    Exhausted,
}

/// A pool's side of an iterator: reads the next chunk of the input and submits it. Dropped
/// once it has answered [`Fed::Last`] or [`Fed::Exhausted`], or with its iterator.
pub(crate) trait Feed<R> {
    /// Submits the next chunk, to settle `delivery` with its outcome.
    fn submit_next(&mut self, delivery: Delivery<R>) -> Fed;
}

/// Where a chunk's outcome goes: the chunk's own cell (`imap`) or the iterator's arrivals
/// (`imap_unordered`).
pub(crate) enum Delivery<R> {
    Cell(Arc<Completion<Vec<R>>>),
    Arrivals(Arc<Arrivals<R>>),
}

impl<R> Delivery<R> {
    /// Called as the chunk starts: whether it is still wanted (an ordered chunk's cell moves
    /// to running, unless it was cancelled).
    pub(crate) fn start(&self) -> bool {
        match self {
            Delivery::Cell(cell) => cell.start(),
            Delivery::Arrivals(_) => true,
        }
    }

    /// Settles the chunk: an error before it started cancels its cell.
    pub(crate) fn finish(&self, outcome: Result<Vec<R>, Error>) {
        match self {
            Delivery::Cell(cell) => match outcome {
                Err(reason) if cell.state() == PENDING => {
                    cell.cancel(reason);
                }
                outcome => {
                    cell.finish(outcome);
                }
            },
            Delivery::Arrivals(arrivals) => arrivals.arrive(outcome),
        }
    }
}

/// The outcomes of an unordered iterator's chunks, in the order they came in.
pub(crate) struct Arrivals<R> {
    outcomes: Mutex<VecDeque<Result<Vec<R>, Error>>>,
    /// Bumped at each arrival: the iterator sleeps on it.
    count: AtomicU32,
}

impl<R> Arrivals<R> {
    fn arrive(&self, outcome: Result<Vec<R>, Error>) {
        crate::sync::spin::lock(&self.outcomes).push_back(outcome);
        self.count.fetch_add(1, Ordering::Release);
        self.count.wake_all();
    }
}

/// The ordered results of `imap` ([`ThreadPool::imap`](crate::ThreadPool::imap),
/// [`process::Pool::imap`](crate::process::Pool::imap)): an iterator of `Result<R, Error>`,
/// one per item (one error per chunk that failed).
///
/// [`next`](Iterator::next) blocks (on the browser's main thread it yields
/// [`Error::WouldBlock`] and loses nothing); [`next_timeout`](Imap::next_timeout),
/// [`try_next`](Imap::try_next) and [`next_async`](Imap::next_async) are the other forms.
/// Dropping it cancels the chunks it has in flight that have not started. An iterator still
/// feeding keeps the pool's workers alive, after `close` too (its items were accepted, as
/// Python's are): the pool's `join` returns once it is exhausted or dropped.
///
/// # Examples
///
/// ```
/// let pool = amphi::ThreadPool::new(2)?;
/// let mut squares = pool.imap(1..=3u32, |n| n * n)?;
/// assert_eq!(squares.next(), Some(Ok(1)));
/// assert_eq!(squares.next_timeout(std::time::Duration::from_secs(10)), Some(Ok(4)));
/// assert_eq!(futures_executor::block_on(squares.next_async()), Some(Ok(9)));
/// assert_eq!(squares.next(), None);
/// # Ok::<(), amphi::Error>(())
/// ```
pub struct Imap<R> {
    feed: Option<Box<dyn Feed<R>>>,
    in_flight: VecDeque<Arc<Completion<Vec<R>>>>,
    current: std::vec::IntoIter<R>,
    window: usize,
}

/// The results of `imap_unordered`
/// ([`ThreadPool::imap_unordered`](crate::ThreadPool::imap_unordered),
/// [`process::Pool::imap_unordered`](crate::process::Pool::imap_unordered)), in the order
/// their chunks end; otherwise as [`Imap`].
///
/// # Examples
///
/// ```
/// let pool = amphi::ThreadPool::new(2)?;
/// let mut all: Vec<u32> = pool.imap_unordered(0..5u32, |n| n)?.map(Result::unwrap).collect();
/// all.sort();
/// assert_eq!(all, [0, 1, 2, 3, 4]);
/// # Ok::<(), amphi::Error>(())
/// ```
pub struct ImapUnordered<R> {
    feed: Option<Box<dyn Feed<R>>>,
    arrivals: Arc<Arrivals<R>>,
    in_flight: usize,
    current: std::vec::IntoIter<R>,
    window: usize,
}

/// Reads up to `chunksize` items; `None` when there are none left.
pub(crate) fn next_chunk<A>(
    input: &mut impl Iterator<Item = A>,
    chunksize: usize,
) -> Option<Vec<A>> {
    let chunk: Vec<A> = input.by_ref().take(chunksize).collect();
    (!chunk.is_empty()).then_some(chunk)
}

impl<R> Imap<R> {
    /// An iterator over what `feed` submits, `window` chunks in flight at most.
    pub(crate) fn new(feed: Box<dyn Feed<R>>, window: usize) -> Imap<R> {
        Imap {
            feed: Some(feed),
            in_flight: VecDeque::with_capacity(window),
            current: Vec::new().into_iter(),
            window,
        }
    }

    fn top_up(&mut self) {
        while self.in_flight.len() < self.window {
            let Some(feed) = self.feed.as_mut() else {
                return;
            };
            let cell = Completion::new();
            match feed.submit_next(Delivery::Cell(Arc::clone(&cell))) {
                Fed::More => self.in_flight.push_back(cell),
                Fed::Last => {
                    self.in_flight.push_back(cell);
                    self.feed = None;
                }
                Fed::Exhausted => self.feed = None,
            }
        }
    }

    fn next_until(&mut self, deadline: Deadline) -> Option<Result<R, Error>> {
        loop {
            if let Some(value) = self.current.next() {
                return Some(Ok(value));
            }
            self.top_up();
            let head = self.in_flight.front()?;
            if let Err(error) = head.wait_until(deadline) {
                return Some(Err(error));
            }
            let head = self.in_flight.pop_front()?;
            match head.take() {
                Ok(values) => self.current = values.into_iter(),
                Err(error) => return Some(Err(error)),
            }
        }
    }

    /// The next result, or `Some(Err(`[`Error::Timeout`]`))` once `timeout` has passed (the
    /// result stays to be taken by a later call). Python's `next(timeout)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = amphi::ThreadPool::new(1)?;
    /// let mut doubled = pool.imap([21u32], |n| n * 2)?;
    /// assert_eq!(doubled.next_timeout(std::time::Duration::from_secs(10)), Some(Ok(42)));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn next_timeout(&mut self, timeout: Duration) -> Option<Result<R, Error>> {
        self.next_until(Deadline::after(timeout))
    }

    /// The next result if it is ready: `Some(Err(`[`Error::NotReady`]`))` if not. Works
    /// everywhere.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = amphi::ThreadPool::new(1)?;
    /// let mut results = pool.imap([1u32], |n| n)?;
    /// let first = loop {
    ///     match results.try_next() {
    ///         Some(Err(amphi::Error::NotReady)) => std::thread::yield_now(),
    ///         other => break other,
    ///     }
    /// };
    /// assert_eq!(first, Some(Ok(1)));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn try_next(&mut self) -> Option<Result<R, Error>> {
        self.next_until(Deadline::NOW)
    }

    /// The next result without blocking the thread: works on the browser's main thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = amphi::ThreadPool::new(1)?;
    /// let mut results = pool.imap([5u32], |n| n + 1)?;
    /// assert_eq!(futures_executor::block_on(results.next_async()), Some(Ok(6)));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub async fn next_async(&mut self) -> Option<Result<R, Error>> {
        loop {
            if let Some(value) = self.current.next() {
                return Some(Ok(value));
            }
            self.top_up();
            let head = self.in_flight.front()?;
            head.wait_async().await;
            let head = self.in_flight.pop_front()?;
            match head.take() {
                Ok(values) => self.current = values.into_iter(),
                Err(error) => return Some(Err(error)),
            }
        }
    }
}

impl<R> Iterator for Imap<R> {
    type Item = Result<R, Error>;

    fn next(&mut self) -> Option<Result<R, Error>> {
        self.next_until(Deadline::NEVER)
    }
}

impl<R> Drop for Imap<R> {
    fn drop(&mut self) {
        for cell in &self.in_flight {
            cell.cancel(Error::Cancelled);
        }
    }
}

impl<R> fmt::Debug for Imap<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Imap")
            .field("in_flight", &self.in_flight.len())
            .field("feeding", &self.feed.is_some())
            .finish()
    }
}

impl<R> ImapUnordered<R> {
    /// An iterator over what `feed` submits, `window` chunks in flight at most.
    pub(crate) fn new(feed: Box<dyn Feed<R>>, window: usize) -> ImapUnordered<R> {
        ImapUnordered {
            feed: Some(feed),
            arrivals: Arc::new(Arrivals {
                outcomes: Mutex::new(VecDeque::new()),
                count: AtomicU32::new(0),
            }),
            in_flight: 0,
            current: Vec::new().into_iter(),
            window,
        }
    }

    fn top_up(&mut self) {
        while self.in_flight < self.window {
            let Some(feed) = self.feed.as_mut() else {
                return;
            };
            match feed.submit_next(Delivery::Arrivals(Arc::clone(&self.arrivals))) {
                Fed::More => self.in_flight += 1,
                Fed::Last => {
                    self.in_flight += 1;
                    self.feed = None;
                }
                Fed::Exhausted => self.feed = None,
            }
        }
    }

    /// The next result, or what to wait on: the arrivals' count as it was before looking.
    fn step(&mut self) -> Result<Option<Result<R, Error>>, u32> {
        loop {
            if let Some(value) = self.current.next() {
                return Ok(Some(Ok(value)));
            }
            self.top_up();
            if self.in_flight == 0 {
                return Ok(None);
            }
            let seen = self.arrivals.count.load(Ordering::Acquire);
            let arrived = crate::sync::spin::lock(&self.arrivals.outcomes).pop_front();
            match arrived {
                Some(Ok(values)) => {
                    self.in_flight -= 1;
                    self.current = values.into_iter();
                }
                Some(Err(error)) => {
                    self.in_flight -= 1;
                    return Ok(Some(Err(error)));
                }
                None => return Err(seen),
            }
        }
    }

    fn next_until(&mut self, deadline: Deadline) -> Option<Result<R, Error>> {
        if !deadline.is_now() && !crate::sys::can_block() {
            return Some(Err(Error::WouldBlock));
        }
        loop {
            match self.step() {
                Ok(next) => return next,
                Err(_) if deadline.is_now() => return Some(Err(Error::NotReady)),
                Err(seen) => {
                    if let Err(error) = self.arrivals.count.wait(seen, deadline) {
                        return Some(Err(error));
                    }
                }
            }
        }
    }

    /// The next result, or `Some(Err(`[`Error::Timeout`]`))` once `timeout` has passed.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = amphi::ThreadPool::new(1)?;
    /// let mut results = pool.imap_unordered([3u32], |n| n)?;
    /// assert_eq!(results.next_timeout(std::time::Duration::from_secs(10)), Some(Ok(3)));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn next_timeout(&mut self, timeout: Duration) -> Option<Result<R, Error>> {
        self.next_until(Deadline::after(timeout))
    }

    /// The next result if one is ready: `Some(Err(`[`Error::NotReady`]`))` if not.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = amphi::ThreadPool::new(1)?;
    /// let mut results = pool.imap_unordered([1u32], |n| n)?;
    /// let first = loop {
    ///     match results.try_next() {
    ///         Some(Err(amphi::Error::NotReady)) => std::thread::yield_now(),
    ///         other => break other,
    ///     }
    /// };
    /// assert_eq!(first, Some(Ok(1)));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn try_next(&mut self) -> Option<Result<R, Error>> {
        self.next_until(Deadline::NOW)
    }

    /// The next result without blocking the thread: works on the browser's main thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = amphi::ThreadPool::new(1)?;
    /// let mut results = pool.imap_unordered([1u32], |n| n)?;
    /// assert_eq!(futures_executor::block_on(results.next_async()), Some(Ok(1)));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub async fn next_async(&mut self) -> Option<Result<R, Error>> {
        loop {
            match self.step() {
                Ok(next) => return next,
                Err(seen) => self.arrivals.count.wait_async(seen).await,
            }
        }
    }
}

impl<R> Iterator for ImapUnordered<R> {
    type Item = Result<R, Error>;

    fn next(&mut self) -> Option<Result<R, Error>> {
        self.next_until(Deadline::NEVER)
    }
}

impl<R> fmt::Debug for ImapUnordered<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImapUnordered")
            .field("in_flight", &self.in_flight)
            .field("feeding", &self.feed.is_some())
            .finish()
    }
}
