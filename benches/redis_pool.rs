//! The process pools over Redis against their peers, measured in the same run, with 2 workers
//! over a local `redis-server` (a Unix socket, persistence off, started and killed by the
//! bench, as the tests start theirs):
//!
//! - per-task overhead: `Pool::map_chunked` with chunksize 1 and `Executor::map` on trivial
//!   work over Redis, against the local process `Pool::map_chunked` with chunksize 1 and a
//!   plain Python `XREADGROUP` worker (`benches/peers/python_redis_worker.py`: the same
//!   stream, group and round trips, with the `redis` package), and against RQ, Python's most
//!   used Redis task queue (`benches/peers/python_rq.py`: two `SimpleWorker`s, which run jobs
//!   in the worker process rather than forking one per job);
//! - throughput with chunking: `Pool::map` with its default chunks, items per second, over
//!   Redis and locally.
//!
//! Python's `redis` and `rq` packages are installed with `pip` into a virtual environment under
//! the target directory when `python3` lacks them; the Python peers are skipped with a note if
//! that fails.
//! Run with `cargo bench --features redis --bench redis_pool`. Nothing here asserts on timings.

#[path = "../tests/common/redis_server.rs"]
mod redis_server;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use amphi::process::{start_redis_worker, Pool, RedisBuilder, WorkerOptions};

const WORKERS: usize = 2;
const TASKS: u64 = 5_000;
const LOCAL_TASKS: u64 = 20_000;
/// RQ takes about a millisecond a job: fewer of them give as steady a figure.
const RQ_TASKS: u64 = 1_000;
const ITEMS: u64 = 1_000_000;

fn same(x: u64) -> u64 {
    x
}

/// Seconds per task of `map_chunked(.., 1)` on `pool`, after a warm-up.
fn per_task(pool: &Pool, tasks: u64) -> f64 {
    pool.map_chunked(0..200u64, same, 1).expect("warm-up");
    let began = Instant::now();
    let out = pool.map_chunked(0..tasks, same, 1).expect("map");
    assert_eq!(out.len() as u64, tasks);
    began.elapsed().as_secs_f64() / tasks as f64
}

/// Items per second of `map` with the default chunks on `pool`.
fn items_per_second(pool: &Pool) -> f64 {
    let began = Instant::now();
    let out = pool.map(0..ITEMS, same).expect("map");
    assert_eq!(out.len() as u64, ITEMS);
    ITEMS as f64 / began.elapsed().as_secs_f64()
}

/// A `python3` with the `redis` and `rq` packages: the system's, or a virtual environment's
/// under the target directory, created (and the packages installed) if need be.
fn python_with_redis() -> Result<PathBuf, String> {
    let has_redis = |python: &PathBuf| {
        Command::new(python)
            .args(["-c", "import redis, rq"])
            .output()
            .is_ok_and(|out| out.status.success())
    };
    let system = PathBuf::from("python3");
    if has_redis(&system) {
        return Ok(system);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/target")));
    let venv = target.join("redis-bench-venv");
    let python = venv.join("bin/python3");
    if !has_redis(&python) {
        let made = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .output()
            .map_err(|err| format!("python3 -m venv: {err}"))?;
        if !made.status.success() {
            return Err(format!(
                "python3 -m venv failed: {}",
                String::from_utf8_lossy(&made.stderr)
            ));
        }
        let installed = Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "redis", "rq"])
            .output()
            .map_err(|err| format!("pip install redis rq: {err}"))?;
        if !installed.status.success() || !has_redis(&python) {
            return Err(format!(
                "pip install redis rq failed: {}",
                String::from_utf8_lossy(&installed.stderr)
            ));
        }
    }
    Ok(python)
}

/// Seconds per task of the Python peer `script` (in benches/peers/) running `tasks` tasks on
/// [`WORKERS`] workers, as it reports them under `figure`.
fn python_per_task(
    socket: &std::path::Path,
    script: &str,
    tasks: u64,
    figure: &str,
) -> Result<f64, String> {
    let python = python_with_redis()?;
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("benches/peers")
        .join(script);
    let output = Command::new(python)
        .arg(script)
        .arg(socket)
        .args([WORKERS as u64, tasks].map(|n| n.to_string()))
        .output()
        .map_err(|err| format!("python3: {err}"))?;
    let figures: serde_json::Value = serde_json::from_slice(&output.stdout).map_err(|err| {
        format!(
            "unreadable figures ({err}): {}",
            String::from_utf8_lossy(&output.stderr)
        )
    })?;
    figures[figure]
        .as_f64()
        .ok_or_else(|| format!("no {figure} figure"))
}

fn main() {
    let server = redis_server::RedisServer::start();
    let url = server.url();
    let options = WorkerOptions::new().pool("bench");
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| start_redis_worker(&url, &options).expect("a worker"))
        .collect();
    let began = Instant::now();
    let pool = loop {
        let pool = RedisBuilder::new(&url)
            .pool("bench")
            .build_pool()
            .expect("connect");
        if pool.size() >= WORKERS {
            break pool;
        }
        assert!(
            began.elapsed() < Duration::from_secs(60),
            "workers did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let redis_task = per_task(&pool, TASKS);
    let executor = RedisBuilder::new(&url)
        .pool("bench")
        .size(WORKERS)
        .build_executor()
        .expect("an executor");
    let began = Instant::now();
    let count = executor
        .map(0..TASKS, same)
        .expect("map")
        .filter(Result::is_ok)
        .count();
    assert_eq!(count as u64, TASKS);
    let redis_executor_task = began.elapsed().as_secs_f64() / TASKS as f64;
    let redis_items = items_per_second(&pool);
    drop(executor);
    drop(pool);
    for worker in &workers {
        let _ = worker.kill();
    }

    let local = Pool::new(WORKERS).expect("a local pool");
    let local_task = per_task(&local, LOCAL_TASKS);
    let local_items = items_per_second(&local);
    drop(local);

    println!(
        "redis_pool_task_chunksize_1: amphi Pool over Redis {:.1} us per task, local process Pool {:.2} us (redis / local = {:.1}x)",
        redis_task * 1e6,
        local_task * 1e6,
        redis_task / local_task
    );
    println!(
        "redis_executor_task: amphi Executor over Redis {:.1} us per task",
        redis_executor_task * 1e6
    );
    println!(
        "redis_pool_items: amphi Pool over Redis {:.2} M items/s with default chunks, local process Pool {:.2} M items/s",
        redis_items / 1e6,
        local_items / 1e6
    );
    match python_per_task(&server.socket(), "python_redis_worker.py", TASKS, "redis_task") {
        Ok(python_task) => println!(
            "redis_pool_task_chunksize_1: python XREADGROUP worker {:.1} us per task, python / amphi = {:.2}x",
            python_task * 1e6,
            python_task / redis_task
        ),
        Err(reason) => println!("python XREADGROUP peer skipped: {reason}"),
    }
    match python_per_task(&server.socket(), "python_rq.py", RQ_TASKS, "rq_task") {
        Ok(rq_task) => println!(
            "redis_pool_task_chunksize_1: RQ with 2 SimpleWorkers {:.1} us per task, RQ / amphi = {:.1}x",
            rq_task * 1e6,
            rq_task / redis_task
        ),
        Err(reason) => println!("RQ peer skipped: {reason}"),
    }
}
