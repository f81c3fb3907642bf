//! Seed 004, "Do 4 times": the main program and four child processes each say who they are.
//!
//! ```python
//! def do_job(name):
//!     print(f'Process {os.getpid()} - doing: {name}')
//! whoami('Main program')
//! for i in range(4):
//!     p = multiprocessing.Process(target=do_job, args=(f'loop {i}',))
//!     p.start()
//! ```
//!
//! Each child answers with its own pid (as it sees it, from
//! [`current_process`]) in its return value, which the parent prints once it has joined it (a
//! child's standard output would mix into the CLI's `--json` reports). Checks: four distinct
//! pids, none the parent's, each the one the parent's handle reports. Natively the pids are the
//! operating system's; in the browser, the ids of the page's process tree (the page is 1).

use std::collections::BTreeSet;
use std::time::Duration;

use crate::Run;
use amphi::process::{current_process, Process};
use amphi::Error;

const CHILDREN: usize = 4;
const JOIN_WITHIN: Duration = Duration::from_secs(60);

/// The child: its pid, and the line it would print.
fn do_job(name: String) -> (u32, String) {
    let pid = current_process().pid;
    (pid, format!("Process {pid} - doing: {name}"))
}

pub(super) fn run(run: &mut Run) -> Result<(), Error> {
    let parent = current_process().pid;
    run.line(format!("Process {parent} - doing: Main program"));
    let children = (0..CHILDREN)
        .map(|i| {
            let child = Process::new(do_job, format!("loop {i}"));
            child.start().map(|()| child)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut pids = Vec::with_capacity(CHILDREN);
    let mut handles_agree = true;
    for child in &children {
        let (pid, line) = child.join_timeout(JOIN_WITHIN)?;
        run.line(line);
        handles_agree &= child.pid() == Some(pid);
        pids.push(pid);
    }

    let distinct: BTreeSet<u32> = pids.iter().copied().collect();
    run.check(
        format!("{CHILDREN} distinct child pids"),
        distinct.len() == CHILDREN,
        format!("child pids {pids:?}"),
    );
    run.check(
        "no child has the parent's pid",
        !distinct.contains(&parent),
        format!("parent pid {parent}, child pids {pids:?}"),
    );
    run.check(
        "each child's pid is the one its handle reports",
        handles_agree,
        format!(
            "the handles report {:?}",
            children.iter().map(Process::pid).collect::<Vec<_>>()
        ),
    );
    Ok(())
}
