//! What only the process family's `Barrier`, `RLock` and `Condition` have, with real child
//! processes on both targets: handles validated when they are decoded, `OwnerDied` for an
//! `RLock` held by a killed child, FIFO notification of waiters in several processes, and a
//! condition over a plain `Lock` (`Condition::with_lock` takes the lock by value). What both
//! families share is in the `conformance_*` suites, run over every backend.
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
use common::PATIENCE;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

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
