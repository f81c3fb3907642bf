//! Who holds which objects: the reference counts that free an object once the last handle in
//! the process tree is gone, and the per-process records that release what a dead process held.
//!
//! # Counting
//!
//! An object's header counts the *processes* that hold it (plus, while a child starts, the
//! child's reservation, below), not the handles: within a process a table ([`LOCAL`]) counts
//! handles per object, and only its first handle (created, opened from a handle it received,
//! or adopted at start-up) adds one to the header, only its last one dropped takes one away.
//! The process that takes the count from 1 to 0 frees the block (its check cleared, so a stale
//! handle no longer opens, and its generation bumped, so a reuse of the block has new checks).
//! Opening takes a count only while it is above zero, and checks the header again afterwards,
//! so a block freed and reused meanwhile is refused (and the count given back).
//!
//! # Records: what a dead process held
//!
//! A process that holds objects owns a record in the region: a chain of [`CHUNK_LEN`]-byte
//! blocks, each with [`ENTRIES`] slots naming an object it holds (its offset, 0 for none).
//! Records form a list from the region's header; the first word of a record is its state:
//!
//! | state (high 32 bits) | low 32 bits | meaning |
//! |---|---|---|
//! | [`FREE`] | 0 | reusable by a new process |
//! | [`LIVE`] | pid | owned by that process |
//! | [`RESERVED`] | the parent's pid | made by a parent for a child about to start |
//! | [`SWEEPING`] | the sweeper's pid | being released by that process |
//!
//! A process only writes its own record, with its table's lock held; taking a count comes
//! before writing the slot, and clearing a slot before giving a count back, so a process
//! killed in between leaks one count (the object is never freed), never frees one too early.
//!
//! [`sweep`] releases the records of processes that died: a record whose owner (or reserving
//! parent, or sweeper) no longer runs is claimed by a compare-and-swap to [`SWEEPING`], each of
//! its slots swapped to 0 and its count given back, then the record is [`FREE`] for the next
//! process. The allocator sweeps before it takes fresh space (at most every
//! [`SWEEP_EVERY`]) and always before it reports the region full, and
//! `crate::process::shared_memory_usage` sweeps first: whoever next needs the space observes
//! the death, natively by `sys::pid_alive` (a zombie counts as dead), in the browser by the
//! process table, where a terminated worker is dead. A pid reused by an unrelated process
//! keeps the dead one's objects until that one ends too (nothing is freed early).
//!
//! # Handles passed to a child
//!
//! The objects in a process's arguments must outlive the parent's handles until the child
//! opens them. So [`capture`] notes the handles serialised into the arguments, a [`Holding`]
//! keeps each alive until the child starts, and at the start a [`Reservation`] (a record in
//! state [`RESERVED`] holding a count on each) is made and named in the start-up message;
//! the parent marks it [`LIVE`] for the child's pid once it runs, and the child [`adopt`]s it
//! as its own record before it opens its arguments. From then on the child's count is the
//! record's, and a child that dies at any point gives it back through the sweep.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use super::mapping::{region, Region, RECORDS_AT};
use crate::sys::region_atomics::{AtomicU32, AtomicU64 as RegionU64};
use crate::{sys, Error};

/// A record's bytes per block.
const CHUNK_LEN: usize = 512;
const STATE_AT: usize = 0;
const NEXT_RECORD_AT: usize = 8;
const NEXT_CHUNK_AT: usize = 16;
const ENTRIES_AT: usize = 24;
/// Slots per block.
const ENTRIES: usize = (CHUNK_LEN - ENTRIES_AT) / 8;

const FREE: u64 = 0;
const LIVE: u64 = 1;
const RESERVED: u64 = 2;
const SWEEPING: u64 = 3;

/// The least time between two sweeps before fresh space is taken.
const SWEEP_EVERY: Duration = Duration::from_millis(20);

