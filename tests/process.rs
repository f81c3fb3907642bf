//! Conformance of [`amphi::process::Process`] with Python's `multiprocessing.Process`, after
//! CPython's `_TestProcess` (`Lib/test/_test_multiprocessing.py`): native child processes only
//! (the children are this test binary started again, so every target is a plain `fn` here).
//!
//! Exit codes (0, 1 after a panic, -15 after terminate, -9 after kill, a code of its own),
//! timed joins, many children, panic reports, return values, names and identities, and the
//! lives of daemonic and non-daemonic children when their parent is killed or returns.

#![cfg(not(target_arch = "wasm32"))]

// The conformance macros serve the two-target suites; this one is native only.
#[allow(unused_macros)]
mod common;

use std::path::PathBuf;
use std::time::Duration;

use amphi::process::{active_children, current_process, parent_process, Process, ProcessInfo};
use amphi::time::Instant;
use amphi::Error;
use common::{assert_waited_at_least, wait_for};
use serde::{Deserialize, Serialize};

const LONG_NAP_MS: u64 = 120_000;

fn nap(millis: u64) {
    std::thread::sleep(Duration::from_millis(millis));
}

fn square(x: u64) -> u64 {
    x * x
}

fn noop(_: ()) {}

fn fail(message: String) {
    panic!("{message}");
}

fn exit_with(code: i32) {
    std::process::exit(code);
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Order {
    id: u32,
    items: Vec<String>,
    note: Option<String>,
}

fn fulfil(order: Order) -> (Order, usize) {
    let count = order.items.len();
    (order, count)
}

fn echo(text: String) -> String {
    text
}

fn whoami(_: ()) -> (ProcessInfo, Option<ProcessInfo>) {
    (current_process(), parent_process())
}

fn start_grandchild(_: ()) -> Result<String, String> {
    let grandchild = Process::new(whoami, ());
    grandchild.start().map_err(|err| err.to_string())?;
    let (me, parent) = grandchild.join().map_err(|err| err.to_string())?;
    assert_eq!(parent.map(|p| p.name), Some(current_process().name));
    Ok(me.name)
}

/// Starts a daemonic and a non-daemonic grandchild, writes their pids to `path`, then naps.
fn parent_of_two(path: String) {
    let daemon = Process::builder().daemon(true).build(nap, LONG_NAP_MS);
    let plain = Process::new(nap, LONG_NAP_MS);
    daemon.start().expect("start the daemonic grandchild");
    plain.start().expect("start the non-daemonic grandchild");
    let pids = format!("{} {}", daemon.pid().unwrap(), plain.pid().unwrap());
    write_atomically(&path, &pids);
    nap(LONG_NAP_MS);
}

/// Starts a daemonic grandchild, writes its pid to `path`, and returns at once.
fn leave_a_daemon(path: String) {
    let daemon = Process::builder().daemon(true).build(nap, LONG_NAP_MS);
    daemon.start().expect("start the daemonic grandchild");
    write_atomically(&path, &daemon.pid().unwrap().to_string());
}

fn write_atomically(path: &str, text: &str) {
    let partial = format!("{path}.partial");
    std::fs::write(&partial, text).expect("write the pids");
    std::fs::rename(&partial, path).expect("publish the pids");
}

fn scratch_file(what: &str) -> PathBuf {
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    let nanos = since_epoch.map_or(0, |elapsed| elapsed.as_nanos());
    std::env::temp_dir().join(format!("amphi-{what}-{}-{nanos}", std::process::id()))
}

/// Whether `pid` names a live process (not gone, not a zombie), from `/proc`.
fn alive(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let state = stat
        .rsplit(')')
        .next()
        .and_then(|rest| rest.trim().chars().next());
    !matches!(state, Some('Z' | 'X') | None)
}

/// Kills the listed processes when dropped, so a failed test leaves nothing behind.
struct KillOnDrop(Vec<u32>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        for &pid in &self.0 {
            if alive(pid) {
                // SAFETY: kill takes a pid and a signal number; the pid is a process this test
                // started (a grandchild), checked alive just before.
                unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            }
        }
    }
}

fn read_pids(path: &PathBuf) -> Vec<u32> {
    wait_for("the child to report its children's pids", || path.exists());
    let text = std::fs::read_to_string(path).expect("read the pids");
    let _ = std::fs::remove_file(path);
    text.split_whitespace()
        .map(|pid| pid.parse().unwrap())
        .collect()
}

