//! Conformance of [`amphi::Queue`] with Python's queues, after CPython's
//! `Lib/test/test_queue.py` (`BaseQueueTestMixin`) and `_TestQueue` in
//! `Lib/test/_test_multiprocessing.py`, with thread peers: on native threads and, through
//! `wasm-pack test`, on Web Workers. What both families share (the try and timed forms,
//! blocking puts and gets, producers, close) is in `conformance_queue.rs`, run over every
//! backend; here are CPython's basic test, the error types that hand the item back, drops, and
//! the async forms. `close` and dying peers are in `queue_close.rs`, many threads and the
//! stress test in `queue_stress.rs`.

#[macro_use]
mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use amphi::time::Instant;
use amphi::{thread, Error, GetError, PutError, Queue, Thread};
use common::assert_waited_at_least;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

const QUEUE_SIZE: usize = 5;

/// CPython's `do_blocking_test`: runs `block` while a thread, after 100 ms, runs `trigger`;
/// `block` must not return before the trigger ran. Returns what `block` returned.
fn blocks_until_triggered<R>(
    block: impl FnOnce() -> R,
    trigger: impl FnOnce() + Send + 'static,
) -> R {
    let triggered = Arc::new(AtomicBool::new(false));
    let trigger_thread = {
        let triggered = Arc::clone(&triggered);
        Thread::spawn(move || {
            thread::sleep(Duration::from_millis(100)).unwrap();
            triggered.store(true, Ordering::SeqCst);
            trigger();
        })
        .unwrap()
    };
    let result = block();
    assert!(
        triggered.load(Ordering::SeqCst),
        "the blocking call appeared not to block"
    );
    trigger_thread.join().unwrap();
    result
}

