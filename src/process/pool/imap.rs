//! [`Imap`] and [`ImapUnordered`]: the streaming iterators of the process pool's `imap` and
//! `imap_unordered`, with the thread pool's forms (`next`, `next_timeout`, `try_next`,
//! `next_async`).
//!
//! Both read their input lazily, on the thread that iterates, and keep at most a window of
//! chunks in flight (a few per worker): each result taken lets one more chunk in, so the
//! parent's memory stays bounded whatever the input's length. `Imap` keeps its chunks' cells
//! in submission order and waits on the oldest; `ImapUnordered` has every chunk put its outcome
//! in one queue and takes them as they come.
//!
//! An iterator keeps feeding after the pool's `close` (its items were accepted, as Python's
//! are queued whole; the workers stay until it is exhausted or dropped), and stops after
//! `terminate`: the chunks in flight end as [`Error::Cancelled`] (or [`Error::WorkerDied`] for
//! one a killed worker was running), and the stream ends with one last error.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::call::{Call, Code};
use super::shared::{Job, Shared};
use crate::sync::atomic::{AtomicU32, Ordering};
use crate::sync::Word;
use crate::thread::pool::completion::{Completion, PENDING};
use crate::time::Deadline;
use crate::Error;

/// Reads the next chunk of the input as a call.
type NextCall = Box<dyn FnMut() -> Option<Result<Call, Error>>>;

/// The input side of an iterator: reads chunks and submits them while the pool takes them.
struct Feeder {
    shared: Arc<Shared>,
    next_call: NextCall,
    /// Whether the pool counts this iterator among its feeds.
    feeding: bool,
}

impl Feeder {
    fn new<A, I>(shared: Arc<Shared>, items: I, code: Code, chunksize: usize) -> Feeder
    where
        I: Iterator<Item = A> + 'static,
        A: Serialize,
    {
        shared.feed_started();
        let mut items = items;
        let next_call: NextCall = Box::new(move || {
            let chunk: Vec<A> = items.by_ref().take(chunksize).collect();
            (!chunk.is_empty()).then(|| code.call(&chunk))
        });
        Feeder {
            shared,
            next_call,
            feeding: true,
        }
    }

    /// The next chunk's call; `None` once the input is exhausted or feeding stopped.
    fn next(&mut self) -> Option<Result<Call, Error>> {
        if !self.feeding {
            return None;
        }
        let call = (self.next_call)();
        if call.is_none() {
            self.stop();
        }
        call
    }

    fn submit(&mut self, job: Job) -> Result<(), Error> {
        self.shared.submit(vec![job], true).map_err(|(_, error)| {
            self.stop();
            error
        })
    }

    fn stop(&mut self) {
        if self.feeding {
            self.feeding = false;
            self.shared.feed_ended();
        }
    }
}

impl Drop for Feeder {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What an iterator does next: yield, or wait for something and look again.
enum Step<R> {
    Yield(Option<Result<R, Error>>),
    WaitCell(Arc<Completion<Vec<R>>>),
    WaitWord(u32),
}

/// The ordered results of [`Pool::imap`](super::Pool::imap): an iterator of
/// `Result<R, Error>`, one per item (one error per chunk that failed).
///
/// [`next`](Iterator::next) blocks (on the browser's main thread it yields
/// [`Error::WouldBlock`] and loses nothing); [`next_timeout`](Imap::next_timeout),
/// [`try_next`](Imap::try_next) and [`next_async`](Imap::next_async) are the other forms.
///
/// # Examples
///
/// ```
/// fn double(n: u64) -> u64 {
///     2 * n
/// }
/// let pool = amphi::process::Pool::new(2)?;
/// let evens: Vec<u64> = pool.imap(0.., double)?.take(5).collect::<Result<_, _>>()?;
/// assert_eq!(evens, [0, 2, 4, 6, 8]);
/// # Ok::<(), amphi::Error>(())
/// ```
pub struct Imap<R> {
    feeder: Feeder,
    window: usize,
    pending: VecDeque<Arc<Completion<Vec<R>>>>,
    ready: VecDeque<R>,
}

impl<R: DeserializeOwned + Send + 'static> Imap<R> {
    pub(super) fn new<A, I>(
        shared: Arc<Shared>,
        items: I,
        code: Code,
        chunksize: usize,
        window: usize,
    ) -> Imap<R>
    where
        I: Iterator<Item = A> + 'static,
        A: Serialize + DeserializeOwned,
        R: Serialize,
    {
        Imap {
            feeder: Feeder::new(shared, items, code, chunksize),
            window,
            pending: VecDeque::new(),
            ready: VecDeque::new(),
        }
    }

