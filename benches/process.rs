//! Process start + join: `amphi::process::Process` against Python's `multiprocessing.Process`
//! with the `spawn` and `fork` start methods, measured in the same run.
//!
//! Each side starts and joins `N` processes that do nothing, one after another, after one
//! warm-up start; the figure is the mean wall time per process. Python runs from
//! `benches/peers/python_process.py` with `python3` (skipped with a note if there is none).
//! The targets: at least 25x faster than Python's spawn, and faster than its fork.
//!
//! Run with `cargo bench --bench process` (native only: on wasm32 this is an empty `main`).

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::process::Command;
    use std::time::Duration;

    use amphi::process::Process;
    use amphi::time::Instant;

    const N: u32 = 200;
    const PYTHON_N: u32 = 40;

    fn noop(_: ()) {}

    fn amphi_per_process() -> Duration {
        let warm_up = Process::new(noop, ());
        warm_up.start().expect("start");
        warm_up.join().expect("join");
        let start = Instant::now();
        for _ in 0..N {
            let process = Process::new(noop, ());
            process.start().expect("start");
            process.join().expect("join");
        }
        start.elapsed() / N
    }

    fn python_per_process() -> Option<(f64, f64)> {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/benches/peers/python_process.py"
        );
        let output = Command::new("python3")
            .arg(script)
            .arg(PYTHON_N.to_string())
            .output()
            .ok()?;
        let figures: serde_json::Value = serde_json::from_slice(&output.stdout).ok()?;
        Some((figures["spawn"].as_f64()?, figures["fork"].as_f64()?))
    }

    pub(crate) fn main() {
        let amphi = amphi_per_process().as_secs_f64();
        println!(
            "process_start_join: amphi {:.3} ms per process ({N} processes)",
            amphi * 1e3
        );
        match python_per_process() {
            Some((spawn, fork)) => {
                println!(
                    "process_start_join: python spawn {:.3} ms, fork {:.3} ms ({PYTHON_N} each)",
                    spawn * 1e3,
                    fork * 1e3
                );
                println!(
                    "process_start_join: amphi / python_spawn = {:.3}x ({:.1}x faster), amphi / python_fork = {:.3}x",
                    amphi / spawn,
                    spawn / amphi,
                    amphi / fork
                );
            }
            None => println!("process_start_join: python3 not found; no peer figures"),
        }
    }
}

fn main() {
    #[cfg(not(target_arch = "wasm32"))]
    native::main();
}
