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

fn sqr(n: u64) -> u64 {
    n * n
}

#[cfg(target_arch = "wasm32")]
mod browser {
    use super::*;
    use crate::common::pool::{
        executor_squares_refuse_then_arrive, imaps_of_three_squares_refuse_then_arrive,
        map_async_refuses_then_arrives, watched_async as watched,
    };
    use amphi::Error;
    use wasm_bindgen_test::wasm_bindgen_test;

    wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

    fn explode(message: String) -> u8 {
        panic!("{message}");
    }

    #[wasm_bindgen_test]
    async fn pool_blocking_forms_refuse_and_async_forms_work() {
        watched(async {
            let pool = Pool::new(2).expect("a process pool starts on the main thread");
            assert_eq!(pool.apply(sqr, 3), Err(Error::WouldBlock));
            assert_eq!(pool.map(0..4, sqr), Err(Error::WouldBlock));
            assert_eq!(pool.map_chunked(0..4, sqr, 2), Err(Error::WouldBlock));
            let squares = pool.map_async(0..10, sqr).unwrap();
            map_async_refuses_then_arrives(squares, (0..10).map(sqr).collect()).await;
            let answer = pool.apply_async(sqr, 7).unwrap();
            answer.wait_async().await;
            assert_eq!(answer.try_get(), Ok(49), "try_ forms work everywhere");
            imaps_of_three_squares_refuse_then_arrive(
                pool.imap(0..3, sqr).unwrap(),
                pool.imap_unordered(0..3, sqr).unwrap(),
            )
            .await;
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
            executor_squares_refuse_then_arrive(&futures, executor.map(0..2u64, sqr).unwrap())
                .await;
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
    use amphi::thread::{as_completed, wait, ReturnWhen};
    common::pool::watched(|| {
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
    });
}
