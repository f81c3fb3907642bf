//! The CPU-bound speed-up of amphi's `ThreadPool` on N workers, against rayon on the same
//! number of workers in the same run (the browser's counterpart is `www/bench.html`).
//!
//! The work is the browser benchmark's: `ITEMS` items, each hashed with `ROUNDS` mixing steps,
//! summed. It runs serially, then for each worker count (1, 2, 4, 8, 16, up to the machine's
//! cores, and the cores themselves) on a fresh pool of each kind:
//! `ThreadPool::map` (its default split), rayon's `par_iter` on the amphi pool through
//! `install`, and rayon's `par_iter` on a `rayon::ThreadPool` of its own. Each figure is the
//! median of `RUNS` runs (after one warm-up); the speed-up is the serial time over it, and the
//! target is 0.9 times the workers (up to the cores). Every sum must equal the serial one.
//! Nothing asserts on timings. Native only: on wasm32 this file compiles to an empty `main`.
//!
//! Run with `cargo bench -p amphi-bench-pool --bench cpu_speedup`; it prints one Markdown table.

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::hint::black_box;
    use std::time::Instant;

    use amphi_bench_pool::{hash, serial_sum};
    use rayon::prelude::*;

    const ITEMS: u64 = 2000;
    const ROUNDS: u32 = 60_000;
    const RUNS: usize = 5;

    /// The median of `RUNS` timed runs of `run` (after one untimed), in milliseconds; every run
    /// must return `expected`.
    fn median_ms(expected: u64, mut run: impl FnMut() -> u64) -> f64 {
        assert_eq!(
            run(),
            expected,
            "a warm-up run summed differently from the serial one"
        );
        let mut times: Vec<f64> = (0..RUNS)
            .map(|_| {
                let began = Instant::now();
                let sum = run();
                let elapsed = began.elapsed().as_secs_f64() * 1e3;
                assert_eq!(
                    sum, expected,
                    "a run summed differently from the serial one"
                );
                elapsed
            })
            .collect();
        times.sort_by(f64::total_cmp);
        times[RUNS / 2]
    }

    fn parallel_sum() -> u64 {
        (0..black_box(ITEMS))
            .into_par_iter()
            .map(|item| hash(item, ROUNDS))
            .reduce(|| 0, u64::wrapping_add)
    }

    pub(crate) fn main() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut counts: Vec<usize> = [1, 2, 4, 8, 16]
            .into_iter()
            .filter(|&n| n <= cores)
            .collect();
        if !counts.contains(&cores) {
            counts.push(cores);
        }
        let expected = serial_sum(ITEMS, ROUNDS);
        let serial = median_ms(expected, || serial_sum(black_box(ITEMS), ROUNDS));
        println!(
            "CPU-bound speed-up: {ITEMS} items x {ROUNDS} hash rounds, serial {serial:.1} ms \
             (median of {RUNS}); {cores} cores\n"
        );
        println!(
            "| workers | amphi map | speed-up | amphi install(par_iter) | speed-up | rayon par_iter | speed-up | amphi map / rayon | target (0.9 x workers) |"
        );
        println!("|---:|---:|---:|---:|---:|---:|---:|---:|---|");
        for workers in counts {
            let amphi = amphi::ThreadPool::new(workers).expect("an amphi pool starts");
            let rayon = rayon::ThreadPoolBuilder::new()
                .num_threads(workers)
                .build()
                .expect("a rayon pool starts");
            let map = median_ms(expected, || {
                amphi
                    .map(0..ITEMS, |item| hash(item, ROUNDS))
                    .expect("the map runs")
                    .into_iter()
                    .fold(0, u64::wrapping_add)
            });
            let install = median_ms(expected, || {
                amphi.install(parallel_sum).expect("install runs")
            });
            let peer = median_ms(expected, || rayon.install(parallel_sum));
            let target = 0.9 * workers.min(cores) as f64;
            let best = (serial / map).max(serial / install);
            println!(
                "| {workers} | {map:.1} ms | {:.2}x | {install:.1} ms | {:.2}x | {peer:.1} ms | {:.2}x | {:.2}x | ≥ {target:.2}x: {} |",
                serial / map,
                serial / install,
                serial / peer,
                map / peer,
                if best >= target { "met" } else { "missed" },
            );
            amphi.close();
            amphi.join().expect("the amphi pool's workers end");
        }
    }
}

fn main() {
    #[cfg(not(target_arch = "wasm32"))]
    native::main();
}
