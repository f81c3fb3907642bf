//! Conformance of [`amphi::Semaphore`] and [`amphi::BoundedSemaphore`] with Python's
//! `threading.Semaphore` and `threading.BoundedSemaphore`, after CPython's
//! `Lib/test/lock_tests.py` (`BaseSemaphoreTests`, `SemaphoreTests`, `BoundedSemaphoreTests`):
//! on native threads and, through `wasm-pack test`, on Web Workers. The tests common to both
//! kinds are written once over [`Permits`] and run for each.

#[macro_use]
mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use amphi::time::Instant;
use amphi::{thread, BoundedSemaphore, Error, Semaphore, SemaphoreGuard, Thread};
use common::{assert_waited_at_least, wait_for};

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

/// What both semaphore kinds offer, so the shared tests are written once.
trait Permits: Send + Sync + 'static {
    fn with_value(permits: u32) -> Self;
    fn acquire(&self) -> Result<SemaphoreGuard<'_>, Error>;
    fn acquire_timeout(&self, timeout: Duration) -> Result<SemaphoreGuard<'_>, Error>;
    fn try_acquire(&self) -> Option<SemaphoreGuard<'_>>;
    fn release(&self, n: u32) -> Result<(), Error>;
    fn value(&self) -> u32;
}

macro_rules! impl_permits {
    ($($kind:ty),*) => {$(
        impl Permits for $kind {
            fn with_value(permits: u32) -> Self {
                <$kind>::new(permits)
            }
            fn acquire(&self) -> Result<SemaphoreGuard<'_>, Error> {
                <$kind>::acquire(self)
            }
            fn acquire_timeout(&self, timeout: Duration) -> Result<SemaphoreGuard<'_>, Error> {
                <$kind>::acquire_timeout(self, timeout)
            }
            fn try_acquire(&self) -> Option<SemaphoreGuard<'_>> {
                <$kind>::try_acquire(self)
            }
            fn release(&self, n: u32) -> Result<(), Error> {
                <$kind>::release(self, n)
            }
            fn value(&self) -> u32 {
                <$kind>::value(self)
            }
        }
    )*};
}

impl_permits!(Semaphore, BoundedSemaphore);

/// CPython's test_acquire (and test_acquire_destroy).
fn check_acquire_release<S: Permits>() {
    let sem = S::with_value(1);
    assert_eq!(sem.value(), 1);
    sem.acquire().unwrap().leak();
    assert_eq!(sem.value(), 0);
    sem.release(1).unwrap();
    assert_eq!(sem.value(), 1);
    let sem = S::with_value(2);
    sem.acquire().unwrap().leak();
    sem.acquire().unwrap().leak();
    assert_eq!(sem.value(), 0);
    sem.release(1).unwrap();
    sem.release(1).unwrap();
    assert_eq!(sem.value(), 2);
    // Guards give their permit back on drop.
    let first = sem.acquire().unwrap();
    let second = sem.acquire().unwrap();
    assert_eq!(sem.value(), 0);
    drop(first);
    assert_eq!(sem.value(), 1);
    drop(second);
    assert_eq!(sem.value(), 2);
    // Dropping a semaphore that has a permit out is fine.
    let sem = S::with_value(1);
    sem.acquire().unwrap().leak();
    drop(sem);
}

/// CPython's test_try_acquire.
fn check_try_acquire<S: Permits>() {
    let sem = S::with_value(2);
    let first = sem.try_acquire().expect("two permits");
    let second = sem.try_acquire().expect("one permit");
    assert!(sem.try_acquire().is_none(), "no permit is left");
    assert_eq!(sem.value(), 0);
    drop(first);
    let third = sem.try_acquire().expect("the permit given back");
    drop(second);
    drop(third);
    assert_eq!(sem.value(), 2);
    let empty = S::with_value(0);
    assert!(empty.try_acquire().is_none());
    assert_eq!(empty.value(), 0);
}

