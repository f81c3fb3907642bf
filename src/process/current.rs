//! Who this process is: [`current_process`], [`parent_process`], and the numbering of children.
//!
//! As in Python, the first process is `MainProcess` with the empty identity. Each process
//! numbers the children it creates 1, 2, 3...; a child's identity is its parent's plus its
//! number, and its default name is `Process-` followed by the identity joined with `:`
//! (`Process-2`, then `Process-2:1` for that child's first child). A child learns its name,
//! identity, daemon flag and parent from the start-up message, before its target runs.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::sys;

/// A process as [`current_process`], [`parent_process`] and child handles describe it:
/// Python's `name`, `pid` and `daemon`.
///
/// # Examples
///
/// ```
/// let me = amphi::process::current_process();
/// assert_eq!(me.name, "MainProcess");
/// assert_eq!(me.pid, std::process::id());
/// assert!(!me.daemon);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ProcessInfo {
    /// The process's name: `MainProcess`, `Process-1`, or the name it was given.
    pub name: String,
    /// Its operating-system process id.
    pub pid: u32,
    /// Whether it is daemonic (dies with its parent).
    pub daemon: bool,
}

#[derive(Debug)]
struct Me {
    name: String,
    daemon: bool,
    identity: Vec<u32>,
    parent: Option<ProcessInfo>,
}

static ME: OnceLock<Me> = OnceLock::new();
static CHILDREN_CREATED: AtomicU32 = AtomicU32::new(0);

fn me() -> &'static Me {
    ME.get_or_init(|| Me {
        name: "MainProcess".to_owned(),
        daemon: false,
        identity: Vec::new(),
        parent: None,
    })
}

/// In a child, before its target runs: records who it is. False if it was already known.
pub(super) fn become_child(
    name: String,
    daemon: bool,
    identity: Vec<u32>,
    parent: ProcessInfo,
) -> bool {
    let me = Me {
        name,
        daemon,
        identity,
        parent: Some(parent),
    };
    ME.set(me).is_ok()
}

/// The identity and default name of the next child this process creates.
pub(super) fn next_child() -> (Vec<u32>, String) {
    let number = CHILDREN_CREATED.fetch_add(1, Ordering::Relaxed) + 1;
    let mut identity = me().identity.clone();
    identity.push(number);
    let joined: Vec<String> = identity.iter().map(u32::to_string).collect();
    (identity, format!("Process-{}", joined.join(":")))
}

/// Whether this process is daemonic (daemonic processes may not have children).
pub(super) fn is_daemon() -> bool {
    me().daemon
}

/// This process: `MainProcess` in a program, its own name in a child (Python's
/// `multiprocessing.current_process()`).
///
/// # Examples
///
/// ```
/// use amphi::process::{current_process, Process};
///
/// fn whoami(_: ()) -> (String, bool) {
///     let me = current_process();
///     (me.name, me.daemon)
/// }
///
/// assert_eq!(current_process().name, "MainProcess");
/// let child = Process::builder().name("worker").daemon(true).build(whoami, ());
/// child.start()?;
/// assert_eq!(child.join()?, ("worker".to_owned(), true));
/// # Ok::<(), amphi::Error>(())
/// ```
pub fn current_process() -> ProcessInfo {
    let me = me();
    ProcessInfo {
        name: me.name.clone(),
        pid: sys::current_pid(),
        daemon: me.daemon,
    }
}

/// The process that started this one, as it was when it did; `None` in the main process
/// (Python's `multiprocessing.parent_process()`).
///
/// # Examples
///
/// ```
/// use amphi::process::{parent_process, Process, ProcessInfo};
///
/// fn my_parent(_: ()) -> Option<ProcessInfo> {
///     parent_process()
/// }
///
/// assert_eq!(parent_process(), None);
/// let child = Process::new(my_parent, ());
/// child.start()?;
/// let parent = child.join()?.expect("a child has a parent");
/// assert_eq!(parent.name, "MainProcess");
/// assert_eq!(parent.pid, std::process::id());
/// # Ok::<(), amphi::Error>(())
/// ```
pub fn parent_process() -> Option<ProcessInfo> {
    me().parent.clone()
}
