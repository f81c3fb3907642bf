//! The thread pool against rayon, its engine, measured in the same run on pools of the same
//! size (4 workers).
//!
//! - `pool_map_per_item`: one iteration is one item of a 100,000-item map of a trivial function
//!   (`n * 2 + 1` on `u64`), so criterion's mean is the per-item cost. `amphi_map`:
//!   `ThreadPool::map` with its default chunking (Python's: items / (4 * workers)), collecting
//!   the input first as Python does; `amphi_install_par_iter`: rayon's parallel iterator run on
//!   the amphi pool through `install`; `rayon_par_iter`: `par_iter().map().collect()` on a rayon
//!   pool of its own (installed, so both run on 4 workers).
//! - `pool_map_chunksize_1_per_item`: the same with one item per task, on 10,000 items
//!   (`ThreadPool::map_chunked(.., 1)` against `rayon::ThreadPool::spawn` of one job per item,
//!   gathered through a channel): the per-task cost that Python's `ThreadPool.map(chunksize=1)`
//!   pays about 29 µs for.
//! - `pool_apply_round_trip`: one iteration is one task submitted and its result awaited:
//!   `apply_async(f).get()` against `rayon::ThreadPool::install(f)` from outside the pool.
//!
//! - Then, outside criterion, `ThreadPool::map_chunked(.., 1)` per item (best of 3 rounds of
//!   `TASKS` items) against Python's `ThreadPool.map` and `Pool.map` with `chunksize=1`, run by
//!   `benches/peers/python_pool.py` with `python3` (skipped with a note if there is none); the
//!   line printed gives both and the ratio.
//!
//! Run with `cargo bench --bench pool`. Native only: on wasm32 this file compiles to an empty
//! `main`.

