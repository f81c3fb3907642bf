//! Start methods, after Python's `multiprocessing.get_start_method()` and
//! `get_all_start_methods()`: one per target ("spawn" natively, "worker" in the browser),
//! the one a child really starts with, and the same answer inside the child.

#[allow(unused_macros)] // conformance_async! has no use here
#[macro_use]
mod common;

use amphi::process::{self, Process, StartMethod};

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

fn start_method_in_child((): ()) -> String {
    process::get_start_method().name().to_owned()
}

conformance! {
    fn the_target_offers_one_start_method_and_uses_it() {
        let method = process::get_start_method();
        assert_eq!(process::get_all_start_methods(), [method]);
        assert!(matches!(method, StartMethod::Spawn | StartMethod::Worker));
        assert_eq!(method.to_string(), method.name());
        assert_eq!(StartMethod::Spawn.name(), "spawn");
        assert_eq!(StartMethod::Worker.name(), "worker");
    }

    fn a_child_reports_the_same_start_method() {
        let child = Process::new(start_method_in_child, ());
        child.start().expect("start a child");
        let seen = child.join_timeout(common::PATIENCE).expect("join the child");
        assert_eq!(seen, process::get_start_method().name());
    }
}
