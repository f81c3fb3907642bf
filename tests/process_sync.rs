//! `amphi::process::{Barrier, RLock, Condition}` with real child processes, on both targets:
//! lockstep rounds, breaking a barrier across processes, re-entrancy and ownership of an
//! `RLock`, and FIFO notification of waiters in several processes.
//!
//! Every wait on a child has a generous timeout, so a bug fails a test instead of hanging it.
//! Natively the children are this test binary started again; in the browser they are process
//! workers, each with its own instance of the test module.

// The async conformance macro goes unused here.
#[macro_use]
#[allow(unused_macros)]
mod common;

use std::time::Duration;

use amphi::process::{Array, Barrier, Condition, Event, Lock, Process, RLock, Value};
use amphi::Error;
use common::{start_and_join_all, PATIENCE};

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

const ROUNDS: usize = 100;
const PARTIES: u32 = 5;

/// Passes the barrier `ROUNDS` times, checking after each round that everybody arrived and
/// nobody ran ahead; counts the index-0 releases.
fn lockstep((barrier, arrivals, zeros): (Barrier, Array<u32>, Value<u32>)) {
    for round in 0..ROUNDS {
        arrivals.fetch_add(round, 1).unwrap();
        let index = barrier.wait_timeout(PATIENCE).expect("the round completes");
        assert!(index < PARTIES);
        if index == 0 {
            zeros.fetch_add(1);
        }
        assert_eq!(
            arrivals.get(round),
            Some(PARTIES),
            "all arrived in round {round}"
        );
        assert_eq!(
            arrivals.get(round + 2),
            Some(0),
            "nobody ran ahead of round {round}"
        );
    }
}

conformance! {
    fn barrier_of_five_processes_passed_a_hundred_times_in_lockstep() {
        let barrier = Barrier::new(PARTIES).unwrap();
        let arrivals = Array::new(&[0u32; ROUNDS + 2]).unwrap();
        let zeros = Value::new(0u32).unwrap();
        let children: Vec<_> = (0..PARTIES)
            .map(|_| Process::new(lockstep, (barrier.clone(), arrivals.clone(), zeros.clone())))
            .collect();
        start_and_join_all(&children);
        assert!(children.iter().all(|child| child.exitcode() == Some(0)));
        assert_eq!(arrivals.to_vec()[..ROUNDS], [PARTIES; ROUNDS]);
        assert_eq!(zeros.get(), ROUNDS as u32, "one index 0 per round");
        assert_eq!(barrier.n_waiting(), 0);
        assert!(!barrier.broken());
    }
}

/// Whether the wait ended with `BrokenBarrier` (errors do not travel between processes).
fn wait_on(barrier: Barrier) -> bool {
    barrier.wait_timeout(PATIENCE) == Err(Error::BrokenBarrier)
}

fn abort_it(barrier: Barrier) {
    barrier.abort().unwrap();
}

conformance! {
    fn barrier_aborted_by_one_child_breaks_the_others() {
        let barrier = Barrier::new(4).unwrap();
        let waiters: Vec<_> = (0..2)
            .map(|_| Process::new(wait_on, barrier.clone()))
            .collect();
        for waiter in &waiters {
            waiter.start().unwrap();
        }
        while barrier.n_waiting() < 2 {
            amphi::thread::sleep(Duration::from_millis(1)).unwrap();
        }
        let aborter = Process::new(abort_it, barrier.clone());
        aborter.start().unwrap();
        aborter.join_timeout(PATIENCE).unwrap();
        for waiter in &waiters {
            assert!(waiter.join_timeout(PATIENCE).unwrap(), "BrokenBarrier");
        }
        assert!(barrier.broken());
        assert_eq!(barrier.wait(), Err(Error::BrokenBarrier));
        barrier.reset().unwrap();
        assert!(!barrier.broken());
    }
}

fn wait_briefly(barrier: Barrier) -> bool {
    barrier.wait_timeout(Duration::from_millis(50)) == Err(Error::BrokenBarrier)
}

conformance! {
    fn barrier_timed_out_in_a_child_is_broken_in_the_parent() {
        let barrier = Barrier::new(2).unwrap();
        let child = Process::new(wait_briefly, barrier.clone());
        child.start().unwrap();
        assert!(child.join_timeout(PATIENCE).unwrap(), "BrokenBarrier");
        assert!(barrier.broken());
    }
}

conformance! {
    fn barrier_handles_are_validated() {
        let barrier = Barrier::new(3).unwrap();
        let json = serde_json::to_value(&barrier).unwrap();
        let again: Barrier = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(again.parties(), 3);
        assert!(serde_json::from_value::<Lock>(json).is_err(), "not a lock");
        let lock = serde_json::to_value(Lock::new().unwrap()).unwrap();
        assert!(
            serde_json::from_value::<Barrier>(lock).is_err(),
            "not a barrier"
        );
    }
}

/// Takes the lock three levels deep, checks the depth, and releases it all.
fn reenter(lock: RLock) -> (u32, bool) {
    let outer = lock.acquire_timeout(PATIENCE).unwrap();
    let middle = lock.acquire().unwrap();
    let inner = lock.try_acquire().expect("the owner may re-enter");
    let depth = lock.depth();
    drop((inner, middle, outer));
    (depth, lock.locked())
}

