//! `Queue` and `JoinableQueue` conformance over every backend, after CPython's
//! `Lib/test/test_queue.py` (`BaseQueueTestMixin`) and `_TestQueue` in
//! `Lib/test/_test_multiprocessing.py`: each body is written once against
//! `conformance::Backend` and run with thread queues on threads, process queues in child
//! processes, and process queues on threads of one process; natively and, through
//! `wasm-pack test`, in the browser.

// The async conformance macro goes unused here.
#[macro_use]
#[allow(unused_macros)]
mod common;
#[macro_use]
mod conformance;

use std::time::Duration;

use amphi::time::Instant;
use common::{assert_waited_at_least, wait_for, PATIENCE};
use conformance::{join_all, pause, Backend, Counter, JoinableQueue, Outcome, Queue};

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

/// Puts `first..first + count` in order, each within `PATIENCE`.
fn produce<Q: Queue>((queue, first, count): (Q, u32, u32)) -> Vec<Outcome> {
    (first..first + count)
        .map(|item| queue.put_timeout(item, PATIENCE))
        .collect()
}

/// Counts itself in `started`, then gets one item within `PATIENCE`.
fn get_one<Q: Queue, C: Counter>((queue, started): (Q, C)) -> Result<u32, Outcome> {
    started.fetch_add(1);
    queue.get_timeout(PATIENCE)
}

/// Counts itself in `started`, then puts `item` within `PATIENCE`, then counts itself in `done`.
fn put_one<Q: Queue, C: Counter>((queue, item, started, done): (Q, u32, C, C)) -> Outcome {
    started.fetch_add(1);
    let outcome = queue.put_timeout(item, PATIENCE);
    done.fetch_add(1);
    outcome
}

/// Gets `count` items, marking each done: their sum.
fn work<Q: JoinableQueue>((queue, count): (Q, u32)) -> u32 {
    (0..count)
        .map(|_| {
            let item = queue.get_timeout(PATIENCE).expect("an item in time");
            assert_eq!(queue.task_done(), Outcome::Ok);
            item
        })
        .sum()
}

/// The try and timed puts, for a full queue.
fn refused_puts<Q: Queue>(queue: Q) -> (Outcome, Outcome) {
    (queue.try_put(99), queue.put_timeout(99, Duration::ZERO))
}

/// The try and timed gets, for an empty queue.
fn refused_gets<Q: Queue>(queue: Q) -> (Result<u32, Outcome>, Result<u32, Outcome>) {
    (queue.try_get(), queue.get_timeout(Duration::ZERO))
}

/// CPython's `basic_queue_test`: FIFO order, sizes, and the refusals of a full queue.
fn queue_basic<B: Backend>() {
    const SIZE: usize = 3;
    let queue = B::queue(SIZE);
    assert_eq!(queue.maxsize(), SIZE);
    assert_eq!(
        (queue.qsize(), queue.empty(), queue.full()),
        (0, true, false)
    );
    for item in [111, 333, 222] {
        assert_eq!(queue.put(item), Outcome::Ok);
    }
    assert_eq!(
        (queue.qsize(), queue.empty(), queue.full()),
        (3, false, true)
    );
    let order = [queue.get(), queue.get(), queue.get()];
    assert_eq!(order, [Ok(111), Ok(333), Ok(222)], "first in, first out");
    assert!(queue.empty());
    for item in 0..SIZE as u32 {
        assert_eq!(queue.try_put(item), Outcome::Ok);
        assert!(!queue.empty());
    }
    assert!(queue.full());
    assert_eq!(queue.try_put(SIZE as u32), Outcome::Full);
    assert_eq!(queue.qsize(), SIZE, "a refused try_put adds nothing");
    for item in 0..SIZE as u32 {
        assert_eq!(queue.try_get(), Ok(item));
    }
    assert_eq!(queue.try_get(), Err(Outcome::Empty));
    assert_eq!(queue.qsize(), 0, "a refused try_get takes nothing");
}

