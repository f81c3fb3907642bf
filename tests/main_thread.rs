//! The browser's main thread: blocking calls return [`Error::WouldBlock`] instead of trapping
//! ("Atomics.wait cannot be called in this context"), and the async forms work there, for
//! threads and for process queues and pipes alike.
//!
//! In the browser these tests run on the page's main thread (not in a worker). Natively every
//! thread may block, so the same calls succeed; those native counterparts run too.

use std::sync::Arc;
use std::time::Duration;

use amphi::{thread, Lock, Thread};

#[cfg(target_arch = "wasm32")]
mod browser {
    use super::*;
    use amphi::{process, Error, GetError, PutError, RecvError};
    use wasm_bindgen_test::wasm_bindgen_test;

    wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

    #[wasm_bindgen_test]
    fn blocking_forms_return_would_block_even_when_free() {
        let lock = Lock::new();
        assert_eq!(lock.acquire().map(drop), Err(Error::WouldBlock));
        assert_eq!(
            lock.acquire_timeout(Duration::from_millis(1)).map(drop),
            Err(Error::WouldBlock)
        );
        assert!(!lock.locked(), "a refused acquire takes nothing");
        assert_eq!(
            thread::sleep(Duration::from_millis(1)),
            Err(Error::WouldBlock)
        );
        assert!(
            Error::WouldBlock.to_string().contains("async"),
            "the error says what to do"
        );
    }

    #[wasm_bindgen_test]
    fn try_forms_work_on_the_main_thread() {
        let lock = Lock::new();
        let held = lock.try_acquire().expect("try_acquire never blocks");
        assert!(lock.try_acquire().is_none());
        drop(held);
    }

    #[wasm_bindgen_test]
    async fn join_is_refused_and_join_async_works() {
        let worker = Thread::spawn(|| 21 * 2).unwrap();
        assert_eq!(
            worker.join_timeout(Duration::from_secs(1)),
            Err(Error::WouldBlock)
        );
        assert_eq!(worker.join_async().await, Ok(42));
    }

    /// Removes `Atomics.waitAsync` while alive, as in a browser that lacks it.
    struct WithoutWaitAsync {
        atomics: js_sys::Object,
        saved: wasm_bindgen::JsValue,
    }

    impl WithoutWaitAsync {
        fn new() -> WithoutWaitAsync {
            let global = js_sys::global();
            let atomics: js_sys::Object = js_sys::Reflect::get(&global, &"Atomics".into())
                .unwrap()
                .into();
            let saved = js_sys::Reflect::get(&atomics, &"waitAsync".into()).unwrap();
            assert!(
                saved.is_function(),
                "this browser has Atomics.waitAsync to remove"
            );
            assert!(js_sys::Reflect::delete_property(&atomics, &"waitAsync".into()).unwrap());
            WithoutWaitAsync { atomics, saved }
        }
    }

    impl Drop for WithoutWaitAsync {
        fn drop(&mut self) {
            js_sys::Reflect::set(&self.atomics, &"waitAsync".into(), &self.saved).unwrap();
        }
    }

    #[wasm_bindgen_test]
    async fn async_forms_fall_back_to_polling_without_atomics_wait_async() {
        let _missing = WithoutWaitAsync::new();
        let lock = Arc::new(Lock::new());
        lock.try_acquire().unwrap().leak();
        let releaser = {
            let lock = lock.clone();
            Thread::spawn(move || {
                thread::sleep(Duration::from_millis(30)).unwrap();
                lock.release().unwrap();
                "released"
            })
            .unwrap()
        };
        let guard = lock.acquire_async().await;
        assert!(lock.locked());
        drop(guard);
        assert_eq!(releaser.join_async().await, Ok("released"));
    }

    fn square_until_closed(queues: (process::Queue<u32>, process::Queue<u32>)) {
        let (requests, replies) = queues;
        while let Ok(n) = requests.get() {
            replies.put(n * n).unwrap();
        }
    }

    fn echo_until_eof(end: process::Connection<String>) {
        while let Ok(message) = end.recv() {
            end.send(message).unwrap();
        }
    }

    #[wasm_bindgen_test]
    async fn process_queues_and_pipes_refuse_to_block_and_work_through_async_forms() {
        let requests = process::Queue::new(1).unwrap();
        let replies = process::Queue::new(0).unwrap();
        assert_eq!(replies.get(), Err(GetError::WouldBlock));
        assert_eq!(replies.try_get(), Err(GetError::Empty));
        requests.try_put(2).unwrap();
        assert_eq!(
            requests.put(3),
            Err(PutError::WouldBlock(3)),
            "the queue is full"
        );
        let child = process::Process::new(square_until_closed, (requests.clone(), replies.clone()));
        child.start().unwrap();
        assert_eq!(replies.get_async().await, Ok(4));
        for n in 3..=20 {
            requests.put_async(n).await.unwrap();
            assert_eq!(replies.get_async().await, Ok(n * n));
        }
        requests.close();
        child.join_async().await.unwrap();

        let (here, there) = process::Pipe::new(true).unwrap();
        let echo = process::Process::new(echo_until_eof, there);
        echo.start().unwrap();
        assert_eq!(here.recv(), Err(RecvError::WouldBlock));
        here.send_async("x".repeat(100_000)).await.unwrap();
        assert_eq!(here.recv_async().await.map(|m| m.len()), Ok(100_000));
        here.close();
        echo.join_async().await.unwrap();
    }

    fn put_later(queue: process::Queue<u32>) {
        thread::sleep(Duration::from_millis(30)).unwrap();
        queue.put(9).unwrap();
    }

    #[wasm_bindgen_test]
    async fn process_async_forms_fall_back_to_polling_without_atomics_wait_async() {
        let _missing = WithoutWaitAsync::new();
        let queue = process::Queue::new(0).unwrap();
        let child = process::Process::new(put_later, queue.clone());
        child.start().unwrap();
        assert_eq!(queue.get_async().await, Ok(9));
        child.join_async().await.unwrap();
    }

    #[wasm_bindgen_test]
    async fn acquire_async_waits_for_a_worker_to_release() {
        let lock = Arc::new(Lock::new());
        lock.try_acquire().unwrap().leak();
        let releaser = {
            let lock = lock.clone();
            Thread::spawn(move || {
                thread::sleep(Duration::from_millis(20)).unwrap();
                lock.release().unwrap();
            })
            .unwrap()
        };
        let guard = lock.acquire_async().await;
        assert!(lock.locked());
        drop(guard);
        releaser.join_async().await.unwrap();
    }
}

#[cfg(not(target_arch = "wasm32"))]
#[test]
fn natively_every_blocking_form_is_allowed() {
    let lock = Arc::new(Lock::new());
    drop(lock.acquire().unwrap());
    drop(lock.acquire_timeout(Duration::from_millis(1)).unwrap());
    thread::sleep(Duration::from_millis(1)).unwrap();
    assert_eq!(Thread::spawn(|| 1).unwrap().join(), Ok(1));
}
