//! A manager's clients killed at random instants: a client that dies costs only its own
//! connections, never the manager or the other clients.
//!
//! Each trial starts a child that hammers a dict proxy (an insert and a get in a loop, each
//! inserted value longer than a ring, so that its request streams through its ring in pieces
//! and a death is likely to land in the middle of one), waits until its loop runs, sleeps a
//! random 0-5 ms and kills it (natively SIGKILL, in the browser `Worker.terminate()`). Then:
//! - the manager still answers this process, every call within [`SURVIVOR`] (a `Timeout`
//!   there is a hang, any error a failure);
//! - every [`FRESH_EVERY`] trials, a new child process completes calls too;
//! - the server releases what the dead child held (its reference to the dict it was given)
//!   and forgets it as a client within [`RELEASE`]: its stats come back to this process's
//!   one dict and one client.
//!
//! And natively, a client stopped (SIGSTOP) at random instants while it writes long requests
//! holds up no other client: each time, the manager answers this process while the child is
//! stopped.
//!
//! Trials: 200 natively (`AMPHI_KILL_TRIALS` overrides it, `AMPHI_KILL_SEED` replays a run),
//! a few in the browser, where every child is a costly worker start. The test runs under a
//! watchdog, and every failure names its trial and the run's seed, so that it can be
//! replayed.

#[macro_use]
#[allow(unused_macros)]
mod common;

use std::time::Duration;

use amphi::process::{DictProxy, Event, Manager, ManagerStats, Process};
use amphi::time::Instant;
use amphi::Error;
use common::KillRng;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

/// How long the whole test may run before its watchdog fails it.
const WATCHDOG: Duration = Duration::from_secs(600);
/// How long each of the survivor's calls may take before it counts as a hang.
const SURVIVOR: Duration = Duration::from_secs(5);
/// How long the server may take to release a dead client's references (its sweep runs every
/// 250 ms; this bound leaves room for a loaded machine).
const RELEASE: Duration = Duration::from_secs(10);
/// The longest random delay between the child's loop running and its death, in microseconds.
const MAX_DELAY_US: u64 = 5_000;
/// How often a fresh child process checks that the manager serves it.
const FRESH_EVERY: u32 = 25;
/// A value longer than a ring (64 KiB): its request streams through in pieces.
const LONG: usize = 100 << 10;
/// The key of the short value the child reads back.
const SHORT_KEY: u32 = 100;

fn trials() -> u32 {
    common::kill_trials(200, 4)
}

/// The child: inserts long values and reads back a short one until it is killed (so that it
/// spends most of its time writing requests); says once that its loop runs.
fn hammer(shared: (DictProxy<u32, String>, Event)) {
    let (dict, running) = shared;
    let long = "L".repeat(LONG);
    dict.insert(&SHORT_KEY, &"s".to_owned())
        .expect("the manager serves the child");
    let mut n: u32 = 0;
    loop {
        n = n.wrapping_add(1);
        dict.insert(&(n % 4), &long)
            .expect("the manager serves the child");
        dict.get(&SHORT_KEY).expect("the manager serves the child");
        if n == 2 {
            running.set();
        }
    }
}

/// A fresh client: a few calls on the dict it is given; whether they all worked.
fn fresh_client(dict: DictProxy<u32, String>) -> bool {
    (0..10).all(|n| {
        dict.insert_timeout(&n, &format!("fresh {n}"), SURVIVOR)
            .is_ok()
            && dict.get_timeout(&n, SURVIVOR) == Ok(Some(format!("fresh {n}")))
    })
}

/// Waits (within [`RELEASE`]) until the server's stats are `objects` objects and `clients`
/// clients; the stats it saw last if they never were.
fn wait_for_stats(manager: &Manager, objects: usize, clients: usize) -> Result<(), ManagerStats> {
    let started = Instant::now();
    loop {
        let stats = manager
            .stats_timeout(SURVIVOR)
            .expect("the manager answers its stats");
        if stats.objects == objects && stats.clients == clients {
            return Ok(());
        }
        if started.elapsed() >= RELEASE {
            return Err(stats);
        }
        amphi::thread::sleep(Duration::from_millis(5)).expect("test threads may block");
    }
}

