//! [`amphi::process::JoinableQueue`] and [`amphi::process::SimpleQueue`] between processes, on
//! both targets: the washer and dryers pattern (a producer process, two daemonic consumer
//! processes, the parent joining the queue), `join` in a child woken by the parent's
//! `task_done`, `join_timeout` while tasks are unfinished, one `task_done` too many in any process, a
//! `SimpleQueue` round trip through a child, and handles validated. What both families share
//! (refused puts adding no task, `join` with worker peers) is in `conformance_queue.rs`.

#[allow(unused_macros)]
#[macro_use]
mod common;

use std::time::Duration;

use amphi::process::{Event, JoinableQueue, Process, Queue, SimpleQueue};
use amphi::time::Instant;
use amphi::{Error, GetError, PutError};
use common::{assert_waited_at_least, PATIENCE};

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

const DISHES: u32 = 60;

fn wash(dishes: JoinableQueue<u32>) {
    for dish in 0..DISHES {
        dishes.put(dish).expect("put in the washer");
    }
}

/// Dries dishes until the queue is closed; reports each on `dried` before its `task_done`.
fn dry(queues: (JoinableQueue<u32>, Queue<u32>)) -> u32 {
    let (dishes, dried) = queues;
    let mut count = 0;
    loop {
        match dishes.get() {
            Ok(dish) => {
                dried.put(dish).expect("report a dried dish");
                count += 1;
                dishes.task_done().expect("task_done in a dryer");
            }
            Err(GetError::Closed) => return count,
            Err(other) => panic!("get in a dryer: {other}"),
        }
    }
}

/// Joins the queue in a child, after saying it is about to.
fn join_in_child(args: (JoinableQueue<u8>, Event)) -> Result<(), String> {
    let (queue, started) = args;
    started.set();
    queue.join_timeout(PATIENCE).map_err(|e| e.to_string())
}

fn task_done_in_child(queue: JoinableQueue<u8>) -> Result<(), String> {
    queue.task_done().map_err(|e| e.to_string())
}

/// Takes words from `requests` until it is closed, sending each back upper-cased.
fn shout(queues: (SimpleQueue<String>, SimpleQueue<String>)) -> usize {
    let (requests, replies) = queues;
    let mut count = 0;
    while let Ok(word) = requests.get() {
        replies.put(word.to_uppercase()).expect("put in the child");
        count += 1;
    }
    count
}

