//! Conformance of [`amphi::Barrier`] with Python's `threading.Barrier`, after CPython's
//! `Lib/test/lock_tests.py` (`BarrierTests`): on native threads and, through `wasm-pack test`,
//! on Web Workers.

#[macro_use]
mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use amphi::{thread, Barrier, Error, Thread};
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
    fn zero_parties_is_an_invalid_argument() {
        assert!(matches!(Barrier::new(0), Err(Error::InvalidArgument(_))));
    }

    fn a_single_party_passes_at_once() {
        let barrier = Barrier::new(1).unwrap();
        assert_eq!(barrier.wait(), Ok(0));
        assert_eq!(barrier.wait(), Ok(0));
        assert_eq!(barrier.parties(), 1);
    }

    fn parties_pass_in_lockstep_for_many_rounds() {
        // Every thread counts its arrivals; after each barrier, all counts must be equal.
        const ROUNDS: u32 = 20;
        let barrier = Arc::new(Barrier::new(PARTIES).unwrap());
        let arrivals = Arc::new(AtomicU32::new(0));
        let out_of_step = on_threads(PARTIES, {
            let (barrier, arrivals) = (barrier.clone(), arrivals.clone());
            move |_| {
                let mut bad = 0;
                for round in 1..=ROUNDS {
                    arrivals.fetch_add(1, Ordering::SeqCst);
                    barrier.wait().unwrap();
                    if arrivals.load(Ordering::SeqCst) < round * PARTIES {
                        bad += 1;
                    }
                    barrier.wait().unwrap();
                }
                bad
            }
        });
        assert_eq!(out_of_step, vec![0; PARTIES as usize]);
        assert_eq!(arrivals.load(Ordering::SeqCst), ROUNDS * PARTIES);
    }

    fn wait_returns_distinct_indices() {
        let barrier = Arc::new(Barrier::new(PARTIES).unwrap());
        let mut indices = on_threads(PARTIES, move |_| barrier.wait().unwrap());
        indices.sort_unstable();
        assert_eq!(indices, (0..PARTIES).collect::<Vec<_>>());
    }

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

    fn abort_breaks_the_barrier_for_every_waiter() {
        let barrier = Arc::new(Barrier::new(PARTIES).unwrap());
        let waiters: Vec<_> = (0..PARTIES - 1)
            .map(|_| {
                let barrier = barrier.clone();
                Thread::spawn(move || barrier.wait()).unwrap()
            })
            .collect();
        wait_for("the waiters", || barrier.n_waiting() == PARTIES - 1);
        barrier.abort().unwrap();
        for waiter in waiters {
            assert_eq!(waiter.join().unwrap(), Err(Error::BrokenBarrier));
        }
        assert!(barrier.broken());
        assert_eq!(barrier.wait(), Err(Error::BrokenBarrier), "later callers fail too");
    }

    fn reset_releases_waiters_with_broken_and_the_barrier_is_reusable() {
        let barrier = Arc::new(Barrier::new(3).unwrap());
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let barrier = barrier.clone();
                Thread::spawn(move || barrier.wait()).unwrap()
            })
            .collect();
        wait_for("the waiters", || barrier.n_waiting() == 2);
        barrier.reset().unwrap();
        for waiter in waiters {
            assert_eq!(waiter.join().unwrap(), Err(Error::BrokenBarrier));
        }
        assert!(!barrier.broken());
        let mut indices = on_threads(3, move |_| barrier.wait().unwrap());
        indices.sort_unstable();
        assert_eq!(indices, [0, 1, 2]);
    }

    fn abort_then_reset_makes_it_usable_again() {
        let barrier = Arc::new(Barrier::new(2).unwrap());
        barrier.abort().unwrap();
        assert_eq!(barrier.wait(), Err(Error::BrokenBarrier));
        barrier.reset().unwrap();
        assert!(!barrier.broken());
        let results = on_threads(2, move |_| barrier.wait().is_ok());
        assert_eq!(results, [true, true]);
    }

    fn a_timed_out_wait_breaks_the_barrier_for_everyone() {
        let barrier = Arc::new(Barrier::new(3).unwrap());
        let patient = {
            let barrier = barrier.clone();
            Thread::spawn(move || barrier.wait_timeout(Duration::from_secs(10))).unwrap()
        };
        wait_for("the patient waiter", || barrier.n_waiting() == 1);
        assert_eq!(barrier.wait_timeout(Duration::from_millis(50)), Err(Error::BrokenBarrier));
        assert_eq!(patient.join().unwrap(), Err(Error::BrokenBarrier));
        assert!(barrier.broken());
    }

    fn the_default_timeout_applies_to_wait() {
        let barrier = Barrier::new(2).unwrap().with_timeout(Duration::from_millis(30));
        assert_eq!(barrier.wait(), Err(Error::BrokenBarrier));
        assert!(barrier.broken());
    }

    fn n_waiting_counts_the_current_round() {
        let barrier = Arc::new(Barrier::new(3).unwrap());
        assert_eq!(barrier.n_waiting(), 0);
        let waiter = {
            let barrier = barrier.clone();
            Thread::spawn(move || barrier.wait()).unwrap()
        };
        wait_for("one waiter", || barrier.n_waiting() == 1);
        thread::sleep(Duration::from_millis(5)).unwrap();
        assert_eq!(barrier.n_waiting(), 1);
        barrier.abort().unwrap();
        assert_eq!(waiter.join().unwrap(), Err(Error::BrokenBarrier));
        assert_eq!(barrier.n_waiting(), 0);
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
