//! What the process family offers as the thread family does, on both targets: a process
//! [`Barrier`] with an action and a default timeout (after CPython's `_TestBarrier`), an
//! [`Array`] made zero-filled from a length with range reads and writes, [`Process::close`],
//! and a child that ends with its own exit code ([`amphi::process::exit`], Python's
//! `sys.exit(code)` in a child).

#[macro_use]
#[allow(unused_macros)]
mod common;

use std::panic::{self, AssertUnwindSafe};
use std::time::Duration;

use amphi::process::{active_children, Array, Barrier, Lock, Process, Value};
use amphi::time::Instant;
use amphi::Error;
use common::{assert_waited_at_least, PATIENCE};

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

const ROUNDS: u32 = 5;

/// The barrier's action: counts the generations it ran in.
fn count_generation(generations: Value<u32>) {
    generations.fetch_add(1);
}

/// A party: waits `ROUNDS` times, recording after each wait how many actions had run.
fn party(setup: (Barrier, Value<u32>)) -> Vec<u32> {
    let (barrier, generations) = setup;
    (0..ROUNDS)
        .map(|_| {
            barrier.wait_timeout(PATIENCE).expect("every party arrives");
            generations.get()
        })
        .collect()
}

fn explode(_: ()) {
    panic!("the action failed");
}

/// How one `wait` ended: "passed", "broken" or "panicked".
fn wait_outcome(barrier: &Barrier) -> String {
    match panic::catch_unwind(AssertUnwindSafe(|| barrier.wait_timeout(PATIENCE))) {
        Ok(Ok(_)) => "passed".to_owned(),
        Ok(Err(Error::BrokenBarrier)) => "broken".to_owned(),
        Ok(Err(other)) => format!("failed: {other}"),
        Err(_) => "panicked".to_owned(),
    }
}

fn wait_and_tell(barrier: Barrier) -> String {
    wait_outcome(&barrier)
}

/// Waits alone on a barrier with a default timeout: (it broke, milliseconds waited).
fn wait_alone(barrier: Barrier) -> (bool, u64) {
    let started = Instant::now();
    let outcome = barrier.wait();
    let waited = started.elapsed().as_millis() as u64;
    (
        outcome == Err(Error::BrokenBarrier) && barrier.broken(),
        waited,
    )
}

/// Writes `items` at `start` of `array`, then reads back the whole array.
fn write_range(job: (Array<i32>, usize, Vec<i32>)) -> Result<Vec<i32>, String> {
    let (array, start, items) = job;
    array
        .copy_from_slice(start, &items)
        .map_err(|err| err.to_string())?;
    array.get_range(..).map_err(|err| err.to_string())
}

fn nap(millis: u64) {
    amphi::thread::sleep(Duration::from_millis(millis)).expect("a child may sleep");
}

fn square(x: u64) -> u64 {
    x * x
}

/// Exits with `code` from the target's thread.
fn exit_with(code: i32) -> u32 {
    let error = amphi::process::exit(code);
    panic!("exit returned in a child: {error}");
}

/// Exits with `code` while holding `lock`: the unwinding releases it.
fn exit_holding(job: (Lock, i32)) {
    let (lock, code) = job;
    let _held = lock.acquire().expect("the lock is free");
    let error = amphi::process::exit(code);
    panic!("exit returned in a child: {error}");
}

/// Exits with `code` from another thread of the child, while the target's thread sleeps.
fn exit_from_a_thread(code: i32) -> u32 {
    let _exiter = amphi::Thread::spawn(move || {
        let error = amphi::process::exit(code);
        panic!("exit returned in a child: {error}");
    })
    .expect("a child starts threads");
    amphi::thread::sleep(PATIENCE).expect("a child may sleep");
    0
}

