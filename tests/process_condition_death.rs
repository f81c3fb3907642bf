//! A process `Condition` whose waiters die: a waiter killed while it waits gives its slot
//! back, a notify never spends a notification on it (nor counts it), and dead waiters never
//! use up the condition's slots. With real child processes killed on both targets (natively
//! SIGKILL, in the browser `Worker.terminate()`).
//!
//! Each child's waiters count themselves in a shared `Value` while they hold the condition's
//! lock and then wait, so once the parent has seen the count and taken the lock itself, every
//! one of them is asleep in its wait. Every wait, and every wait on a child, has a generous
//! timeout, so a bug fails a test instead of hanging it.

// The async conformance macro goes unused here.
#[macro_use]
#[allow(unused_macros)]
mod common;

use amphi::process::{Condition, Process, RLockGuard, Value};
use amphi::{Error, Thread};
use common::PATIENCE;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

/// How many waiters the reclaiming test kills, as (children, waiters in each): more than the
/// condition's 64 slots in all. In the browser fewer, bigger children (each process worker is
/// a costly start), their waiters on threads of the child.
#[cfg(not(target_arch = "wasm32"))]
const DOOMED: (u32, u32) = (70, 1);
#[cfg(target_arch = "wasm32")]
const DOOMED: (u32, u32) = (9, 8);

/// Added to the count of waiters by a waiter the condition refused (while it still holds the
/// lock, so the parent sees it once it has the lock).
const REFUSED: u32 = 1 << 16;

/// Waits on `cond` once (for at most [`PATIENCE`]), after counting itself in `entered` under
/// the lock; whether it was notified. Any error other than a timeout is recorded in `entered`
/// ([`REFUSED`]) and fails the caller.
fn wait_once(cond: &Condition, entered: &Value<u32>) -> bool {
    let _held = hold(cond);
    entered.fetch_add(1);
    match cond.wait_timeout(PATIENCE) {
        Ok(()) => true,
        Err(Error::Timeout) => false,
        Err(other) => {
            entered.fetch_add(REFUSED);
            panic!("waiting on the condition failed: {other}")
        }
    }
}

/// Waits on `cond` with `waiters` callers at once (this thread and `waiters - 1` more);
/// returns how many were notified.
fn wait_on_threads((cond, entered, waiters): (Condition, Value<u32>, u32)) -> u32 {
    let others: Vec<Thread<bool>> = (1..waiters)
        .map(|_| {
            let (cond, entered) = (cond.clone(), entered.clone());
            Thread::spawn(move || wait_once(&cond, &entered)).unwrap()
        })
        .collect();
    let mut notified = u32::from(wait_once(&cond, &entered));
    for other in others {
        notified += u32::from(other.join_timeout(PATIENCE).unwrap());
    }
    notified
}

/// Starts a child whose `waiters` callers wait on `cond`, and returns once all of them sleep
/// in their wait (`entered` reached `entered_before + waiters` and the lock is free again).
fn start_waiting(cond: &Condition, entered: &Value<u32>, waiters: u32) -> Process<u32> {
    let expected = entered.get() + waiters;
    let child = Process::new(wait_on_threads, (cond.clone(), entered.clone(), waiters));
    child.start().unwrap();
    let patience = amphi::time::Instant::now();
    while entered.get() < expected {
        assert!(
            patience.elapsed() < PATIENCE,
            "the child's waiters did not start waiting"
        );
        amphi::thread::sleep(std::time::Duration::from_millis(1)).unwrap();
    }
    // A waiter that counted itself holds the lock until its wait releases it.
    drop(hold(cond));
    assert!(
        entered.get() < REFUSED,
        "a waiter could not wait (see the child's panic: more than 64 callers wait?)"
    );
    child
}

/// Takes `cond`'s lock, within [`PATIENCE`].
fn hold(cond: &Condition) -> RLockGuard<'_> {
    cond.lock().acquire_timeout(PATIENCE).unwrap()
}

/// Kills `child` (its waiters still asleep) and waits for it to end.
fn kill(child: &Process<u32>) {
    child.kill().unwrap();
    match child.join_timeout(PATIENCE) {
        Err(Error::ProcessFailed { exitcode: -9, .. }) => {}
        other => panic!("a child killed while its waiters slept ended otherwise: {other:?}"),
    }
}

conformance! {
    fn notify_skips_a_waiter_killed_while_waiting() {
        let cond = Condition::new().unwrap();
        let entered = Value::new(0u32).unwrap();
        let doomed = start_waiting(&cond, &entered, 1);
        assert_eq!(cond.waiting(), 1);
        kill(&doomed);
        assert_eq!(cond.waiting(), 0, "a dead waiter does not count");
        let live = start_waiting(&cond, &entered, 1);
        assert_eq!(cond.waiting(), 1);
        {
            let _held = hold(&cond);
            assert_eq!(cond.notify(1).unwrap(), 1, "the live waiter was woken");
        }
        assert_eq!(live.join_timeout(PATIENCE).unwrap(), 1, "notified, not timed out");
        assert_eq!(cond.waiting(), 0);
        let _held = hold(&cond);
        assert_eq!(cond.notify(1).unwrap(), 0, "nobody is left");
    }

    fn slots_of_dead_waiters_are_reclaimed() {
        let cond = Condition::new().unwrap();
        let entered = Value::new(0u32).unwrap();
        let (children, waiters) = DOOMED;
        for _ in 0..children {
            let doomed = start_waiting(&cond, &entered, waiters);
            kill(&doomed);
        }
        assert_eq!(entered.get(), children * waiters);
        assert_eq!(cond.waiting(), 0, "dead waiters do not count");
        let live = start_waiting(&cond, &entered, 1);
        assert_eq!(cond.waiting(), 1);
        {
            let _held = hold(&cond);
            assert_eq!(cond.notify(1).unwrap(), 1, "the live waiter was woken");
        }
        assert_eq!(live.join_timeout(PATIENCE).unwrap(), 1, "notified, not timed out");
    }

    fn notify_all_wakes_and_counts_only_live_waiters() {
        let cond = Condition::new().unwrap();
        let entered = Value::new(0u32).unwrap();
        let first_doomed = start_waiting(&cond, &entered, 1);
        let first_live = start_waiting(&cond, &entered, 1);
        let second_doomed = start_waiting(&cond, &entered, 2);
        let second_live = start_waiting(&cond, &entered, 2);
        assert_eq!(cond.waiting(), 6);
        kill(&first_doomed);
        kill(&second_doomed);
        assert_eq!(cond.waiting(), 3, "only the live waiters count");
        {
            let _held = hold(&cond);
            assert_eq!(cond.notify_all().unwrap(), 3, "every live waiter, no dead one");
            assert_eq!(cond.notify_all().unwrap(), 0, "nobody is left");
        }
        assert_eq!(first_live.join_timeout(PATIENCE).unwrap(), 1);
        assert_eq!(second_live.join_timeout(PATIENCE).unwrap(), 2);
        assert_eq!(cond.waiting(), 0);
    }
}
