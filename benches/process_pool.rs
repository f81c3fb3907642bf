//! The process pool against its peers, measured in the same run:
//!
//! - per-task overhead: `Pool::map_chunked` with chunksize 1 and `Executor::map` on trivial
//!   work, against Python's `Pool.map(chunksize=1)` and `ProcessPoolExecutor.map`;
//! - throughput with chunking: `Pool::map` with its default chunks, items per second;
//! - start-up: `Pool::new(n)` until every worker has run a task (`n` tasks with chunksize 1,
//!   each waiting at a process `Barrier` of `n` parties, so the round completes only with every
//!   worker in it), for the program's first pool (which also creates the shared region and the
//!   process service) and for a second one, with the time `Pool::new` itself took, and a bare
//!   `Process` of a function that does nothing, started and joined, for reference; against
//!   Python's `Pool(n)` with the spawn start method until its first `map` of `n` items returned;
//! - CPU-bound speed-up: the same work serially and on the pool's workers, for each side.
//!
//! Python runs from `benches/peers/python_process_pool.py` with `python3` (skipped with a note
//! if there is none). Run with `cargo bench --bench process_pool` (native only: on wasm32 this
//! is an empty `main`); `cargo bench --bench process_pool -- start` runs the start-up figures
//! alone, `-- tasks` the start-up and per-task figures (for a profiler or `strace`).

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::hint::black_box;
    use std::process::Command;

    use amphi::process::{Barrier, Executor, Pool, Process};
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

    /// A pool's first task: waits at `barrier` until every worker has one running (a worker
    /// runs one task at a time), then returns this worker's process id.
    fn meet(barrier: Barrier) -> u32 {
        barrier.wait().expect("every worker reaches the barrier");
        amphi::process::current_process().pid
    }

    fn nothing(_: ()) {}

    /// How long a pool took to start: `Pool::new(n)` returning, and every worker having run a
    /// task (from the same start). The pool is returned for use.
    struct Start {
        new: f64,
        all_ran: f64,
        pool: Pool,
    }

    fn start_pool() -> Start {
        let began = Instant::now();
        let pool = Pool::new(WORKERS).expect("a pool");
        let new = began.elapsed().as_secs_f64();
        let barrier = Barrier::new(WORKERS as u32)
            .expect("a barrier")
            .with_timeout(std::time::Duration::from_secs(60));
        let mut pids = pool
            .map_chunked(vec![barrier.clone(); WORKERS], meet, 1)
            .expect("map");
        let all_ran = began.elapsed().as_secs_f64();
        pids.sort_unstable();
        pids.dedup();
        assert_eq!(
            pids.len(),
            WORKERS,
            "every worker ran one of the first tasks"
        );
        Start { new, all_ran, pool }
    }

    /// The start-up figures: the program's first pool, a second one, and the median of 20
    /// bare processes started and joined.
    fn start_figures() -> (Start, Start, f64) {
        let first = start_pool();
        let second = start_pool();
        let mut process: Vec<f64> = (0..20)
            .map(|_| {
                seconds(|| {
                    let child = Process::new(nothing, ());
                    child.start().expect("start");
                    child.join().expect("join");
                })
            })
            .collect();
        process.sort_by(f64::total_cmp);
        (first, second, process[process.len() / 2])
    }

    fn print_start(first: &Start, second: &Start, process: f64) {
        println!(
            "pool_start_{WORKERS}: amphi {:.2} ms ({:.2} ms per worker): new returned {:.2} ms; first pool of the program (creates the region and the process service) {:.2} ms, new returned {:.2} ms; one bare process start + join {:.2} ms",
            second.all_ran * 1e3,
            second.all_ran * 1e3 / WORKERS as f64,
            second.new * 1e3,
            first.all_ran * 1e3,
            first.new * 1e3,
            process * 1e3
        );
    }

    fn seconds(f: impl FnOnce()) -> f64 {
        let start = Instant::now();
        f();
        start.elapsed().as_secs_f64()
    }

    struct Figures {
        /// amphi: a second pool's start (see [`start_figures`]); Python: its first.
        pool_start: f64,
        pool_task: f64,
        executor_task: f64,
        pool_item: f64,
        cpu_serial: f64,
        cpu_pool: f64,
    }

    /// `Pool::map_chunked` with chunksize 1 on trivial work: seconds per task, best of 3 (a
    /// busy machine only ever slows a round).
    fn pool_task(pool: &Pool) -> f64 {
        pool.map_chunked(0..100, same, 1).expect("warm up");
        (0..3)
            .map(|_| {
                seconds(|| {
                    pool.map_chunked(0..TASKS, same, 1).expect("map");
                })
            })
            .fold(f64::MAX, f64::min)
            / TASKS as f64
    }

    /// `Executor::map` (one task per item) on trivial work: seconds per task, best of 3.
    fn executor_task() -> f64 {
        let executor = Executor::new(WORKERS).expect("an executor");
        executor.map(0..100, same).expect("warm up").for_each(drop);
        (0..3)
            .map(|_| {
                seconds(|| {
                    for result in executor.map(0..TASKS, same).expect("map") {
                        result.expect("a result");
                    }
                })
            })
            .fold(f64::MAX, f64::min)
            / TASKS as f64
    }

    fn amphi_figures(start: &Start) -> Figures {
        let pool_start = start.all_ran;
        let pool = &start.pool;
        let pool_task = pool_task(pool);
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
        let executor_task = executor_task();
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
        let (first, second, process) = start_figures();
        print_start(&first, &second, process);
        let only = |name: &str| std::env::args().skip(1).any(|arg| arg == name);
        if only("start") {
            return;
        }
        if only("tasks") {
            println!(
                "pool_task_chunksize_1: amphi Pool {:.2} us per task",
                pool_task(&second.pool) * 1e6
            );
            println!(
                "pool_task_chunksize_1: amphi Executor {:.2} us per task",
                executor_task() * 1e6
            );
            return;
        }
        drop(first);
        let amphi = amphi_figures(&second);
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
