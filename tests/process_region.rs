//! The shared region reclaims what no process holds any more, and an unbounded process queue
//! never blocks its producer, on both targets: a create-and-drop loop that runs far past what
//! the region could hold without reuse, a child killed while it holds objects gives their space
//! back, objects passed to a child (or cloned) live until every handle is gone, exhaustion is a
//! typed error; the only consumer of an unbounded queue killed, then a producer puts more than
//! 1 MiB without blocking and a new consumer drains the backlog in order; a child's buffered
//! items are flushed when its target returns; closing lets this process's buffer go in first.
//!
//! The tests of this file run one at a time (one of them fills the region on purpose).

#[allow(unused_macros)]
#[macro_use]
mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use amphi::process::{
    set_shared_memory_size, shared_memory_usage, Event, JoinableQueue, Pipe, Process, Queue,
};
use amphi::Error;
use common::{wait_for, PATIENCE};

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

/// How many queues the create-and-drop loop makes: far more than the 254 that fit the region
/// without reuse.
const CREATE_AND_DROP: usize = if cfg!(target_arch = "wasm32") {
    2_000
} else {
    100_000
};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn in_use() -> usize {
    shared_memory_usage().expect("the region").in_use
}

/// Makes `count` queues, holds them, says so, and sleeps until it is killed.
fn hold_queues(args: (Event, usize)) {
    let (holding, count) = args;
    let queues: Vec<Queue<u8>> = (0..count).map(|_| Queue::new(0).unwrap()).collect();
    holding.set();
    amphi::thread::sleep(Duration::from_secs(600)).unwrap();
    drop(queues);
}

/// Sums numbers until `None`.
fn sum_until_none(queue: Queue<Option<u64>>) -> u64 {
    let mut total = 0;
    while let Some(n) = queue.get().expect("get in the child") {
        total += n;
    }
    total
}

/// Says it started, then sums numbers until `None`.
fn started_then_sum(args: (Event, Queue<Option<u64>>)) -> u64 {
    let (started, queue) = args;
    started.set();
    sum_until_none(queue)
}

/// Takes items forever (until it is killed), counting them in `taken`'s queue.
fn take_forever(args: (Queue<String>, Queue<u32>)) {
    let (queue, taken) = args;
    let mut count = 0;
    loop {
        queue.get().expect("get in the consumer");
        count += 1;
        taken.put(count).unwrap();
    }
}

/// Takes `count` items and returns their numbers.
fn take_numbers(args: (Queue<String>, usize)) -> Vec<u32> {
    let (queue, count) = args;
    (0..count)
        .map(|_| {
            let item = queue.get().expect("get in the new consumer");
            item.split(':').next().unwrap().parse().unwrap()
        })
        .collect()
}

/// Takes `count` tasks and marks each done.
fn finish_tasks(args: (JoinableQueue<String>, usize)) {
    let (queue, count) = args;
    for _ in 0..count {
        queue.get().expect("get a task");
        queue.task_done().expect("task_done");
    }
}

/// Puts `count` items of 1 KiB, says so, and returns: the exit waits for them to be flushed.
fn put_and_return(args: (Queue<String>, u32, Event)) {
    let (queue, count, returning) = args;
    for n in 0..count {
        queue.put(kib_item(n)).unwrap();
    }
    returning.set();
}

/// Takes items until the queue is closed; their numbers.
fn take_until_closed(queue: Queue<String>) -> Vec<u32> {
    let mut numbers = Vec::new();
    loop {
        match queue.get() {
            Ok(item) => numbers.push(item.split(':').next().unwrap().parse().unwrap()),
            Err(amphi::GetError::Closed) => return numbers,
            Err(other) => panic!("get in the child: {other}"),
        }
    }
}

/// An item of about 1 KiB, numbered.
fn kib_item(n: u32) -> String {
    format!("{n}:{}", "x".repeat(1024))
}

/// Runs `puts` on another thread and waits (at most 10 s) for it to return: a put that blocks
/// fails the test instead of hanging it.
fn must_not_block(what: &str, puts: impl FnOnce() + Send + 'static) {
    let done = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&done);
    let _thread = amphi::thread::Builder::new()
        .name("puts")
        .spawn(move || {
            puts();
            flag.store(true, Ordering::SeqCst);
        })
        .unwrap();
    wait_for(what, || done.load(Ordering::SeqCst));
}