/// CPython's test_try_acquire_contended: 3 permits left, 5 threads try twice each.
fn check_try_acquire_contended<S: Permits>() {
    let sem = Arc::new(S::with_value(4));
    sem.acquire().unwrap().leak();
    let taken = Arc::new(AtomicU32::new(0));
    let refused = Arc::new(AtomicU32::new(0));
    let threads: Vec<_> = (0..5)
        .map(|_| {
            let (sem, taken, refused) = (sem.clone(), taken.clone(), refused.clone());
            Thread::spawn(move || {
                for _ in 0..2 {
                    match sem.try_acquire() {
                        Some(permit) => {
                            permit.leak();
                            taken.fetch_add(1, Ordering::SeqCst);
                        }
                        None => {
                            refused.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                }
            })
            .unwrap()
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(taken.load(Ordering::SeqCst), 3);
    assert_eq!(refused.load(Ordering::SeqCst), 7);
    assert_eq!(sem.value(), 0);
}

/// CPython's test_acquire_contended: 10 threads take two permits each from a semaphore of 7
/// that is released in phases; each phase admits exactly the permits it released.
fn check_acquire_contended<S: Permits>() {
    const THREADS: u32 = 10;
    let sem = Arc::new(S::with_value(7));
    sem.acquire().unwrap().leak();
    let phase = Arc::new(AtomicU32::new(0));
    let per_phase: Arc<[AtomicU32; 3]> = Arc::new(Default::default());
    let total = Arc::new(AtomicU32::new(0));
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let (sem, phase, per_phase, total) =
                (sem.clone(), phase.clone(), per_phase.clone(), total.clone());
            Thread::spawn(move || {
                for _ in 0..2 {
                    sem.acquire().unwrap().leak();
                    per_phase[phase.load(Ordering::SeqCst) as usize].fetch_add(1, Ordering::SeqCst);
                    total.fetch_add(1, Ordering::SeqCst);
                }
            })
            .unwrap()
        })
        .collect();
    let counts = || {
        per_phase
            .iter()
            .map(|count| count.load(Ordering::SeqCst))
            .collect::<Vec<_>>()
    };
    let settle = |expected: u32| {
        wait_for("the permits to be taken", || {
            total.load(Ordering::SeqCst) >= expected
        });
        // Give any acquire that should not succeed the chance to (wrongly) do so.
        thread::sleep(Duration::from_millis(20)).unwrap();
        assert_eq!(
            total.load(Ordering::SeqCst),
            expected,
            "only the permits released are taken"
        );
    };
    settle(6);
    assert_eq!(counts(), [6, 0, 0]);
    phase.store(1, Ordering::SeqCst);
    for _ in 0..7 {
        sem.release(1).unwrap();
    }
    settle(13);
    assert_eq!(counts(), [6, 7, 0]);
    phase.store(2, Ordering::SeqCst);
    for _ in 0..6 {
        sem.release(1).unwrap();
    }
    settle(19);
    assert_eq!(counts(), [6, 7, 6]);
    assert!(sem.try_acquire().is_none(), "the semaphore is still empty");
    // The final permit lets the last thread finish.
    sem.release(1).unwrap();
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(total.load(Ordering::SeqCst), 2 * THREADS);
    assert_eq!(sem.value(), 0);
}

/// At most `PERMITS` threads are ever inside at once, and the semaphore is really used.
fn check_bounds_concurrency<S: Permits>() {
    const PERMITS: u32 = 3;
    const THREADS: u32 = 8;
    const ROUNDS: u32 = if cfg!(miri) { 5 } else { 200 };
    let sem = Arc::new(S::with_value(PERMITS));
    let inside = Arc::new(AtomicU32::new(0));
    let most_inside = Arc::new(AtomicU32::new(0));
    let entries = Arc::new(AtomicU32::new(0));
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let (sem, inside, most_inside, entries) = (
                sem.clone(),
                inside.clone(),
                most_inside.clone(),
                entries.clone(),
            );
            Thread::spawn(move || {
                for _ in 0..ROUNDS {
                    let _permit = sem.acquire().unwrap();
                    let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    most_inside.fetch_max(now, Ordering::SeqCst);
                    entries.fetch_add(1, Ordering::SeqCst);
                    for _ in 0..50 {
                        std::hint::spin_loop();
                    }
                    inside.fetch_sub(1, Ordering::SeqCst);
                }
            })
            .unwrap()
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let most = most_inside.load(Ordering::SeqCst);
    assert!(
        most <= PERMITS,
        "{most} threads were inside a semaphore of {PERMITS}"
    );
    assert!(most >= 1);
    assert_eq!(entries.load(Ordering::SeqCst), THREADS * ROUNDS);
    assert_eq!(inside.load(Ordering::SeqCst), 0);
    assert_eq!(sem.value(), PERMITS, "every permit came back");
}

/// CPython's test_acquire_timeout.
fn check_acquire_timeout<S: Permits>() {
    let sem = S::with_value(2);
    sem.acquire_timeout(Duration::from_millis(5))
        .unwrap()
        .leak();
    sem.acquire_timeout(Duration::from_millis(5))
        .unwrap()
        .leak();
    assert_eq!(
        sem.acquire_timeout(Duration::from_millis(5)).map(drop),
        Err(Error::Timeout)
    );
    assert_eq!(
        sem.acquire_timeout(Duration::ZERO).map(drop),
        Err(Error::Timeout)
    );
    sem.release(1).unwrap();
    sem.acquire_timeout(Duration::from_millis(5))
        .unwrap()
        .leak();
    let start = Instant::now();
    assert_eq!(
        sem.acquire_timeout(Duration::from_millis(100)).map(drop),
        Err(Error::Timeout)
    );
    assert_waited_at_least(start.elapsed(), Duration::from_millis(100));
    assert_eq!(sem.value(), 0, "a timed-out acquire takes nothing");
}

/// A timed acquire succeeds when a permit arrives in time, from another thread.
fn check_acquire_timeout_succeeds_when_released_in_time<S: Permits>() {
    let sem = Arc::new(S::with_value(1));
    sem.acquire().unwrap().leak();
    let other = Arc::clone(&sem);
    let waiter = Thread::spawn(move || {
        other
            .acquire_timeout(Duration::from_secs(10))
            .map(|permit| permit.leak())
    })
    .unwrap();
    thread::sleep(Duration::from_millis(20)).unwrap();
    sem.release(1).unwrap();
    assert_eq!(waiter.join().unwrap(), Ok(()));
    assert_eq!(sem.value(), 0, "the waiter took the permit");
}

/// CPython's test_default_value (the semaphore of one), for both kinds.
fn check_one_permit_blocks_a_second_thread<S: Permits>(sem: S) {
    let sem = Arc::new(sem);
    assert_eq!(sem.value(), 1);
    sem.acquire().unwrap().leak();
    let finished = Arc::new(AtomicU32::new(0));
    let waiter = {
        let (sem, finished) = (sem.clone(), finished.clone());
        Thread::spawn(move || {
            let _permit = sem.acquire().unwrap();
            finished.store(1, Ordering::SeqCst);
        })
        .unwrap()
    };
    thread::sleep(Duration::from_millis(20)).unwrap();
    assert_eq!(
        finished.load(Ordering::SeqCst),
        0,
        "the only permit is taken"
    );
    sem.release(1).unwrap();
    waiter.join().unwrap();
    assert_eq!(finished.load(Ordering::SeqCst), 1);
    assert_eq!(sem.value(), 1);
}

/// CPython's test_with, with guards (and a panic standing for the exception).
fn check_guards<S: Permits>() {
    let sem = S::with_value(2);
    {
        let _outer = sem.acquire().unwrap();
        let probe = sem.try_acquire().expect("one permit is left");
        drop(probe);
        let _inner = sem.acquire().unwrap();
        assert!(sem.try_acquire().is_none());
    }
    assert_eq!(sem.value(), 2);
    let probe = sem
        .try_acquire()
        .expect("the guards gave their permits back");
    drop(probe);
    // A panic unwinds through the guards, natively and in the browser.
    let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _outer = sem.acquire().unwrap();
        let _inner = sem.acquire().unwrap();
        panic!("inside the semaphore");
    }));
    assert!(unwound.is_err());
    assert_eq!(sem.value(), 2, "unwinding gave both permits back");
}

