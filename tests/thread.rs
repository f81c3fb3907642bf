//! Conformance of [`amphi::Thread`] with Python's `threading.Thread`, after CPython's
//! `Lib/test/test_threading.py`: on native threads and, through `wasm-pack test`, on Web
//! Workers. Includes the proof that two threads really run at once (so a silent fall-back to
//! one thread fails) and, in the browser, that the page is cross-origin isolated.

#[macro_use]
mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use amphi::time::Instant;
use amphi::{thread, Error, Lock, Thread};
use common::assert_waited_at_least;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

/// Waits until `count` reaches `parties`, for at most 10 s; true if it did.
fn rendezvous(count: &AtomicU32, parties: u32) -> bool {
    count.fetch_add(1, Ordering::SeqCst);
    let start = Instant::now();
    while count.load(Ordering::SeqCst) < parties {
        if start.elapsed() > Duration::from_secs(10) {
            return false;
        }
        std::hint::spin_loop();
    }
    true
}

conformance! {
    fn spawn_and_join_returns_the_result() {
        let worker = Thread::spawn(|| 6 * 7).unwrap();
        assert_eq!(worker.join().unwrap(), 42);
    }

    fn names_default_to_thread_n_and_can_be_set() {
        let unnamed = Thread::spawn(thread::current_name).unwrap();
        let default_name = unnamed.name().to_owned();
        assert!(default_name.starts_with("Thread-"), "{default_name}");
        assert_eq!(unnamed.join().unwrap(), default_name);
        let named = thread::Builder::new().name("downloader").spawn(thread::current_name).unwrap();
        assert_eq!(named.name(), "downloader");
        assert_eq!(named.join().unwrap(), "downloader");
    }

    fn is_alive_while_running_and_not_after() {
        let gate = Arc::new(Lock::new());
        gate.acquire().unwrap().leak();
        let worker = {
            let gate = gate.clone();
            Thread::spawn(move || drop(gate.acquire().unwrap())).unwrap()
        };
        assert!(worker.is_alive());
        gate.release().unwrap();
        worker.join_timeout(Duration::from_secs(10)).unwrap();
        assert!(!worker.is_alive());
    }

    fn join_timeout_on_a_running_thread_times_out_and_can_be_retried() {
        let gate = Arc::new(Lock::new());
        gate.acquire().unwrap().leak();
        let worker = {
            let gate = gate.clone();
            Thread::spawn(move || {
                drop(gate.acquire().unwrap());
                "finished"
            })
            .unwrap()
        };
        let start = Instant::now();
        assert_eq!(worker.join_timeout(Duration::from_millis(100)), Err(Error::Timeout));
        assert_waited_at_least(start.elapsed(), Duration::from_millis(100));
        assert!(worker.is_alive(), "a timed-out join leaves the thread running");
        gate.release().unwrap();
        assert_eq!(worker.join_timeout(Duration::from_secs(10)), Ok("finished"));
    }

    fn a_second_join_reports_already_joined() {
        let worker = thread::Builder::new().name("once").spawn(|| 1).unwrap();
        assert_eq!(worker.join_timeout(Duration::from_secs(10)), Ok(1));
        assert_eq!(worker.join(), Err(Error::AlreadyJoined("once".into())));
    }

    fn a_panic_is_reported_to_the_joiner_with_message_and_location() {
        let worker = thread::Builder::new()
            .name("doomed")
            .spawn(|| -> u32 { panic!("deposit failed: {}", 7) })
            .unwrap();
        match worker.join() {
            Err(Error::Panicked(report)) => {
                assert_eq!(report.thread, "doomed");
                assert_eq!(report.message, "deposit failed: 7");
                let location = report.location.expect("the location is recorded");
                assert!(location.contains("thread.rs"), "{location}");
            }
            other => panic!("expected a panic report, got {other:?}"),
        }
    }

    fn a_panicking_thread_does_not_poison_others() {
        let doomed = Thread::spawn(|| panic!("boom")).unwrap();
        assert!(matches!(doomed.join(), Err(Error::Panicked(_))));
        let healthy = Thread::spawn(|| "still here").unwrap();
        assert_eq!(healthy.join().unwrap(), "still here");
    }

    fn two_threads_really_run_at_once() {
        // Each thread waits for the other to arrive: this only completes with real parallelism
        // (or preemption), never on a runtime that runs threads one after another.
        let arrived = Arc::new(AtomicU32::new(0));
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let arrived = arrived.clone();
                Thread::spawn(move || rendezvous(&arrived, 2)).unwrap()
            })
            .collect();
        for thread in threads {
            assert!(thread.join().unwrap(), "the two threads never ran at the same time");
        }
    }

    fn many_threads_each_return_their_own_result() {
        let count = if cfg!(miri) { 4 } else { 32 };
        let threads: Vec<_> = (0..count).map(|i| Thread::spawn(move || i * i).unwrap()).collect();
        let results: Vec<u64> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        assert_eq!(results, (0..count).map(|i| i * i).collect::<Vec<_>>());
    }

    fn threads_spawn_and_join_threads() {
        let outer = Thread::spawn(|| {
            let inner = Thread::spawn(thread::current_name).unwrap();
            let inner_name = inner.name().to_owned();
            (inner.join().unwrap(), inner_name)
        })
        .unwrap();
        let (seen, expected) = outer.join().unwrap();
        assert_eq!(seen, expected);
    }

    fn sleep_sleeps_at_least_roughly_as_asked() {
        let start = Instant::now();
        thread::sleep(Duration::from_millis(50)).unwrap();
        assert_waited_at_least(start.elapsed(), Duration::from_millis(50));
    }

    fn dropping_a_thread_handle_detaches_it() {
        let done = Arc::new(AtomicU32::new(0));
        {
            let done = done.clone();
            drop(Thread::spawn(move || done.store(1, Ordering::SeqCst)).unwrap());
        }
        common::wait_for("the detached thread to run", || done.load(Ordering::SeqCst) == 1);
    }
}