conformance! {
    fn creating_and_dropping_queues_never_runs_out() {
        let _one = one_at_a_time();
        let before = in_use();
        for n in 0..CREATE_AND_DROP {
            let queue = Queue::<usize>::new(0)
                .unwrap_or_else(|err| panic!("queue {n} could not be created: {err}"));
            if n % 1000 == 0 {
                queue.put(n).unwrap();
                assert_eq!(queue.get(), Ok(n));
            }
        }
        for _ in 0..CREATE_AND_DROP / 100 {
            let (a, b) = Pipe::new::<u8>(true).unwrap();
            a.send(1).unwrap();
            assert_eq!(b.recv(), Ok(1));
        }
        // Everything made was freed again (the records of what this process holds stay).
        assert!(in_use() <= before + 4096, "{} bytes still in use after {before}", in_use());
    }

    fn a_child_killed_while_holding_objects_gives_their_space_back() {
        let _one = one_at_a_time();
        let before = in_use();
        let holding = Event::new().unwrap();
        let child = Process::new(hold_queues, (holding.clone(), 20));
        child.start().unwrap();
        holding.wait_timeout(PATIENCE).expect("the child made its queues");
        let during = in_use();
        // (Objects of earlier tests that lingering threads still held may have gone meanwhile.)
        assert!(during >= before + 10 * 64 * 1024, "{during} bytes in use with the child's queues, {before} before");
        child.kill().unwrap();
        assert!(child.join_timeout(PATIENCE).is_err());
        drop(child);
        drop(holding);
        let after = in_use();
        assert!(after <= before + 4096, "{after} bytes in use after the child died, {before} before");
        // The space serves new objects.
        let queues: Vec<Queue<u8>> = (0..20).map(|_| Queue::new(0).unwrap()).collect();
        assert!(in_use() <= during + 4096);
        drop(queues);
    }

    fn objects_passed_to_a_child_live_until_every_handle_is_gone() {
        let _one = one_at_a_time();
        let before = in_use();
        // The parent's only handle goes into the child's arguments, before the child starts.
        let queue = Queue::new(0).unwrap();
        for n in 1..=100 {
            queue.put(Some(n)).unwrap();
        }
        queue.put(None).unwrap();
        queue.join_thread().unwrap();
        let child = Process::new(sum_until_none, queue);
        // Space freed now would be reused, and overwritten, by these.
        let churn: Vec<Queue<u64>> = (0..10).map(|_| Queue::new(0).unwrap()).collect();
        for queue in &churn {
            queue.put(u64::MAX).unwrap();
        }
        child.start().unwrap();
        assert_eq!(child.join_timeout(PATIENCE).unwrap(), 5050);
        drop(child);
        drop(churn);
        assert!(in_use() <= before + 4096, "{} bytes in use, {before} before", in_use());

        // The parent drops its handles (and a clone) while the child still uses the queue.
        let queue = Queue::new(0).unwrap();
        let clone = queue.clone();
        let started = Event::new().unwrap();
        let child = Process::new(started_then_sum, (started.clone(), queue.clone()));
        child.start().unwrap();
        started.wait_timeout(PATIENCE).expect("the child started");
        drop(clone);
        for n in 1..=1000 {
            queue.put(Some(n)).unwrap();
        }
        queue.put(None).unwrap();
        queue.join_thread().unwrap();
        drop(queue);
        let churn: Vec<Queue<u64>> = (0..10).map(|_| Queue::new(0).unwrap()).collect();
        for queue in &churn {
            queue.put(u64::MAX).unwrap();
        }
        assert_eq!(child.join_timeout(PATIENCE).unwrap(), 500_500);
        drop(churn);
    }

    fn exhausting_the_region_is_a_typed_error_and_dropping_makes_room() {
        let _one = one_at_a_time();
        let mut queues = Vec::new();
        let full = loop {
            match Queue::<u8>::new(0) {
                Ok(queue) => queues.push(queue),
                Err(err) => break err,
            }
            assert!(queues.len() < 100_000, "the region never filled up");
        };
        assert!(matches!(&full, Error::SharedMemory(why) if why.contains("no room")), "{full}");
        assert!(queues.len() > 100);
        queues.truncate(queues.len() - 10);
        for _ in 0..10 {
            queues.push(Queue::new(0).expect("room again after dropping"));
        }
        drop(queues);
        // The size is fixed once the region exists; nonsense sizes are refused.
        assert!(matches!(set_shared_memory_size(64 << 20), Err(Error::SharedMemory(_))));
        assert!(matches!(set_shared_memory_size(10), Err(Error::InvalidArgument(_))));
    }

    fn a_killed_consumer_never_blocks_an_unbounded_producer_and_order_is_kept() {
        let _one = one_at_a_time();
        let queue = Queue::<String>::unbounded().unwrap();
        let taken = Queue::<u32>::unbounded().unwrap();
        let consumer = Process::new(take_forever, (queue.clone(), taken.clone()));
        consumer.start().unwrap();
        queue.put("first".to_owned()).unwrap();
        assert_eq!(taken.get_timeout(PATIENCE), Ok(1));
        // Killed between items, while it waits for the next one.
        consumer.kill().unwrap();
        assert!(consumer.join_timeout(PATIENCE).is_err());

        let count: u32 = 1500; // 1.5 MiB, far more than the ring's 64 KiB
        let producer = queue.clone();
        must_not_block("puts into an unbounded queue with no consumer", move || {
            for n in 0..count {
                producer.put(kib_item(n)).unwrap();
            }
        });
        assert_eq!(queue.qsize(), count as usize);

        let drainer = Process::new(take_numbers, (queue.clone(), count as usize));
        drainer.start().unwrap();
        let numbers = drainer.join_timeout(PATIENCE).unwrap();
        assert_eq!(numbers, (0..count).collect::<Vec<_>>());
        assert!(queue.empty());
    }

    fn a_child_flushes_its_buffered_items_when_its_target_returns() {
        let _one = one_at_a_time();
        let queue = Queue::<String>::unbounded().unwrap();
        let count = 600; // far more than the ring holds: most wait in the child's buffer
        let returning = Event::new().unwrap();
        let producer = Process::new(put_and_return, (queue.clone(), count, returning.clone()));
        producer.start().unwrap();
        // Nothing is taken until the child's target has returned (and, without the flush at
        // exit, the child would have ended with most of its items in its buffer).
        returning.wait_timeout(PATIENCE).expect("the child's target returned");
        amphi::thread::sleep(Duration::from_millis(300)).unwrap();
        for n in 0..count {
            let item = queue.get_timeout(PATIENCE).expect("every item the child put arrives");
            assert_eq!(item, kib_item(n));
        }
        producer.join_timeout(PATIENCE).unwrap();
    }

    fn closing_lets_the_buffer_go_in_first() {
        let _one = one_at_a_time();
        let queue = Queue::<String>::unbounded().unwrap();
        let count = 300;
        for n in 0..count {
            queue.put(kib_item(n)).unwrap();
        }
        queue.close();
        assert!(queue.is_closed());
        assert!(matches!(queue.put(kib_item(0)), Err(amphi::PutError::Closed(_))));
        let consumer = Process::new(take_until_closed, queue.clone());
        consumer.start().unwrap();
        assert_eq!(consumer.join_timeout(PATIENCE).unwrap(), (0..count).collect::<Vec<_>>());
    }

    fn an_unbounded_joinable_queue_never_blocks_its_producer() {
        let _one = one_at_a_time();
        let queue = JoinableQueue::<String>::unbounded().unwrap();
        let count = 1200;
        let producer = queue.clone();
        must_not_block("puts into an unbounded joinable queue with no consumer", move || {
            for n in 0..count {
                producer.put(kib_item(n)).unwrap();
            }
        });
        assert_eq!(queue.unfinished_tasks(), count as usize);
        let worker = Process::new(finish_tasks, (queue.clone(), count as usize));
        worker.start().unwrap();
        queue.join_timeout(PATIENCE).expect("every task done");
        worker.join_timeout(PATIENCE).unwrap();
    }
}