/// `release(0)` is refused with `InvalidArgument` and changes nothing.
fn check_release_zero_is_invalid<S: Permits>() {
    let sem = S::with_value(1);
    sem.acquire().unwrap().leak();
    assert!(matches!(sem.release(0), Err(Error::InvalidArgument(_))));
    assert_eq!(sem.value(), 0);
    sem.release(1).unwrap();
    assert!(matches!(sem.release(0), Err(Error::InvalidArgument(_))));
    assert_eq!(sem.value(), 1);
}

/// `release(n)` wakes exactly `n` of the blocked acquirers.
fn check_release_n_wakes_n_waiters<S: Permits>(sem: S) {
    const WAITERS: u32 = 5;
    let sem = Arc::new(sem);
    assert_eq!(sem.value(), 0);
    let started = Arc::new(AtomicU32::new(0));
    let finished = Arc::new(AtomicU32::new(0));
    let waiters: Vec<_> = (0..WAITERS)
        .map(|_| {
            let (sem, started, finished) = (sem.clone(), started.clone(), finished.clone());
            Thread::spawn(move || {
                started.fetch_add(1, Ordering::SeqCst);
                sem.acquire().unwrap().leak();
                finished.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap()
        })
        .collect();
    wait_for("the waiters to start", || {
        started.load(Ordering::SeqCst) == WAITERS
    });
    thread::sleep(Duration::from_millis(20)).unwrap();
    assert_eq!(
        finished.load(Ordering::SeqCst),
        0,
        "an empty semaphore admits nobody"
    );
    sem.release(3).unwrap();
    wait_for("three waiters to finish", || {
        finished.load(Ordering::SeqCst) >= 3
    });
    thread::sleep(Duration::from_millis(20)).unwrap();
    assert_eq!(
        finished.load(Ordering::SeqCst),
        3,
        "three permits admit three waiters"
    );
    sem.release(2).unwrap();
    for waiter in waiters {
        waiter.join().unwrap();
    }
    assert_eq!(finished.load(Ordering::SeqCst), WAITERS);
    assert_eq!(sem.value(), 0);
}

conformance! {
    fn semaphore_constructor_value_and_debug() {
        // CPython's test_constructor checks negative values, which u32 rules out.
        assert_eq!(Semaphore::new(0).value(), 0);
        assert_eq!(Semaphore::new(5).value(), 5);
        assert_eq!(Semaphore::new(u32::MAX).value(), u32::MAX);
        assert_eq!(format!("{:?}", Semaphore::new(3)), "Semaphore { value: 3 }");
    }

    fn semaphore_default_has_one_permit() {
        // CPython's test_default_value.
        assert_eq!(Semaphore::default().value(), 1);
        check_one_permit_blocks_a_second_thread(Semaphore::default());
    }

    fn semaphore_acquire_release() {
        check_acquire_release::<Semaphore>();
    }

    fn semaphore_try_acquire() {
        check_try_acquire::<Semaphore>();
    }

    fn semaphore_try_acquire_contended() {
        check_try_acquire_contended::<Semaphore>();
    }

    fn semaphore_acquire_contended() {
        check_acquire_contended::<Semaphore>();
    }

    fn semaphore_bounds_concurrency() {
        check_bounds_concurrency::<Semaphore>();
    }

    fn semaphore_acquire_timeout() {
        check_acquire_timeout::<Semaphore>();
    }

    fn semaphore_acquire_timeout_succeeds_when_released_in_time() {
        check_acquire_timeout_succeeds_when_released_in_time::<Semaphore>();
    }

    fn semaphore_guards() {
        check_guards::<Semaphore>();
    }

    fn semaphore_release_zero_is_invalid() {
        check_release_zero_is_invalid::<Semaphore>();
    }

    fn semaphore_release_n_wakes_n_waiters() {
        check_release_n_wakes_n_waiters(Semaphore::new(0));
    }

    fn semaphore_release_unacquired_raises_the_value() {
        // CPython's SemaphoreTests.test_release_unacquired: unbounded releases are allowed.
        let sem = Semaphore::new(1);
        sem.release(1).unwrap();
        assert_eq!(sem.value(), 2);
        sem.acquire().unwrap().leak();
        sem.acquire().unwrap().leak();
        assert_eq!(sem.value(), 0);
        sem.release(1).unwrap();
        sem.release(5).unwrap();
        assert_eq!(sem.value(), 6);
    }

    fn semaphore_release_past_u32_is_invalid() {
        let sem = Semaphore::new(u32::MAX - 1);
        sem.release(1).unwrap();
        assert!(matches!(sem.release(1), Err(Error::InvalidArgument(_))));
        assert_eq!(sem.value(), u32::MAX, "a refused release leaves the value");
        let sem = Semaphore::new(10);
        assert!(matches!(sem.release(u32::MAX), Err(Error::InvalidArgument(_))));
        assert_eq!(sem.value(), 10);
    }

    fn semaphore_release_from_another_thread() {
        let sem = Arc::new(Semaphore::new(1));
        sem.acquire().unwrap().leak();
        let other = Arc::clone(&sem);
        Thread::spawn(move || other.release(1)).unwrap().join().unwrap().unwrap();
        assert_eq!(sem.value(), 1);
    }

    fn bounded_semaphore_constructor_value_and_debug() {
        let sem = BoundedSemaphore::new(3);
        assert_eq!(sem.value(), 3);
        assert_eq!(sem.initial(), 3);
        assert_eq!(format!("{sem:?}"), "BoundedSemaphore { value: 3, initial: 3 }");
        sem.acquire().unwrap().leak();
        assert_eq!(sem.initial(), 3);
        assert_eq!(format!("{sem:?}"), "BoundedSemaphore { value: 2, initial: 3 }");
    }

    fn bounded_semaphore_of_one_blocks_a_second_thread() {
        check_one_permit_blocks_a_second_thread(BoundedSemaphore::new(1));
    }

    fn bounded_semaphore_acquire_release() {
        check_acquire_release::<BoundedSemaphore>();
    }

    fn bounded_semaphore_try_acquire() {
        check_try_acquire::<BoundedSemaphore>();
    }

    fn bounded_semaphore_try_acquire_contended() {
        check_try_acquire_contended::<BoundedSemaphore>();
    }

    fn bounded_semaphore_acquire_contended() {
        check_acquire_contended::<BoundedSemaphore>();
    }

    fn bounded_semaphore_bounds_concurrency() {
        check_bounds_concurrency::<BoundedSemaphore>();
    }

    fn bounded_semaphore_acquire_timeout() {
        check_acquire_timeout::<BoundedSemaphore>();
    }

    fn bounded_semaphore_acquire_timeout_succeeds_when_released_in_time() {
        check_acquire_timeout_succeeds_when_released_in_time::<BoundedSemaphore>();
    }

    fn bounded_semaphore_guards() {
        check_guards::<BoundedSemaphore>();
    }

    fn bounded_semaphore_release_zero_is_invalid() {
        check_release_zero_is_invalid::<BoundedSemaphore>();
    }

    fn bounded_semaphore_release_n_wakes_n_waiters() {
        let sem = BoundedSemaphore::new(5);
        for _ in 0..5 {
            sem.acquire().unwrap().leak();
        }
        check_release_n_wakes_n_waiters(sem);
    }

    fn bounded_semaphore_release_unacquired_overflows() {
        // CPython's BoundedSemaphoreTests.test_release_unacquired: ValueError there.
        let sem = BoundedSemaphore::new(1);
        assert_eq!(sem.release(1), Err(Error::SemaphoreOverflow { initial: 1 }));
        assert_eq!(sem.value(), 1, "a refused release leaves the value");
        sem.acquire().unwrap().leak();
        sem.release(1).unwrap();
        assert_eq!(sem.release(1), Err(Error::SemaphoreOverflow { initial: 1 }));
        assert_eq!(sem.value(), 1);
        // The semaphore still works after the refusals.
        let permit = sem.try_acquire().expect("one permit");
        assert!(sem.try_acquire().is_none());
        drop(permit);
        assert_eq!(sem.value(), 1);
    }

    fn bounded_semaphore_release_n_above_initial_overflows() {
        let sem = BoundedSemaphore::new(3);
        sem.acquire().unwrap().leak();
        sem.acquire().unwrap().leak();
        assert_eq!(sem.value(), 1);
        assert_eq!(sem.release(3), Err(Error::SemaphoreOverflow { initial: 3 }));
        assert_eq!(sem.value(), 1, "nothing of a refused release is added");
        assert_eq!(sem.release(u32::MAX), Err(Error::SemaphoreOverflow { initial: 3 }));
        assert_eq!(sem.value(), 1);
        sem.release(2).unwrap();
        assert_eq!(sem.value(), 3);
        assert_eq!(sem.release(1), Err(Error::SemaphoreOverflow { initial: 3 }));
        let empty = BoundedSemaphore::new(0);
        assert_eq!(empty.release(1), Err(Error::SemaphoreOverflow { initial: 0 }));
        assert_eq!(empty.value(), 0);
    }

    fn bounded_semaphore_cycles_keep_the_bound() {
        // Many acquire/release cycles, by hand and by guard, never leave the value above the
        // initial one; each ends with the semaphore full and an extra release refused.
        const CYCLES: u32 = if cfg!(miri) { 5 } else { 100 };
        let sem = BoundedSemaphore::new(2);
        for _ in 0..CYCLES {
            sem.acquire().unwrap().leak();
            sem.acquire().unwrap().leak();
            assert!(sem.try_acquire().is_none());
            sem.release(1).unwrap();
            sem.release(1).unwrap();
            let first = sem.acquire().unwrap();
            let second = sem.try_acquire().unwrap();
            assert_eq!(sem.value(), 0);
            drop(second);
            drop(first);
            assert_eq!(sem.value(), 2);
            assert_eq!(sem.release(1), Err(Error::SemaphoreOverflow { initial: 2 }));
        }
        assert_eq!(sem.value(), 2);
    }

    fn bounded_semaphore_release_from_another_thread_is_bounded() {
        let sem = Arc::new(BoundedSemaphore::new(1));
        sem.acquire().unwrap().leak();
        let other = Arc::clone(&sem);
        let outcomes = Thread::spawn(move || (other.release(1), other.release(1)))
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(outcomes, (Ok(()), Err(Error::SemaphoreOverflow { initial: 1 })));
        assert_eq!(sem.value(), 1);
    }
}

conformance_async! {
    async fn semaphore_acquire_async_with_a_permit_is_immediate() {
        let sem = Semaphore::new(1);
        let permit = sem.acquire_async().await;
        assert_eq!(sem.value(), 0);
        assert!(sem.try_acquire().is_none());
        drop(permit);
        assert_eq!(sem.value(), 1);
    }

    async fn semaphore_acquire_async_waits_for_a_release() {
        let sem = Arc::new(Semaphore::new(0));
        let other = Arc::clone(&sem);
        let releaser = Thread::spawn(move || {
            thread::sleep(Duration::from_millis(20)).unwrap();
            other.release(1).unwrap();
        })
        .unwrap();
        let permit = sem.acquire_async().await;
        assert_eq!(sem.value(), 0);
        releaser.join_async().await.unwrap();
        drop(permit);
        assert_eq!(sem.value(), 1);
    }

    async fn bounded_semaphore_acquire_async_waits_for_a_release() {
        let sem = Arc::new(BoundedSemaphore::new(1));
        sem.acquire_async().await.leak();
        let other = Arc::clone(&sem);
        let releaser = Thread::spawn(move || {
            thread::sleep(Duration::from_millis(20)).unwrap();
            other.release(1)
        })
        .unwrap();
        let permit = sem.acquire_async().await;
        assert_eq!(sem.value(), 0);
        assert_eq!(releaser.join_async().await.unwrap(), Ok(()));
        drop(permit);
        assert_eq!(sem.value(), 1);
        assert_eq!(sem.release(1), Err(Error::SemaphoreOverflow { initial: 1 }));
    }
}