#[test]
fn handles_can_be_shared_between_threads() {
    fn send_and_sync<T: Send + Sync>() {}
    send_and_sync::<Process<Order>>();
    send_and_sync::<amphi::process::ChildProcess>();
}

#[test]
fn the_return_value_round_trips() {
    let order = Order {
        id: 7,
        items: vec!["tea".into(), "scones".into()],
        note: None,
    };
    let child = Process::new(fulfil, order.clone());
    child.start().unwrap();
    assert_eq!(child.join().unwrap(), (order.clone(), 2));
    assert_eq!(
        child.join().unwrap(),
        (order, 2),
        "joining again gives the result again"
    );
    assert_eq!(child.exitcode(), Some(0));
}

#[test]
fn large_arguments_and_results_cross_both_ways() {
    let text = "x".repeat(8 << 20);
    let child = Process::new(echo, text.clone());
    child.start().unwrap();
    assert_eq!(child.join().unwrap().len(), text.len());
}

#[test]
fn exitcodes_follow_python() {
    let returned = Process::new(square, 3);
    let panicked = Process::new(fail, "boom".to_owned());
    let exited = Process::new(exit_with, 3);
    let terminated = Process::new(nap, LONG_NAP_MS);
    let killed = Process::new(nap, LONG_NAP_MS);
    for child in [&terminated, &killed] {
        child.start().unwrap();
        assert_eq!(child.exitcode(), None, "no exit code while it runs");
    }
    returned.start().unwrap();
    panicked.start().unwrap();
    exited.start().unwrap();
    terminated.terminate().unwrap();
    killed.kill().unwrap();

    assert_eq!(returned.join(), Ok(9));
    assert!(matches!(panicked.join(), Err(Error::Panicked(_))));
    let failed = |name: &str, exitcode| Error::ProcessFailed {
        name: name.to_owned(),
        exitcode,
    };
    assert_eq!(exited.join(), Err(failed(exited.name(), 3)));
    assert_eq!(terminated.join(), Err(failed(terminated.name(), -15)));
    assert_eq!(killed.join(), Err(failed(killed.name(), -9)));
    assert_eq!(returned.exitcode(), Some(0));
    assert_eq!(panicked.exitcode(), Some(1));
    assert_eq!(exited.exitcode(), Some(3));
    assert_eq!(terminated.exitcode(), Some(-15));
    assert_eq!(killed.exitcode(), Some(-9));
    assert!(!terminated.is_alive() && !killed.is_alive());
    assert!(terminated
        .join()
        .unwrap_err()
        .to_string()
        .contains("killed by signal 15"));
}

#[test]
fn join_timeout_on_a_live_child_times_out_and_leaves_it_running() {
    let child = Process::new(nap, LONG_NAP_MS);
    child.start().unwrap();
    let start = Instant::now();
    let timeout = Duration::from_millis(200);
    assert_eq!(child.join_timeout(timeout), Err(Error::Timeout));
    assert_waited_at_least(start.elapsed(), timeout);
    assert!(
        child.is_alive(),
        "a timed-out join leaves the child running"
    );
    assert_eq!(child.exitcode(), None);
    assert_eq!(child.join_timeout(Duration::ZERO), Err(Error::Timeout));
    child.kill().unwrap();
    assert!(child.join_timeout(Duration::from_secs(30)).is_err());
    assert_eq!(child.exitcode(), Some(-9));
}

#[test]
fn a_hundred_short_children() {
    let children: Vec<_> = (0..100).map(|i| Process::new(square, i)).collect();
    for child in &children {
        child.start().unwrap();
    }
    for (i, child) in (0u64..).zip(&children) {
        assert_eq!(child.join().unwrap(), i * i);
        assert_eq!(child.exitcode(), Some(0));
    }
}

#[test]
fn a_panicking_child_reports_its_message_and_location() {
    let child = Process::builder()
        .name("doomed")
        .build(fail, "out of cheese".to_owned());
    child.start().unwrap();
    let Err(Error::Panicked(report)) = child.join() else {
        panic!("expected a panic report");
    };
    assert_eq!(report.thread, "doomed");
    assert_eq!(report.message, "out of cheese");
    let location = report.location.expect("a location");
    assert!(location.contains("tests/process.rs"), "{location}");
    assert_eq!(child.exitcode(), Some(1));
}

#[test]
fn join_async_returns_the_result() {
    let child = Process::new(square, 11);
    child.start().unwrap();
    assert_eq!(futures_executor::block_on(child.join_async()), Ok(121));
    let unstarted = Process::new(square, 1);
    let result = futures_executor::block_on(unstarted.join_async());
    assert_eq!(result, Err(Error::NotStarted(unstarted.name().to_owned())));
}

