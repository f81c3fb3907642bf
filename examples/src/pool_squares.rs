//! Seed 004, "Pool": a pool of three workers squares `0..10` with `map`, one number with
//! `apply_async`, and ten numbers with a list of `apply_async` results, each taken with `get`.
//!
//! ```python
//! pool = mp.Pool(processes=3)
//! res = pool.map(job, range(10)); print(res)
//! res = pool.apply_async(job, (2,)); print(res.get())
//! multi_res = [pool.apply_async(job, (i,)) for i in range(10)]
//! print([res.get() for res in multi_res])
//! ```
//!
//! Written once over a [`Family`]: `pool` runs it on a [`ThreadPool`](amphi::ThreadPool),
//! `process-pool` on a process [`Pool`](amphi::process::Pool), as the seed does.

use crate::family::{Family, TaskPool};
use crate::Run;
use amphi::Error;

fn job(x: u64) -> u64 {
    x * x
}

pub(super) fn run<F: Family>(run: &mut Run) -> Result<(), Error> {
    let pool = F::Pool::start(3)?;

    let mapped = pool.map((0..10).collect(), job)?;
    run.line(format!("{mapped:?}"));

    let single = pool.apply_async(job, 2)?.get()?;
    run.line(format!("{single}"));

    let multi_res = (0..10)
        .map(|i| pool.apply_async(job, i))
        .collect::<Result<Vec<_>, _>>()?;
    let gathered = multi_res
        .iter()
        .map(|res| res.get())
        .collect::<Result<Vec<_>, _>>()?;
    run.line(format!("{gathered:?}"));
    pool.finish()?;

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
