//! The process pool against its peers, measured in the same run:
//!
//! - per-task overhead: `Pool::map_chunked` with chunksize 1 and `Executor::map` on trivial
//!   work, against Python's `Pool.map(chunksize=1)` and `ProcessPoolExecutor.map`;
//! - throughput with chunking: `Pool::map` with its default chunks, items per second;
//! - start-up: `Pool::new(n)` until its first `map` of `n` items returned, against Python's
//!   `Pool(n)` with the spawn start method;
//! - CPU-bound speed-up: the same work serially and on the pool's workers, for each side.
//!
//! Python runs from `benches/peers/python_process_pool.py` with `python3` (skipped with a note
//! if there is none). Run with `cargo bench --bench process_pool` (native only: on wasm32 this
//! is an empty `main`).

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::hint::black_box;
    use std::process::Command;

    use amphi::process::{Executor, Pool};
    use amphi::time::Instant;

    const WORKERS: usize = 2;
    const TASKS: u64 = 20_000;
    const PYTHON_TASKS: u64 = 5_000;
    const ITEMS: u64 = 2_000_000;
    const PYTHON_ITEMS: u64 = 200_000;
    const CPU_TASKS: u64 = 8;
    const CPU_ROUNDS: u64 = 100_000_000;
    const PYTHON_CPU_ROUNDS: u64 = 2_000_000;

    fn same(x: u64) -> u64 {
        x
    }

    fn burn(rounds: u64) -> u64 {
        let mut total = 0u64;
        for i in 0..rounds {
            total = (total + black_box(i) * i) % 1_000_003;
        }
        total
    }

    fn seconds(f: impl FnOnce()) -> f64 {
        let start = Instant::now();
        f();
        start.elapsed().as_secs_f64()
    }

    struct Figures {
        pool_start: f64,
        pool_task: f64,
        executor_task: f64,
        pool_item: f64,
        cpu_serial: f64,
        cpu_pool: f64,
    }

    fn amphi_figures() -> Figures {
        let pool_start = seconds(|| {
            let pool = Pool::new(WORKERS).expect("a pool");
            pool.map_chunked(0..WORKERS as u64, same, 1).expect("map");
        });
        let pool = Pool::new(WORKERS).expect("a pool");
        pool.map_chunked(0..100, same, 1).expect("warm up");
        // Best of 3: a busy machine only ever slows a round.
        let pool_task = (0..3)
            .map(|_| {
                seconds(|| {
                    pool.map_chunked(0..TASKS, same, 1).expect("map");
                })
            })
            .fold(f64::MAX, f64::min)
            / TASKS as f64;
        let pool_item = seconds(|| {
            pool.map(0..ITEMS, same).expect("map");
        }) / ITEMS as f64;
        let cpu_pool = seconds(|| {
            pool.map_chunked(vec![CPU_ROUNDS; CPU_TASKS as usize], burn, 1)
                .expect("map");
        });
        let cpu_serial = seconds(|| {
            for _ in 0..CPU_TASKS {
                black_box(burn(CPU_ROUNDS));
            }
        });
        let executor = Executor::new(WORKERS).expect("an executor");
        executor.map(0..100, same).expect("warm up").for_each(drop);
        let executor_task = (0..3)
            .map(|_| {
                seconds(|| {
                    for result in executor.map(0..TASKS, same).expect("map") {
                        result.expect("a result");
                    }
                })
            })
            .fold(f64::MAX, f64::min)
            / TASKS as f64;
        Figures {
            pool_start,
            pool_task,
            executor_task,
            pool_item,
            cpu_serial,
            cpu_pool,
        }
    }

    fn python_figures() -> Option<Figures> {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/benches/peers/python_process_pool.py"
        );
        let output = Command::new("python3")
            .arg(script)
            .args(
                [
                    WORKERS as u64,
                    PYTHON_TASKS,
                    PYTHON_ITEMS,
                    CPU_TASKS,
                    PYTHON_CPU_ROUNDS,
                ]
                .map(|n| n.to_string()),
            )
            .output()
            .ok()?;
        let figures: serde_json::Value = serde_json::from_slice(&output.stdout).ok()?;
        let get = |name: &str| figures[name].as_f64();
        Some(Figures {
            pool_start: get("pool_start")?,
            pool_task: get("pool_task")?,
            executor_task: get("executor_task")?,
            pool_item: get("pool_item")?,
            cpu_serial: get("cpu_serial")?,
            cpu_pool: get("cpu_pool")?,
        })
    }

    pub(crate) fn main() {
        let amphi = amphi_figures();
        println!(
            "pool_start_{WORKERS}: amphi {:.2} ms ({:.2} ms per worker)",
            amphi.pool_start * 1e3,
            amphi.pool_start * 1e3 / WORKERS as f64
        );
        println!(
            "pool_task_chunksize_1: amphi Pool {:.2} us, Executor {:.2} us per task",
            amphi.pool_task * 1e6,
            amphi.executor_task * 1e6
        );
        println!(
            "pool_map_default_chunks: amphi {:.0} items/s",
            1.0 / amphi.pool_item
        );
        println!(
            "cpu_speedup_{WORKERS}: amphi {:.2}x (serial {:.3} s, pool {:.3} s)",
            amphi.cpu_serial / amphi.cpu_pool,
            amphi.cpu_serial,
            amphi.cpu_pool
        );
        let Some(python) = python_figures() else {
            println!("python3 not found: no peer figures");
            return;
        };
        println!(
            "pool_start_{WORKERS}: python spawn {:.2} ms, python / amphi = {:.1}x",
            python.pool_start * 1e3,
            python.pool_start / amphi.pool_start
        );
        println!(
            "pool_task_chunksize_1: python Pool {:.2} us ({:.1}x amphi's), ProcessPoolExecutor {:.2} us ({:.1}x amphi's)",
            python.pool_task * 1e6,
            python.pool_task / amphi.pool_task,
            python.executor_task * 1e6,
            python.executor_task / amphi.executor_task
        );
        println!(
            "pool_map_default_chunks: python {:.0} items/s, amphi / python = {:.1}x",
            1.0 / python.pool_item,
            python.pool_item / amphi.pool_item
        );
        println!(
            "cpu_speedup_{WORKERS}: python {:.2}x",
            python.cpu_serial / python.cpu_pool
        );
    }
}

fn main() {
    #[cfg(not(target_arch = "wasm32"))]
    native::main();
}
