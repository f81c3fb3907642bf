//! The region: one mapping shared by a process tree, and a bump allocator in it.
//!
//! # Layout
//!
//! | offset | content |
//! |---|---|
//! | 0 | magic (`u64`), so a child can tell a region from any other file |
//! | 8 | the region's identity (`u64`, random), mixed into every handle's check |
//! | 16 | `next`: the offset of the first free byte (`AtomicU64`) |
//! | 64.. | objects, each 8-byte aligned, never freed |
//!
//! Allocation is a compare-and-swap loop on `next` that refuses to pass the end of the region
//! ([`Error::SharedMemory`]). Memory is never reused, so a fresh allocation reads as zeros
//! (the region starts zero-filled).
//!
//! # Soundness
//!
//! Other processes write this memory at any time, so it is only ever read and written through
//! atomics ([`Atom`]), for which every bit pattern is valid. Every access is bounds- and
//! alignment-checked against the mapping, which is never unmapped: references into it are
//! `'static`. Bulk copies of bytes ([`Region::write_bytes`], [`Region::read_bytes`]) go
//! through `sys`, bounds-checked, for protocols (a ring of bytes) that hand ranges of bytes
//! from one process to another through atomics. A hostile offset can therefore only produce an error, never undefined behaviour.

use std::ptr::NonNull;
use std::sync::atomic::Ordering;
use std::sync::OnceLock;

use crate::sys::region_atomics::{
    AtomicI16, AtomicI32, AtomicI64, AtomicI8, AtomicU16, AtomicU32, AtomicU64, AtomicU8,
};

use crate::{sys, Error};

const MAGIC: u64 = u64::from_le_bytes(*b"amphiSHM");
const MAGIC_AT: usize = 0;
const ID_AT: usize = 8;
const NEXT_AT: usize = 16;
/// Where objects start.
pub(crate) const HEADER_LEN: usize = 64;
/// Every allocation's alignment.
pub(crate) const ALIGN: usize = 8;

/// An atomic type that may live in the region: every bit pattern is a valid value, and its
/// alignment is at most [`ALIGN`].
///
/// # Safety
///
/// Implementors must be atomics (interior mutability through atomic instructions only), valid
/// for every bit pattern, with `align_of <= ALIGN`: the platform's region atomics, which are
/// `std`'s natively and zero-sized proxies for `Atomics` on a `SharedArrayBuffer` in the
/// browser (valid at any non-null aligned address, since they occupy no memory).
#[allow(unreachable_pub)]
pub unsafe trait Atom: Sync + 'static {
    /// The bytes of the region it stands for (also its alignment there).
    const SIZE: usize;
}

macro_rules! atoms {
    ($($atom:ty = $size:literal),*) => {$(
        // SAFETY: a region atomic (a std atomic integer, or a zero-sized proxy): valid for
        // every bit pattern, alignment <= 8.
        unsafe impl Atom for $atom {
            const SIZE: usize = $size;
        }
    )*};
}
atoms!(
    AtomicI8 = 1,
    AtomicU8 = 1,
    AtomicI16 = 2,
    AtomicU16 = 2,
    AtomicI32 = 4,
    AtomicU32 = 4,
    AtomicI64 = 8,
    AtomicU64 = 8
);

/// The process tree's region, mapped in this process.
#[derive(Debug)]
pub(crate) struct Region {
    base: NonNull<u8>,
    len: usize,
    id: u64,
}

// SAFETY: `Region` only hands out shared references to atomics in a mapping that lives as long
// as the process; atomics may be used from any thread.
unsafe impl Send for Region {}
// SAFETY: as above.
unsafe impl Sync for Region {}

static REGION: OnceLock<Result<Region, String>> = OnceLock::new();

/// The region of this process tree, mapped (and, in its first process, created) on first use.
pub(crate) fn region() -> Result<&'static Region, Error> {
    REGION
        .get_or_init(Region::map)
        .as_ref()
        .map_err(|why| Error::SharedMemory(why.clone()))
}

