//! Conformance of [`amphi::Condition`] with Python's `threading.Condition`, after CPython's
//! `Lib/test/lock_tests.py` (`ConditionTests`): on native threads and, through `wasm-pack test`,
//! on Web Workers.

#[macro_use]
mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use amphi::{Condition, Error, Lock, RLock, Thread};
use common::wait_for;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

/// Starts `n` threads that each wait once on `cond` and count themselves in `woken`.
#[cfg(not(target_arch = "wasm32"))]
fn start_waiters<L: amphi::ConditionLock>(
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

conformance! {
    fn acquire_is_reentrant_with_the_default_rlock() {
        let cond = Condition::new();
        let _outer = cond.acquire().unwrap();
        let _inner = cond.acquire().unwrap();
        assert_eq!(cond.lock().depth(), 2);
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
