//! `amphi::trace::record` (feature `trace`) on both targets: a recorded run of threads and of a
//! child process, checked against the Chrome trace-event rules that Perfetto's JSON importer
//! needs and that `native/tests/trace.rs` checks for the CLI's `--trace` file: required fields
//! on every event, complete slices with a duration, slices on one thread nested (never partly
//! overlapping), every flow start matched by one flow end, and a child's events present, with
//! the child's own pid, on the parent's clock. Natively the child writes them to a part file
//! beside the recording's; in the browser the child (an isolated worker, its own instance and
//! recorder) hands them back with its exit report. A grandchild's events reach the recording
//! the same way, through its parent. A child that is terminated or killed keeps the slices that
//! closed before (natively they are in its part file already; in the browser its process worker
//! hands them back as it is stopped).
//!
//! Run with the feature: `cargo test --features trace --test trace` (and in the browser
//! `wasm-pack test --headless --chrome . --features trace --test trace`).

#![cfg(feature = "trace")]

#[macro_use]
#[allow(unused_macros)]
mod common;
#[path = "common/trace_rules.rs"]
mod trace_rules;

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Duration;

use amphi::process::Process;
use amphi::ThreadPool;
use serde_json::Value;
use trace_rules::{
    check_trace_events, finish_a_thread_then_sleep, number, thread_of, FINISHED_THREAD,
};

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

/// One recording at a time per process: the tests of this file take turns.
static RECORDING: Mutex<()> = Mutex::new(());

/// Float slack for comparing microsecond timestamps computed from nanoseconds (natively) or
/// from milliseconds as doubles (`performance.timeOrigin + performance.now()`, in the browser,
/// where each worker adds its own origin to its own `now`).
const SLACK_US: f64 = 1.0;

/// The trace-event rules (see the module docs); the complete slices.
fn check_schema(events: &[Value]) -> Vec<&Value> {
    check_trace_events(events, SLACK_US)
}

/// Whether a `thread_name` event names the thread of `slice` after `name`, alone or among the
/// threads that ran on that thread id one after another ("a / b").
fn names_thread(events: &[Value], slice: &Value, name: &str) -> bool {
    events.iter().any(|e| {
        e["ph"] == "M"
            && e["name"] == "thread_name"
            && thread_of(e) == thread_of(slice)
            && e["args"]["name"]
                .as_str()
                .is_some_and(|names| names.split(" / ").any(|known| known == name))
    })
}

fn square(x: u64) -> u64 {
    amphi::thread::sleep(Duration::from_millis(2)).expect("pool threads may block");
    x * x
}

/// A child's work: a thread of its own, started and joined.
fn child_with_a_thread(_: ()) -> u32 {
    amphi::thread::Builder::new()
        .name("child's worker")
        .spawn(|| ())
        .expect("the child starts a thread")
        .join()
        .expect("the child's thread ends");
    amphi::process::current_process().pid
}

/// A child that starts a child of its own and joins it: the pids of both.
fn child_with_a_child(_: ()) -> (u32, u32) {
    let grandchild = Process::new(child_with_a_thread, ());
    grandchild.start().expect("the grandchild starts");
    let grandchild_pid = grandchild
        .join_timeout(common::PATIENCE)
        .expect("the grandchild ends in time");
    (amphi::process::current_process().pid, grandchild_pid)
}

/// A child that starts a daemonic grandchild ([`finish_a_thread_then_sleep`], which ends with
/// it) and sleeps until it is stopped.
fn child_with_a_stopped_grandchild(finished: amphi::process::Event) {
    start_a_daemonic_grandchild(finished);
    loop {
        amphi::thread::sleep(Duration::from_secs(3600)).expect("a child's thread may sleep");
    }
}

/// A child that starts a daemonic grandchild ([`finish_a_thread_then_sleep`]), waits until the
/// grandchild's thread has ended, and exits, leaving the grandchild to end with it.
fn child_leaving_a_daemonic_grandchild(finished: amphi::process::Event) {
    start_a_daemonic_grandchild(finished.clone());
    finished
        .wait_timeout(common::PATIENCE)
        .expect("the grandchild's thread ends in time");
}

fn start_a_daemonic_grandchild(finished: amphi::process::Event) {
    // The handle is not needed: the grandchild ends with this process.
    Process::builder()
        .daemon(true)
        .start(finish_a_thread_then_sleep, finished)
        .expect("the grandchild starts");
}

