//! Seed 001, "CPU-bound comparison": four sums of squares of a million numbers, first one
//! after another, then on an [`Executor`] of four workers. The results must be equal; the
//! report shows both timings and the speed-up (which depends on the cores the machine has).

use std::hint::black_box;

use crate::Run;
use amphi::thread::Executor;
use amphi::time::Instant;
use amphi::Error;

const N: u64 = 1_000_000;
const TASKS: usize = 4;

fn cpu_bound_task(n: u64) -> u64 {
    let mut total = 0u64;
    for i in 0..n {
        total = total.wrapping_add(black_box(i) * i);
    }
    total
}

pub(super) fn run(run: &mut Run) -> Result<(), Error> {
    let tasks = vec![N; TASKS];

    run.line("serial:");
    let start = Instant::now();
    let serial: Vec<u64> = tasks.iter().map(|&n| cpu_bound_task(n)).collect();
    let serial_time = start.elapsed();
    run.line(format!("  time: {:.3} s", serial_time.as_secs_f64()));

    run.line("4 workers:");
    let start = Instant::now();
    let executor = Executor::new(4)?;
    let parallel = executor
        .map(tasks, cpu_bound_task)?
        .collect::<Result<Vec<_>, _>>()?;
    executor.shutdown(true, false)?;
    let parallel_time = start.elapsed();
    run.line(format!("  time: {:.3} s", parallel_time.as_secs_f64()));
    let speedup = serial_time.as_secs_f64() / parallel_time.as_secs_f64().max(1e-9);
    run.line(format!("  speed-up: {speedup:.2}x"));

    run.check(
        "parallel results equal the serial ones",
        parallel == serial,
        format!(
            "serial {:.1} ms, 4 workers {:.1} ms: speed-up {speedup:.2}x",
            serial_time.as_secs_f64() * 1e3,
            parallel_time.as_secs_f64() * 1e3
        ),
    );
    Ok(())
}
