//! wasm-bindgen exports: `poolStart`, `processPoolStart`, `processPoolTasks` and `cpuWork` (see
//! the crate's documentation), and wasm-bindgen-rayon's `initThreadPool`, which its workers need
//! exported from this module.

use std::cell::RefCell;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use amphi::process::{Barrier, Pool};
use amphi::thread::Callbacks;
use amphi::time::Instant;
use amphi::ThreadPool;
use rayon::prelude::*;
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

// The peer's workers import this module and call its exports: they must stay exported.
#[allow(unreachable_pub)] // exported to JavaScript
pub use wasm_bindgen_rayon::init_thread_pool;

use crate::{hash, hash_task, serial_sum};

thread_local! {
    /// The amphi pool `poolStart` started, which `cpuWork` uses (the page's main thread only).
    static AMPHI_POOL: RefCell<Option<ThreadPool>> = const { RefCell::new(None) };
    /// The process pool `processPoolStart` started, which `processPoolTasks` and `cpuWork` use.
    static PROCESS_POOL: RefCell<Option<Pool>> = const { RefCell::new(None) };
}

/// How long a process pool's first tasks wait at their barrier for the other workers' before
/// the start-up fails (never reached when the workers start).
const MEET_PATIENCE: Duration = Duration::from_secs(60);

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len() % 2 == 1 {
        values[middle]
    } else {
        (values[middle - 1] + values[middle]) / 2.0
    }
}

fn to_js(value: &impl Serialize) -> JsValue {
    let text = serde_json::to_string(value).expect("the results always serialise");
    js_sys::JSON::parse(&text).expect("serde_json writes valid JSON")
}

fn js_error(why: impl std::fmt::Display) -> JsValue {
    js_sys::Error::new(&why.to_string()).into()
}

/// What `poolStart` measured, in milliseconds from the start of each pool's creation.
#[derive(Debug, Serialize)]
struct PoolStart {
    workers: usize,
    /// `ThreadPool::new(n)` returned (its workers are still starting).
    amphi_new_ms: f64,
    /// Every amphi worker has run a task (a `rayon::broadcast` inside a pool task, awaited).
    amphi_all_workers_ran_ms: f64,
    /// wasm-bindgen-rayon's `initThreadPool(n)` resolved.
    peer_init_ms: f64,
    /// A first `rayon::broadcast` on the global pool returned (every worker ran it).
    peer_all_workers_ran_ms: f64,
}

/// Starts amphi's pool, then wasm-bindgen-rayon's, each of `workers` workers, on the page's
/// main thread, and resolves to how long each took (see [`PoolStart`]). Once per page.
#[wasm_bindgen(js_name = poolStart)]
#[allow(unreachable_pub)] // exported to JavaScript
pub fn pool_start(workers: usize) -> js_sys::Promise {
    // Unwind safety: a panic here rejects the promise; nothing is reused after it.
    wasm_bindgen_futures::future_to_promise(AssertUnwindSafe(async move {
        if AMPHI_POOL.with(|pool| pool.borrow().is_some()) {
            return Err(js_error(
                "poolStart runs once per page (rayon's global pool is built once)",
            ));
        }
        let began = Instant::now();
        let pool = ThreadPool::new(workers).map_err(js_error)?;
        let amphi_new = began.elapsed();
        let ran = pool
            .apply_async(|| rayon::broadcast(|context| context.index()).len())
            .map_err(js_error)?
            .get_async()
            .await
            .map_err(js_error)?;
        let amphi_all_workers_ran = began.elapsed();
        if ran != workers {
            return Err(js_error(format!(
                "amphi's broadcast ran on {ran} of {workers} workers"
            )));
        }
        AMPHI_POOL.with(|slot| *slot.borrow_mut() = Some(pool));

        let began = Instant::now();
        JsFuture::from(init_thread_pool(workers)).await?;
        let peer_init = began.elapsed();
        let ran = rayon::broadcast(|context| context.index()).len();
        let peer_all_workers_ran = began.elapsed();
        if ran != workers {
            return Err(js_error(format!(
                "the peer's broadcast ran on {ran} of {workers} workers"
            )));
        }
        Ok(to_js(&PoolStart {
            workers,
            amphi_new_ms: ms(amphi_new),
            amphi_all_workers_ran_ms: ms(amphi_all_workers_ran),
            peer_init_ms: ms(peer_init),
            peer_all_workers_ran_ms: ms(peer_all_workers_ran),
        }))
    }))
}

