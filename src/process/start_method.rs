//! Start methods: how a child process starts, Python's `multiprocessing.get_start_method()`
//! and `get_all_start_methods()`.
//!
//! Each target has exactly one way to start a child, so there is nothing to choose and no
//! `set_start_method`: natively a child is this executable started again ([`StartMethod::Spawn`],
//! Python's "spawn"; "fork" would copy a process whose other threads may hold locks, and
//! "forkserver" needs a server process amphi does not keep), and in the browser a child is a
//! Web Worker with its own instance of the module and its own memory
//! ([`StartMethod::Worker`]: a page cannot fork or exec).

use std::fmt;

use crate::sys::{self, ChildStart};

/// How a child process starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StartMethod {
    /// The executable started again, recognising its role before `main` (Python's "spawn").
    /// Natively.
    Spawn,
    /// An isolated Web Worker: its own instance of the module and its own memory. In the
    /// browser.
    Worker,
}

impl StartMethod {
    /// The method's name, as Python's `get_start_method()` returns it: `"spawn"` or `"worker"`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(amphi::process::StartMethod::Spawn.name(), "spawn");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            StartMethod::Spawn => "spawn",
            StartMethod::Worker => "worker",
        }
    }
}

impl fmt::Display for StartMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How this program's children start: [`StartMethod::Spawn`] natively,
/// [`StartMethod::Worker`] in the browser. Python's `multiprocessing.get_start_method()`.
///
/// # Examples
///
/// ```
/// let method = amphi::process::get_start_method();
/// assert!(amphi::process::get_all_start_methods().contains(&method));
/// ```
pub fn get_start_method() -> StartMethod {
    match sys::CHILD_START {
        ChildStart::Reexecution => StartMethod::Spawn,
        ChildStart::IsolatedWorker => StartMethod::Worker,
    }
}

/// Every start method this target offers: one, [`get_start_method`]'s (see the module docs).
/// Python's `multiprocessing.get_all_start_methods()`.
///
/// # Examples
///
/// ```
/// assert_eq!(amphi::process::get_all_start_methods().len(), 1);
/// ```
pub fn get_all_start_methods() -> Vec<StartMethod> {
    vec![get_start_method()]
}