/// Where an object's count and generation are in its header.
pub(super) const REFS_AT: usize = 16;
pub(super) const GENERATION_AT: usize = 20;
pub(super) const CLASS_AT: usize = 24;
pub(super) const CHECK_AT: usize = 8;
/// An object this one keeps alive (in units of 8 bytes; 0 for none), given back with it.
pub(super) const DEPENDENT_AT: usize = 28;

fn state(tag: u64, pid: u32) -> u64 {
    tag << 32 | u64::from(pid)
}

/// A slot of a record: its block and index.
#[derive(Debug, Clone, Copy)]
struct Slot {
    chunk: usize,
    index: usize,
}

impl Slot {
    fn at(self) -> usize {
        self.chunk + ENTRIES_AT + 8 * self.index
    }
}

#[derive(Debug)]
struct Held {
    /// Handles in this process (0 only for an adopted object not opened yet).
    handles: usize,
    slot: Slot,
}

/// This process's side of the counting (see the module docs).
#[derive(Debug, Default)]
struct Local {
    /// This process's record (its first block), once it holds anything.
    record: Option<usize>,
    /// The record's last block, where a new block is linked.
    last_chunk: usize,
    held: HashMap<usize, Held>,
    free_slots: Vec<Slot>,
}

static LOCAL: Mutex<Option<Local>> = Mutex::new(None);
/// This process's record, for the sweep (which never takes [`LOCAL`]'s lock).
static MY_RECORD: AtomicU64 = AtomicU64::new(0);
/// When this process last swept (nanoseconds of `sys::now`), 0 for never.
static LAST_SWEEP: AtomicU64 = AtomicU64::new(0);

fn with_local<R>(run: impl FnOnce(&mut Local) -> R) -> R {
    let mut local = LOCAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    run(local.get_or_insert_with(Local::default))
}

fn u64_at(region: &Region, at: usize) -> Option<&'static RegionU64> {
    region.atom(at)
}

fn refs(region: &Region, offset: usize) -> Option<&'static AtomicU32> {
    region.atom(offset + REFS_AT)
}

/// Gives back one count of the object at `offset`, freeing its block at zero.
pub(super) fn give_back(region: &Region, offset: usize) {
    let Some(refs) = refs(region, offset) else {
        return;
    };
    let mut seen = refs.load(Ordering::Acquire);
    loop {
        if seen == 0 {
            return; // never below zero, whatever a corrupt record says
        }
        match refs.compare_exchange(seen, seen - 1, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => break,
            Err(now) => seen = now,
        }
    }
    if seen != 1 {
        return;
    }
    let (Some(check), Some(generation), Some(class)) = (
        u64_at(region, offset + CHECK_AT),
        region.atom::<AtomicU32>(offset + GENERATION_AT),
        region.atom::<AtomicU32>(offset + CLASS_AT),
    ) else {
        return;
    };
    check.store(0, Ordering::Release);
    generation.fetch_add(1, Ordering::AcqRel);
    let dependent = region
        .atom::<AtomicU32>(offset + DEPENDENT_AT)
        .map_or(0, |dependent| {
            dependent.swap(0, Ordering::AcqRel) as usize * 8
        });
    region.free(offset, class.load(Ordering::Acquire));
    if dependent != 0 && dependent != offset {
        give_back(region, dependent);
    }
}

/// Makes the object at `owner` keep the one at `dependent` (held by the caller) alive until
/// it is freed itself; a dependent it kept before is given back.
pub(super) fn attach(region: &Region, owner: usize, dependent: usize) {
    let (Some(slot), Some(refs), Ok(units)) = (
        region.atom::<AtomicU32>(owner + DEPENDENT_AT),
        refs(region, dependent),
        u32::try_from(dependent / 8),
    ) else {
        return;
    };
    refs.fetch_add(1, Ordering::AcqRel);
    let before = slot.swap(units, Ordering::AcqRel) as usize * 8;
    if before != 0 {
        give_back(region, before);
    }
}

