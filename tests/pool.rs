//! Conformance of [`amphi::ThreadPool`] with Python's `multiprocessing.pool.ThreadPool`, after
//! CPython's `_TestPool` in `Lib/test/_test_multiprocessing.py`: on native threads and, through
//! `wasm-pack test`, on Web Workers. The map family (empty input included), `apply` and its
//! async form with callbacks, timeouts, panics that fail one task and leave the pool usable,
//! `close`/`terminate`/`join` and their typed errors, `terminate` with many queued tasks,
//! `imap` streaming without collecting its input, and the bridge to rayon's parallel iterators.

#[macro_use]
mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use amphi::thread::{AsyncResult, Callbacks};
use amphi::time::Instant;
use amphi::{Error, Event, ThreadPool};
use common::pool::{gate, hold, panic_message};
use common::{assert_waited_at_least, PATIENCE};

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

fn sqr(n: u64) -> u64 {
    n * n
}

fn power(base: u64, exponent: u32) -> u64 {
    base.pow(exponent)
}

fn volume(width: u32, height: u32, depth: u32) -> u32 {
    width * height * depth
}

/// Submits a task that holds a worker until `gate` opens, and waits until it runs.
fn occupy(pool: &ThreadPool, gate: &Arc<Event>) -> AsyncResult<Result<(), Error>> {
    common::pool::occupy(gate, |task| pool.apply_async(task).unwrap())
}