conformance! {
    fn washer_and_two_daemonic_dryers_and_the_parent_joins() {
        let dishes = JoinableQueue::new(4).unwrap();
        let dried = Queue::unbounded().unwrap();
        let dryers: Vec<_> = (0..2)
            .map(|_| {
                Process::builder()
                    .daemon(true)
                    .build(dry, (dishes.clone(), dried.clone()))
            })
            .collect();
        for dryer in &dryers {
            assert!(dryer.daemon());
            dryer.start().unwrap();
        }
        let washer = Process::new(wash, dishes.clone());
        washer.start().unwrap();
        washer.join_timeout(PATIENCE).unwrap();
        dishes.join_timeout(PATIENCE).unwrap();
        assert_eq!(dishes.unfinished_tasks(), 0);
        assert!(dishes.try_join());
        // Each dish was put before its task_done. As in Python, an unbounded queue's put may
        // leave the item in the sender's buffer for its feeder thread to write a moment later,
        // so the parent waits for each (they all come; none is lost).
        let mut seen: Vec<u32> = (0..DISHES)
            .map(|_| dried.get_timeout(PATIENCE).unwrap())
            .collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..DISHES).collect::<Vec<_>>());
        assert_eq!(dried.try_get(), Err(GetError::Empty));
        dishes.close();
        let counts: Vec<u32> = dryers.iter().map(|d| d.join_timeout(PATIENCE).unwrap()).collect();
        assert_eq!(counts.iter().sum::<u32>(), DISHES);
    }

    fn join_in_a_child_wakes_when_the_parent_finishes_the_tasks() {
        let queue = JoinableQueue::new(0).unwrap();
        for n in 0..3u8 {
            queue.put(n).unwrap();
        }
        let started = Event::new().unwrap();
        let child = Process::new(join_in_child, (queue.clone(), started.clone()));
        child.start().unwrap();
        started.wait_timeout(PATIENCE).unwrap();
        for n in 0..3 {
            assert_eq!(queue.get(), Ok(n));
            amphi::thread::sleep(Duration::from_millis(20)).unwrap();
            assert!(child.is_alive(), "the child's join returned early");
            queue.task_done().unwrap();
        }
        assert_eq!(child.join_timeout(PATIENCE).unwrap(), Ok(()));
    }

    fn join_timeout_is_timeout_while_tasks_are_unfinished() {
        let queue = JoinableQueue::new(0).unwrap();
        queue.join_timeout(Duration::ZERO).unwrap();
        queue.put("a".to_owned()).unwrap();
        queue.put("b".to_owned()).unwrap();
        let timeout = Duration::from_millis(100);
        let started = Instant::now();
        assert_eq!(queue.join_timeout(timeout), Err(Error::Timeout));
        assert_waited_at_least(started.elapsed(), timeout);
        assert_eq!(queue.get().unwrap(), "a");
        queue.task_done().unwrap();
        assert_eq!(queue.join_timeout(timeout), Err(Error::Timeout));
        assert_eq!(queue.unfinished_tasks(), 1);
        assert_eq!(queue.get().unwrap(), "b");
        assert_eq!(queue.join_timeout(timeout), Err(Error::Timeout), "taken is not done");
        queue.task_done().unwrap();
        assert_eq!(queue.join_timeout(timeout), Ok(()));
        assert_eq!(queue.join(), Ok(()));
    }

    fn one_task_done_too_many_is_an_error_in_any_process() {
        let queue = JoinableQueue::new(0).unwrap();
        assert_eq!(queue.task_done(), Err(Error::TooManyTaskDone));
        queue.put(1u8).unwrap();
        assert_eq!(queue.get(), Ok(1));
        queue.task_done().unwrap();
        assert_eq!(queue.task_done(), Err(Error::TooManyTaskDone));
        assert_eq!(queue.unfinished_tasks(), 0);
        queue.join().unwrap();

        queue.put(2).unwrap();
        let child = Process::new(task_done_in_child, queue.clone());
        child.start().unwrap();
        assert_eq!(child.join_timeout(PATIENCE).unwrap(), Ok(()));
        assert_eq!(queue.unfinished_tasks(), 0);
        let child = Process::new(task_done_in_child, queue.clone());
        child.start().unwrap();
        let refused = child.join_timeout(PATIENCE).unwrap().unwrap_err();
        assert_eq!(refused, Error::TooManyTaskDone.to_string());
        assert_eq!(queue.unfinished_tasks(), 0);
    }

    fn simple_queue_round_trip_through_a_child() {
        let requests = SimpleQueue::new().unwrap();
        let replies = SimpleQueue::new().unwrap();
        assert!(requests.empty());
        let child = Process::new(shout, (requests.clone(), replies.clone()));
        child.start().unwrap();
        let words = ["washer", "", "dryer"];
        for word in words {
            requests.put(word.to_owned()).unwrap();
        }
        for word in words {
            assert_eq!(replies.get_timeout(PATIENCE).unwrap(), word.to_uppercase());
        }
        requests.close();
        assert!(requests.is_closed());
        assert_eq!(requests.put("late".to_owned()), Err(PutError::Closed("late".to_owned())));
        assert_eq!(child.join_timeout(PATIENCE).unwrap(), words.len());
        assert!(replies.empty());
        assert_eq!(replies.try_get(), Err(GetError::Empty));
        assert_eq!(replies.get_timeout(Duration::from_millis(10)), Err(GetError::Timeout));
    }

    fn garbage_handles_are_errors() {
        let joinable = JoinableQueue::<u32>::new(2).unwrap();
        let good = serde_json::to_value(&joinable).unwrap();
        let opened = serde_json::from_value::<JoinableQueue<u32>>(good.clone()).unwrap();
        opened.put(7).unwrap();
        assert_eq!((joinable.get(), joinable.unfinished_tasks()), (Ok(7), 1));
        joinable.task_done().unwrap();

        assert!(serde_json::from_str::<JoinableQueue<u32>>("\"garbage\"").is_err());
        assert!(serde_json::from_str::<JoinableQueue<u32>>("{}").is_err());
        assert!(serde_json::from_str::<SimpleQueue<u32>>("42").is_err());
        // The queue's handle where the tasks' belongs, and the other way round.
        let mut swapped = good.clone();
        swapped["tasks"] = good["queue"].clone();
        assert!(serde_json::from_value::<JoinableQueue<u32>>(swapped).is_err());
        let mut swapped = good.clone();
        swapped["queue"] = good["tasks"].clone();
        assert!(serde_json::from_value::<JoinableQueue<u32>>(swapped).is_err());
        // A tampered tasks handle.
        for field in ["offset", "check", "kind"] {
            let mut bad = good.clone();
            bad["tasks"][field] = (good["tasks"][field].as_u64().unwrap() ^ 8).into();
            assert!(serde_json::from_value::<JoinableQueue<u32>>(bad).is_err(), "{field}");
        }
        // A lone tasks handle is no queue; an event is no tasks object.
        assert!(serde_json::from_value::<Queue<u32>>(good["tasks"].clone()).is_err());
        let mut with_event = good.clone();
        with_event["tasks"] = serde_json::to_value(Event::new().unwrap()).unwrap();
        assert!(serde_json::from_value::<JoinableQueue<u32>>(with_event).is_err());

        // A SimpleQueue travels as an unbounded queue; a bounded one is refused.
        let simple = SimpleQueue::<u32>::new().unwrap();
        let as_json = serde_json::to_value(&simple).unwrap();
        let opened = serde_json::from_value::<SimpleQueue<u32>>(as_json).unwrap();
        opened.put(3).unwrap();
        assert_eq!(simple.get(), Ok(3));
        assert!(serde_json::from_value::<SimpleQueue<u32>>(good["queue"].clone()).is_err());
        assert!(serde_json::from_value::<SimpleQueue<u32>>(good["tasks"].clone()).is_err());
        let event = serde_json::to_value(Event::new().unwrap()).unwrap();
        assert!(serde_json::from_value::<SimpleQueue<u32>>(event).is_err());
    }
}
