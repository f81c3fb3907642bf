//! Seed 004, "Daemon process": a daemonic child does not hold its parent back; a timed `join`
//! returns while it still runs, a non-daemonic child finishes, and the daemon ends with its
//! parent.
//!
//! ```python
//! d = multiprocessing.Process(name='daemon', target=daemon)     # sleeps 5 s
//! d.daemon = True
//! n = multiprocessing.Process(name='non-daemon', target=non_daemon)
//! n.daemon = False
//! d.start(); n.start()
//! d.join(1)
//! print('d.is_alive():', d.is_alive())
//! n.join()
//! ```
//!
//! The seed's main program is the daemon's parent, and the daemon's end is seen when that
//! program exits. So that the example can watch it, the seed's program runs here as a child
//! process, `parent`, of the example. `parent` starts the daemon and the non-daemon, joins the
//! daemon with a timeout (which expires: the daemon is still alive), joins the non-daemon, and
//! returns. The daemon, meanwhile, beats: it raises a shared [`Value`] every few milliseconds
//! for far longer than the example runs. Once `parent` has ended, the example watches the beat:
//! it stops, because the daemon ended with its parent (natively the operating system kills it
//! when its parent exits; in the browser a process worker ends the workers it started).
//!
//! Lines of the three processes travel to the example on a process [`Queue`], as in
//! `early-stop`. Checks: the timed join expired with the daemon alive; the non-daemon finished
//! with exit code 0 before its parent returned; the daemon beat while its parent lived, and
//! its beat stopped after the parent ended.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::Run;
use amphi::process::{current_process, Process, Queue, Value};
use amphi::time::Instant;
use amphi::{thread, Error};

/// How long `parent` waits for the daemon (1 s in the seed).
const DAEMON_JOIN: Duration = Duration::from_millis(300);
/// How often the daemon beats.
const BEAT: Duration = Duration::from_millis(5);
/// How long the daemon would beat if nothing ended it (5 s of sleep in the seed).
const DAEMON_LIFE: Duration = Duration::from_secs(60);
/// A beat that stays still this long means the daemon is gone.
const STILL: Duration = Duration::from_millis(400);
/// How long the example waits for the daemon's beat to stop.
const GONE_WITHIN: Duration = Duration::from_secs(20);
const JOIN_WITHIN: Duration = Duration::from_secs(60);

/// What `parent` saw, returned to the example.
#[derive(Debug, Serialize, Deserialize)]
struct Seen {
    daemon_pid: Option<u32>,
    /// Whether `d.join(timeout)` ended with a timeout.
    timed_join_expired: bool,
    /// `d.is_alive()` after the timed join.
    daemon_alive_after_join: bool,
    /// The daemon's beats by the time `parent` returned.
    beats_while_parent_lived: u64,
    /// The non-daemon's exit code once joined.
    non_daemon_exitcode: Option<i32>,
}

fn say(lines: &Queue<String>, what: &str) {
    let me = current_process();
    let _ = lines.put(format!("{} ({}): {what}", me.name, me.pid));
}

/// The daemon: says it starts, then beats for [`DAEMON_LIFE`] unless it is ended first.
fn daemon((lines, beats): (Queue<String>, Value<u64>)) {
    say(&lines, "Starting");
    let started = Instant::now();
    while started.elapsed() < DAEMON_LIFE {
        beats.set(beats.get() + 1);
        let _ = thread::sleep(BEAT);
    }
    say(&lines, "Exiting (its parent should have ended it long ago)");
}

/// The non-daemon: starts and exits at once.
fn non_daemon(lines: Queue<String>) {
    say(&lines, "Starting");
    say(&lines, "Exiting");
}

