//! The seed examples of threads, processes and their information (`amphi_examples`): the
//! attacks on both families, the downloads, the primitives tour, thread jobs, thread
//! information, Timer, daemon threads, process basics and start methods, run as tests on both
//! targets (in the browser, process examples on process workers). Each must finish with every
//! check holding; the CLI and the web page run the same functions. Timings are the examples'
//! own checks (with their tolerances); these tests assert no time.

#[allow(unused_macros)] // conformance_async! has no use here
#[macro_use]
mod common;

use common::run_ok;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

/// The position of the first line containing `text`.
fn position(output: &[String], text: &str) -> Option<usize> {
    output.iter().position(|line| line.contains(text))
}

conformance! {
    fn attacks_threads() {
        let report = run_ok("attacks-threads", 2);
        let draws = report.output.iter().filter(|l| l.starts_with("Process ")).count();
        assert_eq!(draws, 6, "{:#?}", report.output);
    }

    fn attacks_processes() {
        let report = run_ok("attacks-processes", 2);
        let draws = report.output.iter().filter(|l| l.starts_with("Process ")).count();
        assert_eq!(draws, 6, "{:#?}", report.output);
    }

    fn downloads() {
        let report = run_ok("downloads", 1);
        let output = &report.output;
        assert!(position(output, "Start download Peking Hot.avi") < position(output, "Peking Hot.avi Complete"), "{output:#?}");
        assert!(output.last().is_some_and(|l| l.starts_with("Total time spent:")), "{output:#?}");
    }

    fn primitives_tour() {
        let report = run_ok("primitives-tour", 6);
        for primitive in ["Lock:", "RLock:", "Semaphore(2):", "Event:", "Condition:", "Value:"] {
            assert!(report.checks.iter().any(|c| c.name.starts_with(primitive)), "no {primitive} check: {:#?}", report.checks);
        }
    }

    fn thread_jobs() {
        let report = run_ok("thread-jobs", 2);
        let output = &report.output;
        assert!(position(output, "Done job_short") < position(output, "Done job_long"), "{output:#?}");
        assert_eq!(output.last().map(String::as_str), Some("All done!"));
    }

    fn thread_info() {
        let report = run_ok("thread-info", 5);
        assert!(report.output.iter().any(|l| l.contains("<_MainThread(MainThread, started")), "{:#?}", report.output);
    }

    fn timer() {
        let report = run_ok("timer", 2);
        let hellos = report.output.iter().filter(|l| l.starts_with("hello, world")).count();
        assert_eq!(hellos, 1, "only the timer that was not cancelled says hello: {:#?}", report.output);
    }

    fn daemon_threads() {
        let report = run_ok("daemon-threads", 2);
        let output = &report.output;
        assert!(position(output, "Exiting : non-daemon") < position(output, "Exiting : daemon"), "{output:#?}");
        assert!(position(output, "d.is_alive(): true") < position(output, "Exiting : daemon"), "{output:#?}");
    }

    fn process_basics() {
        let report = run_ok("process-basics", 5);
        assert!(report.output.iter().any(|l| l.starts_with("before start: name MyProcess, pid None")), "{:#?}", report.output);
    }

    fn start_methods() {
        let report = run_ok("start-methods", 3);
        assert!(report.output[1].starts_with("get_start_method(): '"), "{:#?}", report.output);
    }
}
