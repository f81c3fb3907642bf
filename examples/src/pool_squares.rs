//! Seed 004, "Pool": a [`ThreadPool`] of three workers squares `0..10` with `map`, one number
//! with `apply_async`, and ten numbers with a list of `apply_async` results, each taken with
//! `get`. (The seed's `multiprocessing.Pool` runs processes; its job is pure, so threads give
//! the same results.)

use crate::Run;
use amphi::{Error, ThreadPool};

fn job(x: u64) -> u64 {
    x * x
}

pub(super) fn run(run: &mut Run) -> Result<(), Error> {
    let pool = ThreadPool::new(3)?;

    let mapped = pool.map(0..10, job)?;
    run.line(format!("{mapped:?}"));

    let single = pool.apply_async(|| job(2))?.get()?;
    run.line(format!("{single}"));

    let multi_res = (0..10)
        .map(|i| pool.apply_async(move || job(i)))
        .collect::<Result<Vec<_>, _>>()?;
    let gathered = multi_res
        .iter()
        .map(|res| res.get())
        .collect::<Result<Vec<_>, _>>()?;
    run.line(format!("{gathered:?}"));
    pool.close();
    pool.join()?;

    let squares: Vec<u64> = (0..10).map(|x| x * x).collect();
    run.check(
        "map returns the squares in order",
        mapped == squares,
        format!("{mapped:?}"),
    );
    run.check(
        "apply_async(job, 2).get() == 4",
        single == 4,
        format!("{single}"),
    );
    run.check(
        "the apply_async results, taken in order, are the squares",
        gathered == squares,
        format!("{gathered:?}"),
    );
    Ok(())
}
