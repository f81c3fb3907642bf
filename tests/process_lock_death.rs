//! A process `Lock` or `RLock` whose holder is killed at any moment: the next acquirer gets
//! the lock or `Error::OwnerDied`, never a hang, wherever the holder was (taking the lock,
//! holding it, or releasing it). With real child processes killed on both targets (natively
//! SIGKILL, in the browser `Worker.terminate()`), through the `Process` API's `kill`.
//!
//! The randomized tests run a child that takes and lets go of the lock in a tight loop, kill it
//! after a pseudo-random delay, and give the survivor [`VERDICT`] to get a result; a survivor
//! that is still waiting then counts as a hang and fails the test. Every other wait, and every
//! wait on a child, has a generous timeout, so a bug fails a test instead of hanging it.

// The async conformance macro goes unused here.
#[macro_use]
#[allow(unused_macros)]
mod common;

use std::time::Duration;

use amphi::process::{Event, Lock, Process, RLock, Value};
use amphi::Error;
use common::PATIENCE;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

/// How many children the randomized tests kill. In the browser fewer: each process worker is a
/// costly start.
#[cfg(not(target_arch = "wasm32"))]
const TRIALS: u64 = 100;
#[cfg(target_arch = "wasm32")]
const TRIALS: u64 = 10;

/// How long the survivor of a randomized trial may take to get the lock or `OwnerDied`; still
/// waiting then is a hang.
const VERDICT: Duration = Duration::from_secs(5);

/// The longest pseudo-random delay before a kill, in microseconds.
const MAX_DELAY_MICROS: u64 = 3_000;

/// A pseudo-random delay for trial `trial` (splitmix64 of the trial number): the same series in
/// every run, spread over `0..MAX_DELAY_MICROS`.
fn delay(trial: u64) -> Duration {
    let mut x = trial.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    Duration::from_micros((x ^ (x >> 31)) % MAX_DELAY_MICROS)
}

/// Takes and lets go of `lock` forever, counting rounds in `rounds` (outside the lock).
fn churn_lock((lock, rounds): (Lock, Value<u32>)) {
    loop {
        drop(lock.acquire_timeout(PATIENCE).unwrap());
        rounds.fetch_add(1);
    }
}

/// Takes `lock` twice (re-entering) and lets go of both levels, forever, counting rounds.
fn churn_rlock((lock, rounds): (RLock, Value<u32>)) {
    loop {
        let outer = lock.acquire_timeout(PATIENCE).unwrap();
        let inner = lock.acquire_timeout(PATIENCE).unwrap();
        drop(inner);
        drop(outer);
        rounds.fetch_add(1);
    }
}

/// Takes `lock` and keeps it, after saying so, until killed.
fn hold_lock((lock, holding): (Lock, Event)) {
    lock.acquire_timeout(PATIENCE).unwrap().leak();
    holding.set();
    amphi::thread::sleep(PATIENCE).unwrap();
}

/// Starts `child`, waits until its loop has run (`rounds` moved), lets it run for `delay` more,
/// kills it and waits for it to end.
fn kill_while_churning(child: &Process<()>, rounds: &Value<u32>, delay: Duration) {
    child.start().unwrap();
    common::wait_for("the child's loop to run", || rounds.get() > 0);
    amphi::thread::sleep(delay).unwrap();
    child.kill().unwrap();
    match child.join_timeout(PATIENCE) {
        Err(Error::ProcessFailed { .. }) => {}
        other => panic!("a child killed in its loop ended otherwise: {other:?}"),
    }
}

/// What the survivors of the randomized trials saw.
#[derive(Debug, Default)]
struct Tally {
    acquired: u64,
    owner_died: u64,
    hangs: u64,
}

