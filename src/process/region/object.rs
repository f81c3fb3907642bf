//! Objects in the region, their serialisable [`Handle`]s, and [`SharedWord`].
//!
//! Every object starts with a 32-byte header, then its body:
//!
//! | offset | content |
//! |---|---|
//! | 0 | kind (`u32`): which type lives here (and, for values, the element type) |
//! | 4 | aux (`u32`): a per-kind number (a semaphore's bound, an array's length) |
//! | 8 | check (`u64`): a checksum of the region's identity, the offset, the kind and the generation; 0 once freed |
//! | 16 | refs (`u32`): how many processes hold the object (see `holdings`) |
//! | 20 | generation (`u32`): bumped each time the block is freed, so a reuse has new checks |
//! | 24 | the block's size class (`u32`, see `mapping`) |
//! | 28 | an object this one keeps alive (`u32`, its offset / 8; 0 for none): a barrier's action argument |
//!
//! A [`Handle`] is `(offset, kind, check)`. Opening one (in the process that made it, in a
//! child that received it as an argument, or from a message) validates it: the offset is
//! aligned and inside what has been allocated, the check matches this region, the kind and the
//! block's generation, the object is still held by someone, and the header in the region says
//! the same. A corrupt or hostile handle, one from another process tree, or a stale one (its
//! object freed since, perhaps its block reused) is an error.
//!
//! An [`Object`] is a handle opened in this process: it counts as one of its holders (see
//! `holdings`), cloning it is another handle, and dropping the last one in the process tree
//! frees the block. A [`Place`] is a plain view of an object (copied freely, no count) for
//! code that runs while some `Object` keeps it alive, such as the steps of a ring operation.

use crate::sys::region_atomics::{AtomicU32, AtomicU64};
use crate::sys::Futex;
use crate::time::Deadline;
use std::future::Future;
use std::ops::Deref;

use serde::{Deserialize, Serialize, Serializer};

use super::holdings::{self, CLASS_AT, DEPENDENT_AT, GENERATION_AT, REFS_AT};
use super::mapping::{region, Atom, Region, ALIGN, HEADER_LEN};
use crate::sync::atomic::Ordering;
use crate::sync::Word;
use crate::{sys, Error};

/// The header's length.
const OBJECT_HEADER: usize = 32;

/// What a shared object travels as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub(crate) struct Handle {
    offset: u64,
    kind: u32,
    check: u64,
}

impl Serialize for Handle {
    /// As the three fields; a handle serialised into a process's arguments is noted, so that
    /// its object lives until the child opens it (see `holdings`).
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Handle {
            offset: u64,
            kind: u32,
            check: u64,
        }
        if let Ok(offset) = usize::try_from(self.offset) {
            holdings::note_serialised(offset, self.check);
        }
        Handle {
            offset: self.offset,
            kind: self.kind,
            check: self.check,
        }
        .serialize(serializer)
    }
}

impl Handle {
    /// The handle as (offset, kind, check), for an object that keeps another's handle in its
    /// own body (a process barrier's action argument).
    pub(crate) fn to_parts(self) -> (u64, u32, u64) {
        (self.offset, self.kind, self.check)
    }

    /// A handle from [`to_parts`](Handle::to_parts)'s numbers; unvalidated until opened.
    pub(crate) fn from_parts(offset: u64, kind: u32, check: u64) -> Handle {
        Handle {
            offset,
            kind,
            check,
        }
    }
}

/// An object of the region, validated and held by this process (see the module docs).
#[derive(Debug)]
pub(crate) struct Object {
    place: Place,
}

/// A view of an object of the region, valid while an [`Object`] holds it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Place {
    region: &'static Region,
    offset: usize,
    kind: u32,
    aux: u32,
    body_len: usize,
    check: u64,
}

impl Deref for Object {
    type Target = Place;
    fn deref(&self) -> &Place {
        &self.place
    }
}

impl Clone for Object {
    /// Another handle to the same object.
    fn clone(&self) -> Object {
        holdings::cloned(self.place.offset);
        Object { place: self.place }
    }
}

impl Drop for Object {
    fn drop(&mut self) {
        holdings::dropped(self.place.region, self.place.offset);
    }
}

