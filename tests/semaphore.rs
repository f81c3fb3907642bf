//! Conformance of [`amphi::Semaphore`] and [`amphi::BoundedSemaphore`] with Python's
//! `threading.Semaphore` and `threading.BoundedSemaphore`, after CPython's
//! `Lib/test/lock_tests.py` (`BaseSemaphoreTests`, `SemaphoreTests`, `BoundedSemaphoreTests`):
//! on native threads and, through `wasm-pack test`, on Web Workers. What both families share
//! is in `conformance_semaphore.rs`, run over every backend; here is what only the thread
//! family has (`Default`, `Debug`, `acquire_async`).

#[macro_use]
mod common;

use std::sync::Arc;
use std::time::Duration;

use amphi::{thread, BoundedSemaphore, Error, Semaphore, Thread};

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

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
        let sem = Semaphore::default();
        assert_eq!(sem.value(), 1);
        let permit = sem.try_acquire().expect("the one permit");
        assert!(sem.try_acquire().is_none(), "only one");
        drop(permit);
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
