//! Seed 004, "Lock": two worker threads take jobs from a [`Queue`] and do each job while
//! holding a [`Lock`], so one job's three lines (acquired, work, released) never interleave
//! with another's.
//!
//! The Python original loops `while queue.qsize() > 0: msg = queue.get()`, which can hang: both
//! workers may see one item left and one of them then waits forever in `get`. This version
//! takes jobs with [`Queue::try_get`], which answers "empty" instead of waiting. The work under
//! the lock is 50 ms here (1 s in the original).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::Run;
use amphi::{thread, Error, Lock, Queue};

const JOBS: u32 = 5;
const WORKERS: u32 = 2;
const WORK: Duration = Duration::from_millis(50);

pub(super) fn run(run: &mut Run) -> Result<(), Error> {
    let queue = Arc::new(Queue::new(0));
    for i in 0..JOBS {
        queue.put(format!("Data {i}"))?;
    }
    let lock = Arc::new(Lock::new());
    let inside = Arc::new(AtomicU32::new(0));
    let most_inside = Arc::new(AtomicU32::new(0));

    let workers = (1..=WORKERS)
        .map(|num| {
            let (queue, lock, out) = (Arc::clone(&queue), Arc::clone(&lock), run.out().clone());
            let (inside, most_inside) = (Arc::clone(&inside), Arc::clone(&most_inside));
            thread::Builder::new()
                .name(format!("Worker {num}"))
                .spawn(move || {
                    let mut done = Vec::new();
                    while let Ok(msg) = queue.try_get() {
                        let held = lock.acquire()?;
                        let now_inside = inside.fetch_add(1, Ordering::SeqCst) + 1;
                        most_inside.fetch_max(now_inside, Ordering::SeqCst);
                        out.line(format!("Lock acquired by Worker {num}"));
                        out.line(format!("Worker {num}: {msg}"));
                        thread::sleep(WORK)?;
                        out.line(format!("Lock released by Worker {num}"));
                        inside.fetch_sub(1, Ordering::SeqCst);
                        drop(held);
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
    let most = most_inside.load(Ordering::SeqCst);
    run.check(
        "never more than one worker inside the lock",
        most == 1,
        format!("at most {most} at once"),
    );
    Ok(())
}