fn check_of(region: &Region, offset: usize, kind: u32, generation: u32) -> u64 {
    // splitmix64 of the four: a checksum against accidents, not a secret.
    let mut x = region.id()
        ^ (offset as u64).rotate_left(20)
        ^ (u64::from(kind) << 44)
        ^ (u64::from(generation) << 7);
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (x ^ (x >> 31)) | 1
}

/// A block of `size` bytes: a free one of its class, or fresh space. Before taking fresh
/// space, and again before giving up, the records of dead processes are released (see
/// `holdings`). The block's bytes are not cleared.
pub(super) fn allocate(region: &Region, size: usize) -> Result<(usize, u32), Error> {
    if let Some(block) = region.alloc(size, false)? {
        return Ok(block);
    }
    holdings::sweep(region, false);
    match region.alloc(size, true) {
        Ok(Some(block)) => Ok(block),
        Ok(None) => unreachable!("fresh space is taken or refused"),
        Err(full) => {
            holdings::sweep(region, true);
            region.alloc(size, true)?.ok_or(full)
        }
    }
}

/// Zeroes bytes `[at, at + len)` of the region.
fn clear(region: &Region, at: usize, len: usize) {
    const ZEROS: [u8; 4096] = [0; 4096];
    let mut done = 0;
    while done < len {
        let n = (len - done).min(ZEROS.len());
        region.write_bytes(at + done, &ZEROS[..n]);
        done += n;
    }
}

impl Object {
    /// Allocates an object of `kind` with a zeroed body of `body_len` bytes.
    pub(crate) fn create(kind: u32, aux: u32, body_len: usize) -> Result<Object, Error> {
        Object::create_cleared(kind, aux, body_len, body_len)
    }

    /// Allocates an object of `kind` with a body of `body_len` bytes whose first `cleared`
    /// bytes are zero (the rest holds whatever a freed block held: for bytes the object's
    /// protocol writes before it reads them).
    pub(crate) fn create_cleared(
        kind: u32,
        aux: u32,
        body_len: usize,
        cleared: usize,
    ) -> Result<Object, Error> {
        let region = region()?;
        let size = OBJECT_HEADER
            .checked_add(body_len)
            .ok_or_else(|| Error::InvalidArgument("shared object too large".to_owned()))?;
        let (offset, class) = allocate(region, size)?;
        let header = |at| {
            region
                .atom::<AtomicU32>(offset + at)
                .expect("an allocated header is in bounds")
        };
        let check_word: &AtomicU64 = region
            .atom(offset + 8)
            .expect("an allocated header is in bounds");
        // A freed block's generation lives on; everything else is new.
        let generation = header(GENERATION_AT).load(Ordering::Acquire);
        check_word.store(0, Ordering::Release);
        clear(region, offset + OBJECT_HEADER, cleared.min(body_len));
        header(0).store(kind, Ordering::Relaxed);
        header(4).store(aux, Ordering::Relaxed);
        header(REFS_AT).store(1, Ordering::Relaxed);
        header(CLASS_AT).store(class, Ordering::Relaxed);
        header(DEPENDENT_AT).store(0, Ordering::Relaxed);
        let check = check_of(region, offset, kind, generation);
        check_word.store(check, Ordering::Release);
        let object = Object {
            place: Place {
                region,
                offset,
                kind,
                aux,
                body_len,
                check,
            },
        };
        holdings::created(region, offset)?;
        Ok(object)
    }

