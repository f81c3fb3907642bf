//! Processes: Python's `multiprocessing.Process`, natively on child OS processes.
//!
//! A [`Process`] runs a plain function of this program, `fn(A) -> R`, in a child process, with
//! arguments and result carried as JSON (`serde`): [`start`](Process::start), then
//! [`join`](Process::join) (also [`join_timeout`](Process::join_timeout) and
//! [`join_async`](Process::join_async)), [`is_alive`](Process::is_alive),
//! [`exitcode`](Process::exitcode), [`terminate`](Process::terminate),
//! [`kill`](Process::kill). [`current_process`], [`parent_process`] and [`active_children`]
//! answer as in Python.
//!
//! ```
//! use amphi::process::Process;
//!
//! fn cube(x: i64) -> i64 {
//!     x * x * x
//! }
//!
//! let child = Process::new(cube, 3);
//! child.start()?;
//! assert_eq!(child.join()?, 27);
//! # Ok::<(), amphi::Error>(())
//! ```
//!
//! ## How a child starts (natively)
//!
//! Python's "spawn": the child is the current executable started again. It recognises its role
//! in a constructor that runs before `main`, so nothing has to be called by the program: the
//! same code works in a binary, the `amphi` CLI, `cargo test` test binaries and doctests. The
//! child finds the target as an offset in its copy of the executable (after checking it is
//! the same file as its parent's), calls it, sends back the return value or the panic, and
//! exits without running `main`. Exit codes follow Python: 0 after the target returned, 1 after
//! a panic, `-N` after signal `N`.
//!
//! Nothing waits forever on a dead child: every join wakes whatever ended it, and
//! `join_timeout` gives up on time. Daemonic children are killed when their parent ends, also
//! when it is killed; non-daemonic children outlive it (unlike Python, a program that returns
//! from `main` does not wait for them: join them).
//!
//! ## Shared objects
//!
//! [`Lock`], [`RLock`], [`Semaphore`], [`BoundedSemaphore`], [`Event`], [`Condition`],
//! [`Barrier`], [`Value`] and [`Array`] live in memory shared by the whole process tree: create
//! them in the parent and pass them to children as arguments (see `shared`).
//!
//! In the browser, starting a process returns [`Error::ProcessStart`](crate::Error) for now.
//!
//! Sub-modules, one concept each:
//! - `handle`: [`Process`];
//! - `builder`: [`Builder`] (name, daemon);
//! - `current`: [`current_process`], [`parent_process`], [`ProcessInfo`], default names;
//! - `children`: [`active_children`], [`ChildProcess`];
//! - `packet`: what a process's handles share with the platform (exit word, code, report);
//! - `child`: the entry a child runs, its panic capture;
//! - `wire`: what parent and child send each other;
//! - `shared`: objects in memory shared by a process tree.

mod builder;
mod child;
mod children;
mod current;
mod handle;
mod packet;
mod shared;
mod wire;

pub use builder::Builder;
pub use children::{active_children, ChildProcess};
pub use current::{current_process, parent_process, ProcessInfo};
pub use handle::Process;
pub use shared::{
    Array, Barrier, BoundedSemaphore, Condition, ConditionLock, Event, Integer, Lock, LockGuard,
    Number, RLock, RLockGuard, Semaphore, SemaphoreGuard, Value,
};
