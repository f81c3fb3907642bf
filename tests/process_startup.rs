//! A re-executed child's start-up has a deadline: a child whose start-up socket stays open but
//! silent gives up, says why on stderr and exits with code 124, instead of waiting forever.
//!
//! The silent parent is this test: it starts this very test binary with `AMPHI_PROCESS_FD`
//! naming one end of a socket pair, keeps the other end open and writes nothing. The binary's
//! start-up hook then runs as a child's, before `main`. `AMPHI_START_UP_TIMEOUT_MS` shortens
//! the deadline (10 s by default) so the test takes a fraction of a second. A watchdog kills a
//! child that is still waiting long after the deadline, and the test fails.
//!
//! The socket reaches the child as descriptor 3 without any platform call in the test: it is
//! handed to `/bin/sh` as its standard input, which the shell moves to descriptor 3 (replacing
//! its standard input with `/dev/null`, as amphi does for its children) before it executes the
//! test binary in its place.

#![cfg(not(target_arch = "wasm32"))]

// The conformance macros serve the two-target suites; this one is native only.
#[allow(unused_macros)]
mod common;

use std::io::{ErrorKind, Read};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use amphi::process::Process;
use common::assert_waited_at_least;

/// The shortened deadline the silent child is given.
const DEADLINE: Duration = Duration::from_millis(300);

/// How long past the deadline the watchdog lets a child run before it counts a hang.
const WATCHDOG: Duration = Duration::from_secs(30);

/// The exit code of a child that gave up waiting for its start-up message.
const START_UP_TIMEOUT_EXIT: i32 = 124;

/// Waits for `child` to exit, for at most `patience`; kills it (and says so) if it does not.
fn wait_or_kill(child: &mut Child, patience: Duration) -> Result<ExitStatus, String> {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("poll the child") {
            return Ok(status);
        }
        if started.elapsed() > patience {
            child.kill().expect("kill the child");
            child.wait().expect("reap the child");
            return Err(format!("the child was still running after {patience:?}"));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Starts this test binary as a child whose start-up socket is `socket`, with the start-up
/// deadline set to `deadline_ms` and stderr piped.
fn start_child_on(socket: OwnedFd, deadline_ms: &str) -> Child {
    let this_binary = std::env::current_exe().expect("the test binary's path");
    Command::new("/bin/sh")
        .arg("-c")
        // `$0` is the binary; the arguments after it would only select no test if `main` ran.
        .arg(r#"exec 3<&0 </dev/null; exec "$0" --exact no-test-has-this-name"#)
        .arg(this_binary)
        .env("AMPHI_PROCESS_FD", "3")
        .env("AMPHI_START_UP_TIMEOUT_MS", deadline_ms)
        .env_remove("AMPHI_SHM_FD")
        .stdin(Stdio::from(socket))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the child")
}

#[test]
fn a_child_whose_parent_stays_silent_gives_up_with_a_clear_message() {
    let (parent_end, child_end) = UnixStream::pair().expect("a socket pair");
    let started = Instant::now();
    let mut child = start_child_on(OwnedFd::from(child_end), &DEADLINE.as_millis().to_string());

    let status = wait_or_kill(&mut child, DEADLINE + WATCHDOG);
    let elapsed = started.elapsed();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr is piped")
        .read_to_string(&mut stderr)
        .expect("read the child's stderr");
    let status = status.unwrap_or_else(|hang| panic!("{hang}: no start-up deadline\n{stderr}"));

    assert_eq!(
        status.code(),
        Some(START_UP_TIMEOUT_EXIT),
        "not the start-up timeout's exit code ({status}); stderr:\n{stderr}"
    );
    assert!(
        stderr.contains("this child process cannot run")
            && stderr.contains("the parent sent nothing for 300ms")
            && stderr.contains("AMPHI_START_UP_TIMEOUT_MS"),
        "stderr does not say why the child gave up:\n{stderr}"
    );
    assert!(
        !stderr.contains("panicked"),
        "the child panicked:\n{stderr}"
    );
    assert_waited_at_least(elapsed, DEADLINE);

    // A parent that reads after all learns why: the child's report names the deadline.
    parent_end
        .set_read_timeout(Some(WATCHDOG))
        .expect("a read timeout");
    let mut report = Vec::new();
    match (&parent_end).read_to_end(&mut report) {
        Ok(_) => {}
        Err(err) if err.kind() == ErrorKind::WouldBlock => {
            panic!("the child's end of the socket is still open after it exited")
        }
        Err(err) => panic!("cannot read the child's report: {err}"),
    }
    let report = String::from_utf8_lossy(&report);
    assert!(
        report.contains("the parent sent nothing for 300ms"),
        "the report does not say why the child gave up: {report:?}"
    );
}

#[test]
fn a_malformed_deadline_falls_back_to_the_default_and_says_so() {
    let (parent_end, child_end) = UnixStream::pair().expect("a socket pair");
    let mut child = start_child_on(OwnedFd::from(child_end), "soon");
    // The child waits for the default deadline; closing the socket ends its wait at once.
    drop(parent_end);
    let status = wait_or_kill(&mut child, WATCHDOG);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr is piped")
        .read_to_string(&mut stderr)
        .expect("read the child's stderr");
    let status = status.unwrap_or_else(|hang| panic!("{hang}\n{stderr}"));
    assert!(
        stderr.contains("AMPHI_START_UP_TIMEOUT_MS=\"soon\" is not a whole number")
            && stderr.contains("waiting 10s"),
        "the malformed variable is not reported:\n{stderr}"
    );
    assert_eq!(
        status.code(),
        Some(1),
        "a closed socket is not the ordinary start-up failure ({status}); stderr:\n{stderr}"
    );
}

fn double(x: u32) -> u32 {
    2 * x
}

#[test]
fn a_parent_that_sends_its_message_is_unaffected_by_the_deadline() {
    let child = Process::new(double, 21);
    child.start().expect("start a child");
    assert_eq!(
        child
            .join_timeout(common::PATIENCE)
            .expect("join the child"),
        42
    );
}