fn queue_timed_forms_wait_then_refuse<B: Backend>() {
    let queue = B::queue(1);
    let timeout = Duration::from_millis(100);
    let started = Instant::now();
    assert_eq!(queue.get_timeout(timeout), Err(Outcome::Timeout));
    assert_waited_at_least(started.elapsed(), timeout);
    assert_eq!(queue.put_timeout(1, timeout), Outcome::Ok);
    let started = Instant::now();
    assert_eq!(queue.put_timeout(2, timeout), Outcome::Timeout);
    assert_waited_at_least(started.elapsed(), timeout);
    assert_eq!(queue.qsize(), 1, "a timed-out put adds nothing");
    assert_eq!(queue.get_timeout(timeout), Ok(1));
    assert_eq!(
        queue.try_get(),
        Err(Outcome::Empty),
        "nothing of the refused puts arrived"
    );
}

fn queue_refusals_in_a_peer_change_nothing<B: Backend>() {
    let queue = B::queue(1);
    assert_eq!(queue.put(7), Outcome::Ok);
    assert_eq!(
        B::start(refused_puts::<B::Queue>, queue.clone()).join(),
        (Outcome::Full, Outcome::Timeout)
    );
    assert_eq!(queue.qsize(), 1);
    assert_eq!(queue.get(), Ok(7));
    assert_eq!(
        B::start(refused_gets::<B::Queue>, queue.clone()).join(),
        (Err(Outcome::Empty), Err(Outcome::Timeout))
    );
    assert_eq!(queue.put(8), Outcome::Ok);
    assert_eq!(queue.try_get(), Ok(8), "the refused gets took nothing");
    assert_eq!(queue.try_get(), Err(Outcome::Empty));
}

fn queue_a_blocked_get_is_woken_by_a_put<B: Backend>() {
    let queue = B::queue(0);
    let started = B::counter(0);
    let getter = B::start(
        get_one::<B::Queue, B::Counter>,
        (queue.clone(), started.clone()),
    );
    wait_for("the getter to start", || started.get() == 1);
    pause();
    assert!(getter.is_alive(), "an empty queue holds its getter");
    assert_eq!(queue.put(5), Outcome::Ok);
    assert_eq!(getter.join(), Ok(5));
    assert!(queue.empty());
}

fn queue_a_blocked_put_is_woken_by_a_get<B: Backend>() {
    let queue = B::queue(1);
    assert_eq!(queue.put(1), Outcome::Ok);
    let started = B::counter(0);
    let done = B::counter(0);
    let putter = B::start(
        put_one::<B::Queue, B::Counter>,
        (queue.clone(), 2, started.clone(), done.clone()),
    );
    wait_for("the putter to start", || started.get() == 1);
    pause();
    assert_eq!(done.get(), 0, "a full queue holds its putter");
    assert_eq!(queue.get(), Ok(1));
    assert_eq!(putter.join(), Outcome::Ok);
    assert_eq!(queue.get_timeout(PATIENCE), Ok(2));
}

fn queue_producers_and_a_consumer<B: Backend>() {
    // Two producers through a small queue: every item arrives once, each producer's in order.
    const ITEMS: u32 = if cfg!(miri) { 10 } else { 200 };
    let queue = B::queue(4);
    let producers: Vec<_> = (0..2)
        .map(|producer| {
            B::start(
                produce::<B::Queue>,
                (queue.clone(), producer * 1_000, ITEMS),
            )
        })
        .collect();
    let mut seen = [Vec::new(), Vec::new()];
    for _ in 0..2 * ITEMS {
        let item = queue.get_timeout(PATIENCE).expect("an item in time");
        seen[(item / 1_000) as usize].push(item % 1_000);
    }
    for outcomes in join_all(producers) {
        assert!(outcomes.iter().all(|outcome| *outcome == Outcome::Ok));
    }
    for items in seen {
        assert_eq!(
            items,
            (0..ITEMS).collect::<Vec<_>>(),
            "each producer's items in order"
        );
    }
    assert!(queue.empty());
}

