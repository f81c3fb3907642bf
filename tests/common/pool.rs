//! What the pool suites share (the thread pool, the executors, the process pool): a gate that
//! tasks wait at, a task that holds its worker until the gate opens, a panic's message, the
//! watchdogs that fail a test that hangs instead of stalling the suite, and the checks the
//! browser's main thread makes of either family's results (the thread and process pools hand
//! back the same result types, so each check is written once).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use amphi::thread::{as_completed, wait, AsyncResult, Imap, ImapUnordered, MapResults, ReturnWhen};
use amphi::{Error, Event};

use super::PATIENCE;

/// A task that holds its worker until its gate opens (or [`PATIENCE`] passes).
pub(crate) type HoldTask = Box<dyn FnOnce() -> Result<(), Error> + Send + 'static>;

/// A gate tasks wait at (for at most [`PATIENCE`]) until the test opens it.
pub(crate) fn gate() -> Arc<Event> {
    Arc::new(Event::new())
}

/// A task that holds its worker until `gate` opens.
pub(crate) fn hold(gate: &Arc<Event>) -> impl FnOnce() -> Result<(), Error> + Send + 'static {
    let gate = Arc::clone(gate);
    move || gate.wait_timeout(PATIENCE)
}

/// Submits, with `submit`, a task that holds a worker until `gate` opens, and waits until it
/// runs; the task's handle.
pub(crate) fn occupy<H>(gate: &Arc<Event>, submit: impl FnOnce(HoldTask) -> H) -> H {
    let started = Arc::new(Event::new());
    let task: HoldTask = {
        let (started, gate) = (Arc::clone(&started), Arc::clone(gate));
        Box::new(move || {
            started.set();
            gate.wait_timeout(PATIENCE)
        })
    };
    let handle = submit(task);
    started.wait_timeout(PATIENCE).unwrap();
    handle
}

/// The message of a task's panic; panics if `error` is not one.
pub(crate) fn panic_message(error: Error) -> String {
    match error {
        Error::Panicked(report) => report.message,
        other => panic!("expected a panic, got {other:?}"),
    }
}

/// Runs `body` on a thread of its own and fails the test if it has not ended within
/// [`PATIENCE`].
pub(crate) fn watched<F: FnOnce() + Send + 'static>(body: F) {
    let thread = amphi::Thread::spawn(body).expect("spawn the watched body");
    match thread.join_timeout(PATIENCE) {
        Ok(()) => {}
        Err(Error::Timeout) => panic!("the test hung: its body ran past {PATIENCE:?}"),
        Err(error) => panic!("the test body failed: {error}"),
    }
}

/// Awaits `body`, and fails the test if it has not ended within [`PATIENCE`]: a watchdog
/// thread sets an alarm the test awaits next to the body, so neither blocks the thread that
/// awaits (the browser's test runner, or the native test's simple executor).
pub(crate) async fn watched_async<T>(body: impl Future<Output = T>) -> T {
    let done = Arc::new(Event::new());
    let alarm = Arc::new(Event::new());
    let watchdog = {
        let (done, alarm) = (Arc::clone(&done), Arc::clone(&alarm));
        amphi::Thread::spawn(move || {
            if done.wait_timeout(PATIENCE) == Err(Error::Timeout) {
                alarm.set();
            }
        })
        .expect("spawn the watchdog")
    };
    let outcome = Race {
        body: Box::pin(body),
        alarm: Box::pin(async move { alarm.wait_async().await }),
    }
    .await;
    done.set();
    let _ = watchdog.join_async().await;
    match outcome {
        Some(value) => value,
        None => panic!("the test hung: its body ran past {PATIENCE:?}"),
    }
}

/// The body's output, or `None` if the alarm went off first.
struct Race<B, A> {
    body: Pin<Box<B>>,
    alarm: Pin<Box<A>>,
}

impl<T, B: Future<Output = T>, A: Future> Future for Race<B, A> {
    type Output = Option<T>;

    fn poll(mut self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Option<T>> {
        if let Poll::Ready(value) = self.body.as_mut().poll(context) {
            return Poll::Ready(Some(value));
        }
        match self.alarm.as_mut().poll(context) {
            Poll::Ready(_) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// On the browser's main thread: a `map_async` whose result is `expected` refuses every
/// blocking form with `WouldBlock` (none of them consumes the result) and arrives through
/// `get_async`.
pub(crate) async fn map_async_refuses_then_arrives(
    squares: AsyncResult<Vec<u64>>,
    expected: Vec<u64>,
) {
    assert_eq!(squares.get(), Err(Error::WouldBlock));
    assert_eq!(
        squares.get_timeout(std::time::Duration::from_millis(1)),
        Err(Error::WouldBlock)
    );
    assert_eq!(squares.wait(), Err(Error::WouldBlock));
    assert_eq!(squares.get_async().await, Ok(expected));
}

/// On the browser's main thread: `imap(0..3, sqr)` refuses a blocking `next` without losing
/// an item and then yields 0, 1, 4 in order through `next_async`; `imap_unordered(0..3, sqr)`
/// yields the same squares in some order.
pub(crate) async fn imaps_of_three_squares_refuse_then_arrive(
    mut ordered: Imap<u64>,
    mut unordered: ImapUnordered<u64>,
) {
    assert_eq!(ordered.next(), Some(Err(Error::WouldBlock)), "nothing lost");
    for square in [0, 1, 4] {
        assert_eq!(ordered.next_async().await, Some(Ok(square)));
    }
    assert_eq!(ordered.next_async().await, None);
    let mut all = Vec::new();
    while let Some(value) = unordered.next_async().await {
        all.push(value.unwrap());
    }
    all.sort_unstable();
    assert_eq!(all, [0, 1, 4]);
}

/// On the browser's main thread: executor futures of the squares of 0, 1 and 2 refuse `wait`
/// and a blocking `as_completed`, and complete through the async forms; then an executor's
/// `map` of the squares of 0 and 1 refuses a blocking `next` and yields through `next_async`.
pub(crate) async fn executor_squares_refuse_then_arrive(
    futures: &[amphi::thread::Future<u64>],
    mut mapped: MapResults<u64>,
) {
    assert_eq!(
        wait(futures, ReturnWhen::AllCompleted).err(),
        Some(Error::WouldBlock)
    );
    let mut completed = as_completed(futures);
    assert_eq!(
        completed.next().map(|r| r.err()),
        Some(Some(Error::WouldBlock))
    );
    let mut seen = Vec::new();
    while let Some(done) = completed.next_async().await {
        seen.push(done.unwrap().result_async().await.unwrap());
    }
    seen.sort_unstable();
    assert_eq!(seen, [0, 1, 4]);
    assert_eq!(mapped.next(), Some(Err(Error::WouldBlock)));
    assert_eq!(mapped.next_async().await, Some(Ok(0)));
    assert_eq!(mapped.next_async().await, Some(Ok(1)));
}
