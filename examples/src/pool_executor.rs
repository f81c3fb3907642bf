//! Seed 001, "process pool": a pool of four workers runs `map`, `apply` and `map_async`; then
//! an executor of four runs `map` and five `submit`s collected with
//! [`as_completed`], which yields them in the order they finish.
//!
//! Written once over a [`Family`]: `pool-executor` runs it on a
//! [`ThreadPool`](amphi::ThreadPool) and a [`thread::Executor`](amphi::thread::Executor),
//! `process-pool-executor` on a process [`Pool`](amphi::process::Pool) and a
//! [`process::Executor`](amphi::process::Executor) (`ProcessPoolExecutor`), as the seed does.

use crate::family::{Family, TaskExecutor, TaskPool};
use crate::Run;
use amphi::thread::as_completed;
use amphi::Error;

fn square(x: u64) -> u64 {
    x * x
}

pub(super) fn run<F: Family>(run: &mut Run) -> Result<(), Error> {
    run.line(format!("--- {} ---", F::POOL));
    let pool = F::Pool::start(4)?;
    let mapped = pool.map((0..10).collect(), square)?;
    run.line(format!("map: {mapped:?}"));
    let applied = pool.apply(square, 5)?;
    run.line(format!("apply: {applied}"));
    let async_mapped = pool.map_async((0..5).collect(), square)?.get()?;
    run.line(format!("map_async: {async_mapped:?}"));
    pool.finish()?;

    run.line(format!("--- {} ---", F::EXECUTOR));
    let executor = F::Executor::start(4)?;
    let executor_mapped = executor
        .map((0..10).collect(), square)?
        .collect::<Result<Vec<_>, _>>()?;
    run.line(format!("map: {executor_mapped:?}"));
    let futures = (0..5)
        .map(|i| executor.submit(square, i))
        .collect::<Result<Vec<_>, _>>()?;
    let mut completed = Vec::new();
    for future in as_completed(&futures) {
        let value = future?.result()?;
        run.line(format!("  done: {value}"));
        completed.push(value);
    }
    executor.finish()?;

    let squares = |n: u64| (0..n).map(square).collect::<Vec<_>>();
    run.check("Pool.map", mapped == squares(10), format!("{mapped:?}"));
    run.check(
        "Pool.apply(square, 5) == 25",
        applied == 25,
        format!("{applied}"),
    );
    run.check(
        "Pool.map_async",
        async_mapped == squares(5),
        format!("{async_mapped:?}"),
    );
    run.check(
        "Executor.map keeps the order",
        executor_mapped == squares(10),
        format!("{executor_mapped:?}"),
    );
    completed.sort_unstable();
    run.check(
        "as_completed yields each submitted future once",
        completed == squares(5),
        format!("{completed:?} (sorted)"),
    );
    Ok(())
}