    /// Submits chunks until the window is full or the input is exhausted.
    fn fill(&mut self) {
        while self.pending.len() < self.window {
            let Some(call) = self.feeder.next() else {
                return;
            };
            let cell = Completion::new();
            match call {
                Ok(call) => {
                    let job = cell_job(call, &cell);
                    if let Err(error) = self.feeder.submit(job) {
                        cell.finish(Err(error));
                    }
                }
                Err(error) => {
                    cell.finish(Err(error));
                }
            }
            self.pending.push_back(cell);
        }
    }

    fn step(&mut self) -> Step<R> {
        if let Some(value) = self.ready.pop_front() {
            return Step::Yield(Some(Ok(value)));
        }
        self.fill();
        let Some(front) = self.pending.front() else {
            return Step::Yield(None);
        };
        if !front.is_final() {
            return Step::WaitCell(Arc::clone(front));
        }
        let front = self.pending.pop_front().expect("looked at above");
        match front.take() {
            Ok(values) => {
                self.ready.extend(values);
                self.step()
            }
            Err(error) => Step::Yield(Some(Err(error))),
        }
    }

    fn next_until(&mut self, deadline: Deadline) -> Option<Result<R, Error>> {
        loop {
            match self.step() {
                Step::Yield(next) => return next,
                Step::WaitCell(cell) => {
                    if let Err(error) = cell.wait_until(deadline) {
                        return Some(Err(error));
                    }
                }
                Step::WaitWord(_) => unreachable!("an ordered iterator waits on cells"),
            }
        }
    }

    /// The next result, or `Some(Err(Error::Timeout))` once `timeout` has passed (nothing is
    /// lost: the next call goes on).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn same(n: u32) -> u32 { n }
    /// let pool = amphi::process::Pool::new(1)?;
    /// let mut results = pool.imap([7u32], same)?;
    /// let first = results.next_timeout(std::time::Duration::from_secs(60));
    /// assert_eq!(first, Some(Ok(7)));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn next_timeout(&mut self, timeout: Duration) -> Option<Result<R, Error>> {
        self.next_until(Deadline::after(timeout))
    }

    /// The next result if it is in, without waiting: `Some(Err(Error::NotReady))` if not.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn same(n: u32) -> u32 { n }
    /// let pool = amphi::process::Pool::new(1)?;
    /// let mut results = pool.imap(Vec::<u32>::new(), same)?;
    /// assert_eq!(results.try_next(), None, "an empty input ends at once");
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn try_next(&mut self) -> Option<Result<R, Error>> {
        self.next_until(Deadline::NOW)
    }

    /// The next result, without blocking the thread: works on the browser's main thread.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn same(n: u32) -> u32 { n }
    /// let pool = amphi::process::Pool::new(1)?;
    /// let mut results = pool.imap([1u32, 2], same)?;
    /// assert_eq!(futures_executor::block_on(results.next_async()), Some(Ok(1)));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub async fn next_async(&mut self) -> Option<Result<R, Error>> {
        loop {
            match self.step() {
                Step::Yield(next) => return next,
                Step::WaitCell(cell) => cell.wait_async().await,
                Step::WaitWord(_) => unreachable!("an ordered iterator waits on cells"),
            }
        }
    }
}

