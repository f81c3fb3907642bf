//! Conformance of [`amphi::process::Pool`] with Python's `multiprocessing.Pool`, after CPython's
//! `_TestPool`, `_TestPoolWorkerLifetime` and `_TestPoolWorkerErrors`, on child processes
//! natively and on process workers in the browser: the map family, `apply` and its async form,
//! `imap` streaming, `close`/`terminate`/`join`, `maxtasksperchild`, the initializer; and the
//! deaths and bad data the pool survives: a worker killed while running a task (that task
//! fails naming the worker, the others finish on a replacement), a task that exits its
//! worker, a panic, arguments and results that do not (de)serialise, a failing initializer.
//! The process `Executor` after `test_concurrent_futures`: futures, `map`, `shutdown`, and a
//! killed worker that breaks it (`BrokenProcessPool`'s semantics).
//! Every test runs under a watchdog: a hang fails it instead of stalling the suite.

#[macro_use]
#[allow(unused_macros)]
mod common;

use std::collections::BTreeSet;
use std::sync::mpsc;
use std::time::Duration;

use amphi::process::{active_children, current_process, Callbacks, Executor, Pool, Queue, Value};
use amphi::Error;
use common::pool::{watched, watched_async};
use common::PATIENCE;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

fn sqr(n: u64) -> u64 {
    n * n
}

fn my_pid(_: ()) -> u32 {
    current_process().pid
}

fn nap_then_my_pid(millis: u64) -> u32 {
    nap(millis);
    current_process().pid
}

fn nap(millis: u64) -> u64 {
    amphi::thread::sleep(Duration::from_millis(millis)).expect("workers may block");
    millis
}

/// Records this worker's pid in `seen`, then sleeps (until killed).
fn report_and_sleep(seen: Value<u32>) -> u32 {
    seen.set(current_process().pid);
    amphi::thread::sleep(PATIENCE).expect("workers may block");
    0
}

fn give_up(code: i32) {
    let error = amphi::process::exit(code);
    unreachable!("a worker exits: {error}");
}

fn explode(message: String) -> u32 {
    panic!("{message}");
}

fn count_start(started: Value<u32>) {
    started.fetch_add(1);
}

fn failing_initializer(_: ()) {
    panic!("the initializer cannot cope");
}

fn power(base: u64, exponent: u32) -> u64 {
    base.pow(exponent)
}

fn volume(width: u32, height: u32, depth: u32) -> u32 {
    width * height * depth
}

fn negate(n: i64) -> i64 {
    -n
}

fn divide(numerator: u32, denominator: u32) -> u32 {
    numerator / denominator
}

/// This worker's pid and the square of `n`: which worker ran a task, and its result.
fn pid_and_sqr(n: u64) -> (u32, u64) {
    (current_process().pid, n * n)
}

/// How many items [`put_then_return`] puts, and how long each is: together far more than a
/// queue's ring holds, so most wait in the worker's buffer when the task returns.
const PUT_ITEMS: usize = 8;
const PUT_ITEM_LEN: usize = 256 << 10;

/// Puts [`PUT_ITEMS`] long strings into `queue` and returns at once (the puts buffer).
fn put_then_return(queue: Queue<String>) -> u32 {
    for n in 0..PUT_ITEMS {
        let item = char::from(b'a' + n as u8).to_string().repeat(PUT_ITEM_LEN);
        queue.put(item).expect("an unbounded put never fails");
    }
    current_process().pid
}

/// A value whose (de)serialisation fails on purpose: 13 never serialises, 7 never
/// deserialises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Picky(u32);

impl Serialize for Picky {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            13 => Err(serde::ser::Error::custom("13 does not serialise")),
            n => serializer.serialize_u32(n),
        }
    }
}

impl<'de> Deserialize<'de> for Picky {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Picky, D::Error> {
        match u32::deserialize(deserializer)? {
            7 => Err(serde::de::Error::custom("7 does not deserialise")),
            n => Ok(Picky(n)),
        }
    }
}

fn picky_identity(value: Picky) -> u32 {
    value.0
}