/// A process pool task that does nothing: the per-task overhead's work.
fn same(item: u64) -> u64 {
    item
}

/// A process pool's first task: waits at `barrier` until every worker has one running, and
/// returns this worker's process id. A worker runs one task at a time, so the round completes
/// only once every worker of the pool has started and run a task.
fn meet(barrier: Barrier) -> Result<u32, String> {
    barrier.wait().map_err(|error| error.to_string())?;
    Ok(amphi::process::current_process().pid)
}

/// What `processPoolStart` measured, in milliseconds from the start of the pool's creation.
#[derive(Debug, Serialize)]
struct ProcessPoolStart {
    workers: usize,
    /// `Pool::new(n)` returned (each worker is a process worker that is still instantiating
    /// the module).
    new_ms: f64,
    /// Every worker has run a task: `n` tasks, each waiting at a barrier of `n` parties, all
    /// returned (awaited).
    all_workers_ran_ms: f64,
    /// The distinct process ids those tasks ran in (`n` of them).
    pids: Vec<u32>,
    /// The same for a second pool, started after the first (then terminated).
    second_pool_all_workers_ran_ms: f64,
    /// A bare `Process` of a function that does nothing, started and joined (`join_async`):
    /// the median of 3.
    bare_process_ms: f64,
}

/// Starts a process pool of `workers` and awaits a first round of tasks that needs every
/// worker: the pool, how long `Pool::new` took, how long until the round was done, and the
/// distinct process ids the round ran in.
async fn start_process_pool(
    workers: usize,
) -> Result<(Pool, Duration, Duration, Vec<u32>), JsValue> {
    let parties = u32::try_from(workers).map_err(js_error)?;
    let began = Instant::now();
    let pool = Pool::new(workers).map_err(js_error)?;
    let new = began.elapsed();
    let barrier = Barrier::new(parties)
        .map_err(js_error)?
        .with_timeout(MEET_PATIENCE);
    // The page keeps its handle until the tasks are done: a handle that only travels in a
    // task's serialised argument does not keep the barrier's object alive.
    let met = pool
        .map_async_with(
            vec![barrier.clone(); workers],
            meet,
            Some(1),
            Callbacks::new(),
        )
        .map_err(js_error)?
        .get_async()
        .await
        .map_err(js_error)?;
    let all_workers_ran = began.elapsed();
    drop(barrier);
    let mut pids = met
        .into_iter()
        .collect::<Result<Vec<u32>, String>>()
        .map_err(js_error)?;
    pids.sort_unstable();
    pids.dedup();
    if pids.len() != workers {
        return Err(js_error(format!(
            "the first tasks ran in {} processes, not {workers}",
            pids.len()
        )));
    }
    Ok((pool, new, all_workers_ran, pids))
}

/// A process that does nothing: a bare process's start and end.
fn nothing(_: ()) {}

