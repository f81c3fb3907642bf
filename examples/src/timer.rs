//! Seed 004, `threading.Timer`: a timer runs its function after an interval on a thread of its
//! own; a timer cancelled before its interval passes never runs it.
//!
//! ```python
//! def hello(): print("hello, world")
//! t = threading.Timer(0.2, hello); t.start()          # after 0.2 s, "hello, world"
//! u = threading.Timer(10, hello); u.start(); u.cancel()  # never
//! ```
//!
//! Checks: the first timer's function ran, once, no earlier than its interval (a lower bound
//! only, within 0.9 of it for timed waits that wake a hair early); the cancelled timer's function never ran, and its thread ended long before its
//! interval, woken by `cancel`.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::Run;
use amphi::thread::{self, Timer};
use amphi::time::Instant;
use amphi::Error;

const INTERVAL: Duration = Duration::from_millis(200);
const CANCELLED_INTERVAL: Duration = Duration::from_secs(30);
/// The lower bound's allowance for a timed wait that wakes a hair early (a browser's timed wait
/// rounds to the millisecond): 0.9 of the interval.
const CLOCK_TOLERANCE: f64 = 0.9;
const PATIENCE: Duration = Duration::from_secs(60);

pub(super) fn run(run: &mut Run) -> Result<(), Error> {
    let fired = Arc::new(AtomicU32::new(0));
    let started = Instant::now();
    let fired_after = Arc::new(std::sync::Mutex::new(None));
    let timer = {
        let (out, fired, fired_after) = (
            run.out().clone(),
            Arc::clone(&fired),
            Arc::clone(&fired_after),
        );
        Timer::new(INTERVAL, move || {
            *fired_after.lock().unwrap_or_else(|p| p.into_inner()) = Some(started.elapsed());
            fired.fetch_add(1, Ordering::SeqCst);
            out.line(format!(
                "hello, world (from {})",
                thread::current_thread().name()
            ));
        })
    };
    timer.start()?;
    run.line(format!(
        "Timer({:.1}, hello) started on {}",
        INTERVAL.as_secs_f64(),
        timer.name().unwrap_or_default()
    ));
    let ran = timer.join_timeout(PATIENCE)?;
    let after = fired_after
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .unwrap_or_default();
    run.line(format!("the timer's thread ended; its function ran: {ran}"));
    run.check(
        "the timer's function ran once, no earlier than its interval",
        ran && fired.load(Ordering::SeqCst) == 1 && after >= INTERVAL.mul_f64(CLOCK_TOLERANCE),
        format!(
            "ran {} time(s), {:.0} ms after start (interval {:.0} ms)",
            fired.load(Ordering::SeqCst),
            after.as_secs_f64() * 1000.0,
            INTERVAL.as_secs_f64() * 1000.0
        ),
    );

    let never = Arc::new(AtomicU32::new(0));
    let cancelled = {
        let (out, never) = (run.out().clone(), Arc::clone(&never));
        Timer::new(CANCELLED_INTERVAL, move || {
            never.fetch_add(1, Ordering::SeqCst);
            out.line("hello, world (from the cancelled timer!)");
        })
    };
    let start = Instant::now();
    cancelled.start()?;
    let alive_before = cancelled.is_alive();
    cancelled.cancel();
    run.line(format!(
        "Timer({:.0}, hello) started and cancelled (alive before cancel: {alive_before})",
        CANCELLED_INTERVAL.as_secs_f64()
    ));
    let ran = cancelled.join_timeout(PATIENCE)?;
    let waited = start.elapsed();
    run.line(format!(
        "the cancelled timer's thread ended after {:.3} s; its function ran: {ran}",
        waited.as_secs_f64()
    ));
    run.check(
        "the cancelled timer's function never ran, and cancel ended its wait early",
        !ran && never.load(Ordering::SeqCst) == 0 && waited < CANCELLED_INTERVAL,
        format!(
            "ran {} time(s); its thread ended after {:.0} ms of a {:.0} s interval",
            never.load(Ordering::SeqCst),
            waited.as_secs_f64() * 1000.0,
            CANCELLED_INTERVAL.as_secs_f64()
        ),
    );
    Ok(())
}
