//! A child process that traps ends with an error its parent sees, on both targets: natively a
//! trap is an abort (SIGABRT ends the process), in the browser a wasm trap (`unreachable`) in
//! any thread of the child's instance. There wasm-bindgen's glue refuses every later call into
//! an instance once a call into it trapped, so the instance can never report its own end:
//! `worker.js` marks the trapped thread lost in memory, wakes its joiner, and the child's
//! process worker ends the process (exit code 1, "a thread trapped"). A parent's join must
//! return an error, never wait forever (every join here is timed, as a watchdog).
//!
//! The test runner's own instance must not trap (it would refuse the runner's calls too), so
//! every trap happens in a child.

#[macro_use]
#[allow(unused_macros)]
mod common;

use amphi::process::Process;
use amphi::Error;
use common::PATIENCE;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

/// Ends the calling thread with a trap: natively an abort, in the browser `unreachable`.
fn trap() -> ! {
    #[cfg(target_arch = "wasm32")]
    core::arch::wasm32::unreachable();
    #[cfg(not(target_arch = "wasm32"))]
    std::process::abort();
}

/// The child's main thread traps.
fn trap_on_the_main_thread(_: ()) {
    trap();
}

/// A thread the child started traps while the child's main thread joins it.
fn trap_on_another_thread(_: ()) {
    let trapping = amphi::Thread::spawn(|| trap()).expect("the child starts a thread");
    let _ = trapping.join();
    amphi::thread::sleep(PATIENCE).expect("a child may sleep");
}

/// Starts `target` in a child and joins it within [`PATIENCE`]: the error it ended with.
fn join_a_trapping_child(target: fn(())) -> Error {
    let child = Process::new(target, ());
    child.start().expect("the child starts");
    match child.join_timeout(PATIENCE) {
        Err(Error::Timeout) => panic!("the parent still waits for a child that trapped"),
        Err(error) => {
            assert_ne!(child.exitcode(), Some(0), "{error}");
            error
        }
        Ok(()) => panic!("a child that trapped reported a result"),
    }
}

conformance! {
    fn a_child_whose_main_thread_traps_ends_with_an_error() {
        join_a_trapping_child(trap_on_the_main_thread);
    }

    fn a_child_one_of_whose_threads_traps_ends_with_an_error() {
        join_a_trapping_child(trap_on_another_thread);
    }

    fn the_parent_goes_on_after_a_child_trapped() {
        join_a_trapping_child(trap_on_the_main_thread);
        fn double(x: u32) -> u32 {
            x * 2
        }
        let child = Process::new(double, 21);
        child.start().expect("a fresh child starts");
        assert_eq!(child.join_timeout(PATIENCE), Ok(42));
    }
}
