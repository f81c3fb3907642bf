//! The thread pool and executor on the browser's main thread: a pool is created there (rayon's
//! `build` does not wait for its workers), the blocking forms return `WouldBlock` before
//! submitting anything, and the async forms work, so a page can await a `map_async` without
//! trapping or spinning.
//!
//! In the browser these tests run on the page's main thread (not in a worker). Natively every
//! thread may block, so the same blocking calls succeed; those native counterparts run too.

#[macro_use]
#[allow(unused_macros)]
mod common;

use amphi::thread::{wait_async, Executor, ReturnWhen};
use amphi::ThreadPool;

fn sqr(n: u64) -> u64 {
    n * n
}

#[cfg(target_arch = "wasm32")]
mod browser {
    use super::*;
    use crate::common::pool::{
        executor_squares_refuse_then_arrive, imaps_of_three_squares_refuse_then_arrive,
        map_async_refuses_then_arrives,
    };
    use amphi::Error;
    use wasm_bindgen_test::wasm_bindgen_test;

    wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

    #[wasm_bindgen_test]
    async fn pool_blocking_forms_refuse_and_async_forms_work() {
        let pool = ThreadPool::new(2).expect("a pool starts on the main thread");
        assert_eq!(pool.apply(|| 1), Err(Error::WouldBlock));
        assert_eq!(pool.map(0..4, sqr), Err(Error::WouldBlock));
        assert_eq!(pool.map_chunked(0..4, sqr, 2), Err(Error::WouldBlock));
        assert_eq!(
            pool.starmap([(1u64, 2u64)], |a: u64, b: u64| a + b),
            Err(Error::WouldBlock)
        );
        assert_eq!(pool.install(|| 1), Err(Error::WouldBlock));
        let squares = pool.map_async(0..10, sqr).unwrap();
        map_async_refuses_then_arrives(squares, (0..10).map(sqr).collect()).await;
        let answer = pool.apply_async(|| 6 * 7).unwrap();
        answer.wait_async().await;
        assert_eq!(answer.try_get(), Ok(42), "try_ forms work everywhere");
        imaps_of_three_squares_refuse_then_arrive(
            pool.imap(0..3, sqr).unwrap(),
            pool.imap_unordered(0..3, sqr).unwrap(),
        )
        .await;
        let failing = pool
            .apply_async(|| -> u8 { panic!("on a worker") })
            .unwrap();
        assert!(
            matches!(failing.get_async().await, Err(Error::Panicked(r)) if r.message == "on a worker")
        );
        pool.close();
        assert_eq!(pool.join(), Err(Error::WouldBlock));
        pool.join_async().await.unwrap();
        assert_eq!(pool.try_join(), Ok(()));
    }

    #[wasm_bindgen_test]
    async fn rayon_runs_on_the_pool_from_a_task() {
        use rayon::prelude::*;
        let pool = std::sync::Arc::new(ThreadPool::new(2).unwrap());
        let inner = std::sync::Arc::clone(&pool);
        let sum = pool
            .apply_async(move || {
                inner.install(|| (0..1000u64).into_par_iter().map(sqr).sum::<u64>())
            })
            .unwrap();
        assert_eq!(sum.get_async().await, Ok(Ok((0..1000u64).map(sqr).sum())));
    }

    #[wasm_bindgen_test]
    async fn executor_blocking_forms_refuse_and_async_forms_work() {
        let executor = Executor::new(2).expect("an executor starts on the main thread");
        let future = executor.submit(|| 21 * 2).unwrap();
        assert_eq!(future.result(), Err(Error::WouldBlock));
        assert_eq!(future.result_async().await, Ok(42));
        let futures: Vec<_> = (0..3u64)
            .map(|n| executor.submit(move || sqr(n)).unwrap())
            .collect();
        executor_squares_refuse_then_arrive(&futures, executor.map(0..2u64, sqr).unwrap()).await;
        let outcome = wait_async(&futures, ReturnWhen::AllCompleted).await;
        assert_eq!(outcome.done.len(), 3);
        assert_eq!(executor.shutdown(true, false), Err(Error::WouldBlock));
        executor.shutdown_async(false).await.unwrap();
        assert_eq!(executor.submit(|| ()).err(), Some(Error::PoolClosed));
    }
}

#[cfg(not(target_arch = "wasm32"))]
#[test]
fn natively_every_blocking_form_is_allowed() {
    use amphi::thread::{as_completed, wait};
    let pool = ThreadPool::new(2).unwrap();
    assert_eq!(pool.apply(|| 1), Ok(1));
    assert_eq!(pool.map(0..4, sqr), Ok(vec![0, 1, 4, 9]));
    assert_eq!(pool.install(|| 1), Ok(1));
    let squares = pool.map_async(0..3, sqr).unwrap();
    assert_eq!(
        squares.get_timeout(std::time::Duration::from_secs(60)),
        Ok(vec![0, 1, 4])
    );
    let mut stream = pool.imap(0..2, sqr).unwrap();
    assert_eq!(stream.next(), Some(Ok(0)));
    assert_eq!(futures_executor::block_on(stream.next_async()), Some(Ok(1)));
    pool.close();
    pool.join().unwrap();
    let executor = Executor::new(2).unwrap();
    let futures: Vec<_> = (0..3u64)
        .map(|n| executor.submit(move || sqr(n)).unwrap())
        .collect();
    assert_eq!(
        wait(&futures, ReturnWhen::AllCompleted).unwrap().done.len(),
        3
    );
    assert_eq!(as_completed(&futures).count(), 3);
    let outcome = futures_executor::block_on(wait_async(&futures, ReturnWhen::AllCompleted));
    assert_eq!(outcome.not_done.len(), 0);
    executor.shutdown(true, false).unwrap();
}
