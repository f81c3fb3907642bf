//! Seed 001, start methods: what this runtime offers to start a child process, and which one
//! runs.
//!
//! ```python
//! print(mp.get_all_start_methods())   # e.g. ['fork', 'spawn', 'forkserver']
//! print(mp.get_start_method())        # e.g. 'fork'
//! ```
//!
//! Natively a child is this program started again ("spawn"); in the browser it is an isolated
//! Web Worker, with its own instance of the module and its own memory ("worker"). There is
//! one method per target, so nothing to set. A child reports the start method it sees, its
//! pid and its parent's. Checks: the method in use is among those offered; the child sees the
//! same one; and it really ran in another process, whose parent is this one.

use std::time::Duration;

use crate::Run;
use amphi::process::{self, current_process, parent_process, Process};
use amphi::Error;

const PATIENCE: Duration = Duration::from_secs(60);

/// The child: the start method it sees, its pid, and its parent's.
fn report((): ()) -> (String, u32, Option<u32>) {
    (
        process::get_start_method().name().to_owned(),
        current_process().pid,
        parent_process().map(|parent| parent.pid),
    )
}

pub(super) fn run(run: &mut Run) -> Result<(), Error> {
    let offered = process::get_all_start_methods();
    let method = process::get_start_method();
    let names: Vec<&str> = offered.iter().map(|m| m.name()).collect();
    run.line(format!("get_all_start_methods(): {names:?}"));
    run.line(format!("get_start_method(): '{method}'"));
    run.line(match method {
        process::StartMethod::Spawn => "a child is this program started again (re-execution)",
        process::StartMethod::Worker => {
            "a child is an isolated Web Worker: its own module instance and its own memory"
        }
    });
    run.check(
        "the start method in use is one of those offered",
        offered.contains(&method),
        format!("{method} in {names:?}"),
    );

    let me = current_process().pid;
    let child = Process::new(report, ());
    child.start()?;
    let (seen, pid, parent) = child.join_timeout(PATIENCE)?;
    run.line(format!(
        "the child (pid {pid}, parent pid {parent:?}) started by '{seen}'; this process is {me}"
    ));
    run.check(
        "the child sees the same start method",
        seen == method.name(),
        format!("the child says '{seen}'"),
    );
    run.check(
        "the child ran in another process, started by this one",
        pid != me && parent == Some(me),
        format!("child pid {pid}, its parent {parent:?}, this process {me}"),
    );
    Ok(())
}
