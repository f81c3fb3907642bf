//! Conformance of [`amphi::RLock`] with Python's `threading.RLock`, after CPython's
//! `Lib/test/lock_tests.py` (`BaseLockTests`, `RLockTests`): reentrancy, ownership (only the
//! owner may release, with [`Error::NotOwner`] otherwise), timed and contended acquires, on
//! native threads and, through `wasm-pack test`, on Web Workers.

#[macro_use]
mod common;

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use amphi::time::Instant;
use amphi::{thread, Error, Lock, RLock, Thread};
use common::{assert_waited_at_least, wait_for};

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

/// Starts a thread that takes `lock` `levels` times, raises `holding`, and keeps the lock until
/// `gate` (held by the caller) is released; it then releases every level and returns the
/// outcome of one release too many.
fn spawn_owner(
    lock: &Arc<RLock>,
    levels: u32,
    holding: &Arc<AtomicBool>,
    gate: &Arc<Lock>,
) -> Thread<Result<(), Error>> {
    let (lock, holding, gate) = (lock.clone(), holding.clone(), gate.clone());
    Thread::spawn(move || {
        for _ in 0..levels {
            lock.acquire().unwrap().leak();
        }
        assert_eq!(lock.depth(), levels);
        holding.store(true, Ordering::SeqCst);
        drop(gate.acquire().unwrap());
        assert!(
            lock.is_owned(),
            "the owner still owns it after others tried to release it"
        );
        assert_eq!(
            lock.depth(),
            levels,
            "others' attempts left the owner's depth alone"
        );
        for _ in 0..levels {
            lock.release().unwrap();
        }
        lock.release()
    })
    .unwrap()
}

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

    fn acquire_then_release() {
        let lock = RLock::new();
        lock.acquire().unwrap().leak();
        assert!(lock.locked());
        lock.release().unwrap();
        assert!(!lock.locked());
        let guard = lock.try_acquire().expect("a free lock is taken");
        assert!(lock.locked());
        drop(guard);
        assert!(!lock.locked());
    }

    fn reacquire_many_times_and_release_as_many() {
        // CPython's test_reacquire, then deeper.
        const LEVELS: u32 = if cfg!(miri) { 5 } else { 100 };
        let lock = RLock::new();
        lock.acquire().unwrap().leak();
        lock.acquire().unwrap().leak();
        lock.release().unwrap();
        lock.acquire().unwrap().leak();
        lock.release().unwrap();
        lock.release().unwrap();
        assert!(!lock.locked());

        for level in 1..=LEVELS {
            lock.acquire().unwrap().leak();
            assert_eq!(lock.depth(), level);
        }
        for level in (0..LEVELS).rev() {
            assert!(lock.locked(), "the lock stays held until the last release");
            lock.release().unwrap();
            assert_eq!(lock.depth(), level);
        }
        assert!(!lock.locked());
        assert!(!lock.is_owned());
    }

    fn release_unacquired_is_not_owner() {
        // CPython's test_release_unacquired: RuntimeError there, Error::NotOwner here.
        let lock = RLock::new();
        assert_eq!(lock.release(), Err(Error::NotOwner));
        assert!(!lock.locked(), "a failed release leaves the lock free");
        lock.acquire().unwrap().leak();
        lock.acquire().unwrap().leak();
        lock.release().unwrap();
        lock.acquire().unwrap().leak();
        lock.release().unwrap();
        lock.release().unwrap();
        assert_eq!(lock.release(), Err(Error::NotOwner));
        assert!(!lock.locked());
        assert_eq!(lock.depth(), 0);
        // The lock still works after the failed releases.
        let guard = lock.try_acquire().expect("the lock is free");
        assert_eq!(lock.depth(), 1);
        drop(guard);
        assert!(!lock.locked());
    }

    fn release_more_times_than_acquired_is_not_owner() {
        let lock = RLock::new();
        for _ in 0..3 {
            lock.acquire().unwrap().leak();
        }
        for _ in 0..3 {
            assert_eq!(lock.release(), Ok(()));
        }
        assert_eq!(lock.release(), Err(Error::NotOwner));
        assert_eq!(lock.release(), Err(Error::NotOwner));
        assert!(!lock.locked());
        assert_eq!(lock.depth(), 0);
    }

    fn release_by_another_thread_is_not_owner() {
        // CPython's test_different_thread: the owner stays alive and keeps the lock.
        let lock = Arc::new(RLock::new());
        let holding = Arc::new(AtomicBool::new(false));
        let gate = Arc::new(Lock::new());
        gate.acquire().unwrap().leak();
        let owner = spawn_owner(&lock, 2, &holding, &gate);
        wait_for("the owner to take the lock", || holding.load(Ordering::SeqCst));

        assert_eq!(lock.release(), Err(Error::NotOwner));
        assert_eq!(lock.release(), Err(Error::NotOwner), "and again: nothing was released");
        assert!(lock.locked(), "the owner still holds it");
        assert!(!lock.is_owned());
        assert_eq!(lock.depth(), 0, "a non-owner holds no level");
        // A third thread is refused too.
        let other = Arc::clone(&lock);
        let third = Thread::spawn(move || other.release()).unwrap();
        assert_eq!(third.join().unwrap(), Err(Error::NotOwner));
        assert!(lock.locked());

        gate.release().unwrap();
        assert_eq!(
            owner.join().unwrap(),
            Err(Error::NotOwner),
            "the owner's own extra release is refused"
        );
        assert!(!lock.locked());
    }

    fn is_owned_only_on_the_owner() {
        // CPython's test__is_owned.
        let lock = Arc::new(RLock::new());
        assert!(!lock.is_owned());
        lock.acquire().unwrap().leak();
        assert!(lock.is_owned());
        lock.acquire().unwrap().leak();
        assert!(lock.is_owned());
        let other = Arc::clone(&lock);
        let seen = Thread::spawn(move || (other.is_owned(), other.depth(), other.locked()))
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(seen, (false, 0, true), "another thread sees the lock held, not owned");
        lock.release().unwrap();
        assert!(lock.is_owned());
        lock.release().unwrap();
        assert!(!lock.is_owned());

        // And the other way round: owned by another thread, not by this one.
        let holding = Arc::new(AtomicBool::new(false));
        let gate = Arc::new(Lock::new());
        gate.acquire().unwrap().leak();
        let owner = spawn_owner(&lock, 1, &holding, &gate);
        wait_for("the owner to take the lock", || holding.load(Ordering::SeqCst));
        assert!(lock.locked());
        assert!(!lock.is_owned());
        gate.release().unwrap();
        assert_eq!(owner.join().unwrap(), Err(Error::NotOwner));
        assert!(!lock.is_owned());
        assert!(!lock.locked());
    }

    fn try_acquire_is_reentrant_for_the_owner() {
        let lock = RLock::new();
        let outer = lock.try_acquire().expect("a free lock is taken");
        let inner = lock.try_acquire().expect("the owner takes it again");
        assert_eq!(lock.depth(), 2);
        drop(inner);
        drop(outer);
        assert!(!lock.locked());
    }

    fn try_acquire_from_another_thread_fails_while_held() {
        // CPython's test_try_acquire_contended.
        let lock = Arc::new(RLock::new());
        let held = lock.acquire().unwrap();
        let other = Arc::clone(&lock);
        let got_it = Thread::spawn(move || other.try_acquire().is_some()).unwrap();
        assert!(!got_it.join().unwrap());
        assert_eq!(lock.depth(), 1, "the failed attempt left the owner's depth alone");
        drop(held);
        let other = Arc::clone(&lock);
        let got_it = Thread::spawn(move || other.try_acquire().is_some()).unwrap();
        assert!(got_it.join().unwrap(), "a released lock is free for others");
    }

    fn acquire_timeout_from_another_thread_times_out() {
        // CPython's test_timeout.
        let lock = Arc::new(RLock::new());
        let _outer = lock.acquire().unwrap();
        let _inner = lock.acquire().unwrap();
        let other = Arc::clone(&lock);
        let outcome = Thread::spawn(move || {
            let start = Instant::now();
            let result = other.acquire_timeout(Duration::from_millis(100)).map(drop);
            (result, start.elapsed(), other.is_owned())
        })
        .unwrap()
        .join()
        .unwrap();
        assert_eq!(outcome.0, Err(Error::Timeout));
        assert_waited_at_least(outcome.1, Duration::from_millis(100));
        assert!(!outcome.2, "a timed-out waiter does not own the lock");
        assert!(lock.is_owned(), "the owner keeps it");
        assert_eq!(lock.depth(), 2);
    }

    fn acquire_timeout_is_reentrant_and_immediate_for_the_owner() {
        let lock = RLock::new();
        let outer = lock.acquire_timeout(Duration::from_secs(5)).expect("a free lock is taken");
        let inner = lock.acquire_timeout(Duration::ZERO).expect("the owner takes it again");
        assert_eq!(lock.depth(), 2);
        drop(inner);
        drop(outer);
        assert!(!lock.locked());
    }

    fn acquire_timeout_succeeds_when_released_in_time() {
        let lock = Arc::new(RLock::new());
        let holding = Arc::new(AtomicBool::new(false));
        let gate = Arc::new(Lock::new());
        gate.acquire().unwrap().leak();
        let owner = spawn_owner(&lock, 3, &holding, &gate);
        wait_for("the owner to take the lock", || holding.load(Ordering::SeqCst));
        let other = Arc::clone(&lock);
        let waiter = Thread::spawn(move || {
            let _guard = other.acquire_timeout(Duration::from_secs(10))?;
            Ok::<_, Error>((other.is_owned(), other.depth()))
        })
        .unwrap();
        thread::sleep(Duration::from_millis(20)).unwrap();
        gate.release().unwrap();
        assert_eq!(owner.join().unwrap(), Err(Error::NotOwner));
        assert_eq!(waiter.join().unwrap(), Ok((true, 1)));
        assert!(!lock.locked());
    }

    fn acquire_contended_wakes_every_waiter() {
        // CPython's test_acquire_contended: five threads block on a held lock; each gets it
        // (twice, reentrantly) in turn once the owner lets go of its last level.
        let lock = Arc::new(RLock::new());
        let started = Arc::new(AtomicU32::new(0));
        let finished = Arc::new(AtomicU32::new(0));
        let outer = lock.acquire().unwrap();
        let inner = lock.acquire().unwrap();
        let waiters: Vec<_> = (0..5)
            .map(|_| {
                let (lock, started, finished) = (lock.clone(), started.clone(), finished.clone());
                Thread::spawn(move || {
                    started.fetch_add(1, Ordering::SeqCst);
                    let _outer = lock.acquire().unwrap();
                    let _inner = lock.acquire().unwrap();
                    assert_eq!(lock.depth(), 2);
                    finished.fetch_add(1, Ordering::SeqCst);
                })
                .unwrap()
            })
            .collect();
        wait_for("five waiters to start", || started.load(Ordering::SeqCst) == 5);
        thread::sleep(Duration::from_millis(20)).unwrap();
        assert_eq!(finished.load(Ordering::SeqCst), 0, "nobody gets a held lock");
        drop(inner);
        thread::sleep(Duration::from_millis(20)).unwrap();
        assert_eq!(finished.load(Ordering::SeqCst), 0, "one level is still held");
        drop(outer);
        for waiter in waiters {
            waiter.join().unwrap();
        }
        assert_eq!(finished.load(Ordering::SeqCst), 5);
        assert!(!lock.locked());
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
