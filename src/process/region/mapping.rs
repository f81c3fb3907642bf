//! The region: one mapping shared by a process tree, and its allocator.
//!
//! # Layout
//!
//! | offset | content |
//! |---|---|
//! | 0 | magic (`u64`), so a child can tell a region from any other file |
//! | 8 | the region's identity (`u64`, random), mixed into every handle's check |
//! | 16 | `next`: the offset of the first never-allocated byte (`AtomicU64`) |
//! | 24 | the first process record (`AtomicU64`, 0 for none; see `holdings`) |
//! | 64.. | one free list per size class ([`CLASSES`] `AtomicU64` heads) |
//! | [`HEADER_LEN`].. | blocks, each 8-byte aligned and of its class's size |
//!
//! # Allocation
//!
//! A request is rounded up to its size class: multiples of 16 bytes up to 512, then 32
//! classes per power of two (at most 1/32 of a block is slack). A freed block goes onto its
//! class's free list, and the next request of that class takes it back; only when the list is
//! empty does a request take fresh space from `next`, a compare-and-swap loop that refuses to
//! pass the end of the region ([`Error::SharedMemory`]). Blocks are not split or merged: space
//! freed in one class serves that class only.
//!
//! Each free list is a lock-free (Treiber) stack: its head holds the first block's offset
//! (in units of 8 bytes, low 32 bits) and a tag (high 32 bits) bumped by every push and pop,
//! so a pop that raced with others fails its compare-and-swap instead of taking a block twice
//! (no ABA). A free block's first 8 bytes link to the next. No lock is held, so a process that
//! dies anywhere in an allocation wedges nothing: at worst the block it was taking is lost.
//!
//! # Soundness
//!
//! Other processes write this memory at any time, so it is only ever read and written through
//! atomics ([`Atom`]), for which every bit pattern is valid. Every access is bounds- and
//! alignment-checked against the mapping, which is never unmapped: references into it are
//! `'static`. Bulk copies of bytes ([`Region::write_bytes`], [`Region::read_bytes`]) go
//! through `sys`, bounds-checked, for protocols (a ring of bytes) that hand ranges of bytes
//! from one process to another through atomics. A hostile offset, or a stale one into a block
//! freed and reused since, can therefore only produce an error or wrong values, never
//! undefined behaviour.

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
/// The head of the list of process records (see `holdings`).
pub(crate) const RECORDS_AT: usize = 24;
const CLASSES_AT: usize = 64;
/// Size classes: 32 of 16 bytes' steps up to 512, then 32 per power of two up to 2^40.
pub(crate) const CLASSES: usize = 32 + 31 * 32;
/// Where blocks start.
pub(crate) const HEADER_LEN: usize = CLASSES_AT + 8 * CLASSES;
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
    pub(crate) fn word<A: Atom>(&self, at: usize) -> &'static A {
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

    /// The region's length in bytes.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// A block of `size` bytes' class, from its free list if it has one: `(offset, class)`.
    /// `Ok(None)` when the list is empty and `fresh` is false; with `fresh`, fresh space is
    /// taken then, and [`Error::SharedMemory`] says the region is full. The block's bytes
    /// are zero only if it is fresh: the caller clears what it needs.
    pub(crate) fn alloc(&self, size: usize, fresh: bool) -> Result<Option<(usize, u32)>, Error> {
        let (class, class_size) = size_class(size).ok_or_else(|| {
            Error::SharedMemory(format!(
                "{size} bytes is more than a shared object may take"
            ))
        })?;
        if let Some(at) = self.pop(class) {
            return Ok(Some((at, class)));
        }
        if !fresh {
            return Ok(None);
        }
        self.bump(class_size).map(|at| Some((at, class)))
    }

    /// Puts the block at `at`, of class `class`, back on its free list.
    pub(crate) fn free(&self, at: usize, class: u32) {
        let (Some(head), Some(link)) = (self.class_head(class), self.atom::<AtomicU64>(at)) else {
            return;
        };
        let Ok(units) = u32::try_from(at / ALIGN) else {
            return;
        };
        let mut seen = head.load(Ordering::Acquire);
        loop {
            link.store(seen & u64::from(u32::MAX), Ordering::Release);
            let tagged = (seen >> 32).wrapping_add(1) << 32 | u64::from(units);
            match head.compare_exchange_weak(seen, tagged, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return,
                Err(now) => seen = now,
            }
        }
    }

    /// Bytes of blocks on the free lists now (a snapshot; a list that changes while it is
    /// walked may be counted in part).
    pub(crate) fn free_bytes(&self) -> usize {
        let mut free = 0;
        for class in 0..CLASSES as u32 {
            let Some(head) = self.class_head(class) else {
                continue;
            };
            let block = class_size(class);
            if block > self.len {
                break;
            }
            let mut at = (head.load(Ordering::Acquire) & u64::from(u32::MAX)) as usize * ALIGN;
            let mut steps = 0;
            while at >= HEADER_LEN && steps < self.len / block.max(1) {
                free += block;
                steps += 1;
                at = self.atom::<AtomicU64>(at).map_or(0, |link| {
                    (link.load(Ordering::Acquire) & u64::from(u32::MAX)) as usize * ALIGN
                });
            }
        }
        free
    }

    fn class_head(&self, class: u32) -> Option<&'static AtomicU64> {
        ((class as usize) < CLASSES).then(|| self.word(CLASSES_AT + 8 * class as usize))
    }

    /// Takes a block off class `class`'s free list.
    fn pop(&self, class: u32) -> Option<usize> {
        let head = self.class_head(class)?;
        let mut seen = head.load(Ordering::Acquire);
        loop {
            let at = (seen & u64::from(u32::MAX)) as usize * ALIGN;
            if at < HEADER_LEN {
                return None;
            }
            // A block another process took meanwhile may hold anything here: the tag makes
            // the exchange below fail then.
            let next = self.atom::<AtomicU64>(at)?.load(Ordering::Acquire) & u64::from(u32::MAX);
            let tagged = (seen >> 32).wrapping_add(1) << 32 | next;
            match head.compare_exchange_weak(seen, tagged, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return Some(at),
                Err(now) => seen = now,
            }
        }
    }

    /// Reserves `size` fresh bytes (a multiple of [`ALIGN`]); returns their offset.
    fn bump(&self, size: usize) -> Result<usize, Error> {
        let next = self.word::<AtomicU64>(NEXT_AT);
        let mut at = next.load(Ordering::Relaxed);
        loop {
            let start = usize::try_from(at).unwrap_or(usize::MAX);
            let end = match start.checked_add(size) {
                Some(end) if start >= HEADER_LEN && start % ALIGN == 0 && end <= self.len => end,
                _ => {
                    return Err(Error::SharedMemory(format!(
                        "the shared region ({} bytes) has no room for {size} more bytes \
                         (see amphi::process::set_shared_memory_size)",
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

/// The size class of a block of `size` bytes: its index and the class's block size (`None`
/// beyond 2^40 bytes, or beyond what a `usize` holds).
pub(crate) fn size_class(size: usize) -> Option<(u32, usize)> {
    let size = size.max(16);
    if size <= 512 {
        let class = size.div_ceil(16);
        return Some(((class - 1) as u32, class * 16));
    }
    // 2^power < size <= 2^(power + 1), power >= 9
    let power = (usize::BITS - 1 - (size - 1).leading_zeros()) as usize;
    let step = 1usize << (power - 5);
    let steps = size.div_ceil(step); // 33..=64
    let class = 32 + (power - 9) * 32 + (steps - 33);
    let block = steps.checked_mul(step)?;
    (class < CLASSES).then_some((class as u32, block))
}

/// The block size of class `class` (`usize::MAX` for one beyond what a `usize` holds).
fn class_size(class: u32) -> usize {
    let class = u64::from(class);
    if class < 32 {
        return (class as usize + 1) * 16;
    }
    let power = 9 + (class - 32) / 32;
    let steps = 33 + (class - 32) % 32;
    usize::try_from(steps << (power - 5)).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::{class_size, size_class};

    #[test]
    fn size_classes_cover_every_size_with_little_slack() {
        let mut last = (0, 16);
        for size in (1..70_000).chain([1 << 20, (1 << 20) + 1, 16 << 20]) {
            let (class, block) = size_class(size).unwrap();
            assert!(block >= size && block % 8 == 0, "{size} -> {block}");
            assert!(
                size <= 512 || block - size <= block / 32,
                "{size} -> {block}"
            );
            assert!(class >= last.0 && (class != last.0 || block == last.1));
            assert_eq!(class_size(class), block);
            last = (class, block);
        }
        assert!(size_class(usize::MAX).is_none());
    }
}
