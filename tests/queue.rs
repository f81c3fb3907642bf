//! Conformance of [`amphi::Queue`] with Python's queues, after CPython's
//! `Lib/test/test_queue.py` (`BaseQueueTestMixin`) and `_TestQueue` in
//! `Lib/test/_test_multiprocessing.py`, with thread peers: on native threads and, through
//! `wasm-pack test`, on Web Workers. Plus the error types and the async forms. `close` and
//! dying peers are in `queue_close.rs`, many threads and the stress test in `queue_stress.rs`.

#[macro_use]
mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use amphi::time::Instant;
use amphi::{thread, Error, Event, GetError, PutError, Queue, Thread};
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

    fn nowait_forms() {
        let q = Queue::new(QUEUE_SIZE);
        for _ in 0..QUEUE_SIZE {
            q.try_put(1).unwrap();
        }
        assert!(matches!(q.try_put(1), Err(PutError::Full(1))));
        for _ in 0..QUEUE_SIZE {
            q.try_get().unwrap();
        }
        assert_eq!(q.try_get(), Err(GetError::Empty));
    }

    fn put_with_a_child_draining() {
        // _TestQueue.test_put: a full queue refuses, with and without waiting, until a child
        // thread takes every item.
        const MAXSIZE: usize = 6;
        let queue = Arc::new(Queue::new(MAXSIZE));
        let child_can_start = Arc::new(Event::new());
        let parent_can_continue = Arc::new(Event::new());
        let child = {
            let (queue, start, done) =
                (queue.clone(), child_can_start.clone(), parent_can_continue.clone());
            Thread::spawn(move || {
                start.wait().unwrap();
                for _ in 0..MAXSIZE {
                    queue.get().unwrap();
                }
                done.set();
            })
            .unwrap()
        };
        assert!(queue.empty());
        assert!(!queue.full());
        for i in 1..=MAXSIZE {
            queue.put(i).unwrap();
        }
        assert!(!queue.empty());
        assert!(queue.full());
        assert!(matches!(queue.try_put(7), Err(PutError::Full(7))));
        for timeout in [100, 200] {
            let timeout = Duration::from_millis(timeout);
            let start = Instant::now();
            assert!(matches!(queue.put_timeout(7, timeout), Err(PutError::Timeout(7))));
            assert_waited_at_least(start.elapsed(), timeout);
        }
        child_can_start.set();
        parent_can_continue.wait().unwrap();
        assert!(queue.empty());
        assert!(!queue.full());
        child.join().unwrap();
    }

    fn get_with_a_child_filling() {
        // _TestQueue.test_get.
        let queue = Arc::new(Queue::new(0));
        let child_can_start = Arc::new(Event::new());
        let parent_can_continue = Arc::new(Event::new());
        let child = {
            let (queue, start, done) =
                (queue.clone(), child_can_start.clone(), parent_can_continue.clone());
            Thread::spawn(move || {
                start.wait().unwrap();
                for i in 2..=5 {
                    queue.put(i).unwrap();
                }
                done.set();
            })
            .unwrap()
        };
        assert!(queue.empty());
        child_can_start.set();
        parent_can_continue.wait().unwrap();
        assert!(!queue.empty());
        assert_eq!(queue.get(), Ok(2));
        assert_eq!(queue.get_timeout(Duration::from_secs(1)), Ok(3));
        assert_eq!(queue.get(), Ok(4));
        assert_eq!(queue.try_get(), Ok(5));
        assert!(queue.empty());
        assert_eq!(queue.try_get(), Err(GetError::Empty));
        for timeout in [100, 200] {
            let timeout = Duration::from_millis(timeout);
            let start = Instant::now();
            assert_eq!(queue.get_timeout(timeout), Err(GetError::Timeout));
            assert_waited_at_least(start.elapsed(), timeout);
        }
        child.join().unwrap();
    }

    fn items_put_by_another_thread_follow_in_order() {
        // _TestQueue.test_fork, with a thread for the child.
        let queue = Arc::new(Queue::new(0));
        for i in 0..10 {
            queue.put(i).unwrap();
        }
        let child = {
            let queue = queue.clone();
            Thread::spawn(move || (10..20).for_each(|i| queue.put(i).unwrap())).unwrap()
        };
        for i in 0..20 {
            assert_eq!(queue.get(), Ok(i));
        }
        assert_eq!(queue.try_get(), Err(GetError::Empty));
        child.join().unwrap();
    }

    fn qsize_counts_items() {
        let q = Queue::new(0);
        assert_eq!(q.qsize(), 0);
        q.put(1).unwrap();
        assert_eq!(q.qsize(), 1);
        q.put(5).unwrap();
        assert_eq!(q.qsize(), 2);
        q.get().unwrap();
        assert_eq!(q.qsize(), 1);
        q.get().unwrap();
        assert_eq!(q.qsize(), 0);
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
