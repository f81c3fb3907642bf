//! The browser pool benchmark (`www/bench.html`): amphi's `ThreadPool` against
//! wasm-bindgen-rayon, its browser peer, in one page load, on the same number of workers; and
//! amphi's process `Pool` on as many process workers, next to them.
//!
//! - `poolStart(workers)`: how long a pool takes to start on the page's main thread. amphi:
//!   `ThreadPool::new(n)` returning, then until every worker has run a task (a task that runs
//!   `rayon::broadcast` on all of them, awaited). wasm-bindgen-rayon: `initThreadPool(n)`
//!   resolving, then until a first `rayon::broadcast` on its global pool has returned (the main
//!   thread spins for it, as every call into that pool from the page does).
//! - `processPoolStart(workers)`: `amphi::process::Pool::new(n)` returning, then until every
//!   worker has run a task (`n` tasks with chunksize 1, each waiting at a process `Barrier` of
//!   `n` parties, so the round completes only with every worker in it), awaited.
//! - `processPoolTasks(tasks, items, runs)`: the process pool's per-task overhead (a map of
//!   `tasks` trivial items with chunksize 1) and its throughput with chunking (a map of `items`
//!   trivial items with Python's default chunks), awaited from the main thread, interleaved
//!   with amphi's `ThreadPool` doing the same; medians.
//! - `cpuWork(items, rounds, runs)`: the same CPU-bound work (an integer hash of `rounds`
//!   mixing steps for each of `items` items, summed) serially on the main thread, on amphi's
//!   pool through `map_async` (Python's default chunks) awaited from the main thread, on
//!   amphi's pool through rayon's `par_iter` run inside a pool task (what `install` runs; the
//!   page awaits it), with wasm-bindgen-rayon's `par_iter` called from the main thread
//!   (which spins while the global pool works), and, after `processPoolStart`, on the process
//!   pool through `map_async` (awaited). Each variant runs `runs` times, interleaved; the
//!   figures are medians, and every variant's sum must equal the serial one.
//!
//! wasm-bindgen-rayon owns rayon's global pool, which can be built once per page: `poolStart`
//! must run before `cpuWork`, and once. The process pool's workers are process workers, each
//! with its own instance of this module (the tasks are this crate's functions, named by their
//! function-table index, the same in every instance). This crate is only built by the
//! benchmark scripts (`scripts/bench-build-web.mjs`, into `www/bench-pkg/`); nothing of it,
//! wasm-bindgen-rayon included, is in amphi or its npm package. It is only meaningful on
//! wasm32; natively it compiles to the work function.

#[cfg(target_arch = "wasm32")]
mod bindings;

/// The benchmark's unit of CPU-bound work: `rounds` steps of a 64-bit mixing function
/// (MurmurHash3's finaliser) from `item`.
pub fn hash(item: u64, rounds: u32) -> u64 {
    let mut x = item;
    for _ in 0..rounds {
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^= x >> 33;
        x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        x ^= x >> 33;
    }
    x
}

/// [`hash`] as a process pool's task: a plain function of one serde argument.
pub fn hash_task((item, rounds): (u64, u32)) -> u64 {
    hash(item, rounds)
}

/// The serial reference: every item's hash, summed (wrapping).
pub fn serial_sum(items: u64, rounds: u32) -> u64 {
    (0..items).fold(0, |sum, item| sum.wrapping_add(hash(item, rounds)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_mixes_and_the_sum_does_not_depend_on_the_order() {
        assert_ne!(hash(1, 1), hash(2, 1));
        assert_ne!(hash(1, 1), hash(1, 2));
        let reversed = (0..100)
            .rev()
            .fold(0u64, |sum, item| sum.wrapping_add(hash(item, 10)));
        assert_eq!(serial_sum(100, 10), reversed);
    }
}
