//! What the pools over Redis need from the platform: the running executable's file (its
//! SHA-256 digest is the build identity every task carries), and worker mode by environment.
//!
//! Worker mode: a program started with `AMPHI_REDIS_WORKER` set to a Redis URL
//! ([`WORKER_ENV`]) serves the tasks of the pool named by `AMPHI_REDIS_POOL` ([`POOL_ENV`],
//! default `amphi`) on that server instead of running `main`, until it is stopped or the
//! server stays unreachable past the worker's patience; it exits with code 0 after a clean
//! stop and 1 with the reason on stderr otherwise. So any program that links amphi with the
//! `redis` feature is its own worker: `AMPHI_REDIS_WORKER=redis://host:6379 ./program` on
//! each machine. A constructor ([`serve_when_asked`], via `ctor`) reads the variable before
//! `main`, as the child start-up constructor (`child.rs`) reads its own; a child process
//! (its start-up variable set) is left to that constructor. The variable is removed before
//! serving, so the processes a task starts are not workers themselves.

use std::fs::File;
use std::io;

use super::child::CHILD_ENV;

/// The variable that makes a process a Redis worker: the server's URL.
pub(crate) const WORKER_ENV: &str = "AMPHI_REDIS_WORKER";

/// The variable that names the pool a worker started by [`WORKER_ENV`] serves.
pub(crate) const POOL_ENV: &str = "AMPHI_REDIS_POOL";

/// The running executable's file, to read its build identity from.
pub(crate) fn executable_file() -> io::Result<File> {
    File::open("/proc/self/exe")
}

/// The constructor: serves as a Redis worker when [`WORKER_ENV`] is set (see the module docs).
///
/// Running before `main` is sound here for the reasons `child.rs` gives for its constructor:
/// only what the C runtime and `std` provide before `main` on Linux is used (environment,
/// files, sockets, threads), no panic escapes (tasks run under the pool's catch), and it
/// never returns into `main` once it serves.
// SAFETY: a constructor runs before `main`; the paragraph above says why this one may.
#[ctor::ctor(unsafe, priority = late)]
fn serve_when_asked() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return;
    }
    let Some(url) = std::env::var_os(WORKER_ENV) else {
        return;
    };
    let pool = std::env::var(POOL_ENV).ok();
    // Before main, no other thread exists yet to read the environment concurrently.
    std::env::remove_var(WORKER_ENV);
    std::env::remove_var(POOL_ENV);
    let Some(url) = url.to_str() else {
        eprintln!("amphi: {WORKER_ENV} is not valid UTF-8");
        std::process::exit(1);
    };
    let mut options = crate::process::WorkerOptions::new();
    if let Some(pool) = pool {
        options = options.pool(pool);
    }
    match crate::process::redis_worker(url, &options) {
        Ok(()) => std::process::exit(0),
        Err(error) => {
            eprintln!("amphi: the Redis worker stopped: {error}");
            std::process::exit(1);
        }
    }
}
