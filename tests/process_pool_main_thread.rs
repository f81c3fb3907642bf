//! The process pool and executor on the browser's main thread, as `pool_main_thread.rs` does for
//! the thread pool: a process [`Pool`] and [`Executor`] are created there (their workers are
//! process workers, their supervisors amphi threads, so nothing waits on the main thread), the
//! blocking forms return `WouldBlock` before submitting anything, and the async forms work, so
//! a page can await a process pool's `map_async` without trapping or spinning.
//!
//! In the browser these tests run on the page's main thread (not in a worker). Natively every
//! thread may block, so the same blocking calls succeed; that native counterpart runs too.
//! Every test runs under a watchdog: a hang fails it instead of stalling the suite.

#[macro_use]
#[allow(unused_macros)]
mod common;

use std::time::Duration;

use amphi::process::{Executor, Pool};
use amphi::thread::{as_completed, wait, ReturnWhen};

/// How long a test may run before its watchdog fails it (never reached when all is well).
const PATIENCE: Duration = Duration::from_secs(120);

fn sqr(n: u64) -> u64 {
    n * n
}

#[cfg(target_arch = "wasm32")]
mod browser {
    use std::future::{poll_fn, Future};
    use std::pin::pin;
    use std::task::Poll;

    use super::*;
    use amphi::Error;
    use wasm_bindgen_test::wasm_bindgen_test;

    wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

    fn explode(message: String) -> u8 {
        panic!("{message}");
    }

    /// Awaits `body`, failing the test if it has not ended within [`PATIENCE`] (a timer on
    /// the main thread's event loop, which a hang of the body does not hold up).
    async fn watched(body: impl Future<Output = ()>) {
        let mut body = pin!(body);
        let mut timer = pin!(crate::common::nap(PATIENCE));
        poll_fn(|cx| {
            if body.as_mut().poll(cx).is_ready() {
                return Poll::Ready(());
            }
            if timer.as_mut().poll(cx).is_ready() {
                panic!("the test hung: its body ran past {PATIENCE:?}");
            }
            Poll::Pending
        })
        .await;
    }

    #[wasm_bindgen_test]
    async fn pool_blocking_forms_refuse_and_async_forms_work() {
        watched(async {
            let pool = Pool::new(2).expect("a process pool starts on the main thread");
            assert_eq!(pool.apply(sqr, 3), Err(Error::WouldBlock));
            assert_eq!(pool.map(0..4, sqr), Err(Error::WouldBlock));
            assert_eq!(pool.map_chunked(0..4, sqr, 2), Err(Error::WouldBlock));
            let squares = pool.map_async(0..10, sqr).unwrap();
            assert_eq!(squares.get(), Err(Error::WouldBlock));
            assert_eq!(
                squares.get_timeout(Duration::from_millis(1)),
                Err(Error::WouldBlock)
            );
            assert_eq!(squares.wait(), Err(Error::WouldBlock));
            assert_eq!(
                squares.get_async().await,
                Ok((0..10).map(sqr).collect::<Vec<_>>())
            );
            let answer = pool.apply_async(sqr, 7).unwrap();
            answer.wait_async().await;
            assert_eq!(answer.try_get(), Ok(49), "try_ forms work everywhere");
            let mut stream = pool.imap(0..3, sqr).unwrap();
            assert_eq!(stream.next(), Some(Err(Error::WouldBlock)), "nothing lost");
            assert_eq!(stream.next_async().await, Some(Ok(0)));
            assert_eq!(stream.next_async().await, Some(Ok(1)));
            assert_eq!(stream.next_async().await, Some(Ok(4)));
            assert_eq!(stream.next_async().await, None);
            let mut unordered = pool.imap_unordered(0..3, sqr).unwrap();
            let mut all = Vec::new();
            while let Some(value) = unordered.next_async().await {
                all.push(value.unwrap());
            }
            all.sort_unstable();
            assert_eq!(all, [0, 1, 4]);
            let failing = pool
                .apply_async(explode, "in a worker process".to_owned())
                .unwrap();
            assert!(
                matches!(failing.get_async().await, Err(Error::Panicked(r)) if r.message == "in a worker process")
            );
            assert_eq!(
                pool.apply_async(sqr, 5).unwrap().get_async().await,
                Ok(25),
                "the worker lives on after a panic"
            );
            pool.close();
            assert_eq!(pool.join(), Err(Error::WouldBlock));
            pool.join_async().await.unwrap();
            assert_eq!(pool.try_join(), Ok(()));
        })
        .await;
    }

    #[wasm_bindgen_test]
    async fn executor_blocking_forms_refuse_and_async_forms_work() {
        watched(async {
            let executor = Executor::new(2).expect("a process executor starts on the main thread");
            let future = executor.submit(sqr, 6).unwrap();
            assert_eq!(future.result(), Err(Error::WouldBlock));
            assert_eq!(future.result_async().await, Ok(36));
            let futures: Vec<_> = (0..3u64)
                .map(|n| executor.submit(sqr, n).unwrap())
                .collect();
            assert_eq!(
                wait(&futures, ReturnWhen::AllCompleted).err(),
                Some(Error::WouldBlock)
            );
            let mut completed = as_completed(&futures);
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
            let mut mapped = executor.map(0..2u64, sqr).unwrap();
            assert_eq!(mapped.next(), Some(Err(Error::WouldBlock)));
            assert_eq!(mapped.next_async().await, Some(Ok(0)));
            assert_eq!(mapped.next_async().await, Some(Ok(1)));
            assert_eq!(executor.shutdown(true, false), Err(Error::WouldBlock));
            assert_eq!(
                executor.shutdown_timeout(Duration::from_secs(1), false),
                Err(Error::WouldBlock)
            );
            executor.shutdown_async(false).await.unwrap();
            assert_eq!(executor.submit(sqr, 1).err(), Some(Error::PoolClosed));
        })
        .await;
    }
}

#[cfg(not(target_arch = "wasm32"))]
#[test]
fn natively_every_blocking_form_is_allowed() {
    let body = amphi::Thread::spawn(|| {
        let pool = Pool::new(2).unwrap();
        assert_eq!(pool.apply(sqr, 3), Ok(9));
        assert_eq!(pool.map(0..4, sqr), Ok(vec![0, 1, 4, 9]));
        let squares = pool.map_async(0..3, sqr).unwrap();
        assert_eq!(
            squares.get_timeout(Duration::from_secs(60)),
            Ok(vec![0, 1, 4])
        );
        let mut stream = pool.imap(0..2, sqr).unwrap();
        assert_eq!(stream.next(), Some(Ok(0)));
        assert_eq!(futures_executor::block_on(stream.next_async()), Some(Ok(1)));
        pool.close();
        pool.join_timeout(Duration::from_secs(60)).unwrap();
        let executor = Executor::new(2).unwrap();
        let futures: Vec<_> = (0..3u64)
            .map(|n| executor.submit(sqr, n).unwrap())
            .collect();
        assert_eq!(
            wait(&futures, ReturnWhen::AllCompleted).unwrap().done.len(),
            3
        );
        assert_eq!(as_completed(&futures).count(), 3);
        executor
            .shutdown_timeout(Duration::from_secs(60), false)
            .unwrap();
    })
    .expect("spawn the watched body");
    match body.join_timeout(PATIENCE) {
        Ok(()) => {}
        Err(amphi::Error::Timeout) => panic!("the test hung: its body ran past {PATIENCE:?}"),
        Err(error) => panic!("the test body failed: {error}"),
    }
}