fn make_picky(n: u32) -> Picky {
    Picky(n)
}

/// The pids of the pool's workers as tasks see them (enough tasks that every worker runs some).
fn worker_pids(pool: &Pool) -> BTreeSet<u32> {
    let mut pids = BTreeSet::new();
    for _ in 0..50 {
        // Tasks of 10 ms each: quick ones may all go to one worker while the other's
        // supervisor waits for the CPU, on a loaded machine, again and again.
        pids.extend(
            pool.map_chunked(vec![10u64; 4 * pool.size()], nap_then_my_pid, 1)
                .unwrap(),
        );
        if pids.len() == pool.size() {
            break;
        }
    }
    pids
}

fn kill_child(pid: u32) {
    let child = active_children()
        .into_iter()
        .find(|child| child.pid() == Some(pid))
        .expect("the worker is a child of this process");
    child.kill().expect("kill the worker");
}

conformance! {
    fn map_apply_and_their_async_forms() {
        watched(|| {
            let pool = Pool::new(2).unwrap();
            assert_eq!(pool.map(0..10u64, sqr).unwrap(), (0..10u64).map(sqr).collect::<Vec<_>>());
            assert_eq!(pool.map(Vec::<u64>::new(), sqr).unwrap(), Vec::<u64>::new());
            assert_eq!(pool.map_chunked(0..100u64, sqr, 7).unwrap().len(), 100);
            assert_eq!(pool.map_async(0..5u64, sqr).unwrap().get().unwrap(), [0, 1, 4, 9, 16]);
            assert_eq!(pool.apply(sqr, 12).unwrap(), 144);
            let pending = pool.apply_async(nap, 10).unwrap();
            assert_eq!(pending.get_timeout(PATIENCE).unwrap(), 10);
            assert_eq!(pending.get(), Err(Error::ResultTaken));
            assert!(matches!(pool.map_chunked(0..3u64, sqr, 0), Err(Error::InvalidArgument(_))));
            pool.close();
            pool.join_timeout(PATIENCE).unwrap();
        });
    }

    fn workers_are_distinct_child_processes() {
        watched(|| {
            let pool = Pool::new(3).unwrap();
            let pids = worker_pids(&pool);
            assert_eq!(pids.len(), 3, "three workers: {pids:?}");
            assert!(!pids.contains(&current_process().pid), "none is the parent");
        });
    }

    fn callbacks_run_before_the_result_is_ready() {
        watched(|| {
            let pool = Pool::new(1).unwrap();
            let (tx, rx) = mpsc::channel();
            let callbacks = Callbacks::new().on_success(move |value: &u64| tx.send(*value).unwrap());
            assert_eq!(pool.apply_async_with(sqr, 9, callbacks).unwrap().get().unwrap(), 81);
            assert_eq!(rx.try_recv(), Ok(81));
        });
    }

    fn imap_streams_an_endless_input_in_order() {
        watched(|| {
            let pool = Pool::new(2).unwrap();
            let first: Vec<u64> = pool.imap(0u64.., sqr).unwrap().take(20).collect::<Result<_, _>>().unwrap();
            assert_eq!(first, (0..20u64).map(sqr).collect::<Vec<_>>());
            let chunked: Vec<u64> = pool.imap_chunked(0..50u64, sqr, 4).unwrap().collect::<Result<_, _>>().unwrap();
            assert_eq!(chunked, (0..50u64).map(sqr).collect::<Vec<_>>());
            let mut unordered: Vec<u64> = pool.imap_unordered(0..30u64, sqr).unwrap().collect::<Result<_, _>>().unwrap();
            unordered.sort_unstable();
            assert_eq!(unordered, (0..30u64).map(sqr).collect::<Vec<_>>());
            let mut results = pool.imap([60_000u64], nap).unwrap();
            assert_eq!(results.try_next(), Some(Err(Error::NotReady)));
            pool.terminate();
        });
    }

    fn an_imap_started_before_close_still_finishes() {
        watched(|| {
            let pool = Pool::new(2).unwrap();
            let results = pool.imap(0..40u64, sqr).unwrap();
            pool.close();
            assert!(matches!(pool.imap(0..1u64, sqr), Err(Error::PoolClosed)));
            let all: Vec<u64> = results.collect::<Result<_, _>>().unwrap();
            assert_eq!(all.len(), 40);
            pool.join_timeout(PATIENCE).unwrap();
        });
    }

    fn join_before_close_or_terminate_is_an_error() {
        watched(|| {
            let pool = Pool::new(1).unwrap();
            assert_eq!(pool.join(), Err(Error::PoolRunning));
            assert_eq!(pool.try_join(), Err(Error::PoolRunning));
            pool.close();
            assert!(matches!(pool.apply_async(sqr, 1), Err(Error::PoolClosed)));
            pool.join_timeout(PATIENCE).unwrap();
            assert_eq!(pool.try_join(), Ok(()));
            assert!(matches!(Pool::new(0), Err(Error::InvalidArgument(_))));
        });
    }

    fn terminate_with_ten_thousand_queued_tasks_returns() {
        watched(|| {
            let pool = Pool::new(2).unwrap();
            let queued: Vec<_> = (0..10_000).map(|_| pool.apply_async(nap, 60_000).unwrap()).collect();
            pool.terminate();
            assert_eq!(queued[9_999].get_timeout(PATIENCE), Err(Error::Cancelled));
            pool.join_timeout(PATIENCE).unwrap();
            let cancelled = queued.iter().filter(|r| r.error() == Some(Error::Cancelled)).count();
            assert!(cancelled >= 9_998, "only the two running tasks may end otherwise: {cancelled}");
            for result in &queued[..2] {
                assert!(result.wait_timeout(PATIENCE).is_ok(), "every result is settled");
            }
        });
    }

    fn a_killed_worker_fails_its_task_alone_and_is_replaced() {
        watched(|| {
            let pool = Pool::new(2).unwrap();
            let seen = Value::new_without_lock(0u32).unwrap();
            let doomed = pool.apply_async(report_and_sleep, seen.clone()).unwrap();
            let others: Vec<_> = (0..20u64).map(|n| pool.apply_async(sqr, n).unwrap()).collect();
            common::wait_for("the task to start", || seen.get() != 0);
            let victim = seen.get();
            kill_child(victim);
            match doomed.get_timeout(PATIENCE) {
                Err(Error::WorkerDied { name, pid, exitcode }) => {
                    assert_eq!(pid, victim);
                    assert_eq!(exitcode, -9, "killed by SIGKILL (or its equivalent)");
                    assert!(name.starts_with("PoolWorker-"), "{name}");
                }
                other => panic!("expected WorkerDied, got {other:?}"),
            }
            for (n, result) in others.iter().enumerate() {
                assert_eq!(result.get_timeout(PATIENCE).unwrap(), (n as u64).pow(2));
            }
            let pids = worker_pids(&pool);
            assert_eq!(pids.len(), 2, "a replacement took the dead worker's place: {pids:?}");
            assert!(!pids.contains(&victim));
            pool.close();
            pool.join_timeout(PATIENCE).unwrap();
        });
    }

    fn a_task_that_exits_its_worker_fails_with_the_exit_code() {
        watched(|| {
            let pool = Pool::new(1).unwrap();
            match pool.apply(give_up, 3) {
                Err(Error::WorkerDied { exitcode, .. }) => assert_eq!(exitcode, 3),
                other => panic!("expected WorkerDied, got {other:?}"),
            }
            assert_eq!(pool.apply(sqr, 5).unwrap(), 25, "the replacement works");
        });
    }

    fn a_panic_fails_its_task_and_the_worker_lives_on() {
        watched(|| {
            let pool = Pool::new(1).unwrap();
            let before = pool.apply(my_pid, ()).unwrap();
            match pool.apply(explode, "out of cheese".to_owned()) {
                Err(Error::Panicked(report)) => {
                    assert_eq!(report.message, "out of cheese");
                    assert!(report.location.as_deref().is_some_and(|at| at.contains("process_pool.rs")), "{report:?}");
                    assert!(report.thread.starts_with("PoolWorker-"), "{report:?}");
                }
                other => panic!("expected a panic, got {other:?}"),
            }
            let in_map = pool.map_chunked(["a".to_owned(), "b".to_owned()], explode, 1);
            assert!(matches!(in_map, Err(Error::Panicked(_))));
            assert_eq!(pool.apply(my_pid, ()).unwrap(), before, "the same worker");
        });
    }

    fn bad_data_fails_its_task_twenty_times_and_no_worker_is_lost() {
        watched(|| {
            let pool = Pool::new(2).unwrap();
            let before = worker_pids(&pool);
            for _ in 0..20 {
                assert!(matches!(pool.apply_async(picky_identity, Picky(13)), Err(Error::Encode(_))), "argument that does not serialise");
                assert!(matches!(pool.apply(picky_identity, Picky(7)), Err(Error::Decode(_))), "argument that does not deserialise");
                assert!(matches!(pool.apply(make_picky, 13), Err(Error::Encode(_))), "result that does not serialise");
                assert!(matches!(pool.apply(make_picky, 7), Err(Error::Decode(_))), "result that does not deserialise");
                assert!(matches!(pool.map(vec![Picky(1), Picky(7)], picky_identity), Err(Error::Decode(_))));
                assert_eq!(pool.apply(make_picky, 5).unwrap(), Picky(5));
            }
            assert_eq!(worker_pids(&pool), before, "no worker was lost");
        });
    }

    fn the_initializer_runs_once_in_each_worker() {
        watched(|| {
            let started = Value::new(0u32).unwrap();
            let pool = Pool::builder().size(3).initializer(count_start, started.clone()).build().unwrap();
            assert_eq!(pool.map(0..10u64, sqr).unwrap().len(), 10);
            pool.close();
            pool.join_timeout(PATIENCE).unwrap();
            assert_eq!(started.get(), 3);
        });
    }

    fn a_failing_initializer_breaks_the_pool_instead_of_respawning() {
        watched(|| {
            let pool = Pool::builder().size(2).initializer(failing_initializer, ()).build().unwrap();
            match pool.apply(sqr, 2) {
                Err(Error::BrokenPool(reason)) => assert!(reason.contains("the initializer cannot cope"), "{reason}"),
                other => panic!("expected BrokenPool, got {other:?}"),
            }
            assert!(matches!(pool.apply_async(sqr, 2), Err(Error::BrokenPool(_))));
            pool.terminate();
            pool.join_timeout(PATIENCE).unwrap();
        });
    }

    fn max_tasks_per_child_recycles_workers_without_changing_results() {
        watched(|| {
            let pool = Pool::builder().size(2).max_tasks_per_child(3).build().unwrap();
            let pids: BTreeSet<u32> = (0..12).map(|_| pool.apply(my_pid, ()).unwrap()).collect();
            assert!(pids.len() >= 4, "12 tasks, at most 3 per worker: {pids:?}");
            assert_eq!(pool.map_chunked(0..30u64, sqr, 2).unwrap(), (0..30u64).map(sqr).collect::<Vec<_>>());
            assert!(matches!(Pool::builder().size(1).max_tasks_per_child(0).build(), Err(Error::InvalidArgument(_))));
        });
    }

    fn dropping_the_pool_stops_its_workers() {
        watched(|| {
            let pool = Pool::new(2).unwrap();
            let pids = worker_pids(&pool);
            drop(pool);
            common::wait_for("the workers to end", || {
                active_children().iter().all(|child| !child.pid().is_some_and(|pid| pids.contains(&pid)))
            });
        });
    }

    fn starmap_calls_functions_of_several_arguments() {
        watched(|| {
            let pool = Pool::new(2).unwrap();
            let pairs: Vec<(u64, u32)> = (0..10).map(|n| (n, 2)).collect();
            assert_eq!(pool.starmap(pairs, power).unwrap(), (0..10u64).map(sqr).collect::<Vec<_>>());
            let volumes = pool.starmap_async([(1, 2, 3), (2, 2, 2), (4, 5, 6)], volume).unwrap();
            assert_eq!(volumes.get_timeout(PATIENCE).unwrap(), [6, 8, 120]);
            assert_eq!(pool.starmap([(5i64,), (-2,)], negate).unwrap(), [-5, 2], "a tuple of one");
            assert_eq!(pool.starmap(Vec::<(u64, u32)>::new(), power).unwrap(), Vec::<u64>::new());
            match pool.starmap(vec![(6, 3), (1, 0)], divide) {
                Err(Error::Panicked(report)) => assert!(report.message.contains("divide by zero"), "{report:?}"),
                other => panic!("expected a panic, got {other:?}"),
            }
            assert_eq!(pool.starmap(vec![(6, 3)], divide).unwrap(), [2], "the pool stays usable");
            pool.close();
            assert!(matches!(pool.starmap_async(vec![(1, 1)], divide), Err(Error::PoolClosed)));
            pool.join_timeout(PATIENCE).unwrap();
        });
    }

    fn worker_lifetime_recycled_workers_leave_results_unchanged() {
        watched(|| {
            // CPython's `test_pool_worker_lifetime`: 3 workers, 10 tasks each at most.
            let pool = Pool::builder().size(3).max_tasks_per_child(10).build().unwrap();
            let pending: Vec<_> = (0..100u64).map(|n| pool.apply_async(pid_and_sqr, n).unwrap()).collect();
            let mut pids = BTreeSet::new();
            for (n, result) in pending.iter().enumerate() {
                let (pid, value) = result.get_timeout(PATIENCE).unwrap();
                assert_eq!(value, (n as u64).pow(2));
                pids.insert(pid);
            }
            assert!(pids.len() >= 10, "100 tasks, at most 10 per worker: {pids:?}");
            assert!(!pids.contains(&current_process().pid));
            // The pool goes on after all those ends: every form of the map family still works.
            assert_eq!(pool.map_chunked(0..50u64, sqr, 3).unwrap(), (0..50u64).map(sqr).collect::<Vec<_>>());
            let streamed: Vec<u64> = pool.imap(0..40u64, sqr).unwrap().collect::<Result<_, _>>().unwrap();
            assert_eq!(streamed, (0..40u64).map(sqr).collect::<Vec<_>>());
            let mut unordered: Vec<u64> = pool.imap_unordered_chunked(0..40u64, sqr, 3).unwrap().collect::<Result<_, _>>().unwrap();
            unordered.sort_unstable();
            assert_eq!(unordered, streamed);
            pool.close();
            pool.join_timeout(PATIENCE).unwrap();
        });
    }

    fn worker_lifetime_early_close_keeps_every_result() {
        watched(|| {
            // CPython's `test_pool_worker_lifetime_early_close`: one task per worker, then close
            // and join at once; every result is still there.
            let pool = Pool::builder().size(3).max_tasks_per_child(1).build().unwrap();
            let pending: Vec<_> = (0..6u64).map(|n| pool.apply_async(pid_and_sqr, n).unwrap()).collect();
            pool.close();
            pool.join_timeout(PATIENCE).unwrap();
            let pids: BTreeSet<u32> = pending
                .iter()
                .enumerate()
                .map(|(n, result)| {
                    let (pid, value) = result.try_get().expect("ready after join");
                    assert_eq!(value, (n as u64).pow(2));
                    pid
                })
                .collect();
            assert_eq!(pids.len(), 6, "a fresh worker for every task: {pids:?}");
        });
    }

    fn a_recycled_worker_ends_cleanly_and_flushes_its_queues() {
        watched(|| {
            // As CPython's `test_worker_finalization_via_atexit_handler_of_multiprocessing`: a
            // worker retired by `maxtasksperchild` ends as a process does (its exit handlers
            // run: here the flush of what its task put into a queue), it is not killed.
            let queue = Queue::<String>::new(0).unwrap();
            let pool = Pool::builder().size(1).max_tasks_per_child(1).build().unwrap();
            let first = pool.apply(put_then_return, queue.clone()).unwrap();
            for n in 0..PUT_ITEMS {
                let item = queue.get_timeout(PATIENCE).expect("every item arrives");
                assert_eq!(item.len(), PUT_ITEM_LEN);
                assert!(item.starts_with(char::from(b'a' + n as u8)), "in order");
            }
            let second = pool.apply(my_pid, ()).unwrap();
            assert_ne!(first, second, "the worker was recycled");
            pool.close();
            pool.join_timeout(PATIENCE).unwrap();
        });
    }

    fn the_pool_survives_worker_deaths_in_a_row() {
        watched(|| {
            let pool = Pool::new(2).unwrap();
            let mut victims = BTreeSet::new();
            for _ in 0..3 {
                let seen = Value::new_without_lock(0u32).unwrap();
                let doomed = pool.apply_async(report_and_sleep, seen.clone()).unwrap();
                common::wait_for("the task to start", || seen.get() != 0);
                let victim = seen.get();
                kill_child(victim);
                assert!(matches!(doomed.get_timeout(PATIENCE), Err(Error::WorkerDied { pid, .. }) if pid == victim));
                victims.insert(victim);
            }
            assert_eq!(pool.map(0..20u64, sqr).unwrap(), (0..20u64).map(sqr).collect::<Vec<_>>());
            let pids = worker_pids(&pool);
            assert_eq!(pids.len(), 2, "replacements took the dead workers' places: {pids:?}");
            assert!(pids.is_disjoint(&victims));
            pool.close();
            pool.join_timeout(PATIENCE).unwrap();
        });
    }

    fn an_unencodable_result_fails_its_task_alone_twenty_times_in_a_row() {
        watched(|| {
            // CPython's `_TestPoolWorkerErrors.test_unpickleable_result`: the error reaches
            // `get` and the error callback, 20 times in a row, and no worker is lost.
            let pool = Pool::new(2).unwrap();
            let before = worker_pids(&pool);
            for _ in 0..20 {
                let (tx, rx) = mpsc::channel();
                let callbacks = Callbacks::new().on_error(move |error: &Error| tx.send(error.clone()).unwrap());
                let result = pool.apply_async_with(make_picky, 13, callbacks).unwrap();
                let error = result.get_timeout(PATIENCE).unwrap_err();
                assert!(matches!(&error, Error::Encode(reason) if reason.contains("13 does not serialise")), "{error:?}");
                assert_eq!(rx.try_recv(), Ok(error), "the error callback saw the same error");
            }
            // A map with an argument that does not serialise fails at once, even after some
            // of its chunks were submitted: none of its callbacks runs.
            let (tx, rx) = mpsc::channel();
            let callbacks = Callbacks::new()
                .on_success({
                    let tx = tx.clone();
                    move |_: &Vec<u32>| tx.send("success").unwrap()
                })
                .on_error(move |_: &Error| tx.send("error").unwrap());
            let items: Vec<Picky> = (0..100).map(|n| Picky(if n == 90 { 13 } else { 1 })).collect();
            assert!(matches!(pool.map_async_with(items, picky_identity, Some(1), callbacks), Err(Error::Encode(_))));
            assert_eq!(pool.map_chunked(0..40u64, sqr, 1).unwrap().len(), 40, "the pool goes on");
            assert!(rx.try_recv().is_err(), "no callback of the abandoned map ran");
            // In a stream, the chunk whose result does not serialise fails alone.
            let streamed: Vec<Result<Picky, Error>> = pool.imap([12, 13, 14], make_picky).unwrap().collect();
            assert_eq!(streamed[0], Ok(Picky(12)));
            assert!(matches!(streamed[1], Err(Error::Encode(_))));
            assert_eq!(streamed[2], Ok(Picky(14)));
            assert_eq!(worker_pids(&pool), before, "no worker was lost");
        });
    }

    fn executor_futures_map_and_shutdown() {
        watched(|| {
            let executor = Executor::new(2).unwrap();
            let future = executor.submit(sqr, 7).unwrap();
            assert_eq!(future.result_timeout(PATIENCE).unwrap(), 49);
            let all: Vec<u64> = executor.map(0..10u64, sqr).unwrap().collect::<Result<_, _>>().unwrap();
            assert_eq!(all, (0..10u64).map(sqr).collect::<Vec<_>>());
            match executor.submit(explode, "no".to_owned()).unwrap().result_timeout(PATIENCE) {
                Err(Error::Panicked(report)) => assert_eq!(report.message, "no"),
                other => panic!("expected a panic, got {other:?}"),
            }
            assert_eq!(executor.submit(sqr, 3).unwrap().result_timeout(PATIENCE).unwrap(), 9, "not broken by a panic");
            let queued: Vec<_> = (0..50).map(|_| executor.submit(nap, 300).unwrap()).collect();
            executor.shutdown(false, true).unwrap();
            assert!(matches!(executor.submit(sqr, 1), Err(Error::PoolClosed)));
            assert_eq!(queued[49].result_timeout(PATIENCE), Err(Error::Cancelled));
            executor.shutdown_timeout(PATIENCE, false).unwrap();
            let ran = queued.iter().filter(|future| future.result_timeout(PATIENCE) == Ok(300)).count();
            // Handed to a worker already: the one each runs, and the next while tasks are quick.
            assert!(ran <= 4, "only the tasks already handed to a worker ran: {ran}");
            assert_eq!(queued.iter().filter(|future| future.cancelled()).count(), 50 - ran);
            assert!(queued.iter().all(|future| future.done()));
        });
    }

    fn a_killed_worker_breaks_the_executor() {
        watched(|| {
            let executor = Executor::new(2).unwrap();
            let seen = Value::new_without_lock(0u32).unwrap();
            let doomed = executor.submit(report_and_sleep, seen.clone()).unwrap();
            let queued: Vec<_> = (0..10).map(|_| executor.submit(nap, 60_000).unwrap()).collect();
            common::wait_for("the task to start", || seen.get() != 0);
            let victim = seen.get();
            kill_child(victim);
            match doomed.result_timeout(PATIENCE) {
                Err(Error::WorkerDied { pid, exitcode, .. }) => {
                    assert_eq!(pid, victim);
                    assert_eq!(exitcode, -9);
                }
                other => panic!("expected WorkerDied, got {other:?}"),
            }
            for future in &queued {
                match future.result_timeout(PATIENCE) {
                    Err(Error::BrokenPool(reason)) => assert!(reason.contains(&victim.to_string()), "{reason}"),
                    other => panic!("expected BrokenPool, got {other:?}"),
                }
            }
            assert!(matches!(executor.submit(sqr, 1), Err(Error::BrokenPool(_))));
            executor.shutdown_timeout(PATIENCE, false).unwrap();
        });
    }
}

