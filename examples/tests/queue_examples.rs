//! The queue and pipe examples (`amphi_examples`), run as tests on both targets: each must
//! finish without error and with every check holding. The CLI and the web page run the same
//! functions.

#[allow(unused_macros)] // conformance_async! has no use here
#[macro_use]
mod common;

use common::run_ok;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

conformance! {
    fn producer_consumer() {
        let report = run_ok("producer-consumer", 2);
        let consumed: Vec<_> = report.output.iter().filter(|l| l.starts_with("consumed")).collect();
        assert_eq!(consumed, ["consumed: 0", "consumed: 1", "consumed: 2", "consumed: 3", "consumed: 4"]);
    }

    fn pipe() {
        let report = run_ok("pipe", 3);
        assert_eq!(report.output.last().map(String::as_str), Some("receiver: end of file, stopping"));
    }

    fn queue_workers_lock() {
        let report = run_ok("queue-workers-lock", 2);
        // Each job's three lines come together, from one worker.
        let jobs: Vec<_> = report.output.iter().take_while(|l| *l != "Done.").collect();
        assert_eq!(jobs.len(), 15);
        for triple in jobs.chunks(3) {
            let worker = triple[0].strip_prefix("Lock acquired by ").expect("starts a job");
            assert!(triple[1].starts_with(&format!("{worker}: Data ")), "{triple:?}");
            assert_eq!(*triple[2], format!("Lock released by {worker}"));
        }
    }

    fn queue_workers_semaphore() {
        let report = run_ok("queue-workers-semaphore", 3);
        assert_eq!(report.output.last().map(String::as_str), Some("Done."));
    }

    fn washer_dryer() {
        let report = run_ok("washer-dryer", 3);
        let wash_done = report.output.iter().position(|l| l == "All wash work done!!!");
        let all_done = report.output.iter().position(|l| l == "All Done!");
        assert!(wash_done < all_done && wash_done.is_some(), "{:#?}", report.output);
        let dried = report.output.iter().filter(|l| l.contains(" - Done: ")).count();
        assert_eq!(dried, 4);
    }
}