    /// Validates `handle` as an object of `kind`, whose body length follows from its aux
    /// (`None`: an aux this kind never has), and holds it.
    pub(crate) fn open(
        handle: Handle,
        kind: u32,
        body_len: impl FnOnce(u32) -> Option<usize>,
    ) -> Result<Object, String> {
        let region = region().map_err(|err| err.to_string())?;
        let offset = usize::try_from(handle.offset).map_err(|_| "offset out of range")?;
        if handle.kind != kind {
            return Err(format!(
                "{} handle, not {}",
                with_article(&type_name(handle.kind)),
                with_article(&type_name(kind))
            ));
        }
        if offset < HEADER_LEN || offset % ALIGN != 0 {
            return Err(
                "not a handle to an object of this process tree's shared region".to_owned(),
            );
        }
        let allocated = region.allocated();
        let header_end = offset
            .checked_add(OBJECT_HEADER)
            .filter(|&end| end <= allocated);
        let header = header_end.and_then(|_| {
            let kind_here: &AtomicU32 = region.atom(offset)?;
            let aux: &AtomicU32 = region.atom(offset + 4)?;
            let check: &AtomicU64 = region.atom(offset + 8)?;
            let generation: &AtomicU32 = region.atom(offset + GENERATION_AT)?;
            Some((
                kind_here.load(Ordering::Relaxed),
                aux.load(Ordering::Relaxed),
                check.load(Ordering::Acquire),
                generation.load(Ordering::Acquire),
            ))
        });
        let Some((kind_here, aux, check, generation)) = header else {
            return Err("the handle points past the shared objects".to_owned());
        };
        if handle.check != check_of(region, offset, kind, generation) {
            return Err(if check == 0 || kind_here != kind {
                "the handle's object was freed (no process held it any more)".to_owned()
            } else {
                "not a handle to a live object of this process tree's shared region (a handle \
                 from another tree, or one whose object was freed and its space reused)"
                    .to_owned()
            });
        }
        if kind_here != kind || check != handle.check {
            return Err("the handle's object was freed (no process held it any more)".to_owned());
        }
        let body_len = body_len(aux).ok_or("the shared object's header is corrupt")?;
        match (offset + OBJECT_HEADER).checked_add(body_len) {
            Some(end) if end <= allocated => {}
            _ => return Err("the shared object's header is corrupt".to_owned()),
        }
        match holdings::opened(region, offset, check) {
            Ok(true) => Ok(Object {
                place: Place {
                    region,
                    offset,
                    kind,
                    aux,
                    body_len,
                    check,
                },
            }),
            Ok(false) => {
                Err("the handle's object was freed (no process held it any more)".to_owned())
            }
            Err(full) => Err(full.to_string()),
        }
    }

    /// Keeps `dependent` alive for as long as this object lives (a barrier's action argument),
    /// instead of a dependent kept before.
    pub(crate) fn attach(&self, dependent: &Object) {
        holdings::attach(self.region, self.offset, dependent.offset);
    }

    /// A plain view of the object, valid while this handle (or another) holds it.
    pub(crate) fn place(&self) -> Place {
        self.place
    }
}

impl Place {
    /// The handle that opens this object.
    pub(crate) fn handle(&self) -> Handle {
        Handle {
            offset: self.offset as u64,
            kind: self.kind,
            check: self.check,
        }
    }

    /// The aux number recorded at creation.
    pub(crate) fn aux(&self) -> u32 {
        self.aux
    }

    /// The atomic at byte `at` of the body; `at` must be aligned for `A` and in the body.
    pub(crate) fn atom<A: Atom>(&self, at: usize) -> &'static A {
        assert!(at + A::SIZE <= self.body_len, "outside the object's body");
        self.region
            .atom(self.offset + OBJECT_HEADER + at)
            .expect("a validated body is in bounds and aligned")
    }

    /// Copies `bytes` into the body at byte `at`; panics outside the body. The caller's
    /// protocol must own those bytes (see [`Region::write_bytes`]).
    pub(crate) fn write_bytes(&self, at: usize, bytes: &[u8]) {
        assert!(
            at.checked_add(bytes.len())
                .is_some_and(|end| end <= self.body_len),
            "outside the object's body"
        );
        let copied = self
            .region
            .write_bytes(self.offset + OBJECT_HEADER + at, bytes);
        assert!(copied, "a validated body is in bounds");
    }

    /// Copies the body's bytes at `at` into `out`; panics outside the body. The caller's
    /// protocol must keep writers off them (see [`Region::read_bytes`]).
    pub(crate) fn read_bytes(&self, at: usize, out: &mut [u8]) {
        assert!(
            at.checked_add(out.len())
                .is_some_and(|end| end <= self.body_len),
            "outside the object's body"
        );
        let copied = self
            .region
            .read_bytes(self.offset + OBJECT_HEADER + at, out);
        assert!(copied, "a validated body is in bounds");
    }

    /// The 32-bit word at byte `at` of the body.
    pub(crate) fn word(&self, at: usize) -> SharedWord {
        SharedWord(self.atom(at))
    }
}

