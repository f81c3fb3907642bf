//! [`Imap`] and [`ImapUnordered`]: the streaming iterators of `Pool::imap` and
//! `Pool::imap_unordered`.
//!
//! Both read their input lazily, on the thread that iterates, and keep at most a window of
//! tasks in flight (a few per worker): each result taken lets one more chunk in. So a huge or
//! endless input is never collected, and results come while later items still run. `Imap`
//! keeps its tasks' cells in submission order and waits on the oldest; `ImapUnordered` has
//! every task put its outcome in one queue, and takes them as they come.
//!
//! An iterator keeps feeding after the pool's `close` (its tasks were accepted, as Python's
//! are queued whole), and stops after `terminate`: the tasks in flight end as
//! [`Error::Cancelled`], and so does the stream, with one last error.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::thread::SimpleQueue;
use crate::time::Deadline;
use crate::{Error, GetError};

use super::completion::Completion;
use super::engine::Submitter;
use super::{run_caught, submit_task, Callbacks};

/// Reads the next chunk of the input and submits it; `None` once the input is exhausted.
type Feed<C> = Box<dyn FnMut() -> Option<Result<C, Error>>>;

/// The ordered results of [`Pool::imap`](crate::ThreadPool::imap): an iterator of
/// `Result<R, Error>`, one per item (one error per chunk whose task panicked).
///
/// [`next`](Iterator::next) blocks (on the browser's main thread it yields
/// [`Error::WouldBlock`] and loses nothing); [`next_timeout`](Imap::next_timeout),
/// [`try_next`](Imap::try_next) and [`next_async`](Imap::next_async) are the other forms.
/// Dropping it cancels the tasks it has in flight that have not started. An iterator still
/// feeding keeps the pool's workers alive, after `close` too (its items were accepted, as
/// Python's are): [`Pool::join`](crate::ThreadPool::join) returns once it is exhausted or
/// dropped.
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
    feed: Option<Feed<Arc<Completion<Vec<R>>>>>,
    in_flight: VecDeque<Arc<Completion<Vec<R>>>>,
    current: std::vec::IntoIter<R>,
    window: usize,
    failure: Option<Error>,
}

/// The results of [`Pool::imap_unordered`](crate::ThreadPool::imap_unordered), in the order
/// their tasks end; otherwise as [`Imap`].
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
    feed: Option<Feed<()>>,
    results: Arc<SimpleQueue<Result<Vec<R>, Error>>>,
    in_flight: usize,
    current: std::vec::IntoIter<R>,
    window: usize,
    failure: Option<Error>,
}

/// Reads up to `chunksize` items; `None` when there are none left.
fn next_chunk<A>(input: &mut impl Iterator<Item = A>, chunksize: usize) -> Option<Vec<A>> {
    let chunk: Vec<A> = input.by_ref().take(chunksize).collect();
    (!chunk.is_empty()).then_some(chunk)
}

impl<R: Send + 'static> Imap<R> {
    pub(crate) fn new<A, I, F>(
        submitter: Submitter,
        mut input: I,
        f: Arc<F>,
        chunksize: usize,
        window: usize,
    ) -> Imap<R>
    where
        I: Iterator<Item = A> + 'static,
        A: Send + 'static,
        F: Fn(A) -> R + Send + Sync + 'static,
    {
        let feed: Feed<Arc<Completion<Vec<R>>>> = Box::new(move || {
            if submitter.is_terminated() {
                return Some(Err(Error::Cancelled));
            }
            let chunk = next_chunk(&mut input, chunksize)?;
            let f = Arc::clone(&f);
            Some(Ok(submit_task(
                &submitter,
                move || chunk.into_iter().map(&*f).collect(),
                Callbacks::new(),
            )))
        });
        Imap {
            feed: Some(feed),
            in_flight: VecDeque::with_capacity(window),
            current: Vec::new().into_iter(),
            window,
            failure: None,
        }
    }
}