/// Who ran the thread whose slice closed: the child, or its grandchild.
#[derive(Clone, Copy, PartialEq)]
enum RanBy {
    Child,
    Grandchild,
}

/// Records a child (`target`) whose thread, or whose daemonic child's (`ran_by`), ends, and
/// then stops it (`stop`: terminate or kill; `None`: the child exits by itself): that thread's
/// slice, which closed before the stop, is in the recording, on the pid of the process that ran
/// it.
fn closed_slices_come_back(
    target: fn(amphi::process::Event),
    ran_by: RanBy,
    stop: Option<fn(&Process<()>)>,
) {
    let _turn = RECORDING
        .lock()
        .unwrap_or_else(|poison| poison.into_inner());
    let recording = amphi::trace::record().expect("nothing else records");
    let finished = amphi::process::Event::new().expect("an event");
    let child = Process::new(target, finished.clone());
    child.start().expect("the child starts");
    finished
        .wait_timeout(common::PATIENCE)
        .expect("the thread ends in time");
    let child_pid = u64::from(child.pid().expect("a started child has a pid"));
    if let Some(stop) = stop {
        stop(&child);
    }
    let joined = child.join_timeout(common::PATIENCE);
    assert_eq!(
        joined.is_ok(),
        stop.is_none(),
        "only a child that was not stopped reports a result: {joined:?}"
    );
    let events = recording.finish();
    let slices = check_schema(&events);
    let me = u64::from(amphi::process::current_process().pid);
    let ran_it = |pid: u64| match ran_by {
        RanBy::Child => pid == child_pid,
        // The grandchild's pid is neither this process's nor the child's.
        RanBy::Grandchild => pid != child_pid && pid != me,
    };
    assert!(
        slices.iter().any(|e| e["name"] == "thread"
            && e["args"]["name"] == FINISHED_THREAD
            && e["pid"].as_u64().is_some_and(ran_it)
            && names_thread(&events, e, FINISHED_THREAD)),
        "the finished thread slice came back: {events:?}"
    );
}

/// A child that closes slices without end (threads started and joined one after another) until
/// it is stopped; says on `running` once the first has closed.
fn churn_slices(running: amphi::process::Event) {
    let mut first = true;
    loop {
        amphi::thread::Builder::new()
            .name("churn")
            .spawn(|| ())
            .expect("the child starts a thread")
            .join()
            .expect("the child's thread ends");
        if std::mem::take(&mut first) {
            running.set();
        }
    }
}

fn terminate(child: &Process<()>) {
    child.terminate().expect("terminate the child");
}

fn kill(child: &Process<()>) {
    child.kill().expect("kill the child");
}