/// CPython's `basic_queue_test`, on a bounded queue of `QUEUE_SIZE`.
fn basic_queue_test(q: &Arc<Queue<i32>>) {
    assert_eq!(q.qsize(), 0, "call this with an empty queue");
    assert!(q.empty());
    assert!(!q.full());
    q.put(111).unwrap();
    q.put(333).unwrap();
    q.put(222).unwrap();
    let order = [q.get().unwrap(), q.get().unwrap(), q.get().unwrap()];
    assert_eq!(order, [111, 333, 222], "first in, first out");
    for i in 0..QUEUE_SIZE as i32 - 1 {
        q.put(i).unwrap();
        assert!(q.qsize() > 0, "the queue should not be empty");
    }
    assert!(!q.full(), "the queue should not be full");
    let (last, full) = (2 * QUEUE_SIZE as i32, 3 * 2 * QUEUE_SIZE as i32);
    q.put(last).unwrap();
    assert!(q.full(), "the queue should be full");
    assert!(!q.empty());
    assert!(matches!(q.try_put(full), Err(PutError::Full(item)) if item == full));
    let start = Instant::now();
    let refused = q.put_timeout(full, Duration::from_millis(10));
    assert!(matches!(refused, Err(PutError::Timeout(item)) if item == full));
    assert_waited_at_least(start.elapsed(), Duration::from_millis(10));
    // Blocking puts, unblocked by a get from another thread.
    let getter = Arc::clone(q);
    blocks_until_triggered(
        || q.put(full).unwrap(),
        move || {
            getter.get().unwrap();
        },
    );
    let getter = Arc::clone(q);
    blocks_until_triggered(
        || q.put_timeout(full, Duration::from_secs(10)).unwrap(),
        move || {
            getter.get().unwrap();
        },
    );
    // Empty it.
    for _ in 0..QUEUE_SIZE {
        q.get().unwrap();
    }
    assert_eq!(q.qsize(), 0, "the queue should be empty");
    assert_eq!(q.try_get(), Err(GetError::Empty));
    assert_eq!(
        q.get_timeout(Duration::from_millis(10)),
        Err(GetError::Timeout)
    );
    // Blocking gets, unblocked by a put from another thread.
    let putter = Arc::clone(q);
    let got = blocks_until_triggered(|| q.get().unwrap(), move || putter.put(-1).unwrap());
    assert_eq!(got, -1);
    let putter = Arc::clone(q);
    let got = blocks_until_triggered(
        || q.get_timeout(Duration::from_secs(10)).unwrap(),
        move || putter.put(-2).unwrap(),
    );
    assert_eq!(got, -2);
}
conformance! {
    fn basic_twice_on_the_same_queue() {
        let q = Arc::new(Queue::new(QUEUE_SIZE));
        basic_queue_test(&q);
        basic_queue_test(&q);
    }

    fn constructors_and_debug() {
        let unbounded: Queue<u8> = Queue::new(0);
        assert_eq!(unbounded.maxsize(), 0);
        assert_eq!(Queue::<u8>::unbounded().maxsize(), 0);
        assert_eq!(Queue::<u8>::default().maxsize(), 0);
        assert_eq!(Queue::<u8>::bounded(3).maxsize(), 3);
        assert_eq!(
            format!("{:?}", Queue::<u8>::bounded(3)),
            "Queue { qsize: 0, maxsize: 3, closed: false }"
        );
        for i in 0..1_000 {
            unbounded.try_put((i % 256) as u8).unwrap();
        }
        assert!(!unbounded.full(), "an unbounded queue is never full");
    }

    fn items_are_dropped_once_taken() {
        // test_references: the queue keeps no reference to an item it gave away.
        let q = Queue::new(0);
        let item = Arc::new(());
        for _ in 0..20 {
            q.put(Arc::clone(&item)).unwrap();
        }
        assert_eq!(Arc::strong_count(&item), 21);
        for left in (0..20).rev() {
            drop(q.get().unwrap());
            assert_eq!(Arc::strong_count(&item), left + 1);
        }
    }

    fn items_move_without_copying() {
        let q = Queue::new(1);
        let boxed = Box::new(5);
        let address: *const i32 = &*boxed;
        q.put(boxed).unwrap();
        let received = q.get().unwrap();
        assert_eq!(&*received as *const i32, address, "the same allocation arrives");
    }

    fn errors_hand_the_item_back_and_convert() {
        let q = Queue::bounded(1);
        q.put(String::from("kept")).unwrap();
        let refused = q.try_put(String::from("mine")).unwrap_err();
        assert_eq!(refused.to_string(), "the queue is full");
        assert_eq!(format!("{refused:?}"), "PutError::Full(..)");
        assert_eq!(refused.error(), Error::Full);
        assert_eq!(refused.into_inner(), "mine");
        let as_amphi: Error = q.try_put(String::new()).unwrap_err().into();
        assert_eq!(as_amphi, Error::Full);
        q.close();
        let closed = q.put(String::from("late")).unwrap_err();
        assert!(matches!(closed, PutError::Closed(ref s) if s == "late"));
        assert_eq!(Error::from(GetError::Empty), Error::Empty);
        assert_eq!(Error::from(GetError::Timeout), Error::Timeout);
        assert_eq!(GetError::Closed.to_string(), "the queue is closed and drained");
    }
}

conformance_async! {
    async fn get_async_waits_for_a_put() {
        let q = Arc::new(Queue::new(0));
        let putter = {
            let q = q.clone();
            Thread::spawn(move || {
                thread::sleep(Duration::from_millis(20)).unwrap();
                q.put("late").unwrap();
            })
            .unwrap()
        };
        assert_eq!(q.get_async().await, Ok("late"));
        putter.join_async().await.unwrap();
    }

    async fn put_async_waits_for_room() {
        let q = Arc::new(Queue::bounded(1));
        q.put_async(1).await.unwrap();
        let getter = {
            let q = q.clone();
            Thread::spawn(move || {
                thread::sleep(Duration::from_millis(20)).unwrap();
                q.get().unwrap()
            })
            .unwrap()
        };
        q.put_async(2).await.unwrap();
        assert_eq!(getter.join_async().await, Ok(1));
        assert_eq!(q.try_get(), Ok(2));
    }
}
