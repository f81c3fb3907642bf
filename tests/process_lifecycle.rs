//! The life of an [`amphi::process::Process`] on both targets, after CPython's `_TestProcess`
//! (`Lib/test/_test_multiprocessing.py`): native child processes, and in the browser process
//! workers (each its own instance of the test module, with its own memory).
//!
//! Return values, exit codes (0; 1 after a panic, with its message and location; -15 after
//! terminate; -9 after kill), timed joins of a live child, many short children, names,
//! `current_process`/`parent_process` in a child, grandchildren, and `join_async`.
//! Native-only behaviour (signals from outside, parents that die) is in `process.rs`.

#[macro_use]
mod common;

use std::time::Duration;

use amphi::process::{current_process, parent_process, Process, ProcessInfo};
use amphi::time::Instant;
use amphi::Error;
use common::{assert_waited_at_least, start_and_join_all, PATIENCE};

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

fn square(x: u64) -> u64 {
    x * x
}

fn noop(_: ()) {}

fn fail(message: String) {
    panic!("{message}");
}

fn nap(millis: u64) {
    amphi::thread::sleep(Duration::from_millis(millis)).expect("a child may sleep");
}

fn whoami(_: ()) -> (ProcessInfo, Option<ProcessInfo>) {
    (current_process(), parent_process())
}

fn start_grandchild(_: ()) -> Result<(String, String), String> {
    let grandchild = Process::new(whoami, ());
    grandchild.start().map_err(|err| err.to_string())?;
    let (me, parent) = grandchild.join().map_err(|err| err.to_string())?;
    let parent = parent.ok_or("a grandchild has a parent")?;
    Ok((me.name, parent.name))
}

fn threads_in_a_child(count: u32) -> u32 {
    let threads: Vec<_> = (0..count)
        .map(|i| amphi::Thread::spawn(move || i * 2).expect("a child starts threads"))
        .collect();
    threads.into_iter().map(|t| t.join().expect("join")).sum()
}

conformance! {
    fn child_returns_a_value_and_exit_code_zero() {
        let child = Process::new(square, 12);
        assert_eq!(child.exitcode(), None);
        child.start().unwrap();
        assert_eq!(child.join().unwrap(), 144);
        assert_eq!(child.exitcode(), Some(0));
        assert!(!child.is_alive());
    }

    fn panicking_child_reports_its_message_and_location_with_exit_code_one() {
        let child = Process::new(fail, "it broke".to_owned());
        child.start().unwrap();
        match child.join() {
            Err(Error::Panicked(report)) => {
                assert!(report.message.contains("it broke"), "{report:?}");
                assert!(
                    report.location.as_deref().is_some_and(|l| l.contains("process_lifecycle")),
                    "{report:?}"
                );
            }
            other => panic!("expected a panic report, got {other:?}"),
        }
        assert_eq!(child.exitcode(), Some(1));
    }

    fn join_timeout_on_a_live_child_times_out_then_terminate_gives_minus_fifteen() {
        let child = Process::new(nap, 120_000);
        child.start().unwrap();
        assert!(child.is_alive());
        let timeout = Duration::from_millis(200);
        let started = Instant::now();
        assert_eq!(child.join_timeout(timeout), Err(Error::Timeout));
        assert_waited_at_least(started.elapsed(), timeout);
        assert!(child.is_alive());
        child.terminate().unwrap();
        assert!(matches!(
            child.join_timeout(PATIENCE),
            Err(Error::ProcessFailed { .. })
        ));
        assert_eq!(child.exitcode(), Some(-15));
        assert!(!child.is_alive());
    }

    fn kill_of_a_sleeping_child_gives_minus_nine() {
        let child = Process::new(nap, 120_000);
        child.start().unwrap();
        child.kill().unwrap();
        assert!(matches!(
            child.join_timeout(PATIENCE),
            Err(Error::ProcessFailed { .. })
        ));
        assert_eq!(child.exitcode(), Some(-9));
    }

    fn many_short_children_all_succeed() {
        let children: Vec<_> = (0..20u64).map(|i| Process::new(square, i)).collect();
        let squares: Vec<u64> = (0..20).map(|i| i * i).collect();
        assert_eq!(start_and_join_all(&children), squares);
        assert!(children.iter().all(|child| child.exitcode() == Some(0)));
    }

    fn a_child_knows_its_name_and_its_parent() {
        let child = Process::builder().name("worker-7").build(whoami, ());
        child.start().unwrap();
        let (me, parent) = child.join().unwrap();
        assert_eq!(me.name, "worker-7");
        assert_eq!(me.pid, child.pid().unwrap());
        assert_ne!(me.pid, current_process().pid);
        assert!(!me.daemon);
        let parent = parent.expect("a child has a parent");
        assert_eq!(parent.name, current_process().name);
        assert_eq!(parent.pid, current_process().pid);
    }

    fn a_child_starts_its_own_child() {
        let child = Process::builder().name("middle").build(start_grandchild, ());
        child.start().unwrap();
        let (grandchild, its_parent) = child.join().unwrap().unwrap();
        assert_eq!(its_parent, "middle");
        assert!(grandchild.starts_with("Process-"), "{grandchild}");
    }

    fn a_child_runs_threads_of_its_own() {
        let child = Process::new(threads_in_a_child, 4);
        child.start().unwrap();
        assert_eq!(child.join().unwrap(), 12);
    }

    fn a_process_starts_once() {
        let child = Process::new(noop, ());
        child.start().unwrap();
        assert!(matches!(child.start(), Err(Error::AlreadyStarted(_))));
        child.join().unwrap();
    }
}

conformance_async! {
    async fn join_async_waits_without_blocking() {
        let child = Process::new(square, 9);
        child.start().unwrap();
        assert_eq!(child.join_async().await.unwrap(), 81);
        assert_eq!(child.exitcode(), Some(0));
    }
}

fn count_forever(counter: amphi::process::Value<u64>) {
    loop {
        counter.fetch_add(1);
    }
}

fn count_slowly(counter: amphi::process::Value<u64>) {
    loop {
        counter.fetch_add(1);
        nap(1);
    }
}

/// Whether `counter` still moves over a while (after its writers were stopped).
fn still_moving(counter: &amphi::process::Value<u64>) -> bool {
    nap(200);
    let before = counter.get();
    nap(300);
    counter.get() != before
}

conformance! {
    fn a_killed_or_terminated_child_stops_running() {
        for (target, signal) in [
            (count_forever as fn(amphi::process::Value<u64>), "kill"),
            (count_slowly, "terminate"),
        ] {
            let counter = amphi::process::Value::new_without_lock(0u64).unwrap();
            let child = Process::new(target, counter.clone());
            child.start().unwrap();
            common::wait_for("the child to count", || counter.get() > 0);
            if signal == "kill" {
                child.kill().unwrap();
            } else {
                child.terminate().unwrap();
            }
            assert!(child.join_timeout(PATIENCE).is_err());
            assert!(!still_moving(&counter), "the child still runs after {signal}");
        }
    }
}