conformance_async! {
    async fn the_async_forms_never_block() {
        watched_async(async {
            let pool = Pool::new(2).unwrap();
            let squares = pool.map_async(0..8u64, sqr).unwrap();
            assert_eq!(squares.get_async().await.unwrap(), (0..8u64).map(sqr).collect::<Vec<_>>());
            let one = pool.apply_async(sqr, 4).unwrap();
            one.wait_async().await;
            assert_eq!(one.try_get(), Ok(16));
            let mut ordered = pool.imap(0..5u64, sqr).unwrap();
            assert_eq!(ordered.next_async().await, Some(Ok(0)));
            let mut unordered = pool.imap_unordered([3u64], sqr).unwrap();
            assert_eq!(unordered.next_async().await, Some(Ok(9)));
            assert_eq!(unordered.next_async().await, None);
            let powers = pool.starmap_async(vec![(2u64, 3u32), (3, 2)], power).unwrap();
            assert_eq!(powers.get_async().await, Ok(vec![8, 9]));
            drop(ordered);
            pool.close();
            pool.join_async().await.unwrap();
            let executor = Executor::new(1).unwrap();
            assert_eq!(executor.submit(sqr, 6).unwrap().result_async().await, Ok(36));
            executor.shutdown_async(false).await.unwrap();
        })
        .await;
    }
}