/// The seed's main program.
fn parent((lines, beats): (Queue<String>, Value<u64>)) -> Result<Seen, String> {
    let text = |error: Error| error.to_string();
    let d = Process::builder()
        .name("daemon")
        .daemon(true)
        .build(daemon, (lines.clone(), beats.clone()));
    let n = Process::builder()
        .name("non-daemon")
        .daemon(false)
        .build(non_daemon, lines.clone());
    d.start().map_err(text)?;
    n.start().map_err(text)?;
    let timed_join_expired = d.join_timeout(DAEMON_JOIN) == Err(Error::Timeout);
    let daemon_alive_after_join = d.is_alive();
    say(&lines, &format!("d.is_alive(): {daemon_alive_after_join}"));
    n.join_timeout(JOIN_WITHIN).map_err(text)?;
    say(&lines, "returns, leaving its daemon running");
    Ok(Seen {
        daemon_pid: d.pid(),
        timed_join_expired,
        daemon_alive_after_join,
        beats_while_parent_lived: beats.get(),
        non_daemon_exitcode: n.exitcode(),
    })
}

/// Copies the lines that have arrived into the output.
fn catch_up(lines: &Queue<String>, run: &Run) {
    while let Ok(line) = lines.try_get() {
        run.line(line);
    }
}

/// Waits until `beats` stays still for [`STILL`]: the beat count then, or `None` if it still
/// moved after [`GONE_WITHIN`].
fn wait_for_stillness(beats: &Value<u64>) -> Result<Option<u64>, Error> {
    let started = Instant::now();
    let mut last = beats.get();
    while started.elapsed() < GONE_WITHIN {
        thread::sleep(STILL)?;
        let now = beats.get();
        if now == last {
            return Ok(Some(now));
        }
        last = now;
    }
    Ok(None)
}

pub(super) fn run(run: &mut Run) -> Result<(), Error> {
    let lines = Queue::unbounded()?;
    let beats = Value::new_without_lock(0u64)?;
    let main = Process::builder()
        .name("parent")
        .build(parent, (lines.clone(), beats.clone()));
    main.start()?;
    let joined = main.join_timeout(JOIN_WITHIN);
    catch_up(&lines, run);
    let seen = match joined? {
        Ok(seen) => seen,
        Err(reason) => {
            run.check("the parent ran", false, reason);
            return Ok(());
        }
    };
    run.line(format!(
        "parent ended (exit code {:?}); watching the daemon's beat",
        main.exitcode()
    ));
    let still_at = wait_for_stillness(&beats)?;
    catch_up(&lines, run);
    let daemon = match seen.daemon_pid {
        Some(pid) => format!("daemon {pid}"),
        None => "the daemon".to_owned(),
    };
    match still_at {
        Some(count) => run.line(format!(
            "{daemon} is gone: its beat stopped at {count} and stayed still for {} ms",
            STILL.as_millis()
        )),
        None => run.line(format!(
            "{daemon} still beats {} s after its parent ended",
            GONE_WITHIN.as_secs()
        )),
    }

    run.check(
        "the timed join returns while the daemon is alive",
        seen.timed_join_expired && seen.daemon_alive_after_join,
        format!(
            "join_timeout({} ms) timed out: {}; d.is_alive() after it: {}",
            DAEMON_JOIN.as_millis(),
            seen.timed_join_expired,
            seen.daemon_alive_after_join
        ),
    );
    run.check(
        "the non-daemon finishes (exit code 0)",
        seen.non_daemon_exitcode == Some(0),
        format!("exit code {:?}", seen.non_daemon_exitcode),
    );
    run.check(
        "the daemon ran while its parent lived",
        seen.beats_while_parent_lived > 0,
        format!("{} beats by then", seen.beats_while_parent_lived),
    );
    run.check(
        "the daemon is gone once its parent has ended",
        still_at.is_some(),
        match still_at {
            Some(count) => format!(
                "{daemon}: beat still at {count} for {} ms after the parent ended",
                STILL.as_millis()
            ),
            None => format!("{daemon} still beating {} s later", GONE_WITHIN.as_secs()),
        },
    );
    Ok(())
}
