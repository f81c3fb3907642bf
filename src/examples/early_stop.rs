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
//! A child's lines cannot go into the parent's output directly (a child is another process;
//! the process queues will carry such lines), and on the child's standard output they would mix
//! into the CLI's `--json` reports. So the child appends them to a scratch file that the parent
//! follows while it works and copies into the output, in order. In the browser, starting the
//! process fails with a clear error until browser processes exist.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use super::Run;
use crate::process::{current_process, Process};
use crate::{thread, Error};

const LOOPS: u64 = 100_000;
const CHILD_PAUSE: Duration = Duration::from_millis(50);
const MAIN_PAUSE: Duration = Duration::from_millis(200);
const STOP_WITHIN: Duration = Duration::from_secs(30);

static RUNS: AtomicU32 = AtomicU32::new(0);

fn whoami(name: &str) -> String {
    format!("Process {} - doing: {name}", current_process().pid)
}

/// The child: says who it is, then counts slowly, one line per step, into `log`.
fn loopy((name, log): (String, PathBuf)) {
    let mut log = OpenOptions::new().create(true).append(true).open(log).ok();
    let mut print = |line: String| {
        if let Some(file) = log.as_mut() {
            let _ = file.write_all(format!("{line}\n").as_bytes());
        }
    };
    print(whoami(&name));
    for i in 1..LOOPS {
        print(format!("Doing {i} of {LOOPS}"));
        std::thread::sleep(CHILD_PAUSE);
    }
}

/// Copies the child's new complete lines into the output.
struct Follower {
    path: PathBuf,
    shown: usize,
}

impl Follower {
    fn catch_up(&mut self, run: &Run) {
        let Ok(text) = fs::read_to_string(&self.path) else {
            return;
        };
        let complete = text.rfind('\n').map_or("", |end| &text[..end]);
        for line in complete.lines().skip(self.shown) {
            run.line(line);
            self.shown += 1;
        }
    }
}

fn scratch_path() -> PathBuf {
    let dir = std::env::var_os("TMPDIR").unwrap_or_else(|| "/tmp".into());
    let run = RUNS.fetch_add(1, Ordering::Relaxed);
    let pid = current_process().pid;
    PathBuf::from(dir).join(format!("amphi-early-stop-{pid}-{run}.log"))
}

pub(super) fn run(run: &mut Run) -> Result<(), Error> {
    let path = scratch_path();
    let mut follower = Follower {
        path: path.clone(),
        shown: 0,
    };
    run.line(whoami("Main program"));
    let child = Process::builder()
        .name("loopy")
        .build(loopy, ("loopy".to_owned(), path.clone()));
    child.start()?;
    for _ in 0..3 {
        follower.catch_up(run);
        run.line("Main processing...");
        thread::sleep(MAIN_PAUSE)?;
    }
    follower.catch_up(run);
    let alive_before = child.is_alive();
    child.terminate()?;
    if child.join_timeout(STOP_WITHIN) == Err(Error::Timeout) {
        child.kill()?;
    }
    follower.catch_up(run);
    let _ = fs::remove_file(&path);
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