/// Starts a process pool of `workers` workers on the page's main thread and resolves to how
/// long it took until every worker had run a task (see [`ProcessPoolStart`]). Once per page;
/// the pool is kept for `processPoolTasks` and `cpuWork`.
#[wasm_bindgen(js_name = processPoolStart)]
#[allow(unreachable_pub)] // exported to JavaScript
pub fn process_pool_start(workers: usize) -> js_sys::Promise {
    // Unwind safety: as `pool_start`'s.
    wasm_bindgen_futures::future_to_promise(AssertUnwindSafe(async move {
        if PROCESS_POOL.with(|pool| pool.borrow().is_some()) {
            return Err(js_error("processPoolStart runs once per page"));
        }
        let (pool, new, all_workers_ran, pids) = start_process_pool(workers).await?;
        // For the breakdown: a second pool (the page's thread workers and the region exist
        // now), and a bare process of a function that does nothing, started and joined.
        let (second, _, second_all_workers_ran, _) = start_process_pool(workers).await?;
        second.terminate();
        second.join_async().await.map_err(js_error)?;
        let mut bare = vec![];
        for _ in 0..3 {
            let began = Instant::now();
            let process = amphi::process::Process::new(nothing, ());
            process.start().map_err(js_error)?;
            process.join_async().await.map_err(js_error)?;
            bare.push(ms(began.elapsed()));
        }
        PROCESS_POOL.with(|slot| *slot.borrow_mut() = Some(pool));
        Ok(to_js(&ProcessPoolStart {
            workers,
            new_ms: ms(new),
            all_workers_ran_ms: ms(all_workers_ran),
            pids,
            second_pool_all_workers_ran_ms: ms(second_all_workers_ran),
            bare_process_ms: median(bare),
        }))
    }))
}

/// What `processPoolTasks` measured: medians over the runs, the process pool's and, as the
/// reference in the same page, the thread pool's (`poolStart`'s) on the same items.
#[derive(Debug, Serialize)]
struct ProcessPoolTasks {
    workers: usize,
    runs: usize,
    /// Items of the chunksize-1 map (one task each).
    tasks: u64,
    /// `map_async_with(0..tasks, same, Some(1))` awaited, per task, in microseconds.
    process_task_us: f64,
    /// `ThreadPool::map_async_with(0..tasks, same, Some(1))` awaited, per task, in microseconds.
    thread_task_us: f64,
    /// Items of the map with Python's default chunks (four chunks per worker).
    items: u64,
    /// `map_async(0..items, same)` awaited: items per second.
    process_items_per_s: f64,
    /// `ThreadPool::map_async(0..items, same)` awaited: items per second.
    thread_items_per_s: f64,
}

/// Measures the process pool's per-task overhead (a map of `tasks` trivial items with
/// chunksize 1) and its throughput with chunking (a map of `items` trivial items with Python's
/// default chunks), each awaited from the page's main thread, `runs` times interleaved with the
/// thread pool doing the same; resolves to the medians (see [`ProcessPoolTasks`]). After
/// `poolStart` and `processPoolStart`.
#[wasm_bindgen(js_name = processPoolTasks)]
#[allow(unreachable_pub)] // exported to JavaScript
pub fn process_pool_tasks(tasks: u32, items: u32, runs: u32) -> js_sys::Promise {
    // Unwind safety: as `pool_start`'s.
    wasm_bindgen_futures::future_to_promise(AssertUnwindSafe(async move {
        let (tasks, items) = (u64::from(tasks), u64::from(items));
        let runs = runs.max(1) as usize;
        let workers = PROCESS_POOL
            .with(|slot| slot.borrow().as_ref().map(Pool::size))
            .ok_or_else(|| js_error("processPoolTasks needs processPoolStart first"))?;
        if AMPHI_POOL.with(|slot| slot.borrow().is_none()) {
            return Err(js_error("processPoolTasks needs poolStart first"));
        }
        let expected = |n: u64| (0..n).collect::<Vec<u64>>();
        // One untimed round of each first: the workers' first maps of these types.
        let (mut process_task, mut thread_task) = (vec![], vec![]);
        let (mut process_item, mut thread_item) = (vec![], vec![]);
        for run in 0..=runs {
            let began = Instant::now();
            let pending = with_process_pool(|pool| {
                pool.map_async_with(0..tasks, same, Some(1), Callbacks::new())
            })?;
            let results = pending.get_async().await.map_err(js_error)?;
            let elapsed = began.elapsed();
            check_all("process pool, chunksize 1", &results, &expected(tasks))?;
            process_task.push(elapsed.as_secs_f64() * 1e6 / tasks as f64);

            let began = Instant::now();
            let pending = with_thread_pool(|pool| {
                pool.map_async_with(0..tasks, same, Some(1), Callbacks::new())
            })?;
            let results = pending.get_async().await.map_err(js_error)?;
            let elapsed = began.elapsed();
            check_all("thread pool, chunksize 1", &results, &expected(tasks))?;
            thread_task.push(elapsed.as_secs_f64() * 1e6 / tasks as f64);

            let began = Instant::now();
            let pending = with_process_pool(|pool| pool.map_async(0..items, same))?;
            let results = pending.get_async().await.map_err(js_error)?;
            let elapsed = began.elapsed();
            check_all("process pool, default chunks", &results, &expected(items))?;
            process_item.push(items as f64 / elapsed.as_secs_f64());

            let began = Instant::now();
            let pending = with_thread_pool(|pool| pool.map_async(0..items, same))?;
            let results = pending.get_async().await.map_err(js_error)?;
            let elapsed = began.elapsed();
            check_all("thread pool, default chunks", &results, &expected(items))?;
            thread_item.push(items as f64 / elapsed.as_secs_f64());

            if run == 0 {
                for figures in [
                    &mut process_task,
                    &mut thread_task,
                    &mut process_item,
                    &mut thread_item,
                ] {
                    figures.clear();
                }
            }
        }
        Ok(to_js(&ProcessPoolTasks {
            workers,
            runs,
            tasks,
            process_task_us: median(process_task),
            thread_task_us: median(thread_task),
            items,
            process_items_per_s: median(process_item),
            thread_items_per_s: median(thread_item),
        }))
    }))
}

