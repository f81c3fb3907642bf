//! The memory a process tree shares, and the objects in it.
//!
//! The first process that creates a shared object creates the region (natively an anonymous
//! `memfd`, never a named file; 16 MiB, sparse; in the browser a `SharedArrayBuffer` handed to
//! every worker of the page's process tree and reached through `Atomics`), and every child amphi
//! starts afterwards maps the same region. Objects are allocated in it and never freed. Each
//! public type of the process family is a handle (an offset, a kind and a checksum): clone it,
//! or pass it to a child as (part of) a [`Process`](super::Process)'s arguments, and every copy
//! names the same object. Opening a handle validates it, so a corrupt or hostile one is an
//! error, never undefined behaviour. Under loom there is no region: creating an object returns
//! [`Error::SharedMemory`](crate::Error::SharedMemory).
//!
//! - `mapping`: the mapping, its layout and its bump allocator ([`Region`], [`Atom`]);
//! - `object`: object headers, handles, and [`SharedWord`], the word the engines of
//!   [`crate::sync`] sleep on in the region (shared futexes natively).

mod mapping;
mod object;

pub(crate) use mapping::Atom;
pub(crate) use object::{Handle, Object, SharedWord};
