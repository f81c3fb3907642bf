//! Conformance of [`amphi::SimpleQueue`] with Python's `SimpleQueue`, after CPython's
//! `BaseSimpleQueueTest` in `Lib/test/test_queue.py`: on native threads and, through
//! `wasm-pack test`, on Web Workers.

#[macro_use]
mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use amphi::{GetError, PutError, SimpleQueue, Thread};

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

conformance! {
    fn basic() {
        // BaseSimpleQueueTest.test_basic.
        let q = SimpleQueue::new();
        assert!(q.empty());
        assert_eq!(q.qsize(), 0);
        q.put(1).unwrap();
        assert!(!q.empty());
        assert_eq!(q.qsize(), 1);
        q.put(2).unwrap();
        q.put(3).unwrap();
        q.put(4).unwrap();
        assert_eq!(q.qsize(), 4);
        assert_eq!(q.get(), Ok(1));
        assert_eq!(q.qsize(), 3);
        assert_eq!(q.try_get(), Ok(2));
        assert_eq!(q.qsize(), 2);
        assert_eq!(q.try_get(), Ok(3));
        assert_eq!(q.get_timeout(Duration::from_millis(100)), Ok(4));
        assert!(q.empty());
        assert_eq!(q.try_get(), Err(GetError::Empty));
        assert_eq!(q.get_timeout(Duration::from_millis(1)), Err(GetError::Timeout));
        assert_eq!(format!("{q:?}"), "SimpleQueue { qsize: 0, closed: false }");
        q.close();
        assert!(matches!(q.put(5), Err(PutError::Closed(5))));
        assert_eq!(q.get(), Err(GetError::Closed));
    }

    fn many_threads() {
        let q: Arc<SimpleQueue<Option<u32>>> = Arc::new(SimpleQueue::new());
        let results = Arc::new(Mutex::new(Vec::new()));
        let consumers: Vec<_> = (0..4)
            .map(|_| {
                let (q, results) = (q.clone(), results.clone());
                Thread::spawn(move || {
                    while let Some(item) = q.get().unwrap() {
                        results.lock().unwrap().push(item);
                    }
                })
                .unwrap()
            })
            .collect();
        let feeders: Vec<_> = (0..4)
            .map(|f| {
                let q = q.clone();
                Thread::spawn(move || (f..1_000).step_by(4).for_each(|i| q.put(Some(i)).unwrap()))
                    .unwrap()
            })
            .collect();
        feeders.into_iter().for_each(|f| f.join().unwrap());
        (0..4).for_each(|_| q.put(None).unwrap());
        consumers.into_iter().for_each(|c| c.join().unwrap());
        let mut results = results.lock().unwrap().clone();
        results.sort_unstable();
        assert_eq!(results, (0..1_000).collect::<Vec<_>>());
    }
}

conformance_async! {
    async fn get_async() {
        let q = SimpleQueue::new();
        q.put(8).unwrap();
        assert_eq!(q.get_async().await, Ok(8));
    }
}
