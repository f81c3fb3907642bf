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

    fn four_processes() {
        let report = run_ok("four-processes", 3);
        assert_eq!(report.output.len(), 5, "{:#?}", report.output);
        assert!(report.output[0].ends_with("doing: Main program"));
        for (i, line) in report.output[1..].iter().enumerate() {
            assert!(line.ends_with(&format!("doing: loop {i}")), "{line}");
        }
    }

    fn daemon() {
        let report = run_ok("daemon", 4);
        let output = &report.output;
        let position = |text: &str| output.iter().position(|line| line.contains(text));
        assert!(position("d.is_alive(): true").is_some(), "{output:#?}");
        assert!(position("non-daemon").is_some(), "{output:#?}");
        assert!(
            position("d.is_alive()") < position("returns, leaving its daemon running"),
            "{output:#?}"
        );
        assert!(
            output.last().is_some_and(|line| line.contains("is gone")),
            "{output:#?}"
        );
    }

    fn manager() {
        let report = run_ok("manager", 4);
        assert!(
            report.output.iter().any(|line| line.starts_with("shared list: [")),
            "the shared list was printed: {:#?}",
            report.output
        );
    }

    fn manager_dict() {
        let report = run_ok("manager-dict", 2);
        assert_eq!(report.output, ["{'a': 1, 'b': 2}"], "{:#?}", report.output);
    }
}
