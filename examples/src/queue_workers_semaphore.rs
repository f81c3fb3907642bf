//! Seed 004, "Semaphore": three worker threads take jobs from a [`Queue`]; a [`Semaphore`] of 2
//! lets at most two of them work at once.
//!
//! Each worker prints the semaphore's value after acquiring and before releasing, as the
//! original prints `semaphore._value`. The original's `while queue.qsize() > 0: queue.get()`
//! can hang when two workers race for the last job; this version uses [`Queue::try_get`]. The
//! work is 100 ms here (1 s in the original).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::Run;
use amphi::{thread, Error, Queue, Semaphore};

const JOBS: u32 = 5;
const WORKERS: u32 = 3;
const MAX_CONNECTIONS: u32 = 2;
const WORK: Duration = Duration::from_millis(100);

pub(super) fn run(run: &mut Run) -> Result<(), Error> {
    let queue = Arc::new(Queue::new(0));
    for i in 0..JOBS {
        queue.put(format!("Data {i}"))?;
    }
    let semaphore = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let working = Arc::new(AtomicU32::new(0));
    let most_working = Arc::new(AtomicU32::new(0));

    let workers = (1..=WORKERS)
        .map(|num| {
            let (queue, semaphore) = (Arc::clone(&queue), Arc::clone(&semaphore));
            let (working, most_working) = (Arc::clone(&working), Arc::clone(&most_working));
            let out = run.out().clone();
            thread::Builder::new()
                .name(format!("Worker {num}"))
                .spawn(move || {
                    let mut done = Vec::new();
                    while let Ok(msg) = queue.try_get() {
                        let permit = semaphore.acquire()?;
                        let now_working = working.fetch_add(1, Ordering::SeqCst) + 1;
                        most_working.fetch_max(now_working, Ordering::SeqCst);
                        let left = semaphore.value();
                        out.line(format!("Semaphore acquired by Worker {num} ({left} left)"));
                        out.line(format!("Worker {num}: {msg}"));
                        thread::sleep(WORK)?;
                        let left = semaphore.value();
                        out.line(format!("Semaphore released by Worker {num} ({left} left)"));
                        working.fetch_sub(1, Ordering::SeqCst);
                        drop(permit);
                        done.push(msg);
                    }
                    Ok::<_, Error>(done)
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut done = Vec::new();
    for worker in workers {
        done.extend(worker.join()??);
    }
    run.line("Done.");

    done.sort();
    let expected: Vec<String> = (0..JOBS).map(|i| format!("Data {i}")).collect();
    run.check(
        "every job was done exactly once",
        done == expected,
        format!("done: {done:?}"),
    );
    let most = most_working.load(Ordering::SeqCst);
    run.check(
        format!("never more than {MAX_CONNECTIONS} workers at once"),
        (1..=MAX_CONNECTIONS).contains(&most),
        format!("at most {most} at once"),
    );
    run.check(
        "every permit is back",
        semaphore.value() == MAX_CONNECTIONS,
        format!("the semaphore's value is {}", semaphore.value()),
    );
    Ok(())
}