conformance! {
    fn test_apply() {
        let pool = ThreadPool::new(4).unwrap();
        assert_eq!(pool.apply(|| sqr(5)), Ok(25));
        assert_eq!(pool.apply(move || sqr(3) + 1), Ok(10));
    }

    fn test_map() {
        let pool = ThreadPool::new(4).unwrap();
        let expected: Vec<u64> = (0..10).map(sqr).collect();
        assert_eq!(pool.map(0..10, sqr).unwrap(), expected);
        let expected: Vec<u64> = (0..100).map(sqr).collect();
        assert_eq!(pool.map_chunked(0..100, sqr, 53).unwrap(), expected);
        assert_eq!(pool.map_chunked(0..100, sqr, 1).unwrap(), expected);
        assert_eq!(pool.map_chunked(0..100, sqr, 1000).unwrap(), expected);
        assert!(matches!(
            pool.map_chunked(0..3, sqr, 0),
            Err(Error::InvalidArgument(_))
        ));
    }

    fn test_starmap() {
        let pool = ThreadPool::new(2).unwrap();
        let pairs: Vec<(u64, u64)> = (0..10).map(|i| (i, i + 1)).collect();
        let expected: Vec<u64> = pairs.iter().map(|(a, b)| a * b).collect();
        assert_eq!(pool.starmap(pairs.clone(), |a: u64, b: u64| a * b).unwrap(), expected);
        let triples = pool.starmap_async(vec![(1, 2, 3)], |a: i32, b: i32, c: i32| a + b + c);
        assert_eq!(triples.unwrap().get().unwrap(), [6]);
    }

    fn test_starmap_takes_plain_functions_as_the_process_pool_does() {
        let pool = ThreadPool::new(2).unwrap();
        let pairs: Vec<(u64, u32)> = (0..10).map(|n| (n, 2)).collect();
        assert_eq!(pool.starmap(pairs, power).unwrap(), (0..10u64).map(sqr).collect::<Vec<_>>());
        let volumes = pool.starmap_async([(1, 2, 3), (2, 2, 2)], volume).unwrap();
        assert_eq!(volumes.get_timeout(PATIENCE).unwrap(), [6, 8]);
    }

    fn test_map_async() {
        let pool = ThreadPool::new(4).unwrap();
        let result = pool.map_async(0..10, sqr).unwrap();
        assert_eq!(result.get_timeout(PATIENCE).unwrap(), (0..10).map(sqr).collect::<Vec<_>>());
        assert!(result.ready());
        assert_eq!(result.successful(), Some(true));
        assert_eq!(result.try_get(), Err(Error::ResultTaken), "a value moves out once");
    }

    fn test_map_async_callbacks() {
        let pool = ThreadPool::new(2).unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let callbacks = {
            let (ok, err) = (Arc::clone(&seen), Arc::clone(&seen));
            Callbacks::new()
                .on_success(move |all: &Vec<u64>| ok.lock().unwrap().push(format!("ok {all:?}")))
                .on_error(move |e: &Error| err.lock().unwrap().push(format!("error {e}")))
        };
        let result = pool.map_async_with(0..3, sqr, None, callbacks).unwrap();
        result.wait_timeout(PATIENCE).unwrap();
        // The callback runs before the result becomes ready.
        assert_eq!(*seen.lock().unwrap(), ["ok [0, 1, 4]"]);
        let callbacks = {
            let (ok, err) = (Arc::clone(&seen), Arc::clone(&seen));
            Callbacks::new()
                .on_success(move |_: &Vec<u64>| ok.lock().unwrap().push("ok".to_owned()))
                .on_error(move |e: &Error| err.lock().unwrap().push(format!("error {e}")))
        };
        let failing = pool
            .map_async_with(0..3u64, |n| if n == 1 { panic!("one is bad") } else { n }, Some(1), callbacks)
            .unwrap();
        assert_eq!(panic_message(failing.get().unwrap_err()), "one is bad");
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2);
        assert!(seen[1].starts_with("error ") && seen[1].contains("one is bad"), "{seen:?}");
    }

    fn test_empty_iterable() {
        let pool = ThreadPool::new(2).unwrap();
        assert_eq!(pool.map(Vec::<u64>::new(), sqr).unwrap(), Vec::<u64>::new());
        assert_eq!(pool.map_chunked(Vec::<u64>::new(), sqr, 3).unwrap(), Vec::<u64>::new());
        assert_eq!(pool.starmap(Vec::<(u64, u64)>::new(), |a: u64, b: u64| a + b).unwrap(), Vec::<u64>::new());
        assert_eq!(pool.map_async(Vec::<u64>::new(), sqr).unwrap().get().unwrap(), Vec::<u64>::new());
        assert_eq!(pool.imap(Vec::<u64>::new(), sqr).unwrap().count(), 0);
        assert_eq!(pool.imap_unordered(Vec::<u64>::new(), sqr).unwrap().count(), 0);
    }

    fn test_async() {
        let pool = ThreadPool::new(2).unwrap();
        let result = pool.apply_async(|| sqr(7)).unwrap();
        assert_eq!(result.get_timeout(PATIENCE), Ok(49));
        assert_eq!(result.successful(), Some(true));
        assert!(result.error().is_none());
    }

    fn test_async_timeout() {
        let pool = ThreadPool::new(2).unwrap();
        let gate = gate();
        let result = pool.apply_async(hold(&gate)).unwrap();
        let timeout = Duration::from_millis(50);
        let start = Instant::now();
        assert_eq!(result.get_timeout(timeout), Err(Error::Timeout));
        assert_waited_at_least(start.elapsed(), timeout);
        assert_eq!(result.wait_timeout(Duration::from_millis(1)), Err(Error::Timeout));
        assert_eq!(result.try_get(), Err(Error::NotReady));
        assert!(!result.ready());
        assert_eq!(result.successful(), None, "not ready: no answer yet");
        gate.set();
        assert_eq!(result.get_timeout(PATIENCE), Ok(Ok(())), "the result stayed to be taken");
    }

    fn test_imap() {
        let pool = ThreadPool::new(4).unwrap();
        let mut it = pool.imap(0..10, sqr).unwrap();
        for i in 0..10 {
            assert_eq!(it.next(), Some(Ok(sqr(i))));
        }
        assert_eq!(it.next(), None);
        let all: Vec<u64> = pool.imap_chunked(0..1000, sqr, 100).unwrap().map(Result::unwrap).collect();
        assert_eq!(all, (0..1000).map(sqr).collect::<Vec<_>>());
    }

    fn test_imap_unordered() {
        let pool = ThreadPool::new(4).unwrap();
        let mut all: Vec<u64> = pool.imap_unordered(0..10, sqr).unwrap().map(Result::unwrap).collect();
        all.sort_unstable();
        assert_eq!(all, (0..10).map(sqr).collect::<Vec<_>>());
        let mut all: Vec<u64> =
            pool.imap_unordered_chunked(0..1000, sqr, 53).unwrap().map(Result::unwrap).collect();
        all.sort_unstable();
        assert_eq!(all, (0..1000).map(sqr).collect::<Vec<_>>());
    }

    fn test_imap_errors_continue() {
        // CPython's test_imap_handle_iterable_exception, for a panicking task: the error comes
        // at its place and the stream goes on.
        let pool = ThreadPool::new(2).unwrap();
        let results: Vec<Result<u64, Error>> = pool
            .imap(0..5u64, |n| if n == 2 { panic!("two") } else { n })
            .unwrap()
            .collect();
        assert_eq!(results.len(), 5);
        assert_eq!(results[1], Ok(1));
        assert_eq!(panic_message(results[2].clone().unwrap_err()), "two");
        assert_eq!(results[4], Ok(4));
        let mut unordered: Vec<Result<u64, Error>> = pool
            .imap_unordered(0..5u64, |n| if n == 3 { panic!("three") } else { n })
            .unwrap()
            .collect();
        unordered.sort_by_key(|r| r.as_ref().map_or(u64::MAX, |n| *n));
        assert_eq!(unordered[..4], [Ok(0), Ok(1), Ok(2), Ok(4)]);
        assert_eq!(panic_message(unordered[4].clone().unwrap_err()), "three");
    }

    fn test_imap_streams_while_later_items_run() {
        // The first result arrives while the second item is still running: the second waits
        // for a gate the test opens only after it has the first result.
        let pool = ThreadPool::new(2).unwrap();
        let gate = gate();
        let task_gate = Arc::clone(&gate);
        let mut it = pool
            .imap(0..2u64, move |n| {
                if n == 1 {
                    task_gate.wait_timeout(PATIENCE).unwrap();
                }
                n
            })
            .unwrap();
        assert_eq!(it.next_timeout(PATIENCE), Some(Ok(0)));
        assert_eq!(it.try_next(), Some(Err(Error::NotReady)), "item 1 still runs");
        gate.set();
        assert_eq!(it.next_timeout(PATIENCE), Some(Ok(1)));
        assert_eq!(it.next(), None);
    }

    fn test_imap_never_collects_its_input() {
        // An endless input: only a window of items is read ahead of the consumer.
        let pool = ThreadPool::new(2).unwrap();
        let read = Arc::new(AtomicUsize::new(0));
        let counted = {
            let read = Arc::clone(&read);
            (0u64..).inspect(move |_| {
                read.fetch_add(1, Ordering::SeqCst);
            })
        };
        let first: Vec<u64> = pool.imap(counted, sqr).unwrap().take(100).map(Result::unwrap).collect();
        assert_eq!(first, (0..100).map(sqr).collect::<Vec<_>>());
        let read = read.load(Ordering::SeqCst);
        assert!(read <= 100 + 4 * pool.size() + 1, "read {read} items ahead");
        let read_unordered = Arc::new(AtomicUsize::new(0));
        let counted = {
            let read = Arc::clone(&read_unordered);
            (0u64..).inspect(move |_| {
                read.fetch_add(1, Ordering::SeqCst);
            })
        };
        assert_eq!(pool.imap_unordered_chunked(counted, sqr, 10).unwrap().take(50).count(), 50);
        let read = read_unordered.load(Ordering::SeqCst);
        assert!(read <= 50 + 10 * (4 * pool.size() + 1), "read {read} items ahead");
    }

    fn test_imap_goes_on_after_close() {
        // Python queues an imap's tasks whole; here they are accepted whole: an iterator
        // started before close feeds the rest of its input after it, and join then returns.
        let pool = ThreadPool::new(2).unwrap();
        let mut it = pool.imap(0..100u64, sqr).unwrap();
        assert_eq!(it.next(), Some(Ok(0)));
        pool.close();
        assert_eq!(pool.imap(0..1, sqr).err(), Some(Error::PoolClosed));
        let rest: Vec<u64> = it.map(Result::unwrap).collect();
        assert_eq!(rest, (1..100).map(sqr).collect::<Vec<_>>());
        pool.join_timeout(PATIENCE).unwrap();
    }

    fn test_make_pool() {
        fn shareable<T: Send + Sync>() {}
        shareable::<ThreadPool>();
        shareable::<amphi::thread::Executor>();
        shareable::<AsyncResult<u8>>();
        shareable::<amphi::thread::Future<u8>>();
        assert!(matches!(ThreadPool::new(0), Err(Error::InvalidArgument(_))));
        let pool = ThreadPool::builder().size(3).build().unwrap();
        assert_eq!(pool.size(), 3);
        pool.close();
        pool.join_timeout(PATIENCE).unwrap();
    }

    fn test_panics_fail_one_task_and_the_pool_stays_usable() {
        let pool = ThreadPool::new(2).unwrap();
        let failing = pool.apply_async(|| -> u64 { panic!("task failed") }).unwrap();
        let Error::Panicked(report) = failing.get_timeout(PATIENCE).unwrap_err() else {
            panic!("expected a panic report");
        };
        assert_eq!(report.message, "task failed");
        let location = report.location.expect("the panic's location");
        assert!(location.contains("pool.rs"), "{location}");
        assert!(report.thread.starts_with("ThreadPool-"), "{}", report.thread);
        assert_eq!(failing.successful(), Some(false));
        assert!(matches!(failing.error(), Some(Error::Panicked(_))));
        assert!(matches!(failing.get(), Err(Error::Panicked(_))), "the error stays");
        // map: the first failing item, in order, fails the call (CPython's test_map_no_failfast
        // keeps the pool alive too).
        let error = pool
            .map_chunked(0..10u64, |n| if n >= 5 { panic!("item {n}") } else { n }, 1)
            .unwrap_err();
        assert_eq!(panic_message(error), "item 5");
        let Error::Panicked(report) = pool
            .map(0..100u64, |n| if n == 42 { panic!("item {n}") } else { n })
            .unwrap_err()
        else {
            panic!("expected a panic report");
        };
        assert_eq!(report.message, "item 42");
        assert!(report.location.is_some_and(|at| at.contains("pool.rs")));
        // Every worker still works.
        for _ in 0..2 {
            assert_eq!(pool.map(0..20, sqr).unwrap(), (0..20).map(sqr).collect::<Vec<_>>());
        }
        assert_eq!(pool.apply(|| 1), Ok(1));
    }

    fn test_error_callback_on_panic() {
        let pool = ThreadPool::new(1).unwrap();
        let seen = Arc::new(Mutex::new(None));
        let callbacks = {
            let seen = Arc::clone(&seen);
            Callbacks::new()
                .on_success(|_: &u8| panic!("not called"))
                .on_error(move |error: &Error| *seen.lock().unwrap() = Some(error.clone()))
        };
        let result = pool.apply_async_with(|| -> u8 { panic!("bad task") }, callbacks).unwrap();
        assert!(result.get_timeout(PATIENCE).is_err());
        let seen = seen.lock().unwrap().clone().expect("the error callback ran before get returned");
        assert_eq!(panic_message(seen), "bad task");
        // A callback that panics changes nothing else.
        let callbacks = Callbacks::new().on_success(|_: &u8| panic!("callback broke"));
        assert_eq!(pool.apply_async_with(|| 3u8, callbacks).unwrap().get_timeout(PATIENCE), Ok(3));
        assert_eq!(pool.apply(|| 4), Ok(4));
    }

    fn test_close_and_join_rules() {
        let pool = ThreadPool::new(2).unwrap();
        assert_eq!(pool.join(), Err(Error::PoolRunning), "join before close");
        assert_eq!(pool.try_join(), Err(Error::PoolRunning));
        let before = pool.map_async(0..100, sqr).unwrap();
        pool.close();
        assert_eq!(pool.apply_async(|| 1).err(), Some(Error::PoolClosed));
        assert_eq!(pool.map(0..3, sqr).err(), Some(Error::PoolClosed));
        assert_eq!(pool.imap(0..3, sqr).err(), Some(Error::PoolClosed));
        assert_eq!(pool.install(|| 1), Err(Error::PoolClosed));
        pool.join_timeout(PATIENCE).unwrap();
        assert_eq!(before.get(), Ok((0..100).map(sqr).collect::<Vec<_>>()), "accepted tasks ran");
        assert_eq!(pool.try_join(), Ok(()));
        pool.close();
        pool.terminate();
        pool.join().unwrap();
    }

    fn test_terminate() {
        // CPython's test_terminate: many queued tasks, terminate returns promptly and join
        // does not wait for the queue.
        let pool = ThreadPool::new(2).unwrap();
        let gate = gate();
        let running: Vec<_> = (0..2).map(|_| occupy(&pool, &gate)).collect();
        let ran = Arc::new(AtomicUsize::new(0));
        let queued: Vec<_> = (0..10_000)
            .map(|_| {
                let ran = Arc::clone(&ran);
                pool.apply_async(move || ran.fetch_add(1, Ordering::SeqCst)).unwrap()
            })
            .collect();
        pool.terminate();
        assert_eq!(pool.apply_async(|| ()).err(), Some(Error::PoolClosed));
        for result in &queued {
            assert_eq!(result.try_get(), Err(Error::Cancelled));
        }
        gate.set();
        pool.join_timeout(PATIENCE).unwrap();
        assert_eq!(ran.load(Ordering::SeqCst), 0, "no queued task ran");
        for result in running {
            assert_eq!(result.try_get(), Ok(Ok(())), "running tasks finished");
        }
    }

    fn test_terminate_stops_a_map_and_an_imap() {
        let pool = ThreadPool::new(1).unwrap();
        let gate = gate();
        let blocker = occupy(&pool, &gate);
        let mapped = pool.map_async_with(0..100u64, sqr, Some(1), Callbacks::new()).unwrap();
        let mut streamed = pool.imap(0u64.., sqr).unwrap();
        assert_eq!(streamed.try_next(), Some(Err(Error::NotReady)));
        pool.terminate();
        gate.set();
        assert_eq!(mapped.get_timeout(PATIENCE), Err(Error::Cancelled));
        assert_eq!(streamed.next_timeout(PATIENCE), Some(Err(Error::Cancelled)));
        assert!(blocker.get_timeout(PATIENCE).is_ok());
        drop(streamed);
        pool.join_timeout(PATIENCE).unwrap();
    }

    fn test_drop_terminates() {
        let pool = ThreadPool::new(1).unwrap();
        let gate = gate();
        let running = occupy(&pool, &gate);
        let queued = pool.apply_async(|| 1).unwrap();
        drop(pool);
        assert_eq!(queued.get_timeout(PATIENCE), Err(Error::Cancelled));
        gate.set();
        assert_eq!(running.get_timeout(PATIENCE), Ok(Ok(())));
    }

    fn test_initializer_and_thread_names() {
        let started = Arc::new(AtomicUsize::new(0));
        let pool = {
            let started = Arc::clone(&started);
            ThreadPool::builder()
                .size(3)
                .initializer(move || {
                    started.fetch_add(1, Ordering::SeqCst);
                })
                .thread_name_prefix("crunch")
                .build()
                .unwrap()
        };
        let names = pool.map_chunked(0..30, |_| amphi::thread::current_name(), 1).unwrap();
        assert!(names.iter().all(|name| name.starts_with("crunch_")), "{names:?}");
        pool.close();
        pool.join_timeout(PATIENCE).unwrap();
        assert_eq!(started.load(Ordering::SeqCst), 3, "each worker ran the initializer once");
    }

    fn test_broken_initializer() {
        let pool = ThreadPool::builder()
            .size(1)
            .initializer(|| panic!("no config"))
            .build()
            .unwrap();
        let outcome = pool.apply_async(|| 1).map(|result| result.get_timeout(PATIENCE));
        let error = match outcome {
            Ok(Err(error)) | Err(error) => error,
            Ok(Ok(value)) => panic!("a task ran on a broken pool: {value}"),
        };
        assert!(
            matches!(&error, Error::BrokenPool(report) if report.contains("no config")),
            "{error:?}"
        );
        assert!(matches!(pool.apply_async(|| 1).err(), Some(Error::BrokenPool(_))));
    }

    fn test_install_runs_rayon_on_the_pool() {
        use rayon::prelude::*;
        let pool = ThreadPool::builder().size(3).thread_name_prefix("par").build().unwrap();
        let sum: u64 = pool.install(|| (0..10_000u64).into_par_iter().map(sqr).sum()).unwrap();
        assert_eq!(sum, (0..10_000u64).map(sqr).sum::<u64>());
        let (threads, names) = pool
            .install(|| {
                let names: Vec<String> = (0..64).into_par_iter().map(|_| amphi::thread::current_name()).collect();
                (rayon::current_num_threads(), names)
            })
            .unwrap();
        assert_eq!(threads, 3, "rayon sees the pool's workers");
        assert!(names.iter().all(|name| name.starts_with("par_")), "{names:?}");
        let error = pool
            .install(|| (0..100u64).into_par_iter().map(|n| if n == 42 { panic!("par {n}") } else { n }).sum::<u64>())
            .unwrap_err();
        assert_eq!(panic_message(error), "par 42");
        assert_eq!(pool.install(|| 5), Ok(5), "the pool is still usable");
    }
}

conformance_async! {
    async fn test_async_forms() {
        let pool = ThreadPool::new(2).unwrap();
        assert_eq!(pool.apply_async(|| 6 * 7).unwrap().get_async().await, Ok(42));
        let squares = pool.map_async(0..5, sqr).unwrap();
        squares.wait_async().await;
        assert_eq!(squares.get_async().await, Ok(vec![0, 1, 4, 9, 16]));
        let mut stream = pool.imap(0..3, sqr).unwrap();
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
        pool.close();
        pool.join_async().await.unwrap();
    }
}