fn queue_closed_refuses_puts_and_drains_then_refuses_gets<B: Backend>() {
    let queue = B::queue(0);
    assert_eq!(queue.put(1), Outcome::Ok);
    assert_eq!(queue.put(2), Outcome::Ok);
    assert!(!queue.is_closed());
    queue.close();
    assert!(queue.is_closed());
    assert_eq!(queue.put(3), Outcome::Closed);
    assert_eq!(queue.try_put(3), Outcome::Closed);
    assert_eq!(
        queue.get(),
        Ok(1),
        "what was put before the close still arrives"
    );
    assert_eq!(queue.try_get(), Ok(2));
    assert_eq!(
        queue.get(),
        Err(Outcome::Closed),
        "then every get is refused at once"
    );
    assert_eq!(queue.get_timeout(PATIENCE), Err(Outcome::Closed));
}

fn queue_close_wakes_a_blocked_getter<B: Backend>() {
    let queue = B::queue(0);
    let started = B::counter(0);
    let getter = B::start(
        get_one::<B::Queue, B::Counter>,
        (queue.clone(), started.clone()),
    );
    wait_for("the getter to start", || started.get() == 1);
    pause();
    queue.close();
    assert_eq!(getter.join(), Err(Outcome::Closed));
}

// JoinableQueue (test_queue.py's queue_join_test, _TestQueue.test_task_done).

fn joinable_queue_join_waits_for_every_task_done<B: Backend>() {
    const PER_WORKER: u32 = 10;
    let queue = B::joinable_queue(0);
    assert!(queue.try_join(), "no tasks: join returns at once");
    for item in 1..=2 * PER_WORKER {
        assert_eq!(queue.put(item), Outcome::Ok);
    }
    assert_eq!(queue.unfinished_tasks(), u64::from(2 * PER_WORKER));
    assert!(!queue.try_join());
    let workers: Vec<_> = (0..2)
        .map(|_| B::start(work::<B::JoinableQueue>, (queue.clone(), PER_WORKER)))
        .collect();
    assert_eq!(queue.join_timeout(PATIENCE), Outcome::Ok);
    assert_eq!(queue.unfinished_tasks(), 0);
    let sums: u32 = join_all(workers).into_iter().sum();
    assert_eq!(sums, (1..=2 * PER_WORKER).sum::<u32>());
    assert!(queue.try_join());
}

fn joinable_queue_task_done_too_many_times_is_an_error<B: Backend>() {
    let queue = B::joinable_queue(0);
    assert_eq!(queue.task_done(), Outcome::TooManyTaskDone);
    assert_eq!(queue.put(1), Outcome::Ok);
    assert_eq!(queue.get(), Ok(1));
    assert_eq!(queue.task_done(), Outcome::Ok);
    assert_eq!(queue.task_done(), Outcome::TooManyTaskDone);
    assert_eq!(queue.unfinished_tasks(), 0);
}

fn joinable_queue_refused_puts_add_no_task<B: Backend>() {
    let queue = B::joinable_queue(1);
    assert_eq!(queue.try_put(1), Outcome::Ok);
    assert_eq!(queue.try_put(2), Outcome::Full);
    assert_eq!(
        queue.put_timeout(3, Duration::from_millis(10)),
        Outcome::Timeout
    );
    assert_eq!(
        B::start(refused_puts::<B::JoinableQueue>, queue.clone()).join(),
        (Outcome::Full, Outcome::Timeout)
    );
    assert_eq!(queue.unfinished_tasks(), 1, "only the item put is a task");
    assert_eq!(queue.qsize(), 1);
    assert_eq!(
        queue.join_timeout(Duration::from_millis(10)),
        Outcome::Timeout
    );
    assert_eq!(queue.get(), Ok(1));
    assert_eq!(queue.task_done(), Outcome::Ok);
    assert!(queue.try_join());
}

every_backend! {
    queue_basic,
    queue_timed_forms_wait_then_refuse,
    queue_refusals_in_a_peer_change_nothing,
    queue_a_blocked_get_is_woken_by_a_put,
    queue_a_blocked_put_is_woken_by_a_get,
    queue_producers_and_a_consumer,
    queue_closed_refuses_puts_and_drains_then_refuses_gets,
    queue_close_wakes_a_blocked_getter,
    joinable_queue_join_waits_for_every_task_done,
    joinable_queue_task_done_too_many_times_is_an_error,
    joinable_queue_refused_puts_add_no_task,
}
