//! [`amphi::Queue`]'s `close` and the survivors of a dying producer or consumer, on native
//! threads and, through `wasm-pack test`, on Web Workers. CPython's queues have no `close`
//! between threads; `multiprocessing.Queue` refuses puts and gets once closed
//! (`test_closed_queue_put_get_exceptions`), while amphi's gets drain what is left first.

#[macro_use]
mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use amphi::{thread, Error, GetError, PutError, Queue, Thread};
use common::wait_for;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

conformance! {
    fn close_refuses_puts_and_drains_gets() {
        // test_closed_queue_put_get_exceptions, with Rust's drain-then-Closed semantics.
        let q = Queue::new(0);
        q.put(1).unwrap();
        q.put(2).unwrap();
        q.close();
        q.close(); // closing again does nothing
        assert!(q.is_closed());
        assert!(matches!(q.put(3), Err(PutError::Closed(3))));
        assert!(matches!(q.try_put(3), Err(PutError::Closed(3))));
        assert!(matches!(q.put_timeout(3, Duration::from_secs(1)), Err(PutError::Closed(3))));
        assert_eq!(q.get(), Ok(1));
        assert_eq!(q.try_get(), Ok(2));
        for _ in 0..3 {
            assert_eq!(q.get(), Err(GetError::Closed), "every get after the drain, at once");
            assert_eq!(q.try_get(), Err(GetError::Closed));
            assert_eq!(q.get_timeout(Duration::from_secs(10)), Err(GetError::Closed));
        }
        assert!(q.empty());
    }

    fn close_wakes_every_blocked_getter() {
        let q: Arc<Queue<u32>> = Arc::new(Queue::new(0));
        let waiting = Arc::new(AtomicUsize::new(0));
        let getters: Vec<_> = (0..4)
            .map(|_| {
                let (q, waiting) = (q.clone(), waiting.clone());
                Thread::spawn(move || {
                    waiting.fetch_add(1, Ordering::SeqCst);
                    q.get()
                })
                .unwrap()
            })
            .collect();
        wait_for("four getters", || waiting.load(Ordering::SeqCst) == 4);
        thread::sleep(Duration::from_millis(20)).unwrap();
        q.close();
        for getter in getters {
            assert_eq!(getter.join().unwrap(), Err(GetError::Closed));
        }
    }

    fn close_wakes_every_blocked_putter_with_its_item() {
        let q = Arc::new(Queue::bounded(1));
        q.put(0).unwrap();
        let putters: Vec<_> = (1..=3)
            .map(|i| {
                let q = q.clone();
                Thread::spawn(move || q.put(i).map_err(PutError::into_inner)).unwrap()
            })
            .collect();
        thread::sleep(Duration::from_millis(50)).unwrap();
        q.close();
        let mut handed_back: Vec<_> = putters
            .into_iter()
            .map(|putter| putter.join().unwrap().unwrap_err())
            .collect();
        handed_back.sort_unstable();
        assert_eq!(handed_back, [1, 2, 3]);
        assert_eq!(q.get(), Ok(0), "what was put before the close is still there");
        assert_eq!(q.get(), Err(GetError::Closed));
    }

    fn consumers_drain_a_closed_queue_then_stop() {
        // Closing instead of one sentinel per consumer: all items arrive exactly once.
        let q = Arc::new(Queue::bounded(8));
        let consumers: Vec<_> = (0..3)
            .map(|_| {
                let q = q.clone();
                Thread::spawn(move || {
                    let mut got = Vec::new();
                    while let Ok(item) = q.get() {
                        got.push(item);
                    }
                    got
                })
                .unwrap()
            })
            .collect();
        for i in 0..300 {
            q.put(i).unwrap();
        }
        q.close();
        let mut all: Vec<_> = consumers.into_iter().flat_map(|c| c.join().unwrap()).collect();
        all.sort_unstable();
        assert_eq!(all, (0..300).collect::<Vec<_>>());
    }

    fn a_consumer_that_panics_leaves_the_queue_usable() {
        let q = Arc::new(Queue::new(0));
        for i in 0..4 {
            q.put(i).unwrap();
        }
        let doomed = {
            let q = q.clone();
            Thread::spawn(move || {
                let item = q.get().unwrap();
                panic!("consumer died holding item {item}");
            })
            .unwrap()
        };
        assert!(matches!(doomed.join(), Err(Error::Panicked(_))));
        let rest: Vec<_> = (0..3).map(|_| q.get_timeout(Duration::from_secs(10)).unwrap()).collect();
        assert_eq!(rest, [1, 2, 3], "only the dead consumer's item is gone");
        q.put(9).unwrap();
        assert_eq!(q.get(), Ok(9));
    }

    fn a_producer_that_panics_does_not_hang_the_consumers() {
        // The supervisor joins the producers, however they end, then closes the queue.
        let q = Arc::new(Queue::bounded(2));
        let consumer = {
            let q = q.clone();
            Thread::spawn(move || {
                let mut got = Vec::new();
                while let Ok(item) = q.get() {
                    got.push(item);
                }
                got
            })
            .unwrap()
        };
        let producer = {
            let q = q.clone();
            Thread::spawn(move || {
                q.put(1).unwrap();
                q.put(2).unwrap();
                panic!("producer died");
            })
            .unwrap()
        };
        assert!(matches!(producer.join(), Err(Error::Panicked(_))));
        q.close();
        assert_eq!(consumer.join().unwrap(), [1, 2]);
    }
}

conformance_async! {
    async fn async_forms_see_close() {
        let q: Arc<Queue<u8>> = Arc::new(Queue::bounded(1));
        let closer = {
            let q = q.clone();
            Thread::spawn(move || {
                thread::sleep(Duration::from_millis(20)).unwrap();
                q.close();
            })
            .unwrap()
        };
        assert_eq!(q.get_async().await, Err(GetError::Closed), "woken by the close");
        closer.join_async().await.unwrap();
        assert!(matches!(q.put_async(1).await, Err(PutError::Closed(1))));
    }
}