/// Takes one more count on the object at `offset` if it is alive (above zero) and its check
/// is still `check` (the block was not freed and reused meanwhile).
fn take_count(region: &Region, offset: usize, check: u64) -> bool {
    let (Some(refs), Some(check_here)) = (refs(region, offset), u64_at(region, offset + CHECK_AT))
    else {
        return false;
    };
    let mut seen = refs.load(Ordering::Acquire);
    loop {
        if seen == 0 || seen == u32::MAX {
            return false;
        }
        match refs.compare_exchange(seen, seen + 1, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => break,
            Err(now) => seen = now,
        }
    }
    if check_here.load(Ordering::Acquire) == check {
        return true;
    }
    give_back(region, offset);
    false
}

impl Local {
    /// This process's record, claimed (a free one reused) or made on first need.
    fn record(&mut self, region: &Region) -> Result<usize, Error> {
        if let Some(record) = self.record {
            return Ok(record);
        }
        let me = sys::current_pid();
        let record = claim_record(region, state(LIVE, me))?;
        self.record = Some(record);
        self.last_chunk = last_chunk(region, record);
        self.free_slots = slots_of(region, record, |_| true);
        MY_RECORD.store(record as u64, Ordering::Release);
        Ok(record)
    }

    fn free_slot(&mut self, region: &Region) -> Result<Slot, Error> {
        self.record(region)?;
        if let Some(slot) = self.free_slots.pop() {
            return Ok(slot);
        }
        let chunk = new_chunk(region)?;
        let link = u64_at(region, self.last_chunk + NEXT_CHUNK_AT).expect("a chunk is in bounds");
        link.store(chunk as u64, Ordering::Release);
        self.last_chunk = chunk;
        self.free_slots = (0..ENTRIES)
            .rev()
            .map(|index| Slot { chunk, index })
            .collect();
        Ok(self.free_slots.pop().expect("a new chunk has slots"))
    }

    /// Records a count this process just took on `offset`, with its first handle.
    fn note(&mut self, region: &Region, offset: usize, handles: usize) -> Result<(), Error> {
        let slot = match self.free_slot(region) {
            Ok(slot) => slot,
            Err(full) => {
                give_back(region, offset);
                return Err(full);
            }
        };
        u64_at(region, slot.at())
            .expect("a slot is in bounds")
            .store(offset as u64, Ordering::Release);
        self.held.insert(offset, Held { handles, slot });
        Ok(())
    }

    fn drop_handle(&mut self, region: &Region, offset: usize) {
        let Some(held) = self.held.get_mut(&offset) else {
            return;
        };
        held.handles = held.handles.saturating_sub(1);
        if held.handles == 0 {
            let slot = held.slot;
            self.held.remove(&offset);
            self.forget(region, offset, slot);
        }
    }

    fn forget(&mut self, region: &Region, offset: usize, slot: Slot) {
        if let Some(entry) = u64_at(region, slot.at()) {
            entry.store(0, Ordering::Release);
        }
        self.free_slots.push(slot);
        give_back(region, offset);
    }
}

/// The slots of the record at `record` (every block) that satisfy `keep` (given the entry).
fn slots_of(region: &Region, record: usize, mut keep: impl FnMut(u64) -> bool) -> Vec<Slot> {
    let mut slots = Vec::new();
    let mut chunk = record;
    while chunk != 0 {
        for index in (0..ENTRIES).rev() {
            let slot = Slot { chunk, index };
            if let Some(entry) = u64_at(region, slot.at()) {
                if keep(entry.load(Ordering::Acquire)) {
                    slots.push(slot);
                }
            }
        }
        chunk = next_chunk(region, chunk);
    }
    slots
}

/// The last block of the record at `record` (a reused record keeps its blocks).
fn last_chunk(region: &Region, record: usize) -> usize {
    let mut last = record;
    let mut chunk = record;
    while chunk != 0 {
        last = chunk;
        chunk = next_chunk(region, chunk);
    }
    last
}

