//! Seed 001, "shared memory": two processes update a shared `Value` and `Array`, first without
//! a lock, then with one.
//!
//! ```python
//! def increment_shared(val, arr):
//!     for _ in range(100):
//!         val.value += 1
//!     for i in range(len(arr)):
//!         arr[i] += 1
//! shared_value = mp.Value('i', 0)
//! shared_array = mp.Array('d', [0.0, 0.0, 0.0])
//! ...
//! def safe_increment(val, lock):
//!     for _ in range(100):
//!         with lock:
//!             val.value += 1
//! ```
//!
//! `val.value += 1` is a read followed by a write, so without the lock two processes can read the
//! same value and one update is lost (the seed prints "may be inaccurate"). Under the lock the
//! result is exact: 200. Checks: the locked value is exactly 200; the unlocked value is between
//! 100 and 200; every array element is between 1.0 and 2.0 (raised by each process, unless two
//! unlocked raises overlapped). The same code runs natively and in the browser (process workers
//! over a `SharedArrayBuffer` region).

use std::time::Duration;

use crate::Run;
use amphi::process::{Array, Lock, Process, Value};
use amphi::Error;

const PROCESSES: usize = 2;
const ROUNDS: i32 = 100;
const JOIN_WITHIN: Duration = Duration::from_secs(60);

/// The child of the first part: unlocked read-modify-writes, as in the seed.
fn increment_shared((value, array): (Value<i32>, Array<f64>)) {
    for _ in 0..ROUNDS {
        value.set(value.get() + 1);
    }
    for i in 0..array.len() {
        if let Some(item) = array.get(i) {
            let _ = array.set(i, item + 1.0);
        }
    }
}

/// The child of the second part: the same update, under the lock.
/// Returns the error's text if the lock fails (errors cross back to the parent as text).
fn safe_increment((value, lock): (Value<i32>, Lock)) -> Result<(), String> {
    for _ in 0..ROUNDS {
        let _held = lock.acquire().map_err(|error| error.to_string())?;
        value.set(value.get() + 1);
    }
    Ok(())
}

fn run_all<A, R>(target: fn(A) -> R, args: &A) -> Result<Vec<R>, Error>
where
    A: Clone + serde::Serialize + serde::de::DeserializeOwned,
    R: serde::Serialize + serde::de::DeserializeOwned,
{
    let processes = (0..PROCESSES)
        .map(|_| {
            let process = Process::new(target, args.clone());
            process.start().map(|()| process)
        })
        .collect::<Result<Vec<_>, _>>()?;
    processes
        .iter()
        .map(|process| process.join_timeout(JOIN_WITHIN))
        .collect()
}

pub(super) fn run(run: &mut Run) -> Result<(), Error> {
    run.line("--- Value and Array ---");
    let value = Value::new_without_lock(0i32)?;
    let array = Array::new_without_lock(&[0.0f64, 0.0, 0.0])?;
    run_all(increment_shared, &(value.clone(), array.clone()))?;
    let unlocked = value.get();
    run.line(format!("Shared value (may be inaccurate): {unlocked}"));
    run.line(format!("Shared array: {:?}", array.to_vec()));
    let total = ROUNDS * PROCESSES as i32;
    run.check(
        "without the lock: 100 <= value <= 200",
        (ROUNDS..=total).contains(&unlocked),
        format!("value is {unlocked}"),
    );
    run.check(
        "every array element was raised, and at most once per process",
        array
            .to_vec()
            .iter()
            .all(|&item| (1.0..=PROCESSES as f64).contains(&item)),
        format!("array is {:?}", array.to_vec()),
    );

    run.line("");
    run.line("--- With a lock ---");
    let value = Value::new_without_lock(0i32)?;
    let lock = Lock::new()?;
    for outcome in run_all(safe_increment, &(value.clone(), lock))? {
        if let Err(reason) = outcome {
            run.line(format!("a child's lock failed: {reason}"));
        }
    }
    let locked = value.get();
    run.line(format!("Value with the lock: {locked}"));
    run.check(
        format!("with the lock: value == {total}"),
        locked == total,
        format!("value is {locked}"),
    );
    Ok(())
}
