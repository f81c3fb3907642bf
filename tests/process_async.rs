//! The `_async` forms of [`amphi::process::Queue`], [`amphi::process::JoinableQueue`],
//! [`amphi::process::SimpleQueue`], [`amphi::process::Connection`] and
//! [`amphi::process::Event`], with child processes as peers, on both targets: futures woken by another process, futures dropped before they
//! complete (nothing taken or put), and futures dropped in the middle of a 16 MiB item (the
//! item is finished by another thread, and the stream stays whole).

#[allow(unused_macros)]
#[macro_use]
mod common;

use std::pin::pin;
use std::time::Duration;

use amphi::process::{Connection, Event, JoinableQueue, Pipe, Process, Queue, SimpleQueue};
use amphi::{GetError, RecvError};
use common::{big_text, nap, poll_once};

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

fn put_after_a_nap(queue: Queue<u32>) {
    amphi::thread::sleep(Duration::from_millis(50)).unwrap();
    queue.put(7).unwrap();
}

fn take_three_after_a_nap(queue: Queue<u32>) -> Vec<u32> {
    amphi::thread::sleep(Duration::from_millis(50)).unwrap();
    (0..3).map(|_| queue.get().unwrap()).collect()
}

fn echo_doubled_until_eof(end: Connection<u64>) -> u32 {
    let mut echoed = 0;
    while let Ok(n) = end.recv() {
        end.send(2 * n).unwrap();
        echoed += 1;
    }
    echoed
}

fn send_big_then_small(end: Connection<String>) {
    end.send(big_text()).unwrap();
    end.send("after".to_owned()).unwrap();
}

fn get_big_then_small(queue: Queue<String>) -> bool {
    queue.get().unwrap() == big_text() && queue.get().unwrap() == "after"
}

fn dry_all(dishes: JoinableQueue<u32>) -> u32 {
    let mut dried = 0;
    while let Ok(_dish) = dishes.get() {
        amphi::thread::sleep(Duration::from_millis(2)).unwrap();
        dried += 1;
        dishes.task_done().unwrap();
    }
    dried
}

fn set_after_a_nap(event: Event) {
    amphi::thread::sleep(Duration::from_millis(50)).unwrap();
    event.set();
}

fn square_all(queues: (SimpleQueue<u32>, SimpleQueue<u32>)) {
    let (requests, replies) = queues;
    while let Ok(n) = requests.get() {
        replies.put(n * n).unwrap();
    }
}