fn next_chunk(region: &Region, chunk: usize) -> usize {
    u64_at(region, chunk + NEXT_CHUNK_AT)
        .map_or(0, |next| next.load(Ordering::Acquire) as usize)
        .min(region.len())
}

/// A zeroed block for a record.
fn new_chunk(region: &Region) -> Result<usize, Error> {
    let (chunk, _) = super::object::allocate(region, CHUNK_LEN)?;
    region.write_bytes(chunk, &[0; CHUNK_LEN]);
    Ok(chunk)
}

/// A record in state `new`: a free one, or a new one linked at the head of the list.
fn claim_record(region: &Region, new: u64) -> Result<usize, Error> {
    let head = u64_at(region, RECORDS_AT).expect("the header is in bounds");
    let mut record = head.load(Ordering::Acquire) as usize;
    while record != 0 {
        let Some(word) = u64_at(region, record + STATE_AT) else {
            break;
        };
        if word
            .compare_exchange(FREE, new, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            return Ok(record);
        }
        record = u64_at(region, record + NEXT_RECORD_AT)
            .map_or(0, |next| next.load(Ordering::Acquire) as usize);
    }
    let record = new_chunk(region)?;
    let state_word = u64_at(region, record + STATE_AT).expect("a chunk is in bounds");
    state_word.store(new, Ordering::Release);
    let link = u64_at(region, record + NEXT_RECORD_AT).expect("a chunk is in bounds");
    let mut seen = head.load(Ordering::Acquire);
    loop {
        link.store(seen, Ordering::Release);
        match head.compare_exchange_weak(seen, record as u64, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return Ok(record),
            Err(now) => seen = now,
        }
    }
}

/// Notes the count a new object was created with (its first handle, in this process).
pub(super) fn created(region: &Region, offset: usize) -> Result<(), Error> {
    with_local(|local| local.note(region, offset, 1))
}

/// One more handle to an object this process holds (a clone).
pub(super) fn cloned(offset: usize) {
    with_local(|local| {
        if let Some(held) = local.held.get_mut(&offset) {
            held.handles += 1;
        }
    });
}

/// One more handle to the object at `offset` whose check is `check`: counted locally if this
/// process holds it, else a count taken in the header. `false` if the object is gone.
pub(super) fn opened(region: &Region, offset: usize, check: u64) -> Result<bool, Error> {
    with_local(|local| {
        if let Some(held) = local.held.get_mut(&offset) {
            held.handles += 1;
            return Ok(true);
        }
        if !take_count(region, offset, check) {
            return Ok(false);
        }
        local.note(region, offset, 1).map(|()| true)
    })
}

/// A handle dropped.
pub(super) fn dropped(region: &Region, offset: usize) {
    with_local(|local| local.drop_handle(region, offset));
}

/// Releases the records of processes that died (see the module docs). With `force`, now;
/// without, only if the last sweep was at least [`SWEEP_EVERY`] ago.
pub(crate) fn sweep(region: &Region, force: bool) {
    let now = sys::now().as_nanos() as u64 | 1;
    let last = LAST_SWEEP.load(Ordering::Relaxed);
    if !force && last != 0 && now.saturating_sub(last) < SWEEP_EVERY.as_nanos() as u64 {
        return;
    }
    LAST_SWEEP.store(now, Ordering::Relaxed);
    let me = sys::current_pid();
    let mine = MY_RECORD.load(Ordering::Acquire) as usize;
    let Some(head) = u64_at(region, RECORDS_AT) else {
        return;
    };
    let mut record = head.load(Ordering::Acquire) as usize;
    let mut visited = 0usize;
    while record != 0 && visited < region.len() / CHUNK_LEN {
        visited += 1;
        let Some(word) = u64_at(region, record + STATE_AT) else {
            break;
        };
        let seen = word.load(Ordering::Acquire);
        let (tag, pid) = (seen >> 32, seen as u32);
        let dead = match tag {
            // A live record of this pid that is not this process's is an earlier process's
            // whose pid this one reuses: that one is dead. (Before this process has a record
            // of its own, one it is claiming right now may look so: then the rule waits.)
            LIVE => {
                (pid == me && mine != 0 && record != mine) || (pid != me && !sys::pid_alive(pid))
            }
            RESERVED | SWEEPING => pid != me && !sys::pid_alive(pid),
            _ => false,
        };
        if dead
            && word
                .compare_exchange(
                    seen,
                    state(SWEEPING, me),
                    Ordering::AcqRel,
                    Ordering::Acquire,
                )
                .is_ok()
        {
            release_record(region, record);
            word.store(FREE, Ordering::Release);
        }
        record = u64_at(region, record + NEXT_RECORD_AT)
            .map_or(0, |next| next.load(Ordering::Acquire) as usize);
    }
}