conformance! {
    fn lock_holder_killed_at_a_random_moment_is_owner_died_or_free() {
        let mut tally = Tally::default();
        for trial in 0..TRIALS {
            let lock = Lock::new().unwrap();
            let rounds = Value::new(0u32).unwrap();
            let child = Process::new(churn_lock, (lock.clone(), rounds.clone()));
            kill_while_churning(&child, &rounds, delay(trial));
            match lock.acquire_timeout(VERDICT) {
                Ok(guard) => {
                    tally.acquired += 1;
                    drop(guard);
                }
                Err(Error::OwnerDied { pid }) => {
                    tally.owner_died += 1;
                    assert_eq!(Some(pid), child.pid(), "the dead holder is named");
                    assert!(lock.locked(), "the lock stays held until released");
                    lock.release().unwrap();
                }
                Err(Error::Timeout) => tally.hangs += 1,
                Err(other) => panic!("trial {trial}: unexpected {other:?}"),
            }
            if tally.hangs == 0 {
                let again = lock.try_acquire();
                assert!(again.is_some(), "trial {trial}: usable afterwards");
            }
        }
        println!("process Lock, holder killed at random: {tally:?}");
        assert_eq!(tally.hangs, 0, "{tally:?}");
        assert_eq!(tally.acquired + tally.owner_died, TRIALS);
    }

    fn rlock_holder_killed_at_a_random_moment_is_owner_died_or_free() {
        let mut tally = Tally::default();
        for trial in 0..TRIALS {
            let lock = RLock::new().unwrap();
            let rounds = Value::new(0u32).unwrap();
            let child = Process::new(churn_rlock, (lock.clone(), rounds.clone()));
            kill_while_churning(&child, &rounds, delay(trial));
            let verdict = lock.acquire_timeout(VERDICT).map(drop);
            match verdict {
                Ok(()) => {
                    tally.acquired += 1;
                    assert!(!lock.locked(), "trial {trial}: free again");
                }
                Err(Error::OwnerDied { pid }) => {
                    tally.owner_died += 1;
                    assert_eq!(Some(pid), child.pid(), "the dead holder is named");
                    assert_eq!(
                        lock.acquire_timeout(VERDICT).map(drop),
                        Err(Error::OwnerDied { pid }),
                        "trial {trial}: it keeps saying so"
                    );
                }
                Err(Error::Timeout) => tally.hangs += 1,
                Err(other) => panic!("trial {trial}: unexpected {other:?}"),
            }
        }
        println!("process RLock, holder killed at random: {tally:?}");
        assert_eq!(tally.hangs, 0, "{tally:?}");
        assert_eq!(tally.acquired + tally.owner_died, TRIALS);
    }

    fn a_dead_holder_is_reported_even_within_a_short_timeout() {
        let lock = Lock::new().unwrap();
        let holding = Event::new().unwrap();
        let child = Process::new(hold_lock, (lock.clone(), holding.clone()));
        child.start().unwrap();
        holding.wait_timeout(PATIENCE).unwrap();
        child.kill().unwrap();
        child.join_timeout(PATIENCE).unwrap_err();
        // Shorter than the dead-holder check's slice: the check still runs when it ends.
        assert_eq!(
            lock.acquire_timeout(Duration::from_millis(10)).map(drop),
            Err(Error::OwnerDied { pid: child.pid().unwrap() })
        );
        lock.release().unwrap();
        assert!(lock.acquire_timeout(PATIENCE).is_ok(), "usable once released");
    }

    fn a_waiter_asleep_when_the_holder_dies_gets_owner_died() {
        let lock = Lock::new().unwrap();
        let holding = Event::new().unwrap();
        let child = Process::new(hold_lock, (lock.clone(), holding.clone()));
        child.start().unwrap();
        holding.wait_timeout(PATIENCE).unwrap();
        let waiter = {
            let lock = lock.clone();
            amphi::Thread::spawn(move || lock.acquire_timeout(PATIENCE).map(drop)).unwrap()
        };
        // Let the waiter fall asleep on the held lock before the holder dies.
        amphi::thread::sleep(Duration::from_millis(50)).unwrap();
        child.kill().unwrap();
        child.join_timeout(PATIENCE).unwrap_err();
        assert_eq!(
            waiter.join_timeout(PATIENCE).unwrap(),
            Err(Error::OwnerDied { pid: child.pid().unwrap() })
        );
    }
}