/// `f` on the process pool `processPoolStart` kept.
fn with_process_pool<T>(f: impl FnOnce(&Pool) -> Result<T, amphi::Error>) -> Result<T, JsValue> {
    PROCESS_POOL.with(|slot| {
        let pool = slot.borrow();
        let pool = pool
            .as_ref()
            .ok_or_else(|| js_error("processPoolStart has not run"))?;
        f(pool).map_err(js_error)
    })
}

/// `f` on the thread pool `poolStart` kept.
fn with_thread_pool<T>(
    f: impl FnOnce(&ThreadPool) -> Result<T, amphi::Error>,
) -> Result<T, JsValue> {
    AMPHI_POOL.with(|slot| {
        let pool = slot.borrow();
        let pool = pool
            .as_ref()
            .ok_or_else(|| js_error("poolStart has not run"))?;
        f(pool).map_err(js_error)
    })
}

fn check_all(variant: &str, results: &[u64], expected: &[u64]) -> Result<(), JsValue> {
    if results == expected {
        Ok(())
    } else {
        Err(js_error(format!(
            "{variant}: the results are not the items in order"
        )))
    }
}

/// What `cpuWork` measured: the median milliseconds of each variant, and its speed-up over
/// the serial run (serial time over its time).
#[derive(Debug, Serialize)]
struct CpuWork {
    workers: usize,
    items: u64,
    rounds: u32,
    runs: usize,
    serial_ms: f64,
    /// The serial run inside one amphi pool task (on a worker), awaited.
    serial_on_worker_ms: f64,
    amphi_map_async_ms: f64,
    amphi_par_iter_ms: f64,
    peer_par_iter_ms: f64,
    /// The process pool's `map_async` of the same items (each `(item, rounds)`, Python's
    /// default chunks), awaited; only after `processPoolStart`.
    process_map_async_ms: Option<f64>,
    amphi_map_async_speedup: f64,
    amphi_par_iter_speedup: f64,
    peer_par_iter_speedup: f64,
    process_map_async_speedup: Option<f64>,
}

