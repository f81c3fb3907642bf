//! The pool examples (`amphi_examples`), run as tests on both targets: each must finish
//! without error and with every check holding, on threads and on processes (natively child
//! processes, in the browser process workers). The CLI and the web page run the same
//! functions. Timings are reported, never asserted.

#[allow(unused_macros)] // conformance_async! has no use here
#[macro_use]
mod common;

use common::run_ok;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

conformance! {
    fn pool() {
        let report = run_ok("pool", 3);
        assert_eq!(report.output[0], "[0, 1, 4, 9, 16, 25, 36, 49, 64, 81]");
        assert_eq!(report.output[1], "4");
    }

    fn process_pool() {
        let report = run_ok("process-pool", 3);
        assert_eq!(report.output[0], "[0, 1, 4, 9, 16, 25, 36, 49, 64, 81]");
        assert_eq!(report.output[1], "4");
        assert_eq!(report.output[2], "[0, 1, 4, 9, 16, 25, 36, 49, 64, 81]");
    }

    fn pool_executor() {
        let report = run_ok("pool-executor", 5);
        assert!(report.output.iter().any(|l| l == "apply: 25"), "{:#?}", report.output);
        assert_eq!(report.output.iter().filter(|l| l.starts_with("  done: ")).count(), 5);
    }

    fn process_pool_executor() {
        let report = run_ok("process-pool-executor", 5);
        assert_eq!(report.output[0], "--- Pool ---");
        assert!(report.output.iter().any(|l| l == "apply: 25"), "{:#?}", report.output);
        assert!(report.output.iter().any(|l| l == "--- ProcessPoolExecutor ---"));
        assert_eq!(report.output.iter().filter(|l| l.starts_with("  done: ")).count(), 5);
    }

    fn cpu_speedup() {
        let report = run_ok("cpu-speedup", 1);
        assert!(report.checks[0].detail.contains("speed-up"), "{:#?}", report.checks);
        assert!(report.output.iter().any(|l| l.starts_with("  speed-up: ")));
    }

    fn process_cpu_speedup() {
        let report = run_ok("process-cpu-speedup", 2);
        for workers in ["4 threads:", "4 processes:"] {
            assert!(report.output.iter().any(|l| l == workers), "{:#?}", report.output);
        }
        assert_eq!(report.output.iter().filter(|l| l.starts_with("  speed-up: ")).count(), 2);
        assert!(report.checks[1].detail.contains("processes against threads"), "{:#?}", report.checks);
    }

    fn image_processing() {
        let report = run_ok("image-processing", 1);
        assert!(report.checks[0].detail.contains("speed-up"), "{:#?}", report.checks);
        assert!(report.output.iter().any(|l| l == "  processed: image_0.jpg"));
    }
}
