//! Seed 004, "thread information": `active_count()`, `enumerate()`, `current_thread()`,
//! `main_thread()` and the idents, asked from the example's thread and from two threads of its
//! own.
//!
//! ```python
//! print(f'Active count: {threading.active_count()}')
//! print(f'All Threads:\n{threading.enumerate()}')
//! print(f'Current thread:\n{threading.current_thread()}')
//! ```
//!
//! Two named threads wait on an [`Event`] while the example lists the threads; each reports
//! `current_thread()`, `get_ident()` and `get_native_id()` from inside. Checks: both are listed
//! by `enumerate` (with the main thread first) and counted by `active_count`; each describes
//! itself by its own name, with `get_ident` agreeing; their idents and native ids differ from
//! each other's and from the main thread's; once joined they are no longer listed. Other
//! threads the program runs at the same time may be listed too.

use std::sync::Arc;
use std::time::Duration;

use crate::Run;
use amphi::thread::{self, ThreadInfo};
use amphi::{Error, Event};

const NAMES: [&str; 2] = ["worker-A", "worker-B"];
const PATIENCE: Duration = Duration::from_secs(30);

fn listed(name: &str) -> bool {
    thread::enumerate().iter().any(|info| info.name() == name)
}

pub(super) fn run(run: &mut Run) -> Result<(), Error> {
    let gate = Arc::new(Event::new());
    let ready = Arc::new(amphi::Semaphore::new(0));
    let workers = NAMES
        .iter()
        .map(|name| {
            let (gate, ready) = (Arc::clone(&gate), Arc::clone(&ready));
            thread::Builder::new().name(*name).spawn(move || {
                let me = thread::current_thread();
                let agrees =
                    me.ident() == thread::get_ident() && me.native_id() == thread::get_native_id();
                ready.release(1)?;
                gate.wait_timeout(PATIENCE)?;
                Ok::<(ThreadInfo, bool), Error>((me, agrees))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    for _ in NAMES {
        ready.acquire_timeout(PATIENCE)?.leak();
    }

    let count = thread::active_count();
    let all = thread::enumerate();
    run.line(format!("Active count: {count}"));
    run.line("All Threads:");
    for info in &all {
        run.line(format!("  {info}"));
    }
    run.line(format!("Current thread: {}", thread::current_thread()));
    let main = thread::main_thread();
    run.line(format!("Main thread: {main} (ident {})", main.ident()));
    let both_listed = NAMES.iter().all(|name| listed(name));
    run.check(
        "enumerate lists the main thread first and both workers",
        all.first() == Some(&main) && both_listed,
        format!(
            "enumerate: {:?}",
            all.iter().map(ThreadInfo::name).collect::<Vec<_>>()
        ),
    );
    run.check(
        "active_count counts the main thread and both workers",
        count > NAMES.len(),
        format!("active_count() = {count}"),
    );

    gate.set();
    let mut seen = Vec::new();
    let mut agree = true;
    for worker in workers {
        let (me, agrees) = worker.join_timeout(PATIENCE)??;
        run.line(format!(
            "{} said: current_thread() = {me}, get_ident() = {}, get_native_id() = {}",
            me.name(),
            me.ident(),
            me.native_id()
        ));
        agree &= agrees;
        seen.push(me);
    }
    run.check(
        "each worker describes itself by its own name, get_ident and get_native_id agreeing",
        agree && seen.iter().map(ThreadInfo::name).eq(NAMES),
        format!("{seen:?}"),
    );
    let distinct = seen[0].ident() != seen[1].ident()
        && seen[0].native_id() != seen[1].native_id()
        && seen
            .iter()
            .all(|me| me.ident() != main.ident() && me.native_id() != main.native_id());
    run.check(
        "idents and native ids differ between threads running at once",
        distinct,
        format!(
            "idents {:?}, native ids {:?}; the main thread's {} and {}",
            seen.iter().map(ThreadInfo::ident).collect::<Vec<_>>(),
            seen.iter().map(ThreadInfo::native_id).collect::<Vec<_>>(),
            main.ident(),
            main.native_id()
        ),
    );
    let gone = NAMES.iter().all(|name| !listed(name));
    run.line(format!(
        "After join: active count {}, workers listed: {}",
        thread::active_count(),
        !gone
    ));
    run.check(
        "joined workers are no longer listed nor alive",
        gone && seen.iter().all(|me| !me.is_alive()),
        format!(
            "workers alive: {:?}",
            seen.iter().map(ThreadInfo::is_alive).collect::<Vec<_>>()
        ),
    );
    Ok(())
}