conformance! {
    fn rlock_reentered_in_a_child() {
        let lock = RLock::new().unwrap();
        let child = Process::new(reenter, lock.clone());
        child.start().unwrap();
        assert_eq!(child.join_timeout(PATIENCE).unwrap(), (3, false));
        assert!(!lock.locked());
    }
}

fn release_foreign(lock: RLock) -> (bool, bool, bool) {
    let outcome = lock.release() == Err(Error::NotOwner);
    let owned = lock.is_owned();
    let taken = lock.try_acquire().is_some();
    (outcome, owned, taken)
}

conformance! {
    fn rlock_released_by_a_child_that_does_not_own_it_is_not_owner() {
        let lock = RLock::new().unwrap();
        lock.acquire().unwrap().leak();
        let child = Process::new(release_foreign, lock.clone());
        child.start().unwrap();
        let (outcome, owned, taken) = child.join_timeout(PATIENCE).unwrap();
        assert!(outcome, "NotOwner");
        assert!(!owned, "the parent's thread owns it, not the child's");
        assert!(!taken, "the child cannot take it while the parent holds it");
        assert!(lock.is_owned());
        assert_eq!(lock.depth(), 1);
        lock.release().unwrap();
        assert!(!lock.locked());
    }
}

fn hold_rlock((lock, holding): (RLock, Event)) {
    lock.acquire().unwrap().leak();
    holding.set();
    amphi::thread::sleep(PATIENCE).unwrap();
}

conformance! {
    fn rlock_held_by_a_killed_child_is_owner_died() {
        let lock = RLock::new().unwrap();
        let holding = Event::new().unwrap();
        let child = Process::new(hold_rlock, (lock.clone(), holding.clone()));
        child.start().unwrap();
        holding.wait_timeout(PATIENCE).unwrap();
        child.kill().unwrap();
        child.join_timeout(PATIENCE).unwrap_err();
        let pid = child.pid().unwrap();
        assert_eq!(
            lock.acquire_timeout(PATIENCE).unwrap_err(),
            Error::OwnerDied { pid }
        );
    }
}

/// Waits on the condition, recording `me` in `order` once woken.
fn wait_and_record((cond, order, next, me): (Condition, Array<u32>, Value<u32>, u32)) {
    let _held = cond.acquire().unwrap();
    cond.wait_timeout(PATIENCE).expect("notified in time");
    let at = next.fetch_add(1) as usize;
    order.set(at, me).unwrap();
}

conformance! {
    fn condition_notify_wakes_exactly_the_oldest_waiters_in_order() {
        let cond = Condition::new().unwrap();
        let order = Array::new(&[0u32; 3]).unwrap();
        let next = Value::new(0u32).unwrap();
        let children: Vec<_> = (1..=3)
            .map(|me| {
                Process::new(
                    wait_and_record,
                    (cond.clone(), order.clone(), next.clone(), me),
                )
            })
            .collect();
        for (started, child) in children.iter().enumerate() {
            child.start().unwrap();
            // Start the next only once this one waits, so the waiting order is 1, 2, 3.
            while cond.waiting() <= started {
                amphi::thread::sleep(Duration::from_millis(1)).unwrap();
            }
        }
        {
            let _held = cond.acquire().unwrap();
            assert_eq!(cond.notify(1).unwrap(), 1);
        }
        children[0].join_timeout(PATIENCE).unwrap();
        assert_eq!(next.get(), 1);
        assert_eq!(order.get(0), Some(1), "the oldest waiter went first");
        assert_eq!(cond.waiting(), 2, "the others still wait");
        {
            let _held = cond.acquire().unwrap();
            assert_eq!(cond.notify(2).unwrap(), 2);
            assert_eq!(cond.notify(2).unwrap(), 0, "nobody is left");
        }
        for child in &children[1..] {
            child.join_timeout(PATIENCE).unwrap();
            assert_eq!(child.exitcode(), Some(0));
        }
        assert_eq!(next.get(), 3);
        let mut rest = order.to_vec()[1..].to_vec();
        rest.sort_unstable();
        assert_eq!(rest, [2, 3]);
    }
}

/// Waits on a condition over a plain process `Lock`, with a predicate.
fn wait_for_value((cond, value): (Condition<Lock>, Value<u32>)) -> u32 {
    let _held = cond.acquire().unwrap();
    cond.wait_for_timeout(|| value.get() == 7, PATIENCE)
        .unwrap();
    value.get()
}

conformance! {
    fn condition_over_a_plain_lock_with_a_predicate() {
        let cond = Condition::with_lock(Lock::new().unwrap()).unwrap();
        let value = Value::new(0u32).unwrap();
        let child = Process::new(wait_for_value, (cond.clone(), value.clone()));
        child.start().unwrap();
        while cond.waiting() == 0 {
            amphi::thread::sleep(Duration::from_millis(1)).unwrap();
        }
        {
            let _held = cond.acquire().unwrap();
            value.set(7);
            assert_eq!(cond.notify_all().unwrap(), 1);
        }
        assert_eq!(child.join_timeout(PATIENCE).unwrap(), 7);
    }
}

conformance! {
    fn condition_refuses_callers_without_the_lock() {
        let cond = Condition::new().unwrap();
        assert_eq!(cond.wait(), Err(Error::NotOwner));
        assert_eq!(cond.notify(1), Err(Error::NotOwner));
        assert_eq!(cond.waiting(), 0);
    }
}