fn run() {
    let mut rng = KillRng::new("manager_kill");
    let seed = rng.seed();
    let manager = Manager::start().unwrap();
    let probe = manager.dict::<u32, String>().unwrap();
    probe.insert(&0, &"probe".to_owned()).unwrap();
    // This process's one dict, and this process as the one client.
    wait_for_stats(&manager, 1, 1).unwrap_or_else(|stats| panic!("at the start: {stats:?}"));
    let trials = trials();
    for trial in 0..trials {
        let context = format!("trial {trial} of {trials} (seed {seed})");
        let scratch = manager.dict::<u32, String>().unwrap();
        let running = Event::new().unwrap();
        let child = Process::new(hammer, (scratch.clone(), running.clone()));
        child.start().unwrap();
        drop(scratch);
        running
            .wait_timeout(common::PATIENCE)
            .unwrap_or_else(|error| panic!("{context}: the child's loop never ran: {error}"));
        let delay = Duration::from_micros(rng.below(MAX_DELAY_US + 1));
        amphi::thread::sleep(delay).unwrap();
        child.kill().unwrap();
        assert!(
            child.join_timeout(common::PATIENCE).is_err(),
            "{context}: the child was killed, so it did not return"
        );
        // The manager goes on for this process.
        let word = format!("after {trial}");
        match probe.insert_timeout(&1, &word, SURVIVOR) {
            Ok(_) => {}
            Err(Error::Timeout) => panic!("{context}: the manager hung after a client died"),
            Err(error) => panic!("{context}: the manager failed after a client died: {error}"),
        }
        assert_eq!(
            probe.get_timeout(&1, SURVIVOR),
            Ok(Some(word)),
            "{context}: the manager answers"
        );
        // And for a new process.
        if trial % FRESH_EVERY == FRESH_EVERY - 1 {
            let fresh = Process::new(fresh_client, probe.clone());
            fresh.start().unwrap();
            assert_eq!(
                fresh.join_timeout(common::PATIENCE),
                Ok(true),
                "{context}: a fresh client's calls all worked"
            );
        }
        // The dead child's reference to its dict (and any fresh client) is released.
        if let Err(stats) = wait_for_stats(&manager, 1, 1) {
            panic!(
                "{context}: the dead child's references were not released within \
                 {RELEASE:?}: {stats:?}"
            );
        }
    }
    #[cfg(not(target_arch = "wasm32"))]
    println!("{trials} clients killed at random instants (seed {seed}): the manager went on");
    manager.shutdown().unwrap();
}

conformance! {
    fn a_client_killed_at_any_instant_costs_only_its_own_connections() {
        let body = amphi::Thread::spawn(run).expect("spawn the test's body");
        match body.join_timeout(WATCHDOG) {
            Ok(()) => {}
            Err(Error::Timeout) => panic!("the test hung: its body ran past {WATCHDOG:?}"),
            Err(error) => panic!("the test body failed: {error}"),
        }
    }
}

/// The child of the stopping test: inserts values of [`HUGE`] bytes until it is killed
/// (each request streams through its ring for a while); says once that its loop runs.
#[cfg(not(target_arch = "wasm32"))]
fn write_huge(shared: (DictProxy<u32, String>, Event)) {
    let (dict, running) = shared;
    let huge = "H".repeat(HUGE);
    let mut n: u32 = 0;
    loop {
        n = n.wrapping_add(1);
        dict.insert(&(n % 2), &huge)
            .expect("the manager serves the child");
        if n == 1 {
            running.set();
        }
    }
}

/// The value the stopped child writes: long enough that it is in the middle of one most of
/// the time.
#[cfg(not(target_arch = "wasm32"))]
const HUGE: usize = 4 << 20;

/// Sends `signal` (`STOP`, `CONT`) to process `pid` with kill(1).
#[cfg(not(target_arch = "wasm32"))]
fn signal(pid: u32, signal: &str) {
    let sent = std::process::Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .status()
        .expect("run kill(1)");
    assert!(sent.success(), "kill -{signal} {pid}");
}

#[cfg(not(target_arch = "wasm32"))]
#[test]
fn a_client_stopped_while_it_writes_holds_up_no_other() {
    const STOPS: u64 = 150;
    let body = amphi::Thread::spawn(|| {
        let mut rng = KillRng::new("a_client_stopped_while_it_writes");
        let seed = rng.seed();
        let manager = Manager::start().unwrap();
        let probe = manager.dict::<u32, String>().unwrap();
        let running = Event::new().unwrap();
        let child = Process::new(write_huge, (probe.clone(), running.clone()));
        child.start().unwrap();
        running.wait_timeout(common::PATIENCE).unwrap();
        let pid = child.pid().unwrap();
        for stop in 0..STOPS {
            amphi::thread::sleep(Duration::from_micros(rng.below(3_000))).unwrap();
            signal(pid, "STOP");
            // The child is stopped, perhaps in the middle of a request: this process is
            // served all the same.
            let word = format!("while stopped, {stop}");
            let served = probe.insert_timeout(&7, &word, SURVIVOR);
            let read = probe.get_timeout(&7, SURVIVOR);
            signal(pid, "CONT");
            let context = format!("stop {stop} of {STOPS} (seed {seed})");
            assert!(
                served.is_ok(),
                "{context}: a stopped client held up another: {served:?}"
            );
            assert_eq!(read, Ok(Some(word)), "{context}");
        }
        child.kill().unwrap();
        let _ = child.join_timeout(common::PATIENCE);
        manager.shutdown().unwrap();
    })
    .expect("spawn the test's body");
    match body.join_timeout(WATCHDOG) {
        Ok(()) => {}
        Err(Error::Timeout) => panic!("the test hung: its body ran past {WATCHDOG:?}"),
        Err(error) => panic!("the test body failed: {error}"),
    }
}
