//! Seed 001, "process pool": a [`ThreadPool`] of four workers runs `map`, `apply` and
//! `map_async`; then an [`Executor`] of four runs `map` and five `submit`s collected with
//! [`as_completed`], which yields them in the order they finish.

use crate::Run;
use amphi::thread::{as_completed, Executor};
use amphi::{Error, ThreadPool};

fn square(x: u64) -> u64 {
    x * x
}

pub(super) fn run(run: &mut Run) -> Result<(), Error> {
    run.line("--- ThreadPool ---");
    let pool = ThreadPool::new(4)?;
    let mapped = pool.map(0..10, square)?;
    run.line(format!("map: {mapped:?}"));
    let applied = pool.apply(|| square(5))?;
    run.line(format!("apply: {applied}"));
    let async_mapped = pool.map_async(0..5, square)?.get()?;
    run.line(format!("map_async: {async_mapped:?}"));
    pool.close();
    pool.join()?;

    run.line("--- ThreadPoolExecutor ---");
    let executor = Executor::new(4)?;
    let executor_mapped = executor
        .map(0..10, square)?
        .collect::<Result<Vec<_>, _>>()?;
    run.line(format!("map: {executor_mapped:?}"));
    let futures = (0..5)
        .map(|i| executor.submit(move || square(i)))
        .collect::<Result<Vec<_>, _>>()?;
    let mut completed = Vec::new();
    for future in as_completed(&futures) {
        let value = future?.result()?;
        run.line(format!("  done: {value}"));
        completed.push(value);
    }
    executor.shutdown(true, false)?;

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
