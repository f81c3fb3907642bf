//! Conformance of [`amphi::JoinableQueue`] with Python's `JoinableQueue` and `Queue.join`,
//! after CPython's `Lib/test/test_queue.py` (`queue_join_test`, `test_queue_task_done`) and
//! `_TestQueue.test_task_done` in `Lib/test/_test_multiprocessing.py`, with thread peers: on
//! native threads and, through `wasm-pack test`, on Web Workers.

#[macro_use]
mod common;

use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use amphi::{thread, Error, JoinableQueue, Thread};
use common::wait_for;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

/// CPython's `worker`: adds up items until a negative one, marking each task done.
fn summing_worker(q: Arc<JoinableQueue<i64>>, cum: Arc<AtomicI64>) -> Thread<()> {
    Thread::spawn(move || loop {
        let x = q.get().unwrap();
        if x < 0 {
            q.task_done().unwrap();
            return;
        }
        cum.fetch_add(x, Ordering::SeqCst);
        q.task_done().unwrap();
    })
    .unwrap()
}

/// CPython's `queue_join_test`.
fn queue_join_test(q: &Arc<JoinableQueue<i64>>) {
    let cum = Arc::new(AtomicI64::new(0));
    let workers: Vec<_> = (0..2)
        .map(|_| summing_worker(q.clone(), cum.clone()))
        .collect();
    for i in 0..100 {
        q.put(i).unwrap();
    }
    q.join().unwrap();
    assert_eq!(
        cum.load(Ordering::SeqCst),
        (0..100).sum::<i64>(),
        "join() did not block until all tasks were done"
    );
    for _ in 0..2 {
        q.put(-1).unwrap(); // tell the workers to stop
    }
    q.join().unwrap(); // joining twice works
    for worker in workers {
        worker.join().unwrap();
    }
}

conformance! {

    fn join_twice_then_one_task_done_too_many() {
        // test_queue_join.
        let q = Arc::new(JoinableQueue::new(0));
        queue_join_test(&q);
        queue_join_test(&q);
        assert_eq!(q.task_done(), Err(Error::TooManyTaskDone));
    }

    fn join_with_a_bounded_queue() {
        let q = Arc::new(JoinableQueue::bounded(3));
        queue_join_test(&q);
    }

    fn four_workers_with_a_sentinel() {
        // _TestQueue.test_task_done.
        let q: Arc<JoinableQueue<Option<u32>>> = Arc::new(JoinableQueue::new(0));
        let done = Arc::new(AtomicUsize::new(0));
        let workers: Vec<_> = (0..4)
            .map(|_| {
                let (q, done) = (q.clone(), done.clone());
                Thread::spawn(move || {
                    while let Some(_item) = q.get().unwrap() {
                        thread::sleep(Duration::from_millis(5)).unwrap();
                        done.fetch_add(1, Ordering::SeqCst);
                        q.task_done().unwrap();
                    }
                })
                .unwrap()
            })
            .collect();
        for i in 0..10 {
            q.put(Some(i)).unwrap();
        }
        q.join().unwrap();
        assert_eq!(done.load(Ordering::SeqCst), 10, "join returned before every task was done");
        for _ in &workers {
            q.put(None).unwrap();
        }
        for worker in workers {
            worker.join().unwrap();
        }
        assert_eq!(q.unfinished_tasks(), 4, "the sentinels were taken but not marked done");
    }

    fn unfinished_tasks_counts_puts_not_gets() {
        let q = JoinableQueue::new(0);
        q.put(1).unwrap();
        q.put(2).unwrap();
        assert_eq!((q.qsize(), q.unfinished_tasks()), (2, 2));
        q.get().unwrap();
        assert_eq!((q.qsize(), q.unfinished_tasks()), (1, 2));
        q.task_done().unwrap();
        assert_eq!(q.unfinished_tasks(), 1);
        assert_eq!(
            format!("{q:?}"),
            "JoinableQueue { qsize: 1, maxsize: 0, unfinished_tasks: 1, closed: false }"
        );
    }

    fn task_done_after_close_still_counts() {
        let q = JoinableQueue::new(0);
        q.put(1).unwrap();
        q.close();
        assert!(q.is_closed());
        assert_eq!(q.get(), Ok(1));
        assert!(!q.try_join());
        q.task_done().unwrap();
        q.join().unwrap();
    }

    fn a_consumer_that_dies_is_covered_by_whoever_joins_it() {
        // Survivors see join wait for the dead consumer's task; the thread that joins the
        // consumer learns of the panic and marks the task done for it.
        let q = Arc::new(JoinableQueue::new(0));
        q.put("doomed").unwrap();
        q.put("fine").unwrap();
        let consumer = {
            let q = q.clone();
            Thread::spawn(move || {
                let item = q.get().unwrap();
                panic!("consumer died processing {item}");
            })
            .unwrap()
        };
        assert!(matches!(consumer.join(), Err(Error::Panicked(_))));
        assert_eq!(q.get(), Ok("fine"), "the queue is still usable");
        q.task_done().unwrap();
        assert_eq!(q.join_timeout(Duration::from_millis(20)), Err(Error::Timeout));
        q.task_done().unwrap(); // on behalf of the dead consumer
        q.join().unwrap();
    }

    fn many_joiners_all_wake() {
        let q = Arc::new(JoinableQueue::new(0));
        q.put(()).unwrap();
        let waiting = Arc::new(AtomicUsize::new(0));
        let joiners: Vec<_> = (0..3)
            .map(|_| {
                let (q, waiting) = (q.clone(), waiting.clone());
                Thread::spawn(move || {
                    waiting.fetch_add(1, Ordering::SeqCst);
                    q.join()
                })
                .unwrap()
            })
            .collect();
        wait_for("three joiners", || waiting.load(Ordering::SeqCst) == 3);
        thread::sleep(Duration::from_millis(20)).unwrap();
        q.get().unwrap();
        q.task_done().unwrap();
        for joiner in joiners {
            joiner.join().unwrap().unwrap();
        }
    }
}

conformance_async! {
    async fn join_async_waits_for_the_last_task() {
        let q = Arc::new(JoinableQueue::new(0));
        q.put_async(1).await.unwrap();
        let worker = {
            let q = q.clone();
            Thread::spawn(move || {
                thread::sleep(Duration::from_millis(20)).unwrap();
                q.get().unwrap();
                q.task_done().unwrap();
            })
            .unwrap()
        };
        q.join_async().await;
        assert!(q.try_join());
        worker.join_async().await.unwrap();
    }

    async fn a_dropped_put_async_adds_no_task() {
        let q = JoinableQueue::bounded(1);
        q.put_async(1).await.unwrap();
        {
            // The queue is full: this put would wait. Poll it once, then drop it.
            use std::future::Future as _;
            let pending = std::pin::pin!(q.put_async(2));
            let waker = std::task::Waker::noop();
            let polled = pending.poll(&mut std::task::Context::from_waker(waker));
            assert!(polled.is_pending());
            assert_eq!(q.unfinished_tasks(), 2, "counted while in progress");
        }
        assert_eq!(q.unfinished_tasks(), 1, "taken back when dropped");
        assert_eq!(q.get_async().await, Ok(1));
        q.task_done().unwrap();
        q.join_async().await;
    }
}
