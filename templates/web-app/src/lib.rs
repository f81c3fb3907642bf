//! A crate of your own that uses amphi in the browser: `parallelSum` sums a range on several
//! amphi threads, which share this module's memory, and again in a child process, a Web Worker
//! with its own instance of the module. Build it with `wasm-pack build --target web` (see
//! README.md) and call it from JavaScript (`main.js`).

use amphi::process::Process;
use amphi::Thread;
use wasm_bindgen::prelude::*;

/// What `parallelSum` computed, and where.
#[wasm_bindgen]
#[derive(Clone, Copy, Debug)]
pub struct Sums {
    /// The sum, computed in parts on amphi threads.
    pub threads: f64,
    /// The sum, computed by a child process.
    pub process: f64,
    /// The child process's exit code (0: it returned).
    #[wasm_bindgen(js_name = processExitCode)]
    pub process_exit_code: i32,
}

/// The sum of `from..to`. A process target is a plain `fn` taking its arguments by value.
fn sum_range((from, to): (u64, u64)) -> u64 {
    (from..to).sum()
}

/// Sums `0..n` on `threads` amphi threads, then in one child process.
///
/// The page's main thread must never block, so this awaits the `_async` forms of `join`.
#[wasm_bindgen(js_name = parallelSum)]
pub async fn parallel_sum(n: u32, threads: u32) -> Result<Sums, JsError> {
    let n = u64::from(n);
    let parts = u64::from(threads.max(1));
    let workers = (0..parts)
        .map(|part| {
            let range = (n * part / parts, n * (part + 1) / parts);
            Thread::spawn(move || sum_range(range))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut threads_sum = 0;
    for worker in &workers {
        threads_sum += worker.join_async().await?;
    }

    let child = Process::new(sum_range, (0, n));
    child.start()?;
    let process_sum = child.join_async().await?;
    Ok(Sums {
        threads: threads_sum as f64,
        process: process_sum as f64,
        process_exit_code: child.exitcode().unwrap_or(-1),
    })
}
