//! What a process `Semaphore` promises when a process dies with it (see its module docs): a
//! permit held by a killed process is lost, as in Python, but nobody hangs past a timeout, a
//! release by anyone gives it back, and a waiter killed while asleep never takes a release
//! meant for a live waiter. With real child processes killed on both targets (natively
//! SIGKILL, in the browser `Worker.terminate()`), through the `Process` API's `kill`.
//!
//! Every wait, and every wait on a child, has a timeout, so a bug fails a test instead of
//! hanging it.

// The async conformance macro goes unused here.
#[macro_use]
#[allow(unused_macros)]
mod common;

use std::time::Duration;

use amphi::process::{Event, Process, Semaphore};
use amphi::{Error, Thread};
use common::PATIENCE;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

/// Takes a permit and keeps it, after saying so, until killed.
fn hold_a_permit((sem, holding): (Semaphore, Event)) {
    sem.acquire_timeout(PATIENCE).unwrap().leak();
    holding.set();
    amphi::thread::sleep(PATIENCE).unwrap();
}

/// Says it is about to wait, then waits for a permit (for at most [`PATIENCE`]).
fn wait_for_a_permit((sem, waiting): (Semaphore, Event)) -> bool {
    waiting.set();
    sem.acquire_timeout(PATIENCE)
        .map(|permit| permit.leak())
        .is_ok()
}

/// Kills `child` and waits for it to end.
fn kill<R>(child: &Process<R>)
where
    R: serde::Serialize + serde::de::DeserializeOwned,
{
    child.kill().unwrap();
    match child.join_timeout(PATIENCE) {
        Err(Error::ProcessFailed { .. }) => {}
        Err(other) => panic!("a killed child ended otherwise: {other:?}"),
        Ok(_) => panic!("a killed child returned"),
    }
}

conformance! {
    fn a_permit_held_by_a_killed_process_is_lost_but_nobody_hangs() {
        let sem = Semaphore::new(1).unwrap();
        let holding = Event::new().unwrap();
        let child = Process::new(hold_a_permit, (sem.clone(), holding.clone()));
        child.start().unwrap();
        holding.wait_timeout(PATIENCE).unwrap();
        kill(&child);
        assert_eq!(sem.value(), 0, "the dead holder's permit is not given back");
        assert_eq!(
            sem.acquire_timeout(Duration::from_millis(20)).map(drop),
            Err(Error::Timeout),
            "a waiter's timeout is honoured"
        );
        sem.release(1).unwrap();
        assert!(
            sem.acquire_timeout(PATIENCE).is_ok(),
            "a release by anyone gives it back"
        );
    }

    fn a_waiter_killed_while_asleep_never_takes_a_release() {
        let sem = Semaphore::new(0).unwrap();
        let waiting = Event::new().unwrap();
        let doomed = Process::new(wait_for_a_permit, (sem.clone(), waiting.clone()));
        doomed.start().unwrap();
        waiting.wait_timeout(PATIENCE).unwrap();
        // Let the doomed waiter fall asleep first, so that it would be the first one woken.
        amphi::thread::sleep(Duration::from_millis(100)).unwrap();
        let live = {
            let sem = sem.clone();
            Thread::spawn(move || sem.acquire_timeout(PATIENCE).map(|permit| permit.leak()))
                .unwrap()
        };
        amphi::thread::sleep(Duration::from_millis(100)).unwrap();
        kill(&doomed);
        sem.release(1).unwrap();
        // The live waiter's own timeout is far off: only the release can end its wait before.
        common::wait_for("the live waiter to take the permit", || sem.value() == 0);
        assert_eq!(
            live.join_timeout(PATIENCE).unwrap(),
            Ok(()),
            "the live waiter got the permit"
        );
        assert_eq!(sem.value(), 0);
    }
}
