//! Seed 001, "process basics": children with their pids and their parent's pid, and a
//! process's attributes before and after it runs: `is_alive`, `daemon`, `pid`, `exitcode`.
//!
//! ```python
//! print(f"main process PID: {os.getpid()}")
//! def worker(name):
//!     print(f"  process {name} starts, PID={os.getpid()}")
//!     time.sleep(0.1)
//!     print(f"  process {name} ends")
//! p1 = mp.Process(target=worker, args=("A",)); p2 = mp.Process(target=worker, args=("B",))
//! p1.start(); p2.start(); p1.join(); p2.join()
//! p = mp.Process(target=lambda: None, name="MyProcess")
//! print(p.name, p.pid, p.is_alive(), p.daemon)   # MyProcess None False False
//! ```
//!
//! Each child returns its lines (a child's standard output would mix into the CLI's `--json`
//! reports). Checks: each child's pid is its handle's and not the parent's, and its
//! `parent_process()` is this process; before `start` a process has no pid, is not alive and
//! has no exit code; while it runs it is alive; after `join` it is not, and its exit code is 0,
//! or the code it gave to `exit`; the daemon flag set before `start` reads the same after it.

use std::time::Duration;

use crate::Run;
use amphi::process::{self, current_process, parent_process, Process};
use amphi::{thread, Error};

const WORK: Duration = Duration::from_millis(100);
const PATIENCE: Duration = Duration::from_secs(60);

/// The seed's worker: says who it is and who its parent is, works, and ends.
fn worker(name: String) -> (u32, Option<u32>, Vec<String>) {
    let me = current_process();
    let parent = parent_process().map(|parent| parent.pid);
    let mut lines = vec![format!(
        "  process {name} starts, PID={}, parent PID={parent:?}",
        me.pid
    )];
    let _ = thread::sleep(WORK);
    lines.push(format!("  process {name} ends"));
    (me.pid, parent, lines)
}

/// A child that ends with its own exit code.
fn ends_with_code(code: i32) {
    let error = process::exit(code);
    unreachable!("a child exits: {error}");
}

pub(super) fn run(run: &mut Run) -> Result<(), Error> {
    let me = current_process().pid;
    run.line(format!("main process PID: {me}"));
    run.line("creating processes:");
    let children = ["A", "B"]
        .iter()
        .map(|name| {
            let child = Process::new(worker, (*name).to_owned());
            child.start().map(|()| child)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut family_ok = true;
    let mut seen = Vec::new();
    for child in &children {
        let (pid, parent, lines) = child.join_timeout(PATIENCE)?;
        for line in lines {
            run.line(line);
        }
        family_ok &= child.pid() == Some(pid) && pid != me && parent == Some(me);
        seen.push((pid, parent));
    }
    run.line("all processes done");
    run.check(
        "each child has its own pid, and this process as its parent",
        family_ok,
        format!("main {me}; children (pid, parent pid): {seen:?}"),
    );

    run.line("");
    run.line("--- process attributes ---");
    let p = Process::builder()
        .name("MyProcess")
        .daemon(true)
        .build(worker, "MyProcess".to_owned());
    let before = (p.pid(), p.is_alive(), p.daemon(), p.exitcode());
    run.line(format!(
        "before start: name {}, pid {:?}, is_alive {}, daemon {}, exitcode {:?}",
        p.name(),
        before.0,
        before.1,
        before.2,
        before.3
    ));
    p.start()?;
    let running = (p.pid(), p.is_alive(), p.daemon(), p.exitcode());
    run.line(format!(
        "after start: pid {:?}, is_alive {}, daemon {}, exitcode {:?}",
        running.0, running.1, running.2, running.3
    ));
    p.join_timeout(PATIENCE)?;
    let after = (p.is_alive(), p.exitcode());
    run.line(format!(
        "after join: is_alive {}, exitcode {:?}",
        after.0, after.1
    ));
    run.check(
        "before start: no pid, not alive, no exit code",
        before.0.is_none() && !before.1 && before.3.is_none(),
        format!(
            "pid {:?}, is_alive {}, exitcode {:?}",
            before.0, before.1, before.3
        ),
    );
    run.check(
        "after start: a pid, alive; after join: not alive, exit code 0",
        running.0.is_some() && running.1 && !after.0 && after.1 == Some(0),
        format!("after start {running:?}; after join {after:?}"),
    );
    run.check(
        "the daemon flag set before start reads the same after it",
        before.2 && running.2,
        format!("daemon before start {}, after {}", before.2, running.2),
    );

    let quitter = Process::new(ends_with_code, 3);
    quitter.start()?;
    let outcome = quitter.join_timeout(PATIENCE);
    run.line(format!(
        "a child that calls exit(3): join says {}, exitcode {:?}",
        match &outcome {
            Ok(()) => "ok".to_owned(),
            Err(error) => error.to_string(),
        },
        quitter.exitcode()
    ));
    run.check(
        "a child's own exit code reaches its parent",
        quitter.exitcode() == Some(3)
            && matches!(outcome, Err(Error::ProcessFailed { exitcode: 3, .. })),
        format!("exitcode {:?}", quitter.exitcode()),
    );
    Ok(())
}