/// Runs the CPU-bound work serially and on both pools, `runs` times each, interleaved, and
/// resolves to the median times and speed-ups (see [`CpuWork`]). After `poolStart`.
#[wasm_bindgen(js_name = cpuWork)]
#[allow(unreachable_pub)] // exported to JavaScript
pub fn cpu_work(items: u32, rounds: u32, runs: u32) -> js_sys::Promise {
    // Unwind safety: as `pool_start`'s.
    wasm_bindgen_futures::future_to_promise(AssertUnwindSafe(async move {
        let items = u64::from(items);
        let runs = runs.max(1) as usize;
        let workers = AMPHI_POOL
            .with(|slot| slot.borrow().as_ref().map(ThreadPool::size))
            .ok_or_else(|| js_error("cpuWork needs poolStart first"))?;
        let (mut serial, mut map_async, mut par_iter, mut peer) = (vec![], vec![], vec![], vec![]);
        let mut on_worker = vec![];
        let mut process_map_async = vec![];
        let with_processes = PROCESS_POOL.with(|slot| slot.borrow().is_some());
        for _ in 0..runs {
            let began = Instant::now();
            let expected = serial_sum(std::hint::black_box(items), rounds);
            serial.push(ms(began.elapsed()));

            let began = Instant::now();
            let pending = AMPHI_POOL
                .with(|slot| {
                    let pool = slot.borrow();
                    let pool = pool.as_ref().expect("poolStart kept the pool");
                    pool.apply_async(move || serial_sum(items, rounds))
                })
                .map_err(js_error)?;
            let sum = pending.get_async().await.map_err(js_error)?;
            on_worker.push(ms(began.elapsed()));
            check("serial on a worker", sum, expected)?;

            let began = Instant::now();
            let pending = AMPHI_POOL
                .with(|slot| {
                    let pool = slot.borrow();
                    let pool = pool.as_ref().expect("poolStart kept the pool");
                    pool.map_async(0..items, move |item| hash(item, rounds))
                })
                .map_err(js_error)?;
            let hashes = pending.get_async().await.map_err(js_error)?;
            let sum = hashes.into_iter().fold(0u64, u64::wrapping_add);
            map_async.push(ms(began.elapsed()));
            check("amphi map_async", sum, expected)?;

            if with_processes {
                let began = Instant::now();
                let pending = with_process_pool(|pool| {
                    pool.map_async((0..items).map(|item| (item, rounds)), hash_task)
                })?;
                let hashes = pending.get_async().await.map_err(js_error)?;
                let sum = hashes.into_iter().fold(0u64, u64::wrapping_add);
                process_map_async.push(ms(began.elapsed()));
                check("process pool map_async", sum, expected)?;
            }

            let began = Instant::now();
            let pending = AMPHI_POOL
                .with(|slot| {
                    let pool = slot.borrow();
                    let pool = pool.as_ref().expect("poolStart kept the pool");
                    pool.apply_async(move || parallel_sum(items, rounds))
                })
                .map_err(js_error)?;
            let sum = pending.get_async().await.map_err(js_error)?;
            par_iter.push(ms(began.elapsed()));
            check("amphi par_iter", sum, expected)?;

            let began = Instant::now();
            let sum = parallel_sum(items, rounds);
            peer.push(ms(began.elapsed()));
            check("wasm-bindgen-rayon par_iter", sum, expected)?;
        }
        let (serial, map_async, par_iter, peer) = (
            median(serial),
            median(map_async),
            median(par_iter),
            median(peer),
        );
        let process_map_async = with_processes.then(|| median(process_map_async));
        Ok(to_js(&CpuWork {
            workers,
            items,
            rounds,
            runs,
            serial_ms: serial,
            serial_on_worker_ms: median(on_worker),
            amphi_map_async_ms: map_async,
            amphi_par_iter_ms: par_iter,
            peer_par_iter_ms: peer,
            process_map_async_ms: process_map_async,
            amphi_map_async_speedup: serial / map_async,
            amphi_par_iter_speedup: serial / par_iter,
            peer_par_iter_speedup: serial / peer,
            process_map_async_speedup: process_map_async.map(|time| serial / time),
        }))
    }))
}

/// The work as rayon's parallel iterator, on the pool of the calling thread (amphi's inside
/// one of its tasks; the global pool, wasm-bindgen-rayon's, on the page).
fn parallel_sum(items: u64, rounds: u32) -> u64 {
    (0..items)
        .into_par_iter()
        .map(|item| hash(item, rounds))
        .reduce(|| 0, u64::wrapping_add)
}

fn check(variant: &str, sum: u64, expected: u64) -> Result<(), JsValue> {
    if sum == expected {
        Ok(())
    } else {
        Err(js_error(format!(
            "{variant} summed to {sum}, the serial run to {expected}"
        )))
    }
}
