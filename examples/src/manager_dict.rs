//! Seed 003, the tour's `Manager` part: two child processes each write one key of a dict that
//! a [`Manager`] serves, and the parent prints the dict.
//!
//! ```python
//! def worker(d, key, value):
//!     d[key] = value
//!
//! with multiprocessing.Manager() as manager:
//!     shared_dict = manager.dict()
//!     p1 = multiprocessing.Process(target=worker, args=(shared_dict, 'a', 1))
//!     p2 = multiprocessing.Process(target=worker, args=(shared_dict, 'b', 2))
//!     ...
//!     print(shared_dict)  # {'a': 1, 'b': 2}
//! ```
//!
//! The dict proxy travels to each child in its arguments, as in Python; each `insert` is one
//! round trip to the manager's server. Checks: the dict holds exactly `a: 1` and `b: 2` after
//! both children ended, and each child wrote from its own process (its pid is not the
//! parent's). The same code runs natively and in the browser, where the manager's server and
//! the children are process workers.

use std::time::Duration;

use crate::Run;
use amphi::process::{current_process, DictProxy, Manager, Process};
use amphi::Error;

const JOIN_WITHIN: Duration = Duration::from_secs(60);

/// The seed's worker: `d[key] = value`, and the pid of the process that wrote it.
fn worker((d, key, value): (DictProxy<String, i64>, String, i64)) -> Result<u32, String> {
    d.insert(&key, &value).map_err(|e| e.to_string())?;
    Ok(current_process().pid)
}

pub(super) fn run(run: &mut Run) -> Result<(), Error> {
    let manager = Manager::start()?;
    let shared_dict = manager.dict::<String, i64>()?;
    let p1 = Process::new(worker, (shared_dict.clone(), "a".to_owned(), 1));
    let p2 = Process::new(worker, (shared_dict.clone(), "b".to_owned(), 2));
    p1.start()?;
    p2.start()?;
    let mut writers = Vec::new();
    for child in [&p1, &p2] {
        writers.push(
            child
                .join_timeout(JOIN_WITHIN)?
                .map_err(Error::InvalidArgument)?,
        );
    }
    let mut items = shared_dict.items()?;
    manager.shutdown()?;

    items.sort();
    let shown: Vec<String> = items.iter().map(|(k, v)| format!("'{k}': {v}")).collect();
    run.line(format!("{{{}}}", shown.join(", ")));

    let parent = current_process().pid;
    run.check(
        "the dict holds what both children wrote",
        items == [("a".to_owned(), 1), ("b".to_owned(), 2)],
        format!("{items:?}"),
    );
    run.check(
        "each key was written by a child process, not the parent",
        writers.iter().all(|&pid| pid != parent) && writers[0] != writers[1],
        format!("writers {writers:?}, parent {parent}"),
    );
    Ok(())
}