/// Gives back every count the record holds (its slots cleared first).
fn release_record(region: &Region, record: usize) {
    for slot in slots_of(region, record, |entry| entry != 0) {
        let Some(entry) = u64_at(region, slot.at()) else {
            continue;
        };
        let offset = entry.swap(0, Ordering::AcqRel) as usize;
        if offset != 0 {
            give_back(region, offset);
        }
    }
}

thread_local! {
    /// The handles serialised on this thread while [`capture`] runs.
    static CAPTURED: RefCell<Option<Vec<(usize, u64)>>> = const { RefCell::new(None) };
}

/// Notes a handle being serialised, if a [`capture`] runs on this thread.
pub(super) fn note_serialised(offset: usize, check: u64) {
    CAPTURED.with(|captured| {
        if let Some(captured) = captured.borrow_mut().as_mut() {
            captured.push((offset, check));
        }
    });
}

/// A count kept on an object by this process (one local handle), for as long as it lives.
#[derive(Debug)]
pub(crate) struct Holding {
    region: &'static Region,
    offset: usize,
}

impl Drop for Holding {
    fn drop(&mut self) {
        dropped(self.region, self.offset);
    }
}

/// Runs `serialise`, and returns what it returned with a [`Holding`] on every object whose
/// handle it serialised (the arguments of a process, kept alive until the child opens them).
pub(crate) fn capture<R>(serialise: impl FnOnce() -> R) -> (R, Vec<Holding>) {
    let outer = CAPTURED.with(|captured| captured.borrow_mut().replace(Vec::new()));
    let result = serialise();
    let captured = CAPTURED
        .with(|captured| std::mem::replace(&mut *captured.borrow_mut(), outer))
        .unwrap_or_default();
    if captured.is_empty() {
        return (result, Vec::new());
    }
    let Ok(region) = region() else {
        return (result, Vec::new());
    };
    let mut holdings = Vec::new();
    for (offset, check) in captured {
        if opened(region, offset, check) == Ok(true) {
            holdings.push(Holding { region, offset });
        }
    }
    (result, holdings)
}

/// A record made for a child about to start, holding a count on each object of its
/// arguments (see the module docs). Dropped before [`started`](Reservation::started), it gives
/// them back.
#[derive(Debug)]
pub(crate) struct Reservation {
    region: &'static Region,
    record: usize,
    started: bool,
}

impl Reservation {
    /// A reservation for `holdings`' objects; `None` when there are none (or no region).
    pub(crate) fn new(holdings: &[Holding]) -> Result<Option<Reservation>, Error> {
        let Some(first) = holdings.first() else {
            return Ok(None);
        };
        let region = first.region;
        let record = claim_record(region, state(RESERVED, sys::current_pid()))?;
        let reservation = Reservation {
            region,
            record,
            started: false,
        };
        let mut slots = slots_of(region, record, |_| true);
        let mut offsets: Vec<usize> = holdings.iter().map(|held| held.offset).collect();
        offsets.sort_unstable();
        offsets.dedup();
        let mut last = last_chunk(region, record);
        for offset in offsets {
            let slot = match slots.pop() {
                Some(slot) => slot,
                None => {
                    let chunk = new_chunk(region)?;
                    u64_at(region, last + NEXT_CHUNK_AT)
                        .expect("a chunk is in bounds")
                        .store(chunk as u64, Ordering::Release);
                    last = chunk;
                    slots = (0..ENTRIES)
                        .rev()
                        .map(|index| Slot { chunk, index })
                        .collect();
                    slots.pop().expect("a new chunk has slots")
                }
            };
            // The holding keeps the count above zero: this cannot fail.
            if let Some(refs) = refs(region, offset) {
                refs.fetch_add(1, Ordering::AcqRel);
            }
            u64_at(region, slot.at())
                .expect("a slot is in bounds")
                .store(offset as u64, Ordering::Release);
        }
        Ok(Some(reservation))
    }