impl<R: DeserializeOwned + Send + 'static> Iterator for Imap<R> {
    type Item = Result<R, Error>;

    fn next(&mut self) -> Option<Result<R, Error>> {
        self.next_until(Deadline::NEVER)
    }
}

impl<R> Drop for Imap<R> {
    fn drop(&mut self) {
        for cell in &self.pending {
            cell.cancel(Error::Cancelled);
        }
    }
}

impl<R> fmt::Debug for Imap<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Imap")
            .field("in_flight", &self.pending.len())
            .field("feeding", &self.feeder.feeding)
            .finish()
    }
}

/// A job that runs `call` and delivers its decoded outcome into `cell`.
fn cell_job<R>(call: Call, cell: &Arc<Completion<Vec<R>>>) -> Job
where
    R: DeserializeOwned + Send + 'static,
{
    let starting = Arc::clone(cell);
    let finishing = Arc::clone(cell);
    Job {
        call,
        start: Box::new(move || starting.start()),
        finish: Box::new(move |outcome, worker| {
            let outcome = outcome.and_then(|reply| reply.decode::<Vec<R>>(worker));
            match outcome {
                Err(reason) if finishing.state() == PENDING => {
                    finishing.cancel(reason);
                }
                outcome => {
                    finishing.finish(outcome);
                }
            }
        }),
    }
}

/// The outcomes of an unordered iterator's chunks, in the order they came in.
struct Arrivals<R> {
    outcomes: Mutex<VecDeque<Result<Vec<R>, Error>>>,
    /// Bumped at each arrival: the iterator sleeps on it.
    count: AtomicU32,
}

/// The results of [`Pool::imap_unordered`](super::Pool::imap_unordered), as they come: an
/// iterator of `Result<R, Error>` with [`Imap`]'s forms.
///
/// # Examples
///
/// ```
/// fn square(n: u32) -> u32 {
///     n * n
/// }
/// let pool = amphi::process::Pool::new(2)?;
/// let mut all: Vec<u32> = pool.imap_unordered(0..6u32, square)?.collect::<Result<_, _>>()?;
/// all.sort();
/// assert_eq!(all, [0, 1, 4, 9, 16, 25]);
/// # Ok::<(), amphi::Error>(())
/// ```
pub struct ImapUnordered<R> {
    feeder: Feeder,
    window: usize,
    in_flight: usize,
    arrivals: Arc<Arrivals<R>>,
    ready: VecDeque<R>,
}

