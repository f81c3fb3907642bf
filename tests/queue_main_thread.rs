//! Queues and pipes on the browser's main thread: their blocking forms return `WouldBlock`
//! (handing the item back) instead of trapping, even when they would not have had to wait;
//! the `try_` and `_async` forms work there, with workers on the other side.
//!
//! In the browser these tests run on the page's main thread (not in a worker). Natively every
//! thread may block, so the same calls succeed; those native counterparts run too.

use std::sync::Arc;
use std::time::Duration;

use amphi::{pipe, thread, JoinableQueue, Queue, SimpleQueue, Thread};

#[cfg(target_arch = "wasm32")]
mod browser {
    use super::*;
    use amphi::{Error, GetError, PutError, RecvError};
    use wasm_bindgen_test::wasm_bindgen_test;

    wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

    #[wasm_bindgen_test]
    fn blocking_queue_forms_return_would_block_with_the_item() {
        let q = Queue::new(0);
        assert!(matches!(q.put(1), Err(PutError::WouldBlock(1))));
        assert!(matches!(
            q.put_timeout(2, Duration::from_millis(1)),
            Err(PutError::WouldBlock(2))
        ));
        q.try_put(3).expect("try_put never blocks");
        assert_eq!(
            q.get(),
            Err(GetError::WouldBlock),
            "even with an item waiting"
        );
        assert_eq!(
            q.get_timeout(Duration::from_millis(1)),
            Err(GetError::WouldBlock)
        );
        assert_eq!(q.try_get(), Ok(3));
        let simple = SimpleQueue::new();
        simple.put(4).expect("a SimpleQueue's put never waits");
        assert_eq!(simple.get(), Err(GetError::WouldBlock));
        assert_eq!(simple.try_get(), Ok(4));
    }

    #[wasm_bindgen_test]
    fn blocking_join_and_recv_return_would_block() {
        let jq = JoinableQueue::new(0);
        assert!(matches!(jq.put("job"), Err(PutError::WouldBlock("job"))));
        assert_eq!(jq.unfinished_tasks(), 0, "a refused put adds no task");
        assert_eq!(
            jq.join(),
            Err(Error::WouldBlock),
            "even with nothing unfinished"
        );
        assert!(jq.try_join());
        let (a, b) = pipe();
        a.send(1).expect("send never waits");
        assert_eq!(b.recv(), Err(RecvError::WouldBlock));
        assert_eq!(b.poll(Duration::ZERO), Err(RecvError::WouldBlock));
        assert_eq!(b.try_poll(), Ok(true));
        assert_eq!(b.try_recv(), Ok(1));
    }

    #[wasm_bindgen_test]
    async fn async_forms_wait_for_workers() {
        let q = Arc::new(Queue::bounded(1));
        let jq = Arc::new(JoinableQueue::new(0));
        let (here, there) = pipe::<&str>();
        let worker = {
            let (q, jq) = (q.clone(), jq.clone());
            Thread::spawn(move || {
                thread::sleep(Duration::from_millis(20)).unwrap();
                q.put("from a worker").unwrap();
                let task = jq.get().unwrap();
                jq.task_done().unwrap();
                there.send(task).unwrap();
            })
            .unwrap()
        };
        assert_eq!(q.get_async().await, Ok("from a worker"));
        jq.put_async("task").await.unwrap();
        jq.join_async().await;
        assert_eq!(here.recv_async().await, Ok("task"));
        worker.join_async().await.unwrap();
        here.poll_async().await.unwrap();
        assert_eq!(here.recv_async().await, Err(RecvError::Eof));
    }
}

#[cfg(not(target_arch = "wasm32"))]
#[test]
fn natively_every_blocking_form_is_allowed() {
    let q = Arc::new(Queue::new(0));
    q.put(1).unwrap();
    q.put_timeout(2, Duration::from_millis(1)).unwrap();
    assert_eq!(q.get(), Ok(1));
    assert_eq!(q.get_timeout(Duration::from_millis(1)), Ok(2));
    let jq = JoinableQueue::new(0);
    jq.put(()).unwrap();
    jq.get().unwrap();
    jq.task_done().unwrap();
    jq.join().unwrap();
    let (a, b) = pipe();
    a.send(3).unwrap();
    assert!(b.poll(Duration::ZERO).unwrap());
    assert_eq!(b.recv(), Ok(3));
    let simple = SimpleQueue::new();
    simple.put(4).unwrap();
    assert_eq!(simple.get(), Ok(4));
    assert!(matches!(q.try_put(5), Ok(())));
    let worker = Thread::spawn(move || q.get()).unwrap();
    assert_eq!(worker.join().unwrap(), Ok(5));
    thread::sleep(Duration::from_millis(1)).unwrap();
}
