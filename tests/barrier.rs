//! Conformance of [`amphi::Barrier`] with Python's `threading.Barrier`, after CPython's
//! `Lib/test/lock_tests.py` (`BarrierTests`): on native threads and, through `wasm-pack test`,
//! on Web Workers.

#[macro_use]
mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use amphi::{Barrier, Error, Thread};
use common::wait_for;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

const PARTIES: u32 = 5;

/// Runs `body(i)` on `n` threads and returns their results in spawn order.
fn on_threads<T: Send + 'static>(
    n: u32,
    body: impl Fn(u32) -> T + Send + Sync + 'static,
) -> Vec<T> {
    let body = Arc::new(body);
    let threads: Vec<_> = (0..n)
        .map(|i| {
            let body = body.clone();
            Thread::spawn(move || body(i)).unwrap()
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

conformance! {

    fn the_action_runs_once_per_round_before_release() {
        let runs = Arc::new(AtomicU32::new(0));
        let barrier = {
            let runs = runs.clone();
            Arc::new(Barrier::new(PARTIES).unwrap().with_action(move || {
                runs.fetch_add(1, Ordering::SeqCst);
            }))
        };
        let seen = on_threads(PARTIES, {
            let runs = runs.clone();
            move |_| {
                barrier.wait().unwrap();
                let after_first = runs.load(Ordering::SeqCst);
                barrier.wait().unwrap();
                after_first
            }
        });
        assert_eq!(seen, vec![1; PARTIES as usize], "the action ran before anyone left");
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }

    fn the_default_timeout_applies_to_wait() {
        let barrier = Barrier::new(2).unwrap().with_timeout(Duration::from_millis(30));
        assert_eq!(barrier.wait(), Err(Error::BrokenBarrier));
        assert!(barrier.broken());
    }
}

conformance! {
    fn a_panicking_action_breaks_the_barrier_and_the_panic_goes_on() {
        let barrier = Arc::new(
            Barrier::new(2)
                .unwrap()
                .with_action(|| panic!("action failed")),
        );
        let other = {
            let barrier = barrier.clone();
            Thread::spawn(move || barrier.wait()).unwrap()
        };
        wait_for("the first waiter", || barrier.n_waiting() == 1);
        let last = {
            let barrier = barrier.clone();
            Thread::spawn(move || barrier.wait()).unwrap()
        };
        assert!(
            matches!(last.join(), Err(Error::Panicked(report)) if report.message == "action failed")
        );
        assert_eq!(other.join().unwrap(), Err(Error::BrokenBarrier));
        assert!(barrier.broken());
    }
}

conformance_async! {
    async fn wait_async_meets_blocking_waiters() {
        let barrier = Arc::new(Barrier::new(3).unwrap());
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let barrier = barrier.clone();
                Thread::spawn(move || barrier.wait()).unwrap()
            })
            .collect();
        let mine = barrier.wait_async().await.unwrap();
        let mut indices = vec![mine];
        for thread in threads {
            indices.push(thread.join_async().await.unwrap().unwrap());
        }
        indices.sort_unstable();
        assert_eq!(indices, [0, 1, 2]);
    }
}
