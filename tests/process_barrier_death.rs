//! A process `Barrier` whose parties die: a party killed inside `wait` breaks the round for the
//! others (`BrokenBarrier`) instead of leaving them asleep, every `wait_timeout` honours its
//! timeout even while a dead party keeps the previous round from draining, and `reset` and
//! `abort` always bring the barrier back. With real child processes killed on both targets
//! (natively SIGKILL, in the browser `Worker.terminate()`), through the `Process` API's `kill`.
//!
//! The survivors' calls that used to hang run on a thread joined within [`PATIENCE`], so a
//! regression fails a test instead of hanging it; every other wait has a timeout too.

// The async conformance macro goes unused here.
#[macro_use]
#[allow(unused_macros)]
mod common;

use std::time::Duration;

use amphi::process::{Barrier, Event, Process};
use amphi::{Error, Thread};
use common::PATIENCE;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

/// Waits on `barrier` (for at most [`PATIENCE`]); its index, `None` if the wait failed.
fn wait_once(barrier: Barrier) -> Option<u32> {
    barrier.wait_timeout(PATIENCE).ok()
}

/// Runs `call` on a thread and returns its result, failing the test if it takes longer than
/// [`PATIENCE`] (a hang).
fn within_patience<T: Send + 'static>(call: impl FnOnce() -> T + Send + 'static) -> T {
    Thread::spawn(call)
        .unwrap()
        .join_timeout(PATIENCE)
        .expect("the call ended within PATIENCE instead of hanging")
}

/// Starts a child that waits on `barrier`, and returns once `barrier` counts `waiting` waiters.
fn start_waiting(barrier: &Barrier, waiting: u32) -> Process<Option<u32>> {
    let child = Process::new(wait_once, barrier.clone());
    child.start().unwrap();
    common::wait_for("the child to wait on the barrier", || {
        barrier.n_waiting() >= waiting
    });
    child
}

/// A barrier action that never ends: says it runs, then sleeps (until killed).
fn stall(running: Event) {
    running.set();
    amphi::thread::sleep(PATIENCE).unwrap();
}

/// Kills `child` and waits for it to end.
fn kill(child: &Process<Option<u32>>) {
    child.kill().unwrap();
    match child.join_timeout(PATIENCE) {
        Err(Error::ProcessFailed { .. }) => {}
        other => panic!("a child killed inside the barrier ended otherwise: {other:?}"),
    }
}

/// A round of `barrier` (of two parties) with a live child: both pass.
fn live_round(barrier: &Barrier) {
    let child = start_waiting(barrier, 1);
    let mine = {
        let barrier = barrier.clone();
        within_patience(move || barrier.wait_timeout(PATIENCE))
    };
    let theirs = child.join_timeout(PATIENCE).unwrap();
    let mut indices = [mine.unwrap(), theirs.expect("the child passed")];
    indices.sort_unstable();
    assert_eq!(indices, [0, 1]);
}

conformance! {
    fn a_party_killed_while_waiting_breaks_the_barrier_for_the_others() {
        let barrier = Barrier::new(3).unwrap();
        let doomed = start_waiting(&barrier, 1);
        let survivor = {
            let barrier = barrier.clone();
            // No timeout of its own: only the death can end this wait.
            Thread::spawn(move || barrier.wait()).unwrap()
        };
        common::wait_for("the survivor to wait", || barrier.n_waiting() == 2);
        kill(&doomed);
        assert_eq!(
            survivor.join_timeout(PATIENCE).expect("the survivor was woken"),
            Err(Error::BrokenBarrier)
        );
        assert!(barrier.broken());
        let later = barrier.clone();
        assert_eq!(
            within_patience(move || later.wait_timeout(PATIENCE)),
            Err(Error::BrokenBarrier),
            "broken until reset"
        );
        barrier.reset().unwrap();
        assert!(!barrier.broken());
        // Three parties again: two threads here and a child.
        let child = start_waiting(&barrier, 1);
        let other = {
            let barrier = barrier.clone();
            Thread::spawn(move || barrier.wait_timeout(PATIENCE)).unwrap()
        };
        common::wait_for("both waiters", || barrier.n_waiting() == 2);
        let mine = barrier.wait_timeout(PATIENCE).unwrap();
        let mut indices = [
            mine,
            other.join_timeout(PATIENCE).unwrap().unwrap(),
            child.join_timeout(PATIENCE).unwrap().expect("the child passed"),
        ];
        indices.sort_unstable();
        assert_eq!(indices, [0, 1, 2]);
    }

    fn wait_timeout_is_honoured_after_a_party_died_inside_wait() {
        let barrier = Barrier::new(2).unwrap();
        let doomed = start_waiting(&barrier, 1);
        kill(&doomed);
        // The dead party had arrived: this round may pass, or break once the death is seen.
        let first = {
            let barrier = barrier.clone();
            within_patience(move || barrier.wait_timeout(Duration::from_secs(1)))
        };
        assert!(
            matches!(first, Ok(1) | Err(Error::BrokenBarrier)),
            "{first:?}"
        );
        // Alone now: the timeout ends it, whatever the dead party left behind.
        let second = {
            let barrier = barrier.clone();
            within_patience(move || barrier.wait_timeout(Duration::from_secs(1)))
        };
        assert_eq!(second, Err(Error::BrokenBarrier));
        barrier.reset().unwrap();
        live_round(&barrier);
    }

    fn a_party_killed_inside_the_action_breaks_the_barrier_for_the_others() {
        let running = Event::new().unwrap();
        let barrier = Barrier::new(2)
            .unwrap()
            .with_action(stall, running.clone())
            .unwrap();
        let survivor = {
            let barrier = barrier.clone();
            Thread::spawn(move || barrier.wait()).unwrap()
        };
        common::wait_for("the survivor to wait", || barrier.n_waiting() == 1);
        // The child arrives last, so it runs the action, holding the barrier's internal lock.
        let doomed = Process::new(wait_once, barrier.clone());
        doomed.start().unwrap();
        running.wait_timeout(PATIENCE).unwrap();
        kill(&doomed);
        assert_eq!(
            survivor.join_timeout(PATIENCE).expect("the survivor was woken"),
            Err(Error::BrokenBarrier)
        );
        assert!(barrier.broken());
        barrier.reset().unwrap();
        assert!(!barrier.broken());
    }

    fn reset_and_abort_bring_back_a_barrier_a_dead_party_left_draining() {
        let barrier = Barrier::new(2).unwrap();
        let doomed = start_waiting(&barrier, 1);
        kill(&doomed);
        // Completes the dead party's round; it never leaves it.
        let released = {
            let barrier = barrier.clone();
            within_patience(move || barrier.wait_timeout(Duration::from_secs(1)))
        };
        assert!(
            matches!(released, Ok(1) | Err(Error::BrokenBarrier)),
            "{released:?}"
        );
        barrier.abort().unwrap();
        assert!(barrier.broken());
        barrier.reset().unwrap();
        assert!(!barrier.broken());
        live_round(&barrier);
        live_round(&barrier);
    }
}
