//! Seed 004, "jobs on threads": a long job and a short job run on two threads while the main
//! thread goes on with its own work; the short job finishes first.
//!
//! ```python
//! def job_long(tic): time.sleep(5)
//! def job_short(tic): time.sleep(2)
//! td1 = threading.Thread(target=job_long, name='task1', kwargs={'tic': tic})
//! td2 = threading.Thread(target=job_short, name='task2', kwargs={'tic': tic})
//! td1.start(); td2.start()
//! for i in range(3):
//!     print(f"{time.time() - tic:06.5f} - Main thread working...", i)
//!     time.sleep(1)
//! td1.join(); td2.join()
//! print('All done!')
//! ```
//!
//! Every line carries the seconds since the start and, for the jobs, the thread that ran them
//! (`current_thread()`), as the seed's `timer` decorator prints them. The times are a tenth of
//! the seed's. Checks: the short job finished before the long one, though it started after it;
//! and the main thread worked while the jobs ran (its work began before the short job was done).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::{Output, Run};
use amphi::time::Instant;
use amphi::{thread, Error};

const LONG: Duration = Duration::from_millis(500);
const SHORT: Duration = Duration::from_millis(200);
const MAIN_STEP: Duration = Duration::from_millis(100);

/// The events of the run, in the order they happened.
type Events = Arc<Mutex<Vec<&'static str>>>;

fn note(events: &Events, what: &'static str) {
    events
        .lock()
        .unwrap_or_else(|poison| poison.into_inner())
        .push(what);
}

/// The seed's `timer` decorator around a job that sleeps `length`.
fn job(
    name: &'static str,
    length: Duration,
    tic: Instant,
    out: Output,
    events: Events,
) -> Result<(), Error> {
    out.line(format!(
        "{:07.5} - Start {name} at thread: {}",
        tic.elapsed().as_secs_f64(),
        thread::current_thread()
    ));
    note(
        &events,
        if name == "job_long" {
            "start long"
        } else {
            "start short"
        },
    );
    thread::sleep(length)?;
    note(
        &events,
        if name == "job_long" {
            "done long"
        } else {
            "done short"
        },
    );
    out.line(format!(
        "{:07.5} - Done {name}",
        tic.elapsed().as_secs_f64()
    ));
    Ok(())
}

pub(super) fn run(run: &mut Run) -> Result<(), Error> {
    let tic = Instant::now();
    let events: Events = Arc::default();
    run.line("Start main thread");
    let spawn = |name: &'static str, thread_name: &str, length: Duration| {
        let (out, events) = (run.out().clone(), Arc::clone(&events));
        thread::Builder::new()
            .name(thread_name)
            .spawn(move || job(name, length, tic, out, events))
    };
    let td1 = spawn("job_long", "task1", LONG)?;
    let td2 = spawn("job_short", "task2", SHORT)?;
    for i in 0..3 {
        note(&events, "main works");
        run.line(format!(
            "{:07.5} - Main thread working... {i}",
            tic.elapsed().as_secs_f64()
        ));
        thread::sleep(MAIN_STEP)?;
    }
    td1.join()??;
    td2.join()??;
    run.line("");
    run.line("All done!");

    let events = events
        .lock()
        .unwrap_or_else(|poison| poison.into_inner())
        .clone();
    let at = |what: &str| events.iter().position(|event| *event == what);
    run.check(
        "the short job finished before the long one",
        at("done short").is_some() && at("done short") < at("done long"),
        format!("events in order: {events:?}"),
    );
    run.check(
        "the main thread worked while the jobs ran",
        at("main works").is_some() && at("main works") < at("done short"),
        format!("events in order: {events:?}"),
    );
    Ok(())
}
