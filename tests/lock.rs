//! Conformance of [`amphi::Lock`] with Python's `threading.Lock`, after CPython's
//! `Lib/test/lock_tests.py` (`BaseLockTests`, `LockTests`): on native threads and, through
//! `wasm-pack test`, on Web Workers.

#[macro_use]
mod common;

use std::sync::Arc;
use std::time::Duration;

use amphi::{thread, Lock, Thread};

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