/// A 32-bit word in the region: the process family's [`Word`], on shared futexes.
///
/// It holds a `'static` reference to a region atomic: natively into a mapping that is never
/// unmapped, in the browser a proxy for a word of the region's `SharedArrayBuffer` (see
/// `sys`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct SharedWord(&'static AtomicU32);

impl SharedWord {
    /// Completes once the word may no longer hold `expected` (spurious completions allowed):
    /// `true`, or `false` once `deadline` passed. Borrows nothing, so it may be kept in a
    /// future's state.
    pub(crate) fn wait_async_until(
        self,
        expected: u32,
        deadline: Deadline,
    ) -> impl Future<Output = bool> + 'static {
        sys::wait_shared_async(self.0, expected, deadline)
    }
}

impl Word for SharedWord {
    #[inline]
    fn load(&self, order: Ordering) -> u32 {
        self.0.load(order)
    }
    #[inline]
    fn swap(&self, value: u32, order: Ordering) -> u32 {
        self.0.swap(value, order)
    }
    #[inline]
    fn compare_exchange(
        &self,
        current: u32,
        new: u32,
        success: Ordering,
        failure: Ordering,
    ) -> Result<u32, u32> {
        self.0.compare_exchange(current, new, success, failure)
    }
    #[inline]
    fn fetch_add(&self, value: u32, order: Ordering) -> u32 {
        self.0.fetch_add(value, order)
    }
    #[inline]
    fn fetch_sub(&self, value: u32, order: Ordering) -> u32 {
        self.0.fetch_sub(value, order)
    }
    #[inline]
    fn fetch_and(&self, value: u32, order: Ordering) -> u32 {
        self.0.fetch_and(value, order)
    }
    #[inline]
    fn futex(&self) -> Futex<'_> {
        Futex::Shared(self.0)
    }
    /// In the browser, `Atomics.waitAsync` on the region's buffer; natively, the process's
    /// watcher thread (see `sys`).
    fn wait_async(&self, expected: u32) -> impl Future<Output = ()> + '_ {
        let waited = sys::wait_shared_async(self.0, expected, Deadline::NEVER);
        async move {
            waited.await;
        }
    }
}

/// The name of the type whose objects are of `kind`, for error messages ("a Queue handle, not
/// a Lock"). The numbers are the `KIND_*` constants of the types' own files (`lock.rs`,
/// `semaphore.rs`, ..., `value.rs`); a new kind of object adds its line here.
fn type_name(kind: u32) -> String {
    const ELEMENTS: [&str; 10] = [
        "i8", "u8", "i16", "u16", "i32", "u32", "i64", "u64", "f32", "f64",
    ];
    let element = || {
        ELEMENTS
            .get((kind & 0xff) as usize)
            .map_or_else(|| "an unknown number".to_owned(), |name| (*name).to_owned())
    };
    match kind {
        1 => "Lock".to_owned(),
        2 => "Semaphore".to_owned(),
        3 => "BoundedSemaphore".to_owned(),
        4 => "Event".to_owned(),
        5 => "Barrier".to_owned(),
        6 => "RLock".to_owned(),
        7 => "Condition".to_owned(),
        8 => "JoinableQueue task count".to_owned(),
        0x10 => "Queue".to_owned(),
        0x11 => "Pipe Connection".to_owned(),
        0x100..=0x1ff => format!("Value<{}>", element()),
        0x200..=0x2ff => format!("Array<{}>", element()),
        other => format!("unknown object (kind {other:#x})"),
    }
}

/// `name` with its indefinite article.
fn with_article(name: &str) -> String {
    let vowel = name.starts_with(['A', 'E', 'I', 'O', 'U', 'a', 'e', 'i', 'o', 'u'])
        || name.starts_with("RLock");
    format!("{} {name}", if vowel { "an" } else { "a" })
}
