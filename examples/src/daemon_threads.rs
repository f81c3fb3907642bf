//! Seed 004, daemon threads: a daemonic thread goes on running when the program's work is
//! done, while a non-daemonic one is joined.
//!
//! ```python
//! def daemon():
//!     print('Starting:', threading.current_thread().name)
//!     time.sleep(5)          # still running when main ends
//!     print('Exiting :', threading.current_thread().name)
//! def non_daemon():
//!     print('Starting:', threading.current_thread().name)
//!     print('Exiting :', threading.current_thread().name)
//! d = threading.Thread(name='daemon', target=daemon, daemon=True)
//! t = threading.Thread(name='non-daemon', target=non_daemon)
//! d.start(); t.start()
//! t.join()                   # Python's exit waits for non-daemons only
//! ```
//!
//! Rust's `main` waits for no thread at all, so "the program waits for non-daemons" is the
//! example's own `join`; the daemon flag is the one [`Builder::daemon`](thread::Builder::daemon)
//! set, as `current_thread().daemon` and `enumerate()` report it. The daemon beats while it
//! runs. Checks: the non-daemon ran to its end and was joined; when the work is done the
//! daemon is still alive, still listed by `enumerate` as daemonic, and has been beating; then
//! the example stops it (a Python program would leave it to die with the interpreter) so
//! nothing outlives the run.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::Run;
use amphi::{thread, Error, Event};

const BEAT: Duration = Duration::from_millis(20);
const DAEMON_LIFE: Duration = Duration::from_secs(30);
const PATIENCE: Duration = Duration::from_secs(30);

pub(super) fn run(run: &mut Run) -> Result<(), Error> {
    let stop = Arc::new(Event::new());
    let daemon_started = Arc::new(Event::new());
    let beats = Arc::new(AtomicU32::new(0));
    let d = {
        let (out, stop, beats) = (run.out().clone(), Arc::clone(&stop), Arc::clone(&beats));
        let daemon_started = Arc::clone(&daemon_started);
        thread::Builder::new()
            .name("daemon")
            .daemon(true)
            .spawn(move || {
                let me = thread::current_thread();
                out.line(format!("Starting: {} (daemon: {})", me.name(), me.daemon()));
                daemon_started.set();
                let started = amphi::time::Instant::now();
                while started.elapsed() < DAEMON_LIFE {
                    if stop.wait_timeout(BEAT).is_ok() {
                        break;
                    }
                    beats.fetch_add(1, Ordering::SeqCst);
                }
                out.line(format!("Exiting : {}", me.name()));
            })?
    };
    let t = {
        let out = run.out().clone();
        thread::Builder::new()
            .name("non-daemon")
            .daemon(false)
            .spawn(move || {
                let me = thread::current_thread();
                out.line(format!("Starting: {} (daemon: {})", me.name(), me.daemon()));
                thread::sleep(BEAT * 3)?;
                out.line(format!("Exiting : {}", me.name()));
                Ok::<_, Error>(me.daemon())
            })?
    };
    daemon_started.wait_timeout(PATIENCE)?;
    let non_daemon_was_daemonic = t.join_timeout(PATIENCE)??;
    run.line("the non-daemon is joined: the program's work is done");
    run.check(
        "the non-daemonic thread ran to its end and was joined",
        !non_daemon_was_daemonic && !t.is_alive(),
        format!("non-daemon alive: {}", t.is_alive()),
    );

    let alive = d.is_alive();
    let listed_daemonic = thread::enumerate()
        .iter()
        .any(|info| info.name() == "daemon" && info.daemon() && info.is_alive());
    let beaten = beats.load(Ordering::SeqCst);
    run.line(format!(
        "d.is_alive(): {alive}, listed by enumerate() as daemonic: {listed_daemonic}, beats so far: {beaten}"
    ));
    run.check(
        "the daemonic thread is still running when the work is done",
        alive && listed_daemonic && d.daemon(),
        format!("alive {alive}, listed as daemonic {listed_daemonic}, {beaten} beats"),
    );

    stop.set();
    d.join_timeout(PATIENCE)?;
    run.line("the daemon was stopped, so nothing outlives the example");
    Ok(())
}