impl<R: DeserializeOwned + Send + 'static> ImapUnordered<R> {
    pub(super) fn new<A, I>(
        shared: Arc<Shared>,
        items: I,
        code: Code,
        chunksize: usize,
        window: usize,
    ) -> ImapUnordered<R>
    where
        I: Iterator<Item = A> + 'static,
        A: Serialize + DeserializeOwned,
        R: Serialize,
    {
        ImapUnordered {
            feeder: Feeder::new(shared, items, code, chunksize),
            window,
            in_flight: 0,
            arrivals: Arc::new(Arrivals {
                outcomes: Mutex::new(VecDeque::new()),
                count: AtomicU32::new(0),
            }),
            ready: VecDeque::new(),
        }
    }

    fn fill(&mut self) {
        while self.in_flight < self.window {
            let Some(call) = self.feeder.next() else {
                return;
            };
            self.in_flight += 1;
            let submitted = call.and_then(|call| {
                let arrivals = Arc::clone(&self.arrivals);
                self.feeder.submit(Job {
                    call,
                    start: Box::new(|| true),
                    finish: Box::new(move |outcome, worker| {
                        arrive(&arrivals, outcome.and_then(|reply| reply.decode(worker)));
                    }),
                })
            });
            if let Err(error) = submitted {
                arrive(&self.arrivals, Err(error));
            }
        }
    }

    fn step(&mut self) -> Step<R> {
        if let Some(value) = self.ready.pop_front() {
            return Step::Yield(Some(Ok(value)));
        }
        self.fill();
        let seen = self.arrivals.count.load(Ordering::Acquire);
        let arrived = lock(&self.arrivals.outcomes).pop_front();
        match arrived {
            Some(Ok(values)) => {
                self.in_flight -= 1;
                self.ready.extend(values);
                self.step()
            }
            Some(Err(error)) => {
                self.in_flight -= 1;
                Step::Yield(Some(Err(error)))
            }
            None if self.in_flight == 0 => Step::Yield(None),
            None => Step::WaitWord(seen),
        }
    }

    fn next_until(&mut self, deadline: Deadline) -> Option<Result<R, Error>> {
        if !deadline.is_now() && !crate::sys::can_block() {
            return Some(Err(Error::WouldBlock));
        }
        loop {
            match self.step() {
                Step::Yield(next) => return next,
                Step::WaitWord(seen) => {
                    if deadline.is_now() {
                        return Some(Err(Error::NotReady));
                    }
                    if let Err(error) = self.arrivals.count.wait(seen, deadline) {
                        return Some(Err(error));
                    }
                }
                Step::WaitCell(_) => unreachable!("an unordered iterator waits on its arrivals"),
            }
        }
    }

    /// The next result to come in, or `Some(Err(Error::Timeout))` once `timeout` has passed.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn same(n: u32) -> u32 { n }
    /// let pool = amphi::process::Pool::new(1)?;
    /// let mut results = pool.imap_unordered([3u32], same)?;
    /// assert_eq!(results.next_timeout(std::time::Duration::from_secs(60)), Some(Ok(3)));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn next_timeout(&mut self, timeout: Duration) -> Option<Result<R, Error>> {
        self.next_until(Deadline::after(timeout))
    }

    /// The next result if one is in, without waiting: `Some(Err(Error::NotReady))` if not.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn same(n: u32) -> u32 { n }
    /// let pool = amphi::process::Pool::new(1)?;
    /// let mut results = pool.imap_unordered(Vec::<u32>::new(), same)?;
    /// assert_eq!(results.try_next(), None);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn try_next(&mut self) -> Option<Result<R, Error>> {
        self.next_until(Deadline::NOW)
    }

    /// The next result to come in, without blocking the thread.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn same(n: u32) -> u32 { n }
    /// let pool = amphi::process::Pool::new(1)?;
    /// let mut results = pool.imap_unordered([5u32], same)?;
    /// assert_eq!(futures_executor::block_on(results.next_async()), Some(Ok(5)));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub async fn next_async(&mut self) -> Option<Result<R, Error>> {
        loop {
            match self.step() {
                Step::Yield(next) => return next,
                Step::WaitWord(seen) => self.arrivals.count.wait_async(seen).await,
                Step::WaitCell(_) => unreachable!("an unordered iterator waits on its arrivals"),
            }
        }
    }
}

impl<R: DeserializeOwned + Send + 'static> Iterator for ImapUnordered<R> {
    type Item = Result<R, Error>;

    fn next(&mut self) -> Option<Result<R, Error>> {
        self.next_until(Deadline::NEVER)
    }
}

impl<R> fmt::Debug for ImapUnordered<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImapUnordered")
            .field("in_flight", &self.in_flight)
            .field("feeding", &self.feeder.feeding)
            .finish()
    }
}

fn arrive<R>(arrivals: &Arrivals<R>, outcome: Result<Vec<R>, Error>) {
    lock(&arrivals.outcomes).push_back(outcome);
    arrivals.count.fetch_add(1, Ordering::Release);
    arrivals.count.wake_all();
}

/// Locks by spinning: the page's main thread may take these short locks.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    crate::sync::spin::lock(mutex)
}
