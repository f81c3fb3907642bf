//! Conformance of [`amphi::RLock`] with Python's `threading.RLock`, after CPython's
//! `Lib/test/lock_tests.py` (`BaseLockTests`, `RLockTests`): reentrancy, ownership (only the
//! owner may release, with [`Error::NotOwner`] otherwise), timed and contended acquires, on
//! native threads and, through `wasm-pack test`, on Web Workers.

#[macro_use]
mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use amphi::{thread, Error, Lock, RLock, Thread};

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

conformance! {
    fn constructor_and_debug() {
        let lock = RLock::new();
        assert!(!lock.locked());
        assert!(!lock.is_owned());
        assert_eq!(lock.depth(), 0);
        assert_eq!(format!("{lock:?}"), "RLock { locked: false, owned_by_caller: false }");
        let _held = lock.acquire().unwrap();
        assert_eq!(format!("{lock:?}"), "RLock { locked: true, owned_by_caller: true }");
        let default = RLock::default();
        assert!(!default.locked());
    }

    fn mutual_exclusion_under_contention_with_nesting() {
        // A split read-modify-write, done under a nested acquire, is only correct if the lock
        // excludes every other thread until the owner's outermost release.
        const THREADS: u64 = 8;
        const ROUNDS: u64 = if cfg!(miri) { 20 } else { 1_000 };
        let lock = Arc::new(RLock::new());
        let counter = Arc::new(AtomicU64::new(0));
        let workers: Vec<_> = (0..THREADS)
            .map(|_| {
                let (lock, counter) = (lock.clone(), counter.clone());
                Thread::spawn(move || {
                    for _ in 0..ROUNDS {
                        let _outer = lock.acquire().unwrap();
                        let seen = counter.load(Ordering::Relaxed);
                        {
                            let _inner = lock.acquire().unwrap();
                            assert_eq!(lock.depth(), 2);
                            std::hint::spin_loop();
                        }
                        assert_eq!(lock.depth(), 1);
                        std::hint::spin_loop();
                        counter.store(seen + 1, Ordering::Relaxed);
                    }
                    lock.depth()
                })
                .unwrap()
            })
            .collect();
        for worker in workers {
            assert_eq!(worker.join().unwrap(), 0, "each worker ends holding nothing");
        }
        assert_eq!(counter.load(Ordering::Relaxed), THREADS * ROUNDS);
        assert!(!lock.locked());
    }

    fn guards_release_one_level_each() {
        let lock = RLock::new();
        let first = lock.acquire().unwrap();
        let second = lock.acquire().unwrap();
        let third = lock.try_acquire().unwrap();
        assert_eq!(lock.depth(), 3);
        drop(third);
        assert_eq!(lock.depth(), 2);
        // Levels are counted, so guards may go in any order.
        drop(first);
        assert_eq!(lock.depth(), 1);
        assert!(lock.locked());
        assert!(lock.is_owned());
        drop(second);
        assert_eq!(lock.depth(), 0);
        assert!(!lock.locked());

        // A leaked level is released by hand; guards and releases mix.
        let guard = lock.acquire().unwrap();
        lock.acquire().unwrap().leak();
        assert_eq!(lock.depth(), 2);
        lock.release().unwrap();
        assert_eq!(lock.depth(), 1);
        drop(guard);
        assert!(!lock.locked());
        assert_eq!(lock.release(), Err(Error::NotOwner));
    }

    fn guard_released_during_a_panic_frees_the_lock() {
        // CPython's test_with with an exception: leaving the block by a panic releases the level.
        let lock = Arc::new(RLock::new());
        let other = Arc::clone(&lock);
        let outcome = Thread::spawn(move || {
            let _outer = other.acquire().unwrap();
            let _inner = other.acquire().unwrap();
            panic!("inside the lock");
        })
        .unwrap()
        .join();
        assert!(matches!(outcome, Err(Error::Panicked(_))), "{outcome:?}");
        // The panic unwinds through the guards, natively and in the browser.
        assert!(!lock.locked(), "unwinding released both levels");
        assert!(lock.try_acquire().is_some());
    }
}

conformance_async! {
    async fn acquire_async_is_reentrant() {
        let lock = RLock::new();
        let outer = lock.acquire_async().await;
        let inner = lock.acquire_async().await;
        assert!(lock.is_owned());
        assert_eq!(lock.depth(), 2);
        drop(inner);
        assert_eq!(lock.depth(), 1);
        drop(outer);
        assert!(!lock.locked());
        assert_eq!(lock.release(), Err(Error::NotOwner));
    }

    async fn acquire_async_waits_for_the_owner() {
        let lock = Arc::new(RLock::new());
        // `gate` is released by the owner thread once it holds the lock.
        let gate = Arc::new(Lock::new());
        gate.acquire_async().await.leak();
        let owner = {
            let (lock, gate) = (lock.clone(), gate.clone());
            Thread::spawn(move || {
                let _outer = lock.acquire().unwrap();
                let _inner = lock.acquire().unwrap();
                gate.release().unwrap();
                thread::sleep(Duration::from_millis(20)).unwrap();
            })
            .unwrap()
        };
        let _gate = gate.acquire_async().await;
        assert!(lock.locked());
        assert!(!lock.is_owned());
        assert_eq!(lock.release(), Err(Error::NotOwner));
        let guard = lock.acquire_async().await;
        assert!(lock.is_owned());
        assert_eq!(lock.depth(), 1);
        owner.join_async().await.unwrap();
        drop(guard);
        assert!(!lock.locked());
    }
}

conformance! {
    fn a_later_thread_never_inherits_ownership_from_an_exited_one() {
        // In the browser, threads run one after another on reused workers: ownership must
        // follow the amphi thread, not the worker.
        let lock = Arc::new(RLock::new());
        {
            let lock = lock.clone();
            Thread::spawn(move || lock.acquire().unwrap().leak()).unwrap().join().unwrap();
        }
        let later: Vec<_> = (0..5)
            .map(|_| {
                let lock = lock.clone();
                Thread::spawn(move || (lock.is_owned(), lock.release())).unwrap()
            })
            .collect();
        for thread in later {
            assert_eq!(thread.join().unwrap(), (false, Err(Error::NotOwner)));
        }
        assert!(lock.locked(), "the exited owner's hold is not released by others");
    }
}