#[test]
fn current_process_and_parent_process() {
    let me = current_process();
    assert_eq!(
        (me.name.as_str(), me.pid, me.daemon),
        ("MainProcess", std::process::id(), false)
    );
    assert_eq!(parent_process(), None);

    let child = Process::builder()
        .name("curious")
        .daemon(true)
        .build(whoami, ());
    child.start().unwrap();
    let (seen, parent) = child.join().unwrap();
    assert_eq!(
        (seen.name.as_str(), Some(seen.pid), seen.daemon),
        ("curious", child.pid(), true)
    );
    assert_eq!(parent, Some(me));
}

#[test]
fn default_names_number_children_and_grandchildren() {
    let child = Process::new(start_grandchild, ());
    let name = child.name().to_owned();
    assert!(name.starts_with("Process-"), "{name}");
    child.start().unwrap();
    assert_eq!(child.join().unwrap(), Ok(format!("{name}:1")));
}

#[test]
fn daemonic_processes_may_not_have_children() {
    let child = Process::builder().daemon(true).build(start_grandchild, ());
    child.start().unwrap();
    let refused = child.join().unwrap().unwrap_err();
    assert!(
        refused.contains("daemonic processes are not allowed to have children"),
        "{refused}"
    );
}

#[test]
fn active_children_are_started_alive_and_not_joined() {
    let sleeper = Process::new(nap, LONG_NAP_MS);
    let quick = Process::new(noop, ());
    let unstarted = Process::new(noop, ());
    let listed = |child: &Process<()>| {
        active_children()
            .iter()
            .any(|c| c.pid().is_some() && c.pid() == child.pid())
    };
    sleeper.start().unwrap();
    quick.start().unwrap();
    assert!(listed(&sleeper));
    assert!(!listed(&unstarted));
    quick.join().unwrap();
    assert!(!listed(&quick), "a joined child is not active");
    let handle = active_children()
        .into_iter()
        .find(|c| c.pid() == sleeper.pid())
        .unwrap();
    assert_eq!(handle.name(), sleeper.name());
    handle.terminate().unwrap();
    assert!(sleeper.join().is_err());
    assert!(!listed(&sleeper));
    assert_eq!(handle.exitcode(), Some(-15));
}

#[test]
fn start_twice_is_an_error_and_so_is_using_an_unstarted_process() {
    let child = Process::new(noop, ());
    let name = child.name().to_owned();
    assert_eq!(child.join(), Err(Error::NotStarted(name.clone())));
    assert_eq!(child.terminate(), Err(Error::NotStarted(name.clone())));
    assert_eq!(child.kill(), Err(Error::NotStarted(name.clone())));
    assert_eq!(
        (child.pid(), child.exitcode(), child.is_alive()),
        (None, None, false)
    );
    child.start().unwrap();
    assert_eq!(child.start(), Err(Error::AlreadyStarted(name)));
    child.join().unwrap();
    assert_eq!(
        child.terminate(),
        Ok(()),
        "signalling an ended child does nothing"
    );
}

#[test]
fn daemonic_children_die_when_their_parent_is_killed_and_others_live_on() {
    let path = scratch_file("pids");
    let middle = Process::new(parent_of_two, path.to_string_lossy().into_owned());
    middle.start().unwrap();
    let pids = read_pids(&path);
    let cleanup = KillOnDrop(pids.clone());
    let (daemon, plain) = (pids[0], pids[1]);
    assert!(alive(daemon) && alive(plain));

    middle.kill().unwrap();
    assert!(matches!(
        middle.join(),
        Err(Error::ProcessFailed { exitcode: -9, .. })
    ));
    wait_for("the daemonic grandchild to die with its parent", || {
        !alive(daemon)
    });
    assert!(alive(plain), "a non-daemonic child outlives its parent");
    drop(cleanup);
    wait_for("the non-daemonic grandchild to be cleaned up", || {
        !alive(plain)
    });
}

#[test]
fn daemonic_children_die_when_their_parent_returns() {
    let path = scratch_file("pid");
    let middle = Process::new(leave_a_daemon, path.to_string_lossy().into_owned());
    middle.start().unwrap();
    middle.join().unwrap();
    let pids = read_pids(&path);
    let _cleanup = KillOnDrop(pids.clone());
    wait_for("the daemonic grandchild to die with its parent", || {
        !alive(pids[0])
    });
}