conformance! {
    fn barrier_action_runs_once_per_generation_before_any_party_returns() {
        let generations = Value::new(0u32).unwrap();
        let barrier = Barrier::new(4)
            .unwrap()
            .with_action(count_generation, generations.clone())
            .unwrap();
        let children: Vec<_> = (0..3)
            .map(|_| Process::new(party, (barrier.clone(), generations.clone())))
            .collect();
        for child in &children {
            child.start().unwrap();
        }
        let mine = party((barrier.clone(), generations.clone()));
        let expected: Vec<u32> = (1..=ROUNDS).collect();
        assert_eq!(mine, expected, "each wait returned after exactly its generation's action");
        for child in &children {
            assert_eq!(child.join_timeout(PATIENCE).unwrap(), expected);
        }
        assert_eq!(generations.get(), ROUNDS, "one action per generation, in whichever process");
        assert!(!barrier.broken());
    }

    fn barrier_action_set_after_cloning_reaches_every_handle() {
        let generations = Value::new(0u32).unwrap();
        let barrier = Barrier::new(2).unwrap();
        let earlier = barrier.clone();
        let barrier = barrier.with_action(count_generation, generations.clone()).unwrap();
        let child = Process::new(party, (earlier, generations.clone()));
        child.start().unwrap();
        let mine = party((barrier, generations.clone()));
        assert_eq!(mine, (1..=ROUNDS).collect::<Vec<_>>());
        assert_eq!(child.join_timeout(PATIENCE).unwrap(), mine);
    }

    fn a_panicking_action_breaks_the_barrier_and_panics_in_the_party_that_ran_it() {
        let barrier = Barrier::new(3).unwrap().with_action(explode, ()).unwrap();
        let children: Vec<_> = (0..2)
            .map(|_| Process::new(wait_and_tell, barrier.clone()))
            .collect();
        for child in &children {
            child.start().unwrap();
        }
        let mut outcomes = vec![wait_outcome(&barrier)];
        for child in &children {
            outcomes.push(child.join_timeout(PATIENCE).unwrap());
        }
        outcomes.sort();
        assert_eq!(outcomes, ["broken", "broken", "panicked"], "one party ran the action");
        assert!(barrier.broken());
        assert_eq!(barrier.wait(), Err(Error::BrokenBarrier), "broken until reset");
        barrier.reset().unwrap();
        assert!(!barrier.broken());
    }

    fn a_default_timeout_breaks_the_barrier_in_every_process() {
        let timeout = Duration::from_millis(100);
        let barrier = Barrier::new(2).unwrap();
        let earlier = barrier.clone();
        let barrier = barrier.with_timeout(timeout);
        assert_eq!(earlier.timeout(), Some(timeout), "the timeout lives in the region");
        let child = Process::new(wait_alone, earlier);
        child.start().unwrap();
        let (broke, waited) = child.join_timeout(PATIENCE).unwrap();
        assert!(broke, "the child's wait timed out and broke the barrier");
        assert_waited_at_least(Duration::from_millis(waited), timeout);
        assert!(barrier.broken());
        assert_eq!(barrier.wait(), Err(Error::BrokenBarrier));
        barrier.reset().unwrap();
        let started = Instant::now();
        assert_eq!(barrier.wait(), Err(Error::BrokenBarrier), "alone again");
        assert_waited_at_least(started.elapsed(), timeout);
    }

    fn an_explicit_timeout_overrides_the_default() {
        let barrier = Barrier::new(2)
            .unwrap()
            .with_timeout(Duration::from_secs(3600));
        let started = Instant::now();
        let short = Duration::from_millis(20);
        assert_eq!(barrier.wait_timeout(short), Err(Error::BrokenBarrier));
        assert_waited_at_least(started.elapsed(), short);
    }

    fn a_zeroed_array_takes_range_writes_from_a_child() {
        let array = Array::<i32>::zeroed(10).unwrap();
        assert_eq!(array.len(), 10);
        assert_eq!(array.to_vec(), [0; 10]);
        assert!(array.get_lock().is_some(), "Python's default lock=True");
        let child = Process::new(write_range, (array.clone(), 3, vec![7, 8, 9]));
        child.start().unwrap();
        let seen = child.join_timeout(PATIENCE).unwrap().unwrap();
        assert_eq!(seen, [0, 0, 0, 7, 8, 9, 0, 0, 0, 0]);
        assert_eq!(array.get_range(3..6).unwrap(), [7, 8, 9]);
        assert_eq!(array.get_range(8..=9).unwrap(), [0, 0]);
        assert_eq!(array.get_range(10..).unwrap(), Vec::<i32>::new(), "empty at the end");
        let mut out = [0; 4];
        array.copy_to_slice(2, &mut out).unwrap();
        assert_eq!(out, [0, 7, 8, 9]);
    }

    fn array_ranges_out_of_bounds_are_errors_that_change_nothing() {
        let array = Array::<u8>::zeroed_without_lock(4).unwrap();
        assert!(array.get_lock().is_none());
        let invalid = |result: Result<(), Error>| matches!(result, Err(Error::InvalidArgument(_)));
        assert!(invalid(array.copy_from_slice(3, &[1, 2])));
        assert!(invalid(array.copy_from_slice(usize::MAX, &[1])), "no overflow");
        assert_eq!(array.to_vec(), [0; 4], "a refused write writes nothing");
        let mut out = [9u8; 2];
        assert!(invalid(array.copy_to_slice(3, &mut out)));
        assert_eq!(out, [9, 9], "a refused read leaves the buffer alone");
        assert!(matches!(array.get_range(2..5), Err(Error::InvalidArgument(_))));
        #[allow(clippy::reversed_empty_ranges)]
        let backwards = array.get_range(3..1);
        assert!(matches!(backwards, Err(Error::InvalidArgument(_))));
        assert!(matches!(array.get_range(..=usize::MAX), Err(Error::InvalidArgument(_))));
        array.copy_from_slice(4, &[]).unwrap();
        assert_eq!(Array::<f64>::zeroed(0).unwrap().get_range(..).unwrap(), Vec::<f64>::new());
    }

    fn close_refuses_a_running_process_then_releases_a_finished_one() {
        let mut child = Process::new(nap, 60_000);
        child.start().unwrap();
        assert!(matches!(child.close(), Err(Error::ProcessRunning(ref name)) if name == child.name()));
        assert!(child.is_alive(), "a refused close changes nothing");
        assert!(active_children().iter().any(|c| c.pid() == child.pid()));
        child.kill().unwrap();
        assert!(child.join_timeout(PATIENCE).is_err(), "killed");
        let pid = child.pid();
        child.close().unwrap();
        child.close().unwrap();
        assert!(active_children().iter().all(|c| c.pid() != pid));
        let closed = |result: Result<(), Error>| matches!(result, Err(Error::ProcessClosed(_)));
        assert!(closed(child.join().map(drop)));
        assert!(closed(child.join_timeout(PATIENCE).map(drop)));
        assert!(closed(child.start()));
        assert!(closed(child.terminate()));
        assert!(closed(child.kill()));
        assert_eq!(child.exitcode(), Some(-9), "the snapshots still answer");
        assert_eq!(child.pid(), pid);
        assert!(!child.is_alive());
    }

    fn close_of_a_process_that_never_started() {
        let mut child = Process::new(square, 3);
        child.close().unwrap();
        assert!(matches!(child.start(), Err(Error::ProcessClosed(_))));
        assert_eq!(child.exitcode(), None);
        assert_eq!(child.pid(), None);
    }

    fn close_after_a_value_was_returned() {
        let mut child = Process::new(square, 9);
        child.start().unwrap();
        assert_eq!(child.join_timeout(PATIENCE).unwrap(), 81);
        child.close().unwrap();
        assert!(matches!(child.join(), Err(Error::ProcessClosed(_))));
        assert_eq!(child.exitcode(), Some(0));
    }

    fn a_child_exits_with_its_own_code() {
        for code in [3, 0, 255] {
            let child = Process::new(exit_with, code);
            child.start().unwrap();
            match child.join_timeout(PATIENCE) {
                Err(Error::ProcessFailed { exitcode, .. }) => assert_eq!(exitcode, code),
                other => panic!("expected exit code {code}, got {other:?}"),
            }
            assert_eq!(child.exitcode(), Some(code));
            assert!(
                matches!(child.join(), Err(Error::ProcessFailed { exitcode, .. }) if exitcode == code),
                "joining again says the same"
            );
        }
    }

    fn an_exit_code_keeps_its_low_eight_bits() {
        let child = Process::new(exit_with, -1);
        child.start().unwrap();
        assert!(child.join_timeout(PATIENCE).is_err());
        assert_eq!(child.exitcode(), Some(255), "as an operating system keeps it");
    }

    fn exit_unwinds_the_target_so_its_guards_release_their_locks() {
        let lock = Lock::new().unwrap();
        let child = Process::new(exit_holding, (lock.clone(), 4));
        child.start().unwrap();
        assert!(child.join_timeout(PATIENCE).is_err());
        assert_eq!(child.exitcode(), Some(4));
        let reacquired = lock.acquire_timeout(Duration::from_secs(5));
        assert!(reacquired.is_ok(), "the child's guard was dropped: {reacquired:?}");
    }

    fn exit_from_another_thread_of_a_child_ends_the_process() {
        let child = Process::new(exit_from_a_thread, 7);
        child.start().unwrap();
        match child.join_timeout(PATIENCE) {
            Err(Error::ProcessFailed { exitcode: 7, .. }) => {}
            other => panic!("expected exit code 7, got {other:?}"),
        }
        assert_eq!(child.exitcode(), Some(7));
    }
}

/// Outside a child, natively, `exit` is `std::process::exit`: this test runs its own binary
/// again on itself alone, with a variable that makes it exit.
#[cfg(not(target_arch = "wasm32"))]
#[test]
fn exit_outside_a_child_ends_the_program_with_the_code() {
    const EXIT_NOW: &str = "AMPHI_TEST_EXIT_NOW";
    if std::env::var_os(EXIT_NOW).is_some() {
        let error = amphi::process::exit(6);
        panic!("exit returned in the main program: {error}");
    }
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "exit_outside_a_child_ends_the_program_with_the_code",
            "--test-threads=1",
        ])
        .env(EXIT_NOW, "1")
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(6));
}

/// The page's process tree cannot end from its own code: `exit` there is an error.
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen_test::wasm_bindgen_test]
async fn exit_outside_a_child_is_an_error_in_the_browser() {
    common::on_amphi_thread(|| {
        let error = amphi::process::exit(6);
        assert!(matches!(error, Error::CannotExit(_)), "{error:?}");
    })
    .await;
    let error = amphi::process::exit(6);
    assert!(
        matches!(error, Error::CannotExit(_)),
        "on the test's own thread too: {error:?}"
    );
}
