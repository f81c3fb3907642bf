//! Conformance of [`amphi::Condition`] with Python's `threading.Condition`, after CPython's
//! `Lib/test/lock_tests.py` (`ConditionTests`): on native threads and, through `wasm-pack test`,
//! on Web Workers.

#[macro_use]
mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use amphi::time::Instant;
use amphi::{thread, Condition, ConditionLock, Error, Lock, RLock, Thread};
use common::{assert_waited_at_least, wait_for};

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

/// Starts `n` threads that each wait once on `cond` and count themselves in `woken`.
fn start_waiters<L: ConditionLock>(
    cond: &Arc<Condition<L>>,
    n: u32,
    woken: &Arc<AtomicU32>,
) -> Vec<Thread<()>> {
    (0..n)
        .map(|_| {
            let (cond, woken) = (cond.clone(), woken.clone());
            Thread::spawn(move || {
                let _held = cond.acquire().unwrap();
                cond.wait().unwrap();
                woken.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap()
        })
        .collect()
}

fn notify(cond: &Condition, n: usize) -> usize {
    let _held = cond.acquire().unwrap();
    cond.notify(n).unwrap()
}

conformance! {
    fn acquire_is_reentrant_with_the_default_rlock() {
        let cond = Condition::new();
        let _outer = cond.acquire().unwrap();
        let _inner = cond.acquire().unwrap();
        assert_eq!(cond.lock().depth(), 2);
    }

    fn wait_without_the_lock_is_an_error() {
        let cond = Condition::new();
        assert_eq!(cond.wait(), Err(Error::NotOwner));
        assert_eq!(cond.wait_timeout(Duration::from_millis(1)), Err(Error::NotOwner));
        assert_eq!(cond.waiting(), 0, "a refused wait leaves no waiter behind");
    }

    fn notify_without_the_lock_is_an_error() {
        let cond = Condition::new();
        assert_eq!(cond.notify(1), Err(Error::NotOwner));
        assert_eq!(cond.notify_all(), Err(Error::NotOwner));
    }

    fn notify_from_a_non_owner_of_the_rlock_is_an_error() {
        let cond = Arc::new(Condition::new());
        let _held = cond.acquire().unwrap();
        let other = cond.clone();
        let result = Thread::spawn(move || other.notify(1)).unwrap().join().unwrap();
        assert_eq!(result, Err(Error::NotOwner));
    }

    fn notify_n_wakes_exactly_n_waiters() {
        let cond = Arc::new(Condition::new());
        let woken = Arc::new(AtomicU32::new(0));
        let waiters = start_waiters(&cond, 5, &woken);
        wait_for("five waiters", || cond.waiting() == 5);
        assert_eq!(notify(&cond, 1), 1);
        wait_for("one wake-up", || woken.load(Ordering::SeqCst) == 1);
        thread::sleep(Duration::from_millis(20)).unwrap();
        assert_eq!(woken.load(Ordering::SeqCst), 1, "notify(1) wakes one waiter only");
        assert_eq!(notify(&cond, 3), 3);
        wait_for("three more wake-ups", || woken.load(Ordering::SeqCst) == 4);
        thread::sleep(Duration::from_millis(20)).unwrap();
        assert_eq!(woken.load(Ordering::SeqCst), 4);
        assert_eq!(notify(&cond, usize::MAX), 1);
        for waiter in waiters {
            waiter.join().unwrap();
        }
        assert_eq!(woken.load(Ordering::SeqCst), 5);
    }

    fn notify_all_wakes_everyone_and_later_waiters_are_not_woken() {
        let cond = Arc::new(Condition::new());
        let woken = Arc::new(AtomicU32::new(0));
        let first = start_waiters(&cond, 3, &woken);
        wait_for("three waiters", || cond.waiting() == 3);
        {
            let _held = cond.acquire().unwrap();
            assert_eq!(cond.notify_all().unwrap(), 3);
        }
        for waiter in first {
            waiter.join().unwrap();
        }
        let late = start_waiters(&cond, 1, &woken);
        wait_for("the late waiter", || cond.waiting() == 1);
        thread::sleep(Duration::from_millis(20)).unwrap();
        assert_eq!(woken.load(Ordering::SeqCst), 3, "a past notify wakes no later waiter");
        assert_eq!(notify(&cond, 1), 1);
        for waiter in late {
            waiter.join().unwrap();
        }
    }

    fn notify_with_no_waiters_wakes_nobody() {
        let cond = Condition::new();
        assert_eq!(notify(&cond, 3), 0);
    }

    fn wait_timeout_times_out_and_holds_the_lock_again() {
        let cond = Condition::new();
        let _outer = cond.acquire().unwrap();
        let _inner = cond.acquire().unwrap();
        let start = Instant::now();
        assert_eq!(cond.wait_timeout(Duration::from_millis(100)), Err(Error::Timeout));
        assert_waited_at_least(start.elapsed(), Duration::from_millis(100));
        assert!(cond.lock().is_owned());
        assert_eq!(cond.lock().depth(), 2, "the RLock's depth is restored");
        assert_eq!(cond.waiting(), 0);
    }

    fn wait_releases_every_level_of_the_rlock() {
        let cond = Arc::new(Condition::new());
        let outer = cond.acquire().unwrap();
        let inner = cond.acquire().unwrap();
        let notifier = {
            let cond = cond.clone();
            Thread::spawn(move || {
                wait_for("the waiter", || cond.waiting() == 1);
                let _held = cond.acquire().unwrap(); // only possible if the wait released all
                cond.notify(1).unwrap()
            })
            .unwrap()
        };
        cond.wait_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(notifier.join().unwrap(), 1);
        drop(inner);
        drop(outer);
        assert!(!cond.lock().locked());
    }

    fn wait_for_rechecks_the_predicate() {
        let cond = Arc::new(Condition::new());
        let state = Arc::new(AtomicU32::new(0));
        let waiter = {
            let (cond, state) = (cond.clone(), state.clone());
            Thread::spawn(move || {
                let _held = cond.acquire().unwrap();
                cond.wait_for(|| state.load(Ordering::SeqCst) == 4).unwrap();
                state.load(Ordering::SeqCst)
            })
            .unwrap()
        };
        for _ in 0..4 {
            thread::sleep(Duration::from_millis(5)).unwrap();
            let _held = cond.acquire().unwrap();
            state.fetch_add(1, Ordering::SeqCst);
            cond.notify_all().unwrap();
        }
        assert_eq!(waiter.join().unwrap(), 4);
    }

    fn wait_for_timeout_gives_up_when_the_predicate_stays_false() {
        let cond = Condition::new();
        let _held = cond.acquire().unwrap();
        let start = Instant::now();
        let checks = AtomicU32::new(0);
        let outcome = cond.wait_for_timeout(
            || {
                checks.fetch_add(1, Ordering::SeqCst);
                false
            },
            Duration::from_millis(100),
        );
        assert_eq!(outcome, Err(Error::Timeout));
        assert_waited_at_least(start.elapsed(), Duration::from_millis(100));
        assert!(checks.load(Ordering::SeqCst) >= 2, "checked before and after waiting");
        assert_eq!(cond.wait_for_timeout(|| true, Duration::ZERO), Ok(()));
    }

    fn a_condition_over_a_shared_lock() {
        // Two conditions over one Lock, as a bounded queue's "not empty" and "not full".
        let lock = Arc::new(Lock::new());
        let not_empty = Arc::new(Condition::with_lock(lock.clone()));
        let not_full = Arc::new(Condition::with_lock(lock.clone()));
        let items = Arc::new(AtomicU32::new(0));
        const CAPACITY: u32 = 2;
        const ITEMS: u32 = 50;
        let producer = {
            let (not_empty, not_full, items) = (not_empty.clone(), not_full.clone(), items.clone());
            Thread::spawn(move || {
                for _ in 0..ITEMS {
                    let _held = not_full.acquire().unwrap();
                    not_full.wait_for(|| items.load(Ordering::SeqCst) < CAPACITY).unwrap();
                    items.fetch_add(1, Ordering::SeqCst);
                    not_empty.notify(1).unwrap();
                }
            })
            .unwrap()
        };
        let mut taken = 0;
        while taken < ITEMS {
            let _held = not_empty.acquire().unwrap();
            not_empty.wait_for(|| items.load(Ordering::SeqCst) > 0).unwrap();
            assert!(items.load(Ordering::SeqCst) <= CAPACITY);
            items.fetch_sub(1, Ordering::SeqCst);
            taken += 1;
            not_full.notify(1).unwrap();
        }
        producer.join().unwrap();
        assert_eq!(items.load(Ordering::SeqCst), 0);
        assert!(!lock.locked());
    }

    fn a_condition_over_an_rlock_given_explicitly() {
        let lock = Arc::new(RLock::new());
        let cond = Condition::with_lock(lock.clone());
        let _held = cond.acquire().unwrap();
        assert!(lock.is_owned());
        assert_eq!(cond.wait_timeout(Duration::from_millis(1)), Err(Error::Timeout));
        assert!(lock.is_owned());
    }
}

conformance_async! {
    async fn wait_async_is_woken_by_notify() {
        let cond = Arc::new(Condition::with_lock(Arc::new(Lock::new())));
        let notifier = {
            let cond = cond.clone();
            Thread::spawn(move || {
                wait_for("the async waiter", || cond.waiting() == 1);
                let _held = cond.acquire().unwrap();
                cond.notify(1).unwrap()
            })
            .unwrap()
        };
        cond.lock().acquire_async().await.leak();
        cond.wait_async().await.unwrap();
        assert!(cond.lock().locked(), "the lock is held again");
        cond.lock().release().unwrap();
        assert_eq!(notifier.join_async().await.unwrap(), 1);
    }

    async fn wait_async_without_the_lock_is_an_error() {
        let cond = Condition::with_lock(Arc::new(Lock::new()));
        assert_eq!(cond.wait_async().await, Err(Error::NotOwner));
    }
}

#[cfg(not(target_arch = "wasm32"))]
#[test]
fn a_cancelled_wait_async_passes_its_notification_on() {
    use std::future::Future;
    use std::task::{Context, Waker};

    let cond = Arc::new(Condition::with_lock(Arc::new(Lock::new())));
    // An async waiter that will be dropped after being chosen by notify(1).
    cond.lock().try_acquire().unwrap().leak();
    let mut cancelled = Box::pin(cond.wait_async());
    // Polled once: it queues itself, releases the lock and sleeps.
    let mut context = Context::from_waker(Waker::noop());
    assert!(cancelled.as_mut().poll(&mut context).is_pending());
    // A blocking waiter queued after it.
    let woken = Arc::new(AtomicU32::new(0));
    let blocking = start_waiters(&cond, 1, &woken);
    wait_for("both waiters", || cond.waiting() == 2);
    assert_eq!(
        notify_plain_lock(&cond),
        1,
        "notify(1) chose the async waiter"
    );
    drop(cancelled);
    for waiter in blocking {
        waiter.join_timeout(Duration::from_secs(10)).unwrap();
    }
    assert_eq!(
        woken.load(Ordering::SeqCst),
        1,
        "the notification reached the next waiter"
    );
}

#[cfg(not(target_arch = "wasm32"))]
fn notify_plain_lock(cond: &Condition<Lock>) -> usize {
    let _held = cond.acquire().unwrap();
    cond.notify(1).unwrap()
}
