//! The process examples (`amphi_examples`), run as tests on both targets: native child
//! processes, and in the browser process workers. Each must finish with every check holding;
//! the CLI and the web page run the same functions.

#[allow(unused_macros)] // conformance_async! has no use here
#[macro_use]
mod common;

use common::run_ok;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

conformance! {
    fn early_stop() {
        let report = run_ok("early-stop", 3);
        let output = &report.output;
        assert!(
            output.iter().any(|line| line.ends_with("doing: loopy")),
            "the child's first line reached the parent: {output:#?}"
        );
        assert!(
            output.iter().any(|line| line.starts_with("Doing 1 of")),
            "the child's counting reached the parent: {output:#?}"
        );
        assert_eq!(output.last().map(String::as_str), Some("Done."));
    }

    fn shared_memory() {
        run_ok("shared-memory", 3);
    }

    fn manager() {
        let report = run_ok("manager", 4);
        assert!(
            report.output.iter().any(|line| line.starts_with("shared list: [")),
            "the shared list was printed: {:#?}",
            report.output
        );
    }
}
