//! The memory a process tree shares, and the objects in it.
//!
//! The first process that creates a shared object creates the region (natively an anonymous
//! `memfd`, never a named file, sparse; in the browser a `SharedArrayBuffer` handed to every
//! worker of the page's process tree and reached through `Atomics`), and every child amphi
//! starts afterwards maps the same region. Its size is fixed when it is created: 16 MiB
//! unless [`set_shared_memory_size`] asked for another before. Each public type of the process
//! family is a handle (an offset, a kind and a checksum): clone it, or pass it to a child as
//! (part of) a [`Process`](super::Process)'s arguments, and every copy names the same object.
//! Opening a handle validates it, so a corrupt, hostile or stale one is an error, never
//! undefined behaviour. An object is freed once no process of the tree holds a handle to it
//! any more, also when the last holders died (see `holdings`), and its space is reused.
//! Under loom there is no region: creating an object returns
//! [`Error::SharedMemory`](crate::Error::SharedMemory).
//!
//! - `mapping`: the mapping, its layout and its allocator ([`Region`], [`Atom`]);
//! - `object`: object headers, handles, and [`SharedWord`], the word the engines of
//!   [`crate::sync`] sleep on in the region (shared futexes natively);
//! - `holdings`: reference counts across the tree, and what a dead process held.

mod holdings;
mod mapping;
mod object;

pub(crate) use holdings::{adopt, capture, settle, Holding, Reservation};
pub(crate) use mapping::Atom;
pub(crate) use object::{Handle, Object, Place, SharedWord};

use crate::{sys, Error};

/// Sets the size, in bytes, of the memory the process tree shares (16 MiB by default), for
/// a region not created yet: call it first thing in `main` (in the browser, before the first
/// thread, process or shared object). A process [`Queue`](super::Queue) or
/// [`Pipe`](super::Pipe) direction takes 64 KiB of it, a lock or an event under 100 bytes.
/// Natively the memory is sparse: pages never used cost nothing. Children inherit the size.
///
/// [`Error::SharedMemory`] once the region exists (it cannot grow afterwards);
/// [`Error::InvalidArgument`] below 1 MiB or above the platform's limit (16 GiB natively,
/// 1 GiB in the browser).
///
/// # Examples
///
/// ```
/// // This doctest's process has no region yet.
/// amphi::process::set_shared_memory_size(64 << 20)?;
/// assert_eq!(amphi::process::shared_memory_usage()?.size, 64 << 20);
/// # Ok::<(), amphi::Error>(())
/// ```
pub fn set_shared_memory_size(bytes: usize) -> Result<(), Error> {
    let (least, most) = sys::REGION_SIZE_LIMITS;
    if !(least..=most).contains(&bytes) {
        return Err(Error::InvalidArgument(format!(
            "a shared memory size of {bytes} bytes is not between {least} and {most}"
        )));
    }
    sys::set_region_size(bytes).map_err(Error::SharedMemory)
}

/// How much of the memory shared by the process tree is in use (see
/// [`shared_memory_usage`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SharedMemoryUsage {
    /// The region's size in bytes (see [`set_shared_memory_size`]).
    pub size: usize,
    /// Bytes taken by live objects, the allocator's tables and the records of what each
    /// process holds, rounded up to their size classes.
    pub in_use: usize,
}

/// How much of the memory shared by the process tree is in use now, after releasing what
/// processes that died held. Creates the region if there is none yet.
///
/// # Examples
///
/// ```
/// use amphi::process::{shared_memory_usage, Queue};
///
/// let queue = Queue::<u8>::new(0)?;
/// let with_queue = shared_memory_usage()?.in_use;
/// drop(queue);
/// assert!(shared_memory_usage()?.in_use < with_queue);
/// # Ok::<(), amphi::Error>(())
/// ```
pub fn shared_memory_usage() -> Result<SharedMemoryUsage, Error> {
    let region = mapping::region()?;
    holdings::sweep(region, true);
    Ok(SharedMemoryUsage {
        size: region.len(),
        in_use: region.allocated().saturating_sub(region.free_bytes()),
    })
}