conformance_async! {
    async fn join_async_returns_the_result() {
        let worker = Thread::spawn(|| {
            thread::sleep(Duration::from_millis(10)).unwrap();
            "async"
        })
        .unwrap();
        assert_eq!(worker.join_async().await.unwrap(), "async");
    }

    async fn join_async_reports_a_panic() {
        let worker = Thread::spawn(|| panic!("async boom")).unwrap();
        match worker.join_async().await {
            Err(Error::Panicked(report)) => assert_eq!(report.message, "async boom"),
            other => panic!("expected a panic report, got {other:?}"),
        }
    }
}

#[cfg(target_arch = "wasm32")]
#[wasm_bindgen_test::wasm_bindgen_test]
fn the_test_page_is_cross_origin_isolated() {
    let isolated = js_sys::Reflect::get(&js_sys::global(), &"crossOriginIsolated".into()).unwrap();
    assert_eq!(
        isolated.as_bool(),
        Some(true),
        "without isolation workers cannot share memory"
    );
}

/// A handle may be held across `catch_unwind`, as std's `JoinHandle` may: async exports that
/// await a join are `UnwindSafe` futures (wasm-bindgen requires it when panics unwind), and so
/// are the other handles a program holds across such an await.
#[allow(dead_code)] // checked when it compiles
fn handles_are_unwind_safe() {
    fn unwind_safe<T: std::panic::UnwindSafe + std::panic::RefUnwindSafe>() {}
    unwind_safe::<Thread<u64>>();
    unwind_safe::<Thread<Vec<String>>>();
    unwind_safe::<Lock>();
    unwind_safe::<amphi::Event>();
    unwind_safe::<amphi::Queue<u64>>();
    unwind_safe::<amphi::Connection<u64>>();
    unwind_safe::<amphi::process::Process<u64>>();
    unwind_safe::<amphi::process::Queue<u64>>();
}
