//! Objects shared by processes ([`amphi::process::Lock`], `Semaphore`, `BoundedSemaphore`,
//! `Event`, `Value`, `Array`) with real child processes, on both targets: every target is a
//! plain `fn` taking the handles as arguments. What the process primitives share with the
//! thread family is in the `conformance_*` suites, run over every backend; here are `Value`,
//! `Array`, handle validation, a killed holder and grandchildren.
//!
//! Every wait on a child has a generous timeout, so a bug fails a test instead of hanging it.
//! Natively the children are this test binary started again; in the browser they are process
//! workers, each with its own instance of the test module.

// The async conformance macro goes unused here.
#[macro_use]
#[allow(unused_macros)]
mod common;

use std::time::Duration;

use amphi::process::{Array, BoundedSemaphore, Event, Lock, Process, Semaphore, Value};
use amphi::Error;
use common::{start_and_join_all, PATIENCE};

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

fn add_thousand(counter: Value<i64>) {
    let lock = counter.get_lock().expect("made with a lock");
    for _ in 0..1000 {
        let _held = lock.acquire_timeout(PATIENCE).unwrap();
        counter.set(counter.get() + 1);
    }
}

conformance! {
    fn value_incremented_by_four_children_under_its_lock() {
        let counter = Value::new(0i64).unwrap();
        let children: Vec<_> = (0..4)
            .map(|_| Process::new(add_thousand, counter.clone()))
            .collect();
        start_and_join_all(&children);
        assert_eq!(counter.get(), 4000);
    }
}

fn add_atomically((counter, cells): (Value<u64>, Array<u16>)) {
    for i in 0..500 {
        counter.fetch_add(1);
        cells.fetch_add(i % cells.len(), 1).unwrap();
    }
}

conformance! {
    fn atomic_operations_across_children() {
        let counter = Value::new_without_lock(0u64).unwrap();
        let cells = Array::new(&[0u16; 5]).unwrap();
        let children: Vec<_> = (0..3)
            .map(|_| Process::new(add_atomically, (counter.clone(), cells.clone())))
            .collect();
        start_and_join_all(&children);
        assert_eq!(counter.get(), 1500);
        assert_eq!(cells.to_vec(), [300; 5]);
    }
}

fn read_back(
    (value, array, bounded): (Value<f64>, Array<i8>, BoundedSemaphore),
) -> (f64, Vec<i8>, u32) {
    (value.get(), array.to_vec(), bounded.initial())
}

conformance! {
    fn handles_carry_the_numbers_and_bounds() {
        let value = Value::new(-2.75f64).unwrap();
        let array = Array::new(&[-1i8, 0, 127]).unwrap();
        let bounded = BoundedSemaphore::new(3).unwrap();
        let child = Process::new(read_back, (value, array, bounded));
        child.start().unwrap();
        let (number, items, initial) = child.join_timeout(PATIENCE).unwrap();
        assert_eq!(number, -2.75);
        assert_eq!(items, [-1, 0, 127]);
        assert_eq!(initial, 3);
    }
}

conformance! {
    fn garbage_handles_are_errors() {
        let lock = Lock::new().unwrap();
        let good = serde_json::to_value(&lock).unwrap();
        assert!(serde_json::from_value::<Lock>(good.clone()).is_ok());

        // Not a handle at all.
        assert!(serde_json::from_str::<Lock>("\"garbage\"").is_err());
        assert!(serde_json::from_str::<Event>("42").is_err());
        // Wrong offsets: out of bounds, misaligned, far past the end, inside the header.
        for offset in [0u64, 3, 9, 1 << 40, u64::MAX, 64 + 16 * 1024 * 1024] {
            let mut bad = good.clone();
            bad["offset"] = offset.into();
            assert!(
                serde_json::from_value::<Lock>(bad).is_err(),
                "offset {offset}"
            );
        }
        // A wrong check or kind.
        let mut bad = good.clone();
        bad["check"] = (good["check"].as_u64().unwrap() ^ 1).into();
        assert!(serde_json::from_value::<Lock>(bad).is_err());
        let mut bad = good.clone();
        bad["kind"] = 4.into();
        assert!(serde_json::from_value::<Lock>(bad).is_err());
        // A lock handle is not an event, a semaphore, or a value.
        assert!(serde_json::from_value::<Event>(good.clone()).is_err());
        assert!(serde_json::from_value::<Semaphore>(good.clone()).is_err());
        let value = Value::new(1u32).unwrap();
        let as_json = serde_json::to_value(&value).unwrap();
        assert!(serde_json::from_value::<Value<u32>>(as_json.clone()).is_ok());
        assert!(serde_json::from_value::<Value<i32>>(as_json.clone()).is_err());
        assert!(serde_json::from_value::<Array<u32>>(as_json).is_err());
    }
}

/// Opens a (tampered) lock handle in the child, which maps the same region.
fn open_in_child(handle: serde_json::Value) -> Result<bool, String> {
    serde_json::from_value::<Lock>(handle)
        .map(|lock| lock.locked())
        .map_err(|err| err.to_string())
}

conformance! {
    fn handles_are_validated_in_the_child() {
        let lock = Lock::new().unwrap();
        let good = serde_json::to_value(&lock).unwrap();
        let mut bad = good.clone();
        bad["offset"] = 8.into();
        let children = [
            Process::new(open_in_child, good),
            Process::new(open_in_child, bad),
        ];
        for child in &children {
            child.start().unwrap();
        }
        assert_eq!(children[0].join_timeout(PATIENCE).unwrap(), Ok(false));
        assert!(children[1].join_timeout(PATIENCE).unwrap().is_err());
    }
}

fn hold_forever((lock, holding): (Lock, Event)) {
    lock.acquire_timeout(PATIENCE).unwrap().leak();
    holding.set();
    amphi::thread::sleep(Duration::from_secs(600)).unwrap();
}

conformance! {
    fn child_killed_holding_the_lock_never_hangs_the_parent() {
        let lock = Lock::new().unwrap();
        let holding = Event::new().unwrap();
        let child = Process::new(hold_forever, (lock.clone(), holding.clone()));
        child.start().unwrap();
        holding
            .wait_timeout(PATIENCE)
            .expect("the child takes the lock");
        child.kill().unwrap();
        assert!(child.join_timeout(PATIENCE).is_err());
        match lock.acquire_timeout(PATIENCE) {
            Err(Error::OwnerDied { pid }) => assert_eq!(Some(pid), child.pid()),
            other => panic!("expected OwnerDied, got {other:?}"),
        }
        // The lock stays held (Python's behaviour) until someone repairs and releases it.
        assert!(lock.locked());
        lock.release().unwrap();
        assert!(lock.try_acquire().is_some());
    }
}

fn add_one(counter: Value<i32>) {
    counter.fetch_add(1);
}

fn add_one_and_start_a_grandchild(counter: Value<i32>) {
    counter.fetch_add(1);
    let grandchild = Process::new(add_one, counter);
    grandchild.start().unwrap();
    grandchild.join_timeout(PATIENCE).unwrap();
}

conformance! {
    fn grandchildren_share_the_same_region() {
        let counter = Value::new(0i32).unwrap();
        let child = Process::new(add_one_and_start_a_grandchild, counter.clone());
        child.start().unwrap();
        child.join_timeout(PATIENCE).unwrap();
        assert_eq!(counter.get(), 2);
    }
}
