//! Seed 004, "Multiprocessing with Queue" (JoinableQueue): a washer washes dishes one by one
//! and puts each on a [`JoinableQueue`]; two dryers take dishes, dry them and mark each
//! `task_done`; the washer then `join`s the queue, which returns once every dish is dry.
//!
//! The Python original runs the dryers as daemon processes and the washer in the main process;
//! this version runs the dryers as amphi threads (queues between processes come later). Like
//! Python's daemons, the dryers are detached: nobody joins them, and the example ends as soon
//! as the queue is joined. Python kills its daemon processes when the program exits; amphi
//! never kills a thread, so the example closes the queue at the end, which wakes the dryers
//! parked in `get` with `Closed` and lets them return (in a web page they would otherwise keep
//! two workers parked for good). Washing takes 50 ms and drying 250 ms here (1 s and 5 s in
//! the original); the times printed are seconds since the start.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::{Output, Run};
use amphi::time::Instant;
use amphi::{thread, Error, JoinableQueue};

const DISHES: [&str; 4] = ["apple", "banana", "orange", "salad"];
const WASH: Duration = Duration::from_millis(50);
const DRY: Duration = Duration::from_millis(250);

/// Dries dishes until the queue is closed; records each dish dried.
fn dryer(
    dishes: &JoinableQueue<&'static str>,
    dried: &Mutex<Vec<&'static str>>,
    out: &Output,
    tic: Instant,
) -> Result<(), Error> {
    let name = thread::current_name();
    while let Ok(dish) = dishes.get() {
        let at = tic.elapsed().as_secs_f64();
        out.line(format!("[{at:.2}] {name} - Drying dish: {dish}"));
        thread::sleep(DRY)?;
        let at = tic.elapsed().as_secs_f64();
        out.line(format!("[{at:.2}] {name} - Done: {dish}"));
        dried
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .push(dish);
        dishes.task_done()?;
    }
    Ok(())
}

pub(super) fn run(run: &mut Run) -> Result<(), Error> {
    let tic = Instant::now();
    let dish_queue = Arc::new(JoinableQueue::new(0));
    let dried = Arc::new(Mutex::new(Vec::new()));

    for number in 1..=2 {
        let (dishes, dried, out) = (
            Arc::clone(&dish_queue),
            Arc::clone(&dried),
            run.out().clone(),
        );
        // Detached, like a daemon: the handle is dropped and the dryer is never joined.
        drop(
            thread::Builder::new()
                .name(format!("dryer-{number}"))
                .spawn(move || dryer(&dishes, &dried, &out, tic))?,
        );
    }

    let washer = thread::current_name();
    for dish in DISHES {
        let at = tic.elapsed().as_secs_f64();
        run.line(format!("[{at:.2}] Washing dish ({washer}): {dish}"));
        thread::sleep(WASH)?;
        dish_queue.put(dish)?;
    }
    run.line("All wash work done!!!");
    dish_queue.join()?; // every dish put was dried and marked done
    let dried_at_join = dried.lock().unwrap_or_else(|p| p.into_inner()).clone();
    run.line("All Done!");
    dish_queue.close(); // Python's exit ends its daemons; here the dryers' `get` returns Closed

    let mut sorted = dried_at_join.clone();
    sorted.sort_unstable();
    run.check(
        "join() returned only once all 4 dishes were dried",
        dried_at_join.len() == DISHES.len(),
        format!(
            "{} dishes dried when join returned: {dried_at_join:?}",
            dried_at_join.len()
        ),
    );
    run.check(
        "every dish was dried exactly once",
        sorted == DISHES,
        format!("dried {sorted:?}"),
    );
    run.check(
        "no task is left unfinished",
        dish_queue.unfinished_tasks() == 0,
        format!("{} unfinished", dish_queue.unfinished_tasks()),
    );
    Ok(())
}