conformance_async! {
    async fn get_async_is_woken_by_a_child_put() {
        let queue = Queue::new(0).unwrap();
        let child = Process::new(put_after_a_nap, queue.clone());
        child.start().unwrap();
        assert_eq!(queue.get_async().await, Ok(7));
        child.join_async().await.unwrap();
    }

    async fn put_async_is_woken_by_a_child_making_room() {
        let queue = Queue::new(1).unwrap();
        queue.put(1).unwrap();
        let child = Process::new(take_three_after_a_nap, queue.clone());
        child.start().unwrap();
        queue.put_async(2).await.unwrap();
        queue.put_async(3).await.unwrap();
        assert_eq!(child.join_async().await, Ok(vec![1, 2, 3]));
        assert!(queue.empty());
    }

    async fn a_dropped_get_async_takes_nothing() {
        let queue = Queue::new(0).unwrap();
        {
            let getting = pin!(queue.get_async());
            assert!(poll_once(getting).is_pending(), "nothing to get yet");
        }
        let child = Process::new(put_after_a_nap, queue.clone());
        child.start().unwrap();
        child.join_async().await.unwrap();
        assert_eq!(queue.qsize(), 1, "the dropped future took nothing");
        assert_eq!(queue.get_async().await, Ok(7));
    }

    async fn a_dropped_put_async_puts_nothing_and_counts_no_task() {
        let queue = JoinableQueue::new(1).unwrap();
        queue.put(1).unwrap();
        {
            let putting = pin!(queue.put_async(2));
            assert!(poll_once(putting).is_pending(), "the queue is full");
        }
        assert_eq!(queue.unfinished_tasks(), 1, "the dropped put counted no task");
        assert_eq!(queue.try_get(), Ok(1));
        assert_eq!(queue.try_get(), Err(GetError::Empty), "and put no item");
        queue.task_done().unwrap();
        queue.join_async().await;
    }

    async fn join_async_waits_for_a_child_to_finish_every_task() {
        let dishes = JoinableQueue::new(0).unwrap();
        let dryer = Process::builder().daemon(true).build(dry_all, dishes.clone());
        dryer.start().unwrap();
        for dish in 0..20 {
            dishes.put_async(dish).await.unwrap();
        }
        dishes.join_async().await;
        assert_eq!(dishes.unfinished_tasks(), 0);
        dishes.close();
        assert_eq!(dryer.join_async().await, Ok(20));
    }

    async fn pipe_ping_pong_through_async_forms() {
        let (here, there) = Pipe::new(true).unwrap();
        let child = Process::new(echo_doubled_until_eof, there);
        child.start().unwrap();
        for n in 0..100 {
            here.send_async(n).await.unwrap();
            here.poll_async().await.unwrap();
            assert_eq!(here.recv_async().await, Ok(2 * n));
        }
        here.close();
        assert_eq!(child.join_async().await, Ok(100));
    }

    async fn recv_async_gives_eof_once_the_child_sender_ended() {
        let (receiver, sender) = Pipe::new::<String>(false).unwrap();
        let child = Process::new(send_big_then_small, sender);
        child.start().unwrap();
        assert_eq!(receiver.recv_async().await.map(|big| big == big_text()), Ok(true));
        assert_eq!(receiver.recv_async().await.as_deref(), Ok("after"));
        child.join_async().await.unwrap();
        assert_eq!(receiver.recv_async().await, Err(RecvError::Eof));
    }

    async fn simple_queue_requests_and_replies_through_async_forms() {
        let (requests, replies) = (SimpleQueue::new().unwrap(), SimpleQueue::new().unwrap());
        let child = Process::new(square_all, (requests.clone(), replies.clone()));
        child.start().unwrap();
        for n in 1..=10 {
            requests.put_async(n).await.unwrap();
            assert_eq!(replies.get_async().await, Ok(n * n));
        }
        requests.close();
        child.join_async().await.unwrap();
    }

    async fn a_put_async_dropped_mid_item_is_delivered_whole() {
        // Bounded: an unbounded queue's put never waits (its item would wait in the sender).
        let queue = Queue::new(2).unwrap();
        {
            let putting = pin!(queue.put_async(big_text()));
            assert!(
                poll_once(putting).is_pending(),
                "the item fills the ring and waits for a getter"
            );
        }
        // The put is finished by another thread, as the child drains the ring; the next put
        // waits for it.
        let child = Process::new(get_big_then_small, queue.clone());
        child.start().unwrap();
        queue.put_async("after".to_owned()).await.unwrap();
        assert_eq!(child.join_async().await, Ok(true));
    }

    async fn a_recv_async_dropped_mid_message_is_read_to_its_end() {
        let (receiver, sender) = Pipe::new::<String>(false).unwrap();
        let child = Process::new(send_big_then_small, sender);
        child.start().unwrap();
        receiver.poll_async().await.unwrap();
        {
            let receiving = pin!(receiver.recv_async());
            assert!(
                poll_once(receiving).is_pending(),
                "the message is longer than the ring"
            );
        }
        // Another thread reads the rest of the big message and discards it.
        assert_eq!(receiver.recv_async().await.as_deref(), Ok("after"));
        child.join_async().await.unwrap();
    }

    async fn event_wait_async_is_woken_by_a_child_set() {
        let event = Event::new().unwrap();
        {
            let waiting = pin!(event.wait_async());
            assert!(poll_once(waiting).is_pending(), "not set yet");
        }
        let child = Process::new(set_after_a_nap, event.clone());
        child.start().unwrap();
        event.wait_async().await;
        assert!(event.is_set());
        child.join_async().await.unwrap();
    }

    async fn async_waits_see_a_peer_that_died() {
        let (receiver, sender) = Pipe::new::<u32>(false).unwrap();
        let child = Process::new(hold_silently, sender);
        child.start().unwrap();
        nap(Duration::from_millis(300)).await;
        child.kill().unwrap();
        assert!(child.join_async().await.is_err());
        assert_eq!(receiver.recv_async().await, Err(RecvError::Eof));
    }
}

/// Takes the sending end and sleeps until it is killed, without ever sending.
fn hold_silently(end: Connection<u32>) {
    let _end = end;
    amphi::thread::sleep(Duration::from_secs(600)).unwrap();
}
