//! Seed 004, "Early stop": a child process loops printing; its parent works a little, then
//! stops it early with [`Process::terminate`].
//!
//! ```python
//! p = multiprocessing.Process(target=loopy, args=('loopy',))
//! p.start()
//! for _ in range(3):
//!     print('Main processing...')
//!     time.sleep(4)
//! p.terminate()
//! print('Done.')
//! ```
//!
//! Here the child prints every 50 ms and the parent works three times 200 ms (1 s and 4 s in
//! the original). Checks: the child was alive before `terminate`, is not after (the parent
//! joins it), and its exit code is -15 (SIGTERM), as Python reports it.
//!
//! A child's lines cannot go into the parent's output directly (a child is another process, and
//! on its standard output they would mix into the CLI's `--json` reports), so the child puts
//! them on a process [`Queue`] that the parent drains while it works, in order. The same code
//! runs natively (a child process) and in the browser (a process worker).

use std::time::Duration;

use crate::Run;
use amphi::process::{current_process, Process, Queue};
use amphi::{thread, Error};

const LOOPS: u64 = 100_000;
const CHILD_PAUSE: Duration = Duration::from_millis(50);
const MAIN_PAUSE: Duration = Duration::from_millis(200);
const STOP_WITHIN: Duration = Duration::from_secs(30);

fn whoami(name: &str) -> String {
    format!("Process {} - doing: {name}", current_process().pid)
}

/// The child: says who it is, then counts slowly, one line per step, onto `lines`.
fn loopy((name, lines): (String, Queue<String>)) {
    let _ = lines.put(whoami(&name));
    for i in 1..LOOPS {
        if lines.put(format!("Doing {i} of {LOOPS}")).is_err() {
            return;
        }
        let _ = thread::sleep(CHILD_PAUSE);
    }
}

/// Copies the child's lines that have arrived into the output.
fn catch_up(lines: &Queue<String>, run: &Run) {
    while let Ok(line) = lines.try_get() {
        run.line(line);
    }
}

pub(super) fn run(run: &mut Run) -> Result<(), Error> {
    let lines = Queue::unbounded()?;
    run.line(whoami("Main program"));
    let child = Process::builder()
        .name("loopy")
        .build(loopy, ("loopy".to_owned(), lines.clone()));
    child.start()?;
    for _ in 0..3 {
        catch_up(&lines, run);
        run.line("Main processing...");
        thread::sleep(MAIN_PAUSE)?;
    }
    catch_up(&lines, run);
    let alive_before = child.is_alive();
    child.terminate()?;
    if child.join_timeout(STOP_WITHIN) == Err(Error::Timeout) {
        child.kill()?;
    }
    catch_up(&lines, run);
    run.line("Done.");

    let exitcode = child.exitcode();
    run.check(
        "exitcode == -15 (SIGTERM)",
        exitcode == Some(-15),
        format!("exitcode is {exitcode:?}"),
    );
    run.check(
        "alive before terminate",
        alive_before,
        format!("is_alive() was {alive_before}"),
    );
    let alive_after = child.is_alive();
    run.check(
        "not alive after terminate",
        !alive_after,
        format!("is_alive() after terminate and join is {alive_after}"),
    );
    Ok(())
}
