//! Seed 001, "CPU-bound comparison": four sums of squares, first one after another, then on an
//! executor of four workers. The results must be equal; the report shows the timings and the
//! speed-ups (which depend on the cores the machine has: they are reported, never checked).
//!
//! ```python
//! tasks = [10**6] * 4
//! serial = [cpu_bound_task(n) for n in tasks]
//! with ProcessPoolExecutor(max_workers=4) as executor:
//!     parallel = list(executor.map(cpu_bound_task, tasks))
//! ```
//!
//! `cpu-speedup` runs the tasks serially and on four threads; `process-cpu-speedup` runs
//! larger tasks serially, on four threads and on four processes (the seed's
//! `ProcessPoolExecutor`), and reports the three timings and their ratios. The parallel part is
//! written once over a [`Family`]; its timing includes starting the workers, as the seed's
//! does.

use std::hint::black_box;
use std::time::Duration;

use crate::family::{Family, Processes, TaskExecutor, Threads};
use crate::Run;
use amphi::time::Instant;
use amphi::Error;

/// The work of one task in `cpu-speedup`.
const N: u64 = 1_000_000;
/// The work of one task in `process-cpu-speedup`: larger, so that the work outweighs starting
/// four processes.
const N_PROCESSES: u64 = 4_000_000;
const TASKS: usize = 4;
const WORKERS: usize = 4;

fn cpu_bound_task(n: u64) -> u64 {
    let mut total = 0u64;
    for i in 0..n {
        total = total.wrapping_add(black_box(i).wrapping_mul(i));
    }
    total
}

fn seconds(time: Duration) -> f64 {
    time.as_secs_f64().max(1e-9)
}

/// The tasks run serially: their results and the time taken.
fn serial(run: &Run, tasks: &[u64]) -> (Vec<u64>, Duration) {
    run.line("serial:");
    let start = Instant::now();
    let results: Vec<u64> = tasks.iter().map(|&n| cpu_bound_task(n)).collect();
    let time = start.elapsed();
    run.line(format!("  time: {:.3} s", time.as_secs_f64()));
    (results, time)
}

/// The tasks run on an executor of [`WORKERS`] of the family `F` (started and shut down
/// within the timing): their results, the time taken, and its speed-up against `serial_time`.
fn parallel<F: Family>(
    run: &Run,
    tasks: &[u64],
    serial_time: Duration,
) -> Result<(Vec<u64>, Duration, f64), Error> {
    run.line(format!("{WORKERS} {}:", F::WORKERS));
    let start = Instant::now();
    let executor = F::Executor::start(WORKERS)?;
    let results = executor
        .map(tasks.to_vec(), cpu_bound_task)?
        .collect::<Result<Vec<_>, _>>()?;
    executor.finish()?;
    let time = start.elapsed();
    let speedup = seconds(serial_time) / seconds(time);
    run.line(format!("  time: {:.3} s", time.as_secs_f64()));
    run.line(format!("  speed-up: {speedup:.2}x"));
    Ok((results, time, speedup))
}

fn millis(time: Duration) -> String {
    format!("{:.1} ms", time.as_secs_f64() * 1e3)
}

/// `cpu-speedup`: serial against four threads.
pub(super) fn run(run: &mut Run) -> Result<(), Error> {
    let tasks = vec![N; TASKS];
    let (serial_results, serial_time) = serial(run, &tasks);
    let (thread_results, thread_time, speedup) = parallel::<Threads>(run, &tasks, serial_time)?;
    run.check(
        "parallel results equal the serial ones",
        thread_results == serial_results,
        format!(
            "serial {}, 4 threads {}: speed-up {speedup:.2}x",
            millis(serial_time),
            millis(thread_time)
        ),
    );
    Ok(())
}

/// `process-cpu-speedup`: serial against four threads against four processes.
pub(super) fn run_with_processes(run: &mut Run) -> Result<(), Error> {
    let tasks = vec![N_PROCESSES; TASKS];
    let (serial_results, serial_time) = serial(run, &tasks);
    let (thread_results, thread_time, thread_speedup) =
        parallel::<Threads>(run, &tasks, serial_time)?;
    let (process_results, process_time, process_speedup) =
        parallel::<Processes>(run, &tasks, serial_time)?;
    let processes_against_threads = seconds(thread_time) / seconds(process_time);
    run.line(format!(
        "processes against threads: {processes_against_threads:.2}x \
         (above 1: the processes were faster; each needs starting, threads share one memory)"
    ));
    run.line(format!(
        "with {WORKERS} free cores each parallel speed-up would approach {WORKERS}x; \
         fewer cores, or busy ones, give less"
    ));
    run.check(
        "thread results equal the serial ones",
        thread_results == serial_results,
        format!(
            "serial {}, 4 threads {}: speed-up {thread_speedup:.2}x",
            millis(serial_time),
            millis(thread_time)
        ),
    );
    run.check(
        "process results equal the serial ones",
        process_results == serial_results,
        format!(
            "serial {}, 4 processes {}: speed-up {process_speedup:.2}x; \
             processes against threads {processes_against_threads:.2}x",
            millis(serial_time),
            millis(process_time)
        ),
    );
    Ok(())
}
