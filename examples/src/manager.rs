//! Seed 001, "Manager shared objects": three child processes each append their pid to a
//! shared list and update a shared dict's counter.
//!
//! ```python
//! def modify_shared_dict(d, l):
//!     d['count'] = d.get('count', 0) + 1
//!     l.append(os.getpid())
//! with mp.Manager() as manager:
//!     shared_dict = manager.dict()
//!     shared_list = manager.list()
//!     ...
//! ```
//!
//! `d['count'] = d.get('count', 0) + 1` is two round trips to the manager, so two processes
//! can read the same count and one update is lost. The example runs it honestly first (each
//! child updates the counter [`ROUNDS`] times; the total may fall short), then twice fixed: under
//! a [`Lock`], and with the manager's server-side [`add`](amphi::process::DictProxy::add).
//! Checks: the list holds exactly the three children's pids; the racy count is between 1 and
//! the full total; the locked and the atomic counts are exactly the full total. The same code
//! runs natively and in the browser (the manager's server is then a process worker).

use std::time::Duration;

use crate::Run;
use amphi::process::{current_process, DictProxy, ListProxy, Lock, Manager, Process};
use amphi::Error;

const CHILDREN: usize = 3;
const ROUNDS: i64 = 20;
const JOIN_WITHIN: Duration = Duration::from_secs(60);

/// The seed's child: a read-then-write update of the counter, and its pid appended.
fn modify_shared_dict(
    (counts, pids): (DictProxy<String, i64>, ListProxy<u32>),
) -> Result<(), String> {
    let key = "count".to_owned();
    for _ in 0..ROUNDS {
        let now = counts.get(&key).map_err(|e| e.to_string())?.unwrap_or(0);
        counts.insert(&key, &(now + 1)).map_err(|e| e.to_string())?;
    }
    pids.push(&current_process().pid).map_err(|e| e.to_string())
}

/// The same update under a lock.
fn locked_update((counts, lock): (DictProxy<String, i64>, Lock)) -> Result<(), String> {
    let key = "count".to_owned();
    for _ in 0..ROUNDS {
        let _held = lock.acquire().map_err(|e| e.to_string())?;
        let now = counts.get(&key).map_err(|e| e.to_string())?.unwrap_or(0);
        counts.insert(&key, &(now + 1)).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// The same update as one server-side addition.
fn atomic_update(counts: DictProxy<String, i64>) -> Result<(), String> {
    for _ in 0..ROUNDS {
        counts
            .add(&"count".to_owned(), &1)
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Starts one child per copy of `args`, joins them all, and returns their pids.
fn run_children<A>(target: fn(A) -> Result<(), String>, args: &A) -> Result<Vec<u32>, Error>
where
    A: Clone + serde::Serialize + serde::de::DeserializeOwned,
{
    let children: Vec<_> = (0..CHILDREN)
        .map(|_| Process::new(target, args.clone()))
        .collect();
    for child in &children {
        child.start()?;
    }
    let mut pids = Vec::new();
    for child in &children {
        child
            .join_timeout(JOIN_WITHIN)?
            .map_err(Error::InvalidArgument)?;
        pids.extend(child.pid());
    }
    Ok(pids)
}

pub(super) fn run(run: &mut Run) -> Result<(), Error> {
    let manager = Manager::start()?;
    let full = ROUNDS * CHILDREN as i64;
    let key = "count".to_owned();

    let shared_dict = manager.dict::<String, i64>()?;
    let shared_list = manager.list::<u32>()?;
    let mut children = run_children(
        modify_shared_dict,
        &(shared_dict.clone(), shared_list.clone()),
    )?;
    let racy = shared_dict.get(&key)?.unwrap_or(0);
    let mut pids = shared_list.to_vec()?;
    run.line(format!(
        "shared dict: {{'count': {racy}}} (read-then-write, may lose updates)"
    ));
    run.line(format!("shared list: {pids:?}"));

    let locked = manager.dict::<String, i64>()?;
    run_children(locked_update, &(locked.clone(), manager.lock()?))?;
    let locked = locked.get(&key)?.unwrap_or(0);
    run.line(format!("under a lock: {{'count': {locked}}}"));

    let atomic = manager.dict::<String, i64>()?;
    run_children(atomic_update, &atomic)?;
    let atomic = atomic.get(&key)?.unwrap_or(0);
    run.line(format!("server-side add: {{'count': {atomic}}}"));
    manager.shutdown()?;

    children.sort_unstable();
    pids.sort_unstable();
    run.check(
        "the shared list holds each child's pid once",
        pids == children,
        format!("list {pids:?}, children {children:?}"),
    );
    run.check(
        "the racy count is between 1 and the full total",
        (1..=full).contains(&racy),
        format!("{racy} of {full}"),
    );
    run.check(
        "under a lock the count is exact",
        locked == full,
        format!("{locked} of {full}"),
    );
    run.check(
        "with the server-side add the count is exact",
        atomic == full,
        format!("{atomic} of {full}"),
    );
    Ok(())
}
