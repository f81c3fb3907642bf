//! Conformance of [`amphi::thread::Executor`] with Python's `ThreadPoolExecutor`, after
//! CPython's `Lib/test/test_concurrent_futures` (executor, future, `as_completed` and `wait`
//! tests): on native threads and, through `wasm-pack test`, on Web Workers.

#[macro_use]
mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use amphi::thread::{as_completed, as_completed_timeout, wait, wait_timeout, Executor, ReturnWhen};
use amphi::time::Instant;
use amphi::{Error, Event, GetError, SimpleQueue};
use common::pool::{gate, hold, panic_message};
use common::{assert_waited_at_least, PATIENCE};

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

/// Submits a task that holds a worker until `gate` opens, and waits until it runs.
fn occupy(executor: &Executor, gate: &Arc<Event>) -> amphi::thread::Future<Result<(), Error>> {
    common::pool::occupy(gate, |task| executor.submit(task).unwrap())
}

conformance! {
    fn test_submit() {
        let executor = Executor::new(2).unwrap();
        let future = executor.submit(|| 2u64.pow(8)).unwrap();
        assert_eq!(future.result_timeout(PATIENCE), Ok(256));
        assert!(future.done());
        assert!(!future.running());
        assert!(!future.cancelled());
        assert_eq!(future.result(), Err(Error::ResultTaken));
    }

    fn test_max_workers_zero() {
        assert!(matches!(Executor::new(0), Err(Error::InvalidArgument(_))));
    }

    fn test_result_timeout_and_states() {
        let executor = Executor::new(1).unwrap();
        let gate = gate();
        let busy = occupy(&executor, &gate);
        let queued = executor.submit(|| 1).unwrap();
        let timeout = Duration::from_millis(50);
        let start = Instant::now();
        assert_eq!(busy.result_timeout(timeout), Err(Error::Timeout));
        assert_waited_at_least(start.elapsed(), timeout);
        assert!(busy.running(), "the first task holds the only worker");
        assert!(!queued.running() && !queued.done());
        assert_eq!(queued.try_result(), Err(Error::NotReady));
        gate.set();
        assert_eq!(busy.result_timeout(PATIENCE), Ok(Ok(())));
        assert_eq!(queued.result_timeout(PATIENCE), Ok(1));
    }

    fn test_cancel() {
        let executor = Executor::new(1).unwrap();
        let gate = gate();
        let busy = occupy(&executor, &gate);
        let queued = executor.submit(|| panic!("a cancelled task never runs")).unwrap();
        assert!(queued.cancel());
        assert!(queued.cancel(), "cancelling twice still says cancelled");
        assert!(queued.cancelled() && queued.done());
        assert_eq!(queued.result(), Err::<(), _>(Error::Cancelled));
        assert_eq!(queued.error(), Some(Error::Cancelled));
        gate.set();
        busy.result_timeout(PATIENCE).unwrap().unwrap();
        assert!(!busy.cancel(), "a finished task cannot be cancelled");
        assert!(!busy.cancelled());
    }

    fn test_panics_fail_one_future() {
        let executor = Executor::new(2).unwrap();
        let failing = executor.submit(|| -> u8 { panic!("future failed") }).unwrap();
        let error = failing.result_timeout(PATIENCE).unwrap_err();
        assert_eq!(panic_message(error.clone()), "future failed");
        assert_eq!(failing.error(), Some(error));
        assert_eq!(executor.submit(|| 7).unwrap().result_timeout(PATIENCE), Ok(7));
    }

    fn test_add_done_callback() {
        let executor = Executor::new(1).unwrap();
        let gate = gate();
        let future = executor.submit({
            let hold = hold(&gate);
            move || {
                hold().unwrap();
                5
            }
        }).unwrap();
        let seen = Arc::new(SimpleQueue::new());
        future.add_done_callback({
            let seen = Arc::clone(&seen);
            move |done| seen.put(done.try_result()).unwrap()
        });
        assert_eq!(seen.try_get(), Err(GetError::Empty), "not called before the task ends");
        gate.set();
        assert_eq!(seen.get_timeout(PATIENCE).unwrap(), Ok(5));
        // On a future already done, the callback runs at once, on this thread.
        future.add_done_callback({
            let seen = Arc::clone(&seen);
            move |done| seen.put(done.try_result()).unwrap()
        });
        assert_eq!(seen.try_get().unwrap(), Err(Error::ResultTaken));
        // A cancelled future's callbacks run too.
        let gate = self::gate();
        let _busy = occupy(&executor, &gate);
        let queued = executor.submit(|| 1).unwrap();
        let cancelled = Arc::new(AtomicUsize::new(0));
        queued.add_done_callback({
            let cancelled = Arc::clone(&cancelled);
            move |done| {
                assert!(done.cancelled());
                cancelled.fetch_add(1, Ordering::SeqCst);
            }
        });
        assert!(queued.cancel());
        assert_eq!(cancelled.load(Ordering::SeqCst), 1);
        gate.set();
    }

    fn test_map() {
        let executor = Executor::new(4).unwrap();
        let results: Vec<u64> = executor.map(0..10u64, |n| n * n).unwrap().map(Result::unwrap).collect();
        assert_eq!(results, (0..10).map(|n| n * n).collect::<Vec<_>>());
        let results: Vec<Result<u64, Error>> = executor
            .map(0..4u64, |n| if n == 2 { panic!("two") } else { n })
            .unwrap()
            .collect();
        assert_eq!(results[..2], [Ok(0), Ok(1)]);
        assert_eq!(panic_message(results[2].clone().unwrap_err()), "two");
        assert_eq!(results[3], Ok(3));
        assert_eq!(executor.map(Vec::<u64>::new(), |n| n).unwrap().count(), 0);
    }

    fn test_map_timeout() {
        // One worker: item 1 holds it, so items 2.. are still queued at the timeout.
        let executor = Executor::new(1).unwrap();
        let gate = gate();
        let task_gate = Arc::clone(&gate);
        let ran = Arc::new(AtomicUsize::new(0));
        let task_ran = Arc::clone(&ran);
        let mut results = executor
            .map_timeout(
                0..100u32,
                move |n| {
                    if n == 1 {
                        task_gate.wait_timeout(PATIENCE).unwrap();
                    }
                    task_ran.fetch_add(1, Ordering::SeqCst);
                    n
                },
                Duration::from_millis(100),
            )
            .unwrap();
        assert_eq!(results.next(), Some(Ok(0)));
        assert_eq!(results.next(), Some(Err(Error::Timeout)));
        assert_eq!(results.next(), None, "a timed-out map ends");
        gate.set();
        executor.shutdown(true, false).unwrap();
        assert_eq!(ran.load(Ordering::SeqCst), 2, "the tasks not started were cancelled");
    }

    fn test_shutdown() {
        let executor = Executor::new(2).unwrap();
        let futures: Vec<_> = (0..20u32).map(|n| executor.submit(move || n).unwrap()).collect();
        executor.shutdown(true, false).unwrap();
        assert_eq!(executor.submit(|| ()).err(), Some(Error::PoolClosed));
        for (n, future) in futures.iter().enumerate() {
            assert_eq!(future.try_result(), Ok(n as u32), "submitted tasks ran before shutdown returned");
        }
        executor.shutdown(true, true).unwrap();
    }

    fn test_shutdown_cancel_futures() {
        let executor = Executor::new(2).unwrap();
        let gate = gate();
        let running: Vec<_> = (0..2).map(|_| occupy(&executor, &gate)).collect();
        let ran = Arc::new(AtomicUsize::new(0));
        let queued: Vec<_> = (0..10_000)
            .map(|_| {
                let ran = Arc::clone(&ran);
                executor.submit(move || ran.fetch_add(1, Ordering::SeqCst)).unwrap()
            })
            .collect();
        executor.shutdown(false, true).unwrap();
        assert!(queued.iter().all(|future| future.cancelled()), "cancelled at once");
        gate.set();
        executor.shutdown_timeout(PATIENCE, false).unwrap();
        assert_eq!(ran.load(Ordering::SeqCst), 0);
        for future in running {
            assert_eq!(future.try_result(), Ok(Ok(())));
        }
    }

    fn test_initializer_failure_breaks_the_executor() {
        let executor = Executor::builder()
            .max_workers(2)
            .initializer(|| panic!("bad init"))
            .build()
            .unwrap();
        let outcome = executor.submit(|| 1).map(|future| future.result_timeout(PATIENCE));
        let error = match outcome {
            Ok(Err(error)) | Err(error) => error,
            Ok(Ok(value)) => panic!("a task ran on a broken executor: {value}"),
        };
        assert!(matches!(error, Error::BrokenPool(ref report) if report.contains("bad init")), "{error:?}");
    }

    fn test_as_completed() {
        let executor = Executor::new(2).unwrap();
        let gate = gate();
        let slow = executor.submit({
            let hold = hold(&gate);
            move || {
                hold().unwrap();
                "slow"
            }
        }).unwrap();
        let fast = executor.submit(|| "fast").unwrap();
        let mut completed = as_completed([&slow, &fast, &fast]);
        let first = completed.next().unwrap().unwrap();
        assert_eq!(first.result(), Ok("fast"), "the fast one completes first");
        gate.set();
        let second = completed.next().unwrap().unwrap();
        assert_eq!(second.result_timeout(PATIENCE), Ok("slow"));
        assert!(completed.next().is_none(), "a future given twice is yielded once");
    }

    fn test_as_completed_timeout() {
        let executor = Executor::new(1).unwrap();
        let gate = gate();
        let stuck = occupy(&executor, &gate);
        let done = executor.submit(|| Ok(())).unwrap();
        let timeout = Duration::from_millis(50);
        let start = Instant::now();
        let mut completed = as_completed_timeout([&stuck, &done], timeout);
        assert_eq!(completed.next().map(|r| r.err()), Some(Some(Error::Timeout)));
        assert_waited_at_least(start.elapsed(), timeout);
        assert!(completed.next().is_none());
        gate.set();
        assert!(stuck.result_timeout(PATIENCE).is_ok());
    }

    fn test_wait() {
        let executor = Executor::new(2).unwrap();
        let gate = gate();
        let stuck = executor.submit({
            let hold = hold(&gate);
            move || hold().map(|()| 0)
        }).unwrap();
        let quick = executor.submit(|| Ok(1)).unwrap();
        let outcome = wait([&stuck, &quick], ReturnWhen::FirstCompleted).unwrap();
        assert_eq!(outcome.done.len(), 1);
        assert_eq!(outcome.not_done.len(), 1);
        assert_eq!(outcome.done[0].try_result(), Ok(Ok(1)));
        let timeout = Duration::from_millis(50);
        let start = Instant::now();
        let outcome = wait_timeout([&stuck, &quick], timeout, ReturnWhen::AllCompleted).unwrap();
        assert_waited_at_least(start.elapsed(), timeout);
        assert_eq!((outcome.done.len(), outcome.not_done.len()), (1, 1), "timed out: split as it is");
        gate.set();
        let outcome = wait([&stuck, &quick], ReturnWhen::AllCompleted).unwrap();
        assert_eq!((outcome.done.len(), outcome.not_done.len()), (2, 0));
        let none: [&amphi::thread::Future<u8>; 0] = [];
        assert!(wait(none, ReturnWhen::AllCompleted).unwrap().done.is_empty());
    }

    fn test_wait_first_error() {
        let executor = Executor::new(2).unwrap();
        let gate = gate();
        let stuck = executor.submit({
            let hold = hold(&gate);
            move || hold().map(|()| 0u8)
        }).unwrap();
        let failing = executor.submit(|| -> Result<u8, Error> { panic!("first error") }).unwrap();
        let outcome = wait([&stuck, &failing], ReturnWhen::FirstError).unwrap();
        assert_eq!(outcome.done.len(), 1);
        assert!(matches!(outcome.done[0].error(), Some(Error::Panicked(_))));
        gate.set();
        // With no error, FirstError waits for all.
        let oks: Vec<_> = (0..4).map(|n| executor.submit(move || Ok::<u8, Error>(n)).unwrap()).collect();
        let outcome = wait(&oks, ReturnWhen::FirstError).unwrap();
        assert_eq!(outcome.done.len(), 4);
    }
}

conformance_async! {
    async fn test_async_forms() {
        let executor = Executor::new(2).unwrap();
        let future = executor.submit(|| 21 * 2).unwrap();
        assert_eq!(future.result_async().await, Ok(42));
        let futures: Vec<_> = (0..4u32).map(|n| executor.submit(move || n).unwrap()).collect();
        let outcome = amphi::thread::wait_async(&futures, ReturnWhen::AllCompleted).await;
        assert_eq!(outcome.done.len(), 4);
        let mut completed = as_completed(&futures);
        let mut seen = Vec::new();
        while let Some(done) = completed.next_async().await {
            seen.push(done.unwrap().result_async().await.unwrap());
        }
        seen.sort_unstable();
        assert_eq!(seen, [0, 1, 2, 3]);
        let mut mapped = executor.map(0..3u32, |n| n + 1).unwrap();
        assert_eq!(mapped.next_async().await, Some(Ok(1)));
        assert_eq!(mapped.next_async().await, Some(Ok(2)));
        assert_eq!(mapped.next_async().await, Some(Ok(3)));
        assert_eq!(mapped.next_async().await, None);
        executor.shutdown_async(false).await.unwrap();
        assert_eq!(executor.submit(|| ()).err(), Some(Error::PoolClosed));
    }
}
