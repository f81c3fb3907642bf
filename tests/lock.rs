//! Conformance of [`amphi::Lock`] with Python's `threading.Lock`, after CPython's
//! `Lib/test/lock_tests.py` (`BaseLockTests`, `LockTests`): on native threads and, through
//! `wasm-pack test`, on Web Workers.

#[macro_use]
mod common;

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use amphi::time::Instant;
use amphi::{thread, Error, Lock, Thread};
use common::{assert_waited_at_least, wait_for};

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

conformance! {
    fn constructor_and_debug() {
        let lock = Lock::new();
        assert!(!lock.locked());
        assert_eq!(format!("{lock:?}"), "Lock { locked: false }");
        let _held = lock.acquire().unwrap();
        assert_eq!(format!("{lock:?}"), "Lock { locked: true }");
    }

    fn acquire_then_release() {
        let lock = Lock::new();
        let guard = lock.acquire().unwrap();
        assert!(lock.locked());
        drop(guard);
        assert!(!lock.locked());
        lock.acquire().unwrap().leak();
        lock.release().unwrap();
        assert!(!lock.locked());
    }

    fn try_acquire_fails_while_held() {
        let lock = Lock::new();
        let held = lock.try_acquire().expect("a free lock is taken");
        assert!(lock.try_acquire().is_none());
        assert!(lock.locked(), "a failed try_acquire leaves the holder's lock held");
        assert_eq!(format!("{lock:?}"), "Lock { locked: true }");
        drop(held);
        assert!(!lock.locked());
        assert!(lock.try_acquire().is_some());
    }

    fn try_acquire_from_another_thread_fails_while_held() {
        let lock = Arc::new(Lock::new());
        let _held = lock.acquire().unwrap();
        let other = Arc::clone(&lock);
        let got_it = Thread::spawn(move || other.try_acquire().is_some()).unwrap();
        assert!(!got_it.join().unwrap());
    }

    fn release_of_unlocked_lock_is_an_error() {
        let lock = Lock::new();
        assert_eq!(lock.release(), Err(Error::NotLocked));
        assert!(!lock.locked(), "a failed release leaves the lock unlocked");
        lock.acquire().unwrap().leak();
        lock.release().unwrap();
        assert_eq!(lock.release(), Err(Error::NotLocked));
    }

    fn acquire_contended_wakes_every_waiter() {
        // Five threads block on a held lock; each gets it in turn once it is released.
        let lock = Arc::new(Lock::new());
        let started = Arc::new(AtomicU32::new(0));
        let finished = Arc::new(AtomicU32::new(0));
        lock.acquire().unwrap().leak();
        let waiters: Vec<_> = (0..5)
            .map(|_| {
                let (lock, started, finished) = (lock.clone(), started.clone(), finished.clone());
                Thread::spawn(move || {
                    started.fetch_add(1, Ordering::SeqCst);
                    let _held = lock.acquire().unwrap();
                    finished.fetch_add(1, Ordering::SeqCst);
                })
                .unwrap()
            })
            .collect();
        wait_for("five waiters to start", || started.load(Ordering::SeqCst) == 5);
        thread::sleep(Duration::from_millis(20)).unwrap();
        assert_eq!(finished.load(Ordering::SeqCst), 0, "nobody gets a held lock");
        lock.release().unwrap();
        for waiter in waiters {
            waiter.join().unwrap();
        }
        assert_eq!(finished.load(Ordering::SeqCst), 5);
        assert!(!lock.locked());
    }

    fn release_from_a_different_thread() {
        // Python's Lock is not owned: any thread may release it.
        let lock = Arc::new(Lock::new());
        lock.acquire().unwrap().leak();
        let other = Arc::clone(&lock);
        Thread::spawn(move || other.release()).unwrap().join().unwrap().unwrap();
        assert!(!lock.locked());
    }

    fn acquire_timeout_on_a_held_lock_times_out() {
        let lock = Arc::new(Lock::new());
        let _held = lock.acquire().unwrap();
        let other = Arc::clone(&lock);
        let outcome = Thread::spawn(move || {
            let start = Instant::now();
            let result = other.acquire_timeout(Duration::from_millis(100)).map(drop);
            (result, start.elapsed())
        })
        .unwrap()
        .join()
        .unwrap();
        assert_eq!(outcome.0, Err(Error::Timeout));
        assert_waited_at_least(outcome.1, Duration::from_millis(100));
        assert!(lock.locked(), "a timed-out waiter leaves the holder's lock held");
    }

    fn acquire_timeout_succeeds_when_released_in_time() {
        let lock = Arc::new(Lock::new());
        lock.acquire().unwrap().leak();
        let other = Arc::clone(&lock);
        let waiter = Thread::spawn(move || {
            other.acquire_timeout(Duration::from_secs(10)).map(|guard| guard.leak())
        })
        .unwrap();
        thread::sleep(Duration::from_millis(20)).unwrap();
        lock.release().unwrap();
        assert_eq!(waiter.join().unwrap(), Ok(()));
        assert!(lock.locked(), "the waiter now holds it");
    }

    fn zero_timeout_behaves_like_try() {
        let lock = Lock::new();
        let held = lock.acquire_timeout(Duration::ZERO).expect("a free lock is taken at once");
        assert_eq!(lock.acquire_timeout(Duration::ZERO).map(drop), Err(Error::Timeout));
        drop(held);
    }

    fn mutual_exclusion_under_contention() {
        // A split read-modify-write is only correct if the lock excludes everyone else.
        const THREADS: u64 = 8;
        const ROUNDS: u64 = if cfg!(miri) { 20 } else { 2_000 };
        let lock = Arc::new(Lock::new());
        let counter = Arc::new(AtomicU64::new(0));
        let workers: Vec<_> = (0..THREADS)
            .map(|_| {
                let (lock, counter) = (lock.clone(), counter.clone());
                Thread::spawn(move || {
                    for _ in 0..ROUNDS {
                        let _held = lock.acquire().unwrap();
                        let seen = counter.load(Ordering::Relaxed);
                        std::hint::spin_loop();
                        counter.store(seen + 1, Ordering::Relaxed);
                    }
                })
                .unwrap()
            })
            .collect();
        for worker in workers {
            worker.join().unwrap();
        }
        assert_eq!(counter.load(Ordering::Relaxed), THREADS * ROUNDS);
        assert!(!lock.locked());
    }

    fn timed_waiters_and_blocking_waiters_mix() {
        // Waiters that give up must not swallow the wake-up meant for a waiter that stays.
        let lock = Arc::new(Lock::new());
        lock.acquire().unwrap().leak();
        let quitters: Vec<_> = (0..3)
            .map(|_| {
                let lock = lock.clone();
                Thread::spawn(move || lock.acquire_timeout(Duration::from_millis(30)).map(drop))
                .unwrap()
            })
            .collect();
        let stayer = {
            let lock = lock.clone();
            Thread::spawn(move || lock.acquire().map(drop)).unwrap()
        };
        for quitter in quitters {
            assert_eq!(quitter.join().unwrap(), Err(Error::Timeout));
        }
        lock.release().unwrap();
        assert_eq!(stayer.join_timeout(Duration::from_secs(10)).unwrap(), Ok(()));
    }
}

conformance_async! {
    async fn acquire_async_waits_for_release() {
        let lock = Arc::new(Lock::new());
        lock.acquire_async().await.leak();
        let other = Arc::clone(&lock);
        let releaser = Thread::spawn(move || {
            thread::sleep(Duration::from_millis(20)).unwrap();
            other.release().unwrap();
        })
        .unwrap();
        let guard = lock.acquire_async().await;
        assert!(lock.locked());
        drop(guard);
        releaser.join_async().await.unwrap();
        assert!(!lock.locked());
    }

    async fn acquire_async_on_a_free_lock_is_immediate() {
        let lock = Lock::new();
        let guard = lock.acquire_async().await;
        assert!(lock.try_acquire().is_none());
        drop(guard);
    }
}