conformance! {
    fn a_terminated_childs_closed_slices_reach_the_recording() {
        closed_slices_come_back(finish_a_thread_then_sleep, RanBy::Child, Some(terminate));
    }

    fn a_killed_childs_closed_slices_reach_the_recording() {
        closed_slices_come_back(finish_a_thread_then_sleep, RanBy::Child, Some(kill));
    }

    fn a_terminated_childs_grandchild_hands_back_its_closed_slices_too() {
        closed_slices_come_back(
            child_with_a_stopped_grandchild,
            RanBy::Grandchild,
            Some(terminate),
        );
    }

    fn a_daemonic_grandchild_left_by_an_exiting_child_hands_back_its_closed_slices() {
        closed_slices_come_back(child_leaving_a_daemonic_grandchild, RanBy::Grandchild, None);
    }

    fn a_wait_that_sleeps_is_a_slice_and_one_that_does_not_is_none() {
        let _turn = RECORDING
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let waits = |events: &[Value]| -> Vec<String> {
            check_schema(events)
                .iter()
                .filter_map(|e| e["name"].as_str().filter(|name| name.starts_with("wait.")))
                .map(str::to_owned)
                .collect()
        };

        // Nothing to wait for: no wait is recorded, in either family.
        let recording = amphi::trace::record().expect("nothing else records");
        let semaphore = amphi::Semaphore::new(1);
        drop(semaphore.acquire().expect("a free permit"));
        let event = amphi::Event::new();
        event.set();
        event.wait().expect("a set event");
        amphi::Barrier::new(1)
            .expect("a barrier")
            .wait()
            .expect("one party");
        let semaphore = amphi::process::Semaphore::new(1).expect("a semaphore");
        drop(semaphore.acquire().expect("a free permit"));
        let event = amphi::process::Event::new().expect("an event");
        event.set();
        event.wait().expect("a set event");
        amphi::process::Barrier::new(1)
            .expect("a barrier")
            .wait()
            .expect("one party");
        let events = recording.finish();
        assert_eq!(waits(&events), Vec::<String>::new(), "{events:?}");

        // Each one sleeps until its timeout: one slice each, in both families.
        let recording = amphi::trace::record().expect("nothing else records");
        let nap = Duration::from_millis(2);
        assert!(matches!(
            amphi::Semaphore::new(0).acquire_timeout(nap),
            Err(amphi::Error::Timeout)
        ));
        assert_eq!(
            amphi::Event::new().wait_timeout(nap),
            Err(amphi::Error::Timeout)
        );
        let barrier = amphi::Barrier::new(2).expect("a barrier");
        assert_eq!(barrier.wait_timeout(nap), Err(amphi::Error::BrokenBarrier));
        let semaphore = amphi::process::Semaphore::new(0).expect("a semaphore");
        assert!(matches!(
            semaphore.acquire_timeout(nap),
            Err(amphi::Error::Timeout)
        ));
        let event = amphi::process::Event::new().expect("an event");
        assert_eq!(event.wait_timeout(nap), Err(amphi::Error::Timeout));
        let barrier = amphi::process::Barrier::new(2).expect("a barrier");
        assert_eq!(barrier.wait_timeout(nap), Err(amphi::Error::BrokenBarrier));
        let events = recording.finish();
        let waits = waits(&events);
        for name in ["wait.semaphore", "wait.event", "wait.barrier"] {
            assert_eq!(
                waits.iter().filter(|wait| *wait == name).count(),
                2,
                "one {name} slice per family: {waits:?}"
            );
        }
    }

    fn children_stopped_at_random_instants_leave_a_valid_trace() {
        let _turn = RECORDING
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let mut rng = common::KillRng::new("trace: children stopped at random instants");
        let seed = rng.seed();
        let trials = common::kill_trials(100, 40);
        let recording = amphi::trace::record().expect("nothing else records");
        let mut stopped = Vec::new();
        for trial in 0..trials {
            let context = format!("trial {trial} of {trials} (seed {seed})");
            let running = amphi::process::Event::new().expect("an event");
            let child = Process::new(churn_slices, running.clone());
            child.start().expect("the child starts");
            running
                .wait_timeout(common::PATIENCE)
                .unwrap_or_else(|error| panic!("{context}: the child never ran: {error}"));
            // Stopped while it closes slices: in the middle of recording one, or of handing
            // them over.
            amphi::thread::sleep(Duration::from_micros(rng.below(3_000)))
                .expect("test threads may block");
            let stop = if rng.below(2) == 0 { terminate } else { kill };
            stop(&child);
            match child.join_timeout(common::PATIENCE) {
                Err(amphi::Error::Timeout) => panic!("{context}: the stopped child never ended"),
                Err(_) => {}
                Ok(()) => panic!("{context}: a stopped child reported a result"),
            }
            stopped.push((context, child.pid().expect("a started child has a pid")));
        }
        let events = recording.finish();
        // Whatever instant each child was stopped at, the trace keeps every rule: no event cut
        // short, no slice half-recorded, slices on each thread nested.
        let slices = check_schema(&events);
        for (context, pid) in stopped {
            assert!(
                slices.iter().any(|e| e["name"] == "thread"
                    && e["args"]["name"] == "churn"
                    && e["pid"].as_u64() == Some(u64::from(pid))),
                "{context}: the slice the child closed before it said it ran came back"
            );
        }
    }

    fn a_recorded_run_of_threads_is_valid_trace_event_json() {
        let _turn = RECORDING.lock().unwrap_or_else(|poison| poison.into_inner());
        let recording = amphi::trace::record().expect("nothing else records");
        let workers: Vec<_> = (0..3)
            .map(|n| {
                amphi::thread::Builder::new()
                    .name(format!("worker {n}"))
                    .spawn(move || n)
                    .expect("a worker starts")
            })
            .collect();
        for worker in workers {
            worker.join().expect("a worker ends");
        }
        let pool = ThreadPool::new(2).expect("a pool starts");
        let squares: Vec<_> = (0..6)
            .map(|x| pool.apply_async(move || square(x)).expect("a task is queued"))
            .collect();
        let squares: Vec<u64> = squares
            .iter()
            .map(|square| square.get_timeout(common::PATIENCE).expect("a task ends"))
            .collect();
        assert_eq!(squares, [0, 1, 4, 9, 16, 25]);
        // Every task's slice closed before the recording ends.
        pool.close();
        pool.join().expect("the pool's workers end");
        let events = recording.finish();
        let slices = check_schema(&events);

        let me = u64::from(amphi::process::current_process().pid);
        let threads: BTreeSet<(u64, u64)> = slices
            .iter()
            .filter(|e| e["name"] == "thread")
            .map(|e| thread_of(e))
            .collect();
        assert!(threads.iter().all(|(pid, _)| *pid == me), "this process's pid: {threads:?}");
        // A thread id may carry several threads one after another (a browser worker keeps its
        // number for every amphi thread it runs): each worker's life is a slice of its own, and
        // the name of the thread id it ran on lists it.
        for n in 0..3 {
            let name = format!("worker {n}");
            let life = slices
                .iter()
                .find(|e| e["name"] == "thread" && e["args"]["name"] == name.as_str())
                .unwrap_or_else(|| panic!("{name}'s life is a slice: {events:?}"));
            assert!(names_thread(&events, life, &name), "{name} is named: {events:?}");
        }
        let tasks = slices.iter().filter(|e| e["name"] == "pool.task").count();
        assert_eq!(tasks, 6, "one slice per pool task");
        assert_eq!(
            events.iter().filter(|e| e["ph"] == "s").count(),
            tasks,
            "each pool task has a flow from its submission"
        );
    }

    fn a_recorded_child_sends_its_events_on_the_parents_clock() {
        let _turn = RECORDING.lock().unwrap_or_else(|poison| poison.into_inner());
        let recording = amphi::trace::record().expect("nothing else records");
        let child = Process::new(child_with_a_thread, ());
        child.start().expect("the child starts");
        let child_pid = child
            .join_timeout(common::PATIENCE)
            .expect("the child ends in time");
        let events = recording.finish();
        let slices = check_schema(&events);

        let me = u64::from(amphi::process::current_process().pid);
        let child_pid = u64::from(child_pid);
        assert_ne!(child_pid, me, "the child has a pid of its own");
        let of_child: Vec<&&Value> = slices
            .iter()
            .filter(|e| e["pid"].as_u64() == Some(child_pid))
            .collect();
        for name in ["process", "thread"] {
            assert!(
                of_child.iter().any(|e| e["name"] == name),
                "the child's {name} slice came back: {events:?}"
            );
        }
        assert!(
            events.iter().any(|e| e["ph"] == "M"
                && e["name"] == "thread_name"
                && e["pid"].as_u64() == Some(child_pid)
                && e["args"]["name"] == "child's worker"),
            "the child's thread is named: {events:?}"
        );
        // One clock: the child's slices lie between the parent's start of it and the end of
        // its join.
        let parent_slice = |name: &str| {
            slices
                .iter()
                .find(|e| e["name"] == name && e["pid"].as_u64() == Some(me))
                .unwrap_or_else(|| panic!("the parent's {name} slice: {events:?}"))
        };
        let started = number(parent_slice("process.start"), "ts");
        let join = parent_slice("process.join");
        let joined = number(join, "ts") + number(join, "dur");
        for slice in of_child {
            let start = number(slice, "ts");
            assert!(
                start + SLACK_US >= started && start + number(slice, "dur") <= joined + SLACK_US,
                "a child's slice outside the parent's [{started}, {joined}]: {slice}"
            );
        }
    }

    fn a_grandchilds_events_reach_the_recording_through_its_parent() {
        let _turn = RECORDING.lock().unwrap_or_else(|poison| poison.into_inner());
        let recording = amphi::trace::record().expect("nothing else records");
        let child = Process::new(child_with_a_child, ());
        child.start().expect("the child starts");
        let (child_pid, grandchild_pid) = child
            .join_timeout(common::PATIENCE)
            .expect("the child ends in time");
        let events = recording.finish();
        let slices = check_schema(&events);
        for (who, pid) in [("child", child_pid), ("grandchild", grandchild_pid)] {
            let pid = u64::from(pid);
            assert!(
                slices
                    .iter()
                    .any(|e| e["name"] == "process" && e["pid"].as_u64() == Some(pid)),
                "the {who}'s process slice came back: {events:?}"
            );
        }
        assert!(
            slices.iter().any(|e| e["name"] == "thread"
                && e["pid"].as_u64() == Some(u64::from(grandchild_pid))),
            "the grandchild's thread slice came back: {events:?}"
        );
    }
}