#[cfg(not(target_arch = "wasm32"))]
mod support;

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::hint::black_box;
    use std::process::Command;
    use std::time::{Duration, Instant};

    use criterion::{Criterion, SamplingMode};
    use rayon::prelude::*;

    const WORKERS: usize = 4;
    const ITEMS: u64 = 100_000;
    const TASKS: u64 = 10_000;

    fn work(n: u64) -> u64 {
        black_box(n) * 2 + 1
    }

    /// Runs `map_once` (which maps `items` items) often enough to cover `iters` items; the time
    /// per item.
    fn per_item(iters: u64, items: u64, mut map_once: impl FnMut() -> usize) -> Duration {
        let rounds = iters.div_ceil(items).max(1);
        let began = Instant::now();
        for _ in 0..rounds {
            assert_eq!(map_once(), items as usize);
        }
        began
            .elapsed()
            .mul_f64(iters as f64 / (rounds * items) as f64)
    }

    fn map_group(c: &mut Criterion, amphi: &amphi::ThreadPool, rayon: &rayon::ThreadPool) {
        let mut group = c.benchmark_group("pool_map_per_item");
        group.sampling_mode(SamplingMode::Flat);
        group.bench_function("amphi_map", |b| {
            b.iter_custom(|iters| {
                per_item(iters, ITEMS, || amphi.map(0..ITEMS, work).unwrap().len())
            })
        });
        group.bench_function("amphi_install_par_iter", |b| {
            b.iter_custom(|iters| {
                per_item(iters, ITEMS, || {
                    amphi
                        .install(|| (0..ITEMS).into_par_iter().map(work).collect::<Vec<_>>())
                        .unwrap()
                        .len()
                })
            })
        });
        group.bench_function("rayon_par_iter", |b| {
            b.iter_custom(|iters| {
                per_item(iters, ITEMS, || {
                    rayon
                        .install(|| (0..ITEMS).into_par_iter().map(work).collect::<Vec<_>>())
                        .len()
                })
            })
        });
        group.finish();
    }

    fn chunksize_1_group(c: &mut Criterion, amphi: &amphi::ThreadPool, rayon: &rayon::ThreadPool) {
        let mut group = c.benchmark_group("pool_map_chunksize_1_per_item");
        group.sampling_mode(SamplingMode::Flat);
        group.bench_function("amphi_map_chunked_1", |b| {
            b.iter_custom(|iters| {
                per_item(iters, TASKS, || {
                    amphi.map_chunked(0..TASKS, work, 1).unwrap().len()
                })
            })
        });
        group.bench_function("rayon_spawn_per_item", |b| {
            b.iter_custom(|iters| {
                per_item(iters, TASKS, || {
                    let (tx, rx) = crossbeam_channel::unbounded();
                    for n in 0..TASKS {
                        let tx = tx.clone();
                        rayon.spawn(move || tx.send((n, work(n))).unwrap());
                    }
                    drop(tx);
                    let mut results = vec![0; TASKS as usize];
                    for (n, value) in rx {
                        results[n as usize] = value;
                    }
                    results.len()
                })
            })
        });
        group.finish();
    }

    fn round_trip_group(c: &mut Criterion, amphi: &amphi::ThreadPool, rayon: &rayon::ThreadPool) {
        let mut group = c.benchmark_group("pool_apply_round_trip");
        group.sampling_mode(SamplingMode::Flat);
        group.bench_function("amphi_apply_async_get", |b| {
            b.iter(|| amphi.apply_async(|| work(1)).unwrap().get().unwrap())
        });
        group.bench_function("rayon_install", |b| b.iter(|| rayon.install(|| work(1))));
        group.finish();
    }

    /// `ThreadPool::map_chunked(.., 1)` per item: the best of 3 rounds of `TASKS` items.
    fn amphi_chunksize_1(amphi: &amphi::ThreadPool) -> f64 {
        (0..3)
            .map(|_| {
                let began = Instant::now();
                assert_eq!(
                    amphi.map_chunked(0..TASKS, work, 1).unwrap().len(),
                    TASKS as usize
                );
                began.elapsed().as_secs_f64() / TASKS as f64
            })
            .fold(f64::MAX, f64::min)
    }

    fn python_figures() -> Option<(f64, f64)> {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/peers/python_pool.py");
        let output = Command::new("python3")
            .arg(script)
            .arg(TASKS.to_string())
            .arg("3")
            .arg(WORKERS.to_string())
            .output()
            .ok()?;
        let figures: serde_json::Value = serde_json::from_slice(&output.stdout).ok()?;
        Some((
            figures["thread_pool_map_chunksize_1"].as_f64()?,
            figures["process_pool_map_chunksize_1"].as_f64()?,
        ))
    }

    fn against_python(amphi: &amphi::ThreadPool) {
        let ours = amphi_chunksize_1(amphi);
        match python_figures() {
            Some((threads, processes)) => println!(
                "pool_map_chunksize_1 vs Python: amphi {:.0} ns per item; Python ThreadPool.map {:.0} ns ({:.0}x amphi), Pool.map {:.0} ns ({:.0}x amphi)",
                ours * 1e9,
                threads * 1e9,
                threads / ours,
                processes * 1e9,
                processes / ours
            ),
            None => println!(
                "pool_map_chunksize_1 vs Python: amphi {:.0} ns per item; Python peer skipped (no python3)",
                ours * 1e9
            ),
        }
    }

    pub(crate) fn main() {
        let mut criterion = crate::support::criterion();
        let amphi = amphi::ThreadPool::new(WORKERS).unwrap();
        let rayon = rayon::ThreadPoolBuilder::new()
            .num_threads(WORKERS)
            .build()
            .unwrap();
        map_group(&mut criterion, &amphi, &rayon);
        chunksize_1_group(&mut criterion, &amphi, &rayon);
        round_trip_group(&mut criterion, &amphi, &rayon);
        criterion.final_summary();
        against_python(&amphi);
    }
}

fn main() {
    #[cfg(not(target_arch = "wasm32"))]
    native::main();
}