impl<R> Imap<R> {
    fn top_up(&mut self) {
        while self.in_flight.len() < self.window {
            let Some(feed) = self.feed.as_mut() else {
                return;
            };
            match feed() {
                Some(Ok(cell)) => self.in_flight.push_back(cell),
                Some(Err(error)) => {
                    self.failure = Some(error);
                    self.feed = None;
                }
                None => self.feed = None,
            }
        }
    }

    fn next_until(&mut self, deadline: Deadline) -> Option<Result<R, Error>> {
        loop {
            if let Some(value) = self.current.next() {
                return Some(Ok(value));
            }
            self.top_up();
            let Some(head) = self.in_flight.front() else {
                return self.failure.take().map(Err);
            };
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
            let Some(head) = self.in_flight.front() else {
                return self.failure.take().map(Err);
            };
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
            .field("input_left", &self.feed.is_some())
            .finish()
    }
}

impl<R: Send + 'static> ImapUnordered<R> {
    pub(crate) fn new<A, I, F>(
        submitter: Submitter,
        mut input: I,
        f: Arc<F>,
        chunksize: usize,
        window: usize,
    ) -> ImapUnordered<R>
    where
        I: Iterator<Item = A> + 'static,
        A: Send + 'static,
        F: Fn(A) -> R + Send + Sync + 'static,
    {
        let results = Arc::new(SimpleQueue::new());
        let queue = Arc::clone(&results);
        let feed: Feed<()> = Box::new(move || {
            if submitter.is_terminated() {
                return Some(Err(Error::Cancelled));
            }
            let chunk = next_chunk(&mut input, chunksize)?;
            let f = Arc::clone(&f);
            let queue = Arc::clone(&queue);
            submitter.spawn(move |go| {
                let outcome = go.and_then(|()| run_caught(|| chunk.into_iter().map(&*f).collect()));
                // The queue is never closed: the put always succeeds.
                let _ = queue.put(outcome);
            });
            Some(Ok(()))
        });
        ImapUnordered {
            feed: Some(feed),
            results,
            in_flight: 0,
            current: Vec::new().into_iter(),
            window,
            failure: None,
        }
    }
}

impl<R> ImapUnordered<R> {
    fn top_up(&mut self) {
        while self.in_flight < self.window {
            let Some(feed) = self.feed.as_mut() else {
                return;
            };
            match feed() {
                Some(Ok(())) => self.in_flight += 1,
                Some(Err(error)) => {
                    self.failure = Some(error);
                    self.feed = None;
                }
                None => self.feed = None,
            }
        }
    }

    /// What to yield for an outcome taken from the queue.
    fn take(&mut self, outcome: Result<Vec<R>, Error>) -> Option<Result<R, Error>> {
        self.in_flight -= 1;
        match outcome {
            Ok(values) => {
                self.current = values.into_iter();
                None
            }
            Err(error) => Some(Err(error)),
        }
    }

    fn next_until(&mut self, deadline: Deadline) -> Option<Result<R, Error>> {
        loop {
            if let Some(value) = self.current.next() {
                return Some(Ok(value));
            }
            self.top_up();
            if self.in_flight == 0 {
                return self.failure.take().map(Err);
            }
            let got = match deadline.remaining() {
                _ if deadline.is_now() => self.results.try_get(),
                Ok(None) => self.results.get(),
                Ok(Some(left)) => self.results.get_timeout(left),
                Err(timeout) => return Some(Err(timeout)),
            };
            match got {
                Ok(outcome) => {
                    if let Some(error) = self.take(outcome) {
                        return Some(error);
                    }
                }
                Err(GetError::Empty) => return Some(Err(Error::NotReady)),
                Err(error) => return Some(Err(error.into())),
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
            if let Some(value) = self.current.next() {
                return Some(Ok(value));
            }
            self.top_up();
            if self.in_flight == 0 {
                return self.failure.take().map(Err);
            }
            match self.results.get_async().await {
                Ok(outcome) => {
                    if let Some(error) = self.take(outcome) {
                        return Some(error);
                    }
                }
                Err(error) => return Some(Err(error.into())),
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
            .field("input_left", &self.feed.is_some())
            .finish()
    }
}
