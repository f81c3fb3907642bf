//! wasm-bindgen exports: `poolStart` and `cpuWork` (see the crate's documentation), and
//! wasm-bindgen-rayon's `initThreadPool`, which its workers need exported from this module.

use std::cell::RefCell;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use amphi::time::Instant;
use amphi::ThreadPool;
use rayon::prelude::*;
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

// The peer's workers import this module and call its exports: they must stay exported.
#[allow(unreachable_pub)] // exported to JavaScript
pub use wasm_bindgen_rayon::init_thread_pool;

use crate::{hash, serial_sum};

thread_local! {
    /// The amphi pool `poolStart` started, which `cpuWork` uses (the page's main thread only).
    static AMPHI_POOL: RefCell<Option<ThreadPool>> = const { RefCell::new(None) };
}

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
    amphi_map_async_speedup: f64,
    amphi_par_iter_speedup: f64,
    peer_par_iter_speedup: f64,
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
            amphi_map_async_speedup: serial / map_async,
            amphi_par_iter_speedup: serial / par_iter,
            peer_par_iter_speedup: serial / peer,
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