    /// The record, for the start-up message.
    pub(crate) fn record(&self) -> u64 {
        self.record as u64
    }

    /// The child runs, as `pid`: the record is its own from now on.
    pub(crate) fn started(mut self, pid: u32) {
        self.started = true;
        if let Some(word) = u64_at(self.region, self.record + STATE_AT) {
            let _ = word.compare_exchange(
                state(RESERVED, sys::current_pid()),
                state(LIVE, pid),
                Ordering::AcqRel,
                Ordering::Acquire,
            );
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if self.started {
            return;
        }
        let Some(word) = u64_at(self.region, self.record + STATE_AT) else {
            return;
        };
        let me = sys::current_pid();
        if word
            .compare_exchange(
                state(RESERVED, me),
                state(SWEEPING, me),
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_ok()
        {
            release_record(self.region, self.record);
            word.store(FREE, Ordering::Release);
        }
    }
}

/// In a child, before it opens its arguments: takes the record its parent reserved (offset
/// `record`, 0 for none) as its own. Its objects count as held, with no handle yet, until
/// [`settle`].
pub(crate) fn adopt(record: u64) -> Result<(), Error> {
    if record == 0 {
        return Ok(());
    }
    let region = region()?;
    let record = usize::try_from(record).unwrap_or(usize::MAX);
    let me = sys::current_pid();
    let word = u64_at(region, record + STATE_AT)
        .filter(|_| record % 8 == 0)
        .ok_or_else(|| Error::SharedMemory("the start-up message names no record".to_owned()))?;
    let seen = word.load(Ordering::Acquire);
    let ours = match seen >> 32 {
        LIVE => seen as u32 == me,
        RESERVED => word
            .compare_exchange(seen, state(LIVE, me), Ordering::AcqRel, Ordering::Acquire)
            .is_ok(),
        _ => false,
    };
    if !ours {
        return Err(Error::SharedMemory(
            "the objects passed to this process were released before it started".to_owned(),
        ));
    }
    with_local(|local| {
        if local.record.is_some() {
            return;
        }
        local.record = Some(record);
        MY_RECORD.store(record as u64, Ordering::Release);
        local.last_chunk = last_chunk(region, record);
        let mut held = Vec::new();
        local.free_slots = slots_of(region, record, |entry| {
            held.push(entry);
            entry == 0
        });
        let all = slots_of(region, record, |_| true);
        for (slot, entry) in all.into_iter().zip(held) {
            if entry != 0 {
                local.held.insert(entry as usize, Held { handles: 0, slot });
            }
        }
    });
    Ok(())
}

/// In a child, once its arguments are open: gives back the adopted objects it holds no
/// handle to.
pub(crate) fn settle() {
    with_local(|local| {
        let unheld: Vec<(usize, Slot)> = local
            .held
            .iter()
            .filter(|(_, held)| held.handles == 0)
            .map(|(&offset, held)| (offset, held.slot))
            .collect();
        if unheld.is_empty() {
            return;
        }
        // Something was adopted, so the region is mapped.
        let Ok(region) = region() else {
            return;
        };
        for (offset, slot) in unheld {
            local.held.remove(&offset);
            local.forget(region, offset, slot);
        }
    });
}