impl Region {
    fn map() -> Result<Region, String> {
        let (base, len) = sys::map_region(|base, len| {
            let region = Region { base, len, id: 0 };
            region
                .word::<AtomicU64>(ID_AT)
                .store(sys::random_u64() | 1, Ordering::Relaxed);
            region
                .word::<AtomicU64>(NEXT_AT)
                .store(HEADER_LEN as u64, Ordering::Relaxed);
            region
                .word::<AtomicU64>(MAGIC_AT)
                .store(MAGIC, Ordering::Release);
        })?;
        let mut region = Region { base, len, id: 0 };
        if len < HEADER_LEN || region.word::<AtomicU64>(MAGIC_AT).load(Ordering::Acquire) != MAGIC {
            return Err("the inherited shared region is not amphi's".to_owned());
        }
        region.id = region.word::<AtomicU64>(ID_AT).load(Ordering::Relaxed);
        Ok(region)
    }

    /// The header's words (always in bounds and aligned).
    fn word<A: Atom>(&self, at: usize) -> &'static A {
        self.atom(at).expect("the region header is in bounds")
    }

    /// The region's identity.
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// The end of what has been allocated so far (never past the region's end).
    pub(crate) fn allocated(&self) -> usize {
        let next = self.word::<AtomicU64>(NEXT_AT).load(Ordering::Acquire);
        usize::try_from(next).map_or(self.len, |next| next.min(self.len))
    }

    /// Reserves `size` bytes (rounded up to [`ALIGN`]); returns their offset.
    pub(crate) fn alloc(&self, size: usize) -> Result<usize, Error> {
        let size = size.div_ceil(ALIGN) * ALIGN;
        let next = self.word::<AtomicU64>(NEXT_AT);
        let mut at = next.load(Ordering::Relaxed);
        loop {
            let start = usize::try_from(at).unwrap_or(usize::MAX);
            let end = match start.checked_add(size) {
                Some(end) if start >= HEADER_LEN && start % ALIGN == 0 && end <= self.len => end,
                _ => {
                    return Err(Error::SharedMemory(format!(
                        "the shared region ({} bytes) has no room for {size} more bytes",
                        self.len
                    )))
                }
            };
            match next.compare_exchange_weak(at, end as u64, Ordering::AcqRel, Ordering::Relaxed) {
                Ok(_) => return Ok(start),
                Err(seen) => at = seen,
            }
        }
    }

    /// Whether `[at, at + len)` lies wholly inside the region.
    fn contains(&self, at: usize, len: usize) -> bool {
        at.checked_add(len).is_some_and(|end| end <= self.len)
    }

    /// Copies `bytes` into the region at byte offset `at`; `false` (and nothing copied) if
    /// they would not lie wholly inside it. The caller's protocol must own those bytes (no
    /// other process touches them until it publishes them through an atomic).
    pub(crate) fn write_bytes(&self, at: usize, bytes: &[u8]) -> bool {
        let inside = self.contains(at, bytes.len());
        if inside {
            sys::region_write_bytes(at, bytes);
        }
        inside
    }

    /// Copies the region's bytes at offset `at` into `out`; `false` (and nothing copied) if
    /// they would not lie wholly inside it. The caller's protocol must keep writers off them.
    pub(crate) fn read_bytes(&self, at: usize, out: &mut [u8]) -> bool {
        let inside = self.contains(at, out.len());
        if inside {
            sys::region_read_bytes(at, out);
        }
        inside
    }

    /// The atomic at byte offset `at`, if it lies wholly inside the region and is aligned.
    pub(crate) fn atom<A: Atom>(&self, at: usize) -> Option<&'static A> {
        let end = at.checked_add(A::SIZE)?;
        if end > self.len || at % A::SIZE != 0 || std::mem::align_of::<A>() > A::SIZE {
            return None;
        }
        // SAFETY: `[at, end)` lies inside the mapping (checked above), which is never
        // unmapped, so the reference may be `'static`. The base is page-aligned and `at` a
        // multiple of `A::SIZE`, itself a multiple of `A`'s alignment, so the pointer is
        // aligned (and not null: the base is not). `A` is an atomic valid for every bit pattern
        // (the `Atom` contract) and only shared references are handed out, so concurrent
        // access by other threads and processes is through atomics only. In the browser `A`
        // is zero-sized and the base a reserved address: the reference touches no memory.
        Some(unsafe { &*self.base.as_ptr().wrapping_add(at).cast::<A>() })
    }
}
