//! A ring of bytes in the shared region: the channel under process [`Queue`](crate::process::Queue)s
//! and [`Connection`](crate::process::Connection)s. It carries frames (a little-endian `u32` length,
//! then that many bytes) from any number of writers to any number of readers, in any
//! processes of the tree.
//!
//! # Layout
//!
//! Body (after the object header): five 64-byte lines of words, then [`RING_LEN`] bytes of
//! data. Words written by the writer side and by the reader side sit on separate cache lines, so
//! a writer and a reader on two cores do not fight over one line for every access.
//!
//! | offset | word |
//! |---|---|
//! | 0, 8 | the writer lock (`RawOwnedLock`: its holder's pid, 0 when free), whether the holder is in the middle of a frame (4 is unused) |
//! | 12 | the last writer: the pid of the process that last sent, or took the sending end (pipes) |
//! | 64, 72 | the same two as at 0 for the reader lock |
//! | 76 | the last reader: the pid of the process that last received, or took the receiving end (pipes) |
//! | 128, 132 | `write_pos` (bytes ever written; wrapping, `pos % RING_LEN` is the index) and `data_seq`, bumped whenever bytes are published or the ring is closed |
//! | 136 | the sleepers of `room_seq` (writers waiting for room) |
//! | 192, 196 | `read_pos` (bytes ever read) and `room_seq`, bumped whenever bytes are consumed or the ring is closed |
//! | 200 | the sleepers of `data_seq` (readers waiting for bytes) |
//! | 256 | used: frames started and not yet wholly read (a queue's `qsize`) |
//! | 260 | flags: [`WRITE_CLOSED`], [`READ_CLOSED`] |
//! | 264 | broken: the pid of a process that died in the middle of a frame, else 0 |
//!
//! # Protocol
//!
//! A writer holds the writer lock for a whole frame and a reader the reader lock for a whole
//! frame, so between them the ring is single-producer single-consumer and frames never
//! interleave. The writer copies bytes into free space (`sys::region_write_bytes`), then
//! publishes them by storing `write_pos`; the reader copies published bytes out, then frees
//! them by storing `read_pos`. A frame that fits ([`RING_LEN`] bytes with its length) is
//! published whole; a longer one streams through in chunks while the reader drains it.
//!
//! Sleepers wait on a sequence word, never on the positions: a sleeper reads the sequence,
//! checks its condition, announces itself in the sleepers word, re-reads the sequence and
//! sleeps only if it did not move; a waker bumps the sequence, then wakes only if someone
//! announced. All of these are sequentially consistent, so a wake-up is never lost, and a
//! frame costs no system call when nobody sleeps.
//!
//! Each call is an op (`Sending`, `Receiving`, `Polling`), run by a driver of `drive`: blocking,
//! or as a future for the `_async` forms.
//!
//! # Processes that die
//!
//! Every wait sleeps in slices of at most 100 ms. After a quiet slice:
//! - a process waiting for a lock whose holder died takes the lock over if the dead holder was
//!   between frames (a consumer killed while waiting in `get` costs nothing);
//! - if the dead holder was in the middle of a frame (or a reader waits for the rest of a
//!   frame whose writer died, or a writer for room that a dead reader will never free), the
//!   ring holds a partial frame: it is marked broken, and every call on it returns
//!   [`Error::PeerDied`] from then on, instead of waiting forever.
//!
//! "In the middle of a frame" (the side's `partial` word) is kept as short as it can be: a
//! writer copies a frame's header and first bytes into free space before it marks itself,
//! then counts the frame in `used` and publishes it, and a frame that fits is whole at that
//! point; a reader copies a frame out before it marks itself, then frees it and uncounts it.
//! So a process killed while it copies costs nothing (the next writer overwrites the free
//! space, the next reader reads the same frame); only a death between a frame's count and
//! its position, or in a frame that streams, breaks the ring.
//!
//! - a reader that asked for it ([`Ending::WithLastWriter`], a pipe's receiving end) sees the
//!   end of the stream once the last writer has ended and everything it sent was read, as a
//!   pipe's reader does when the last process holding the other end exits;
//! - a writer that asked for it ([`Sending::broken_when_reader_gone`], a pipe's sending end)
//!   waiting for room gets [`Error::BrokenPipe`] once the last reader has ended, as a pipe's
//!   writer does when the last process holding the other end exits (in the middle of a frame
//!   it also breaks the ring, so nobody reads the torn frame).
//!
//! Pids are checked with `sys::pid_alive`: a pid reused by a new process looks alive.
//!
//! A lock is never released in the middle of a frame while the ring is in use: an op that
//! ends there (its future dropped and no thread to finish it, see `drive`) marks the ring
//! broken, with its own pid, so nobody reads a torn frame.

use super::drive::{Block, Op, Step};
use crate::process::region::{Handle, Object, Place, SharedWord};
use crate::sync::atomic::Ordering::SeqCst;
use crate::sync::RawOwnedLock;
use crate::sync::Word;
use crate::sys::region_atomics::AtomicU32;
use crate::time::Deadline;
use crate::{sys, Error};

/// The ring's bytes of data.
pub(crate) const RING_LEN: usize = 64 << 10;
/// The ring's object body.
const BODY: usize = DATA + RING_LEN;
const DATA: usize = 320;
const FRAME_HEADER: usize = 4;

const W_LOCK: usize = 0;
const W_PARTIAL: usize = 8;
const LAST_WRITER: usize = 12;
const R_LOCK: usize = 64;
const R_PARTIAL: usize = 72;
const LAST_READER: usize = 76;
const WRITE_POS: usize = 128;
const DATA_SEQ: usize = 132;
const ROOM_SLEEPERS: usize = 136;
const READ_POS: usize = 192;
const ROOM_SEQ: usize = 196;
const DATA_SLEEPERS: usize = 200;
const USED: usize = 256;
const FLAGS: usize = 260;
const BROKEN: usize = 264;

/// When a reader waiting for a frame sees the end of the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    /// Only once the ring is closed for writing (a queue: producers come and go).
    WhenClosed,
    /// Also once the last writer (see [`Ring::note_writer`]) has ended (a pipe).
    WithLastWriter,
}

/// Flag: no more frames will be written (a closed queue; a pipe end closed by its sender).
pub(crate) const WRITE_CLOSED: u32 = 1;
/// Flag: nobody will read any more (a pipe end closed by its receiver).
pub(crate) const READ_CLOSED: u32 = 2;

/// Which lock.
#[derive(Debug, Clone, Copy)]
enum Side {
    Write,
    Read,
}

/// Which sequence word, with its sleepers.
#[derive(Debug, Clone, Copy)]
enum Seq {
    /// Bumped when bytes are published (readers wait on it).
    Data,
    /// Bumped when bytes are consumed (writers wait on it).
    Room,
}

/// A ring in the region: a view of its object, valid while an [`Object`] holds it (the
/// handle types keep one beside the ring; an op that may outlive its caller keeps one too,
/// see [`Sending::keeping`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ring {
    object: Place,
}

impl Ring {
    /// A new, empty ring object of `kind`, with `aux` in its header. Its data bytes are not
    /// cleared (a reader only reads bytes a writer wrote).
    pub(crate) fn create(kind: u32, aux: u32) -> Result<(Object, Ring), Error> {
        Object::create_cleared(kind, aux, BODY, DATA).map(|object| {
            let ring = Ring {
                object: object.place(),
            };
            (object, ring)
        })
    }

    /// Validates `handle` as a ring object of `kind` whose aux satisfies `aux_ok`.
    pub(crate) fn open(
        handle: Handle,
        kind: u32,
        aux_ok: impl FnOnce(u32) -> bool,
    ) -> Result<(Object, Ring), String> {
        Object::open(handle, kind, |aux| aux_ok(aux).then_some(BODY)).map(|object| {
            let ring = Ring {
                object: object.place(),
            };
            (object, ring)
        })
    }

    /// The handle that opens this ring.
    pub(crate) fn handle(&self) -> Handle {
        self.object.handle()
    }

    /// The aux number recorded at creation.
    pub(crate) fn aux(&self) -> u32 {
        self.object.aux()
    }

    fn word(&self, at: usize) -> SharedWord {
        self.object.word(at)
    }

    /// `side`'s lock (its word names its holder's pid), the lock's word, and whether its holder
    /// is in the middle of a frame.
    fn side(&self, side: Side) -> (RawOwnedLock<SharedWord>, SharedWord, SharedWord) {
        let (lock, partial) = match side {
            Side::Write => (W_LOCK, W_PARTIAL),
            Side::Read => (R_LOCK, R_PARTIAL),
        };
        let word = self.word(lock);
        (RawOwnedLock::from_word(word), word, self.word(partial))
    }

    fn seq(&self, seq: Seq) -> (SharedWord, SharedWord) {
        match seq {
            Seq::Data => (self.word(DATA_SEQ), self.word(DATA_SLEEPERS)),
            Seq::Room => (self.word(ROOM_SEQ), self.word(ROOM_SLEEPERS)),
        }
    }

    /// The sequence's value now, to wait on (read before checking what is waited for).
    fn seen(&self, seq: Seq) -> u32 {
        self.seq(seq).0.load(SeqCst)
    }

    /// A [`Block`] on `seq` moving on from `seen`.
    fn block_on(&self, seq: Seq, seen: u32) -> Block {
        let (seq, sleepers) = self.seq(seq);
        Block::Seq {
            seq,
            sleepers,
            seen,
        }
    }

    /// Records this process as the ring's last writer (it sends, or it took the sending end).
    pub(crate) fn note_writer(&self) {
        self.note_last(LAST_WRITER);
    }

    /// Records this process as the ring's last reader (it receives, or it took the receiving
    /// end).
    pub(crate) fn note_reader(&self) {
        self.note_last(LAST_READER);
    }

    /// Records this process in the last-writer or last-reader word at `at` (a plain read
    /// first: it is nearly always there already).
    fn note_last(&self, at: usize) {
        let me = sys::current_pid();
        let last = self.word(at);
        if last.load(SeqCst) != me {
            last.swap(me, SeqCst);
        }
    }

    /// The last reader's pid if it has ended.
    fn reader_gone(&self) -> Option<u32> {
        let pid = self.word(LAST_READER).load(SeqCst);
        (pid != 0 && !sys::pid_alive(pid)).then_some(pid)
    }

    /// Whether the last writer has ended and left nothing to read at `pos`.
    fn writer_gone(&self, pos: u32) -> bool {
        let pid = self.word(LAST_WRITER).load(SeqCst);
        pid != 0 && !sys::pid_alive(pid) && self.available_at(pos) == 0
    }

    /// The flags now.
    pub(crate) fn flags(&self) -> u32 {
        self.word(FLAGS).load(SeqCst)
    }

    /// Frames started and not yet wholly read.
    pub(crate) fn used(&self) -> u32 {
        self.word(USED).load(SeqCst)
    }

    /// Sets `flag` and wakes every sleeper, who re-examines the ring.
    pub(crate) fn close(&self, flag: u32) {
        self.object.atom::<AtomicU32>(FLAGS).fetch_or(flag, SeqCst);
        self.wake_everyone();
    }

    fn wake_everyone(&self) {
        for seq in [Seq::Data, Seq::Room] {
            let (seq, _) = self.seq(seq);
            seq.fetch_add(1, SeqCst);
            seq.wake_all();
        }
    }

    /// [`Error::PeerDied`] once the ring is broken.
    fn check_broken(&self) -> Result<(), Error> {
        match self.word(BROKEN).load(SeqCst) {
            0 => Ok(()),
            pid => Err(Error::PeerDied { pid }),
        }
    }

    /// Marks the ring broken by `pid` (the first death recorded wins) and wakes everyone.
    fn mark_broken(&self, pid: u32) -> Error {
        let _ = self.word(BROKEN).compare_exchange(0, pid, SeqCst, SeqCst);
        self.wake_everyone();
        self.check_broken().expect_err("just marked broken")
    }

    /// Marks the ring broken if the holder of `side`'s lock died in the middle of a frame.
    fn check_partner(&self, side: Side) -> Result<(), Error> {
        self.check_broken()?;
        let (lock, _, partial) = self.side(side);
        match lock.holder() {
            Some(pid) if partial.load(SeqCst) != 0 && !sys::pid_alive(pid) => {
                Err(self.mark_broken(pid))
            }
            _ => Ok(()),
        }
    }

    /// Bumps `seq`, waking its sleepers if there are any.
    fn bump(&self, seq: Seq) {
        let (seq, sleepers) = self.seq(seq);
        seq.fetch_add(1, SeqCst);
        if sleepers.load(SeqCst) != 0 {
            seq.wake_all();
        }
    }

    /// Bytes published and not yet read, seen from a reader at `pos`.
    fn available_at(&self, pos: u32) -> usize {
        self.word(WRITE_POS).load(SeqCst).wrapping_sub(pos) as usize
    }

    /// Free bytes, seen from a writer at `pos`.
    fn room_at(&self, pos: u32) -> usize {
        RING_LEN.saturating_sub(pos.wrapping_sub(self.word(READ_POS).load(SeqCst)) as usize)
    }

    /// Copies `bytes` into the ring at `pos` (the writer owns that free space).
    fn copy_in(&self, pos: u32, bytes: &[u8]) {
        let start = pos as usize % RING_LEN;
        let first = bytes.len().min(RING_LEN - start);
        self.object.write_bytes(DATA + start, &bytes[..first]);
        self.object.write_bytes(DATA, &bytes[first..]);
    }

    /// Copies the ring's bytes at `pos` into `out` (the reader owns those published bytes).
    fn copy_out(&self, pos: u32, out: &mut [u8]) {
        let start = pos as usize % RING_LEN;
        let first = out.len().min(RING_LEN - start);
        let (head, tail) = out.split_at_mut(first);
        self.object.read_bytes(DATA + start, head);
        self.object.read_bytes(DATA, tail);
    }

    /// A send of one frame holding `payload`, to run with a driver of `drive`.
    ///
    /// It waits (until `deadline`; `Error::Full` for [`Deadline::NOW`]) for the writer lock, for
    /// fewer than `maxsize` frames in use (0: no limit) and for room for the frame, or its
    /// first [`RING_LEN`] bytes if it is longer; `refuse` turns the flags into an error when
    /// no frame may be written. A longer frame then streams to its end whatever the
    /// deadline, as the reader drains it (failing only if the ring breaks or its reader
    /// closes it: [`Error::BrokenPipe`]). On a thread that may not block, a `try_` send
    /// begins only a frame that fits whole (`Error::Full` otherwise).
    pub(crate) fn sending(
        self,
        payload: Vec<u8>,
        deadline: Deadline,
        maxsize: u32,
        refuse: fn(u32) -> Option<Error>,
    ) -> Result<Sending, Error> {
        if payload.len() > (u32::MAX as usize) - FRAME_HEADER {
            return Err(Error::InvalidArgument(format!(
                "a message of {} bytes is too long (at most 4 GiB)",
                payload.len()
            )));
        }
        if let Some(refused) = refuse(self.flags()) {
            return Err(refused);
        }
        Ok(Sending {
            hold: Hold::new(self, Side::Write),
            payload,
            deadline,
            maxsize,
            refuse,
            frame: None,
            undo: None,
            whole_only: false,
            reader_ends: false,
            _keep: None,
        })
    }

    /// A receive of one frame's payload, to run with a driver of `drive`.
    ///
    /// It waits (until `deadline`; `Error::Empty` for [`Deadline::NOW`]) for the reader lock and
    /// the start of a frame; `at_end` once the ring is closed for writing and drained (or, with
    /// [`Ending::WithLastWriter`], its last writer ended). The rest of a long frame is then read
    /// whatever the deadline, as the writer streams it (failing only if the ring breaks). On a
    /// thread that may not block, a `try_` receive takes only a frame that is there whole
    /// (`Error::Empty` otherwise).
    pub(crate) fn receiving(self, deadline: Deadline, at_end: Error, ending: Ending) -> Receiving {
        Receiving {
            hold: Hold::new(self, Side::Read),
            deadline,
            at_end,
            ending,
            frame: None,
            _keep: None,
        }
    }

    /// A wait for a frame (or the end: the ring closed for writing; with
    /// [`Ending::WithLastWriter`], its last writer ended) to read, until `deadline`: `true`
    /// once there is one, `false` for [`Deadline::NOW`] when there is none ([`Error::Timeout`] when a
    /// deadline passes).
    pub(crate) fn polling(self, deadline: Deadline, ending: Ending) -> Polling {
        Polling {
            ring: self,
            deadline,
            ending,
        }
    }
}

/// One side's lock, as an op holds it across its steps; released when dropped.
struct Hold {
    ring: Ring,
    side: Side,
    held: bool,
}

impl Hold {
    fn new(ring: Ring, side: Side) -> Hold {
        Hold {
            ring,
            side,
            held: false,
        }
    }

    /// Tries to take the lock: `Ok(None)` once held, `Ok(Some(block))` to sleep on it, `busy`
    /// if it is held and `deadline` is [`Deadline::NOW`].
    fn try_take(&mut self, deadline: Deadline, busy: Error) -> Result<Option<Block>, Error> {
        self.ring.check_broken()?;
        let (lock, word, _) = self.ring.side(self.side);
        let me = sys::current_pid();
        if !lock.try_lock(me) {
            if deadline.is_now() {
                return Err(busy);
            }
            if !lock.try_lock_spinning(me) {
                if let Err(announced) = lock.try_lock_or_announce(me) {
                    return Ok(Some(Block::Lock { word, announced }));
                }
            }
        }
        self.held = true;
        self.ring.check_broken()?;
        Ok(None)
    }

    /// After a quiet sleep on the lock: takes it over if its holder died. The dead holder
    /// was between frames (a consumer killed while waiting in `get` costs nothing), or in the
    /// middle of one, which breaks the ring.
    fn take_over(&mut self) -> Result<(), Error> {
        self.ring.check_broken()?;
        let (lock, _, partial) = self.ring.side(self.side);
        let Some(pid) = lock.holder() else {
            return Ok(());
        };
        if sys::pid_alive(pid) {
            return Ok(());
        }
        // Whoever swaps the dead holder's pid for their own in the lock word now holds it.
        if lock.take_over(pid, sys::current_pid()) {
            self.held = true;
            if partial.load(SeqCst) != 0 {
                return Err(self.ring.mark_broken(pid));
            }
        }
        Ok(())
    }

    /// Marks the start (`true`) or the end of a frame under this lock.
    fn in_frame(&self, partial: bool) {
        self.ring.side(self.side).2.swap(u32::from(partial), SeqCst);
    }

    fn release(&mut self) {
        if !std::mem::take(&mut self.held) {
            return;
        }
        let (lock, _, partial) = self.ring.side(self.side);
        if partial.load(SeqCst) != 0 && self.ring.flags() & READ_CLOSED == 0 {
            // A frame abandoned half done (see the module docs).
            self.ring.mark_broken(sys::current_pid());
        }
        lock.unlock();
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        self.release();
    }
}

/// A send of one frame (see [`Ring::sending`]).
pub(crate) struct Sending {
    hold: Hold,
    payload: Vec<u8>,
    deadline: Deadline,
    maxsize: u32,
    refuse: fn(u32) -> Option<Error>,
    /// Once the frame has begun: where its next bytes go, and how many of the payload's are in.
    frame: Option<(u32, usize)>,
    /// Runs when the op ends without having sent its frame whole.
    undo: Option<Box<dyn FnOnce() + Send>>,
    /// Begins only a frame that fits whole now (`Error::Full` otherwise).
    whole_only: bool,
    /// Fails with `Error::BrokenPipe` once the last reader has ended (see the module docs).
    reader_ends: bool,
    /// Keeps the ring's object alive while the op lives (see [`Sending::keeping`]).
    _keep: Option<Box<dyn Send>>,
}

impl Sending {
    /// Runs `undo` if this send ends without having sent its frame whole: it failed, or its
    /// future was dropped before the frame began (one dropped later is finished, see `drive`).
    pub(crate) fn undo_unless_sent(mut self, undo: impl FnOnce() + Send + 'static) -> Sending {
        self.undo = Some(Box::new(undo));
        self
    }

    /// Keeps `keep` (what holds the ring's object) alive while the op lives: for an op that
    /// may outlive the handle it was made from (a future finished by another thread, see
    /// `drive`).
    pub(crate) fn keeping(mut self, keep: impl Send + 'static) -> Sending {
        self._keep = Some(Box::new(keep));
        self
    }

    /// Begins only a frame that fits whole in the ring's room now: `Error::Full` otherwise
    /// (with [`Deadline::NOW`], a send that cannot block on any thread).
    pub(crate) fn whole_only(mut self) -> Sending {
        self.whole_only = true;
        self
    }

    /// Fails with [`Error::BrokenPipe`] instead of waiting for room once the ring's last
    /// reader (see [`Ring::note_reader`]) has ended: a pipe's send.
    pub(crate) fn broken_when_reader_gone(mut self) -> Sending {
        self.reader_ends = true;
        self
    }

    /// The payload, given back (for a send that was refused before it began).
    pub(crate) fn into_payload(mut self) -> Vec<u8> {
        self.undo = None;
        std::mem::take(&mut self.payload)
    }
}

impl Drop for Sending {
    fn drop(&mut self) {
        let sent_whole = self
            .frame
            .is_some_and(|(_, sent)| sent == self.payload.len());
        if let Some(undo) = self.undo.take().filter(|_| !sent_whole) {
            undo();
        }
    }
}

impl Sending {
    /// Begins the frame once the lock is held and there is room; `None` when it has begun.
    fn begin(&mut self) -> Option<Step<()>> {
        let ring = self.hold.ring;
        if !self.hold.held {
            match self.hold.try_take(self.deadline, Error::Full) {
                Ok(None) => ring.note_writer(),
                Ok(Some(block)) => return Some(Step::Wait(block, self.deadline)),
                Err(failed) => return Some(Step::Done(Err(failed))),
            }
        }
        let whole = FRAME_HEADER + self.payload.len();
        let must_fit_whole = self.whole_only || (self.deadline.is_now() && !sys::can_block());
        if must_fit_whole && whole > RING_LEN {
            return Some(Step::Done(Err(Error::Full)));
        }
        let first = whole.min(RING_LEN);
        let pos = ring.word(WRITE_POS).load(SeqCst);
        let seen = ring.seen(Seq::Room);
        if let Err(broken) = ring.check_broken() {
            return Some(Step::Done(Err(broken)));
        }
        if let Some(refused) = (self.refuse)(ring.flags()) {
            return Some(Step::Done(Err(refused)));
        }
        let slot_free = self.maxsize == 0 || ring.used() < self.maxsize;
        if !(slot_free && ring.room_at(pos) >= first) {
            return Some(if self.deadline.is_now() {
                Step::Done(Err(Error::Full))
            } else {
                Step::Wait(ring.block_on(Seq::Room, seen), self.deadline)
            });
        }
        // The header and the first bytes go into free space, which this writer owns and
        // nobody reads until it is published: a death before the publication costs nothing.
        // `sending` checked that the length fits the header.
        let len = self.payload.len() as u32;
        ring.copy_in(pos, &len.to_le_bytes());
        let body = pos.wrapping_add(FRAME_HEADER as u32);
        let n = self.payload.len().min(ring.room_at(body));
        ring.copy_in(body, &self.payload[..n]);
        // The frame's count and its publication go together: a death between them breaks the
        // ring. A frame that fits is then whole; a longer one streams, in the frame until its
        // end.
        self.hold.in_frame(true);
        ring.word(USED).fetch_add(1, SeqCst);
        let end = body.wrapping_add(n as u32);
        ring.word(WRITE_POS).swap(end, SeqCst);
        if n == self.payload.len() {
            self.hold.in_frame(false);
        }
        ring.bump(Seq::Data);
        self.frame = Some((end, n));
        None
    }

    /// Copies the payload's bytes `sent..sent + n` in at `pos`, and publishes them (with any
    /// bytes written before them).
    fn publish(&mut self, pos: u32, sent: usize, n: usize) {
        let ring = self.hold.ring;
        ring.copy_in(pos, &self.payload[sent..sent + n]);
        let pos = pos.wrapping_add(n as u32);
        ring.word(WRITE_POS).swap(pos, SeqCst);
        ring.bump(Seq::Data);
        self.frame = Some((pos, sent + n));
    }
}

impl Op for Sending {
    type Output = ();

    fn step(&mut self) -> Step<()> {
        if self.frame.is_none() {
            if let Some(step) = self.begin() {
                return step;
            }
        }
        let ring = self.hold.ring;
        loop {
            let (pos, sent) = self.frame.expect("begun");
            if sent == self.payload.len() {
                self.hold.in_frame(false);
                self.hold.release();
                return Step::Done(Ok(()));
            }
            let seen = ring.seen(Seq::Room);
            let n = (self.payload.len() - sent).min(ring.room_at(pos));
            if n > 0 {
                self.publish(pos, sent, n);
                continue;
            }
            if let Err(broken) = ring.check_broken() {
                return Step::Done(Err(broken));
            }
            if ring.flags() & READ_CLOSED != 0 {
                return Step::Done(Err(Error::BrokenPipe));
            }
            return Step::Wait(ring.block_on(Seq::Room, seen), Deadline::NEVER);
        }
    }

    fn on_quiet(&mut self) -> Result<(), Error> {
        if !self.hold.held {
            return self.hold.take_over();
        }
        let ring = self.hold.ring;
        ring.check_partner(Side::Read)?;
        match ring.reader_gone().filter(|_| self.reader_ends) {
            Some(reader) => {
                if self.mid_frame() {
                    ring.mark_broken(reader);
                }
                Err(Error::BrokenPipe)
            }
            None => Ok(()),
        }
    }

    fn mid_frame(&self) -> bool {
        self.frame
            .is_some_and(|(_, sent)| sent < self.payload.len())
    }
}

/// A frame being read: where its next bytes are, and its payload so far.
struct Frame {
    pos: u32,
    payload: Vec<u8>,
    filled: usize,
}

/// A receive of one frame (see [`Ring::receiving`]).
pub(crate) struct Receiving {
    hold: Hold,
    deadline: Deadline,
    at_end: Error,
    ending: Ending,
    frame: Option<Frame>,
    _keep: Option<Box<dyn Send>>,
}

impl Receiving {
    /// Keeps `keep` (what holds the ring's object) alive while the op lives (see
    /// [`Sending::keeping`]).
    pub(crate) fn keeping(mut self, keep: impl Send + 'static) -> Receiving {
        self._keep = Some(Box::new(keep));
        self
    }
}

impl Receiving {
    /// Begins reading a frame once the lock is held and one has begun; `None` when it has.
    fn begin(&mut self) -> Option<Step<Vec<u8>>> {
        let ring = self.hold.ring;
        if !self.hold.held {
            match self.hold.try_take(self.deadline, Error::Empty) {
                Ok(None) => ring.note_reader(),
                Ok(Some(block)) => return Some(Step::Wait(block, self.deadline)),
                Err(failed) => return Some(Step::Done(Err(failed))),
            }
        }
        let pos = ring.word(READ_POS).load(SeqCst);
        let seen = ring.seen(Seq::Data);
        if let Err(broken) = ring.check_broken() {
            return Some(Step::Done(Err(broken)));
        }
        let available = ring.available_at(pos);
        if available < FRAME_HEADER {
            if ring.flags() & WRITE_CLOSED != 0 {
                return Some(Step::Done(Err(self.at_end.clone())));
            }
            return Some(if self.deadline.is_now() {
                Step::Done(Err(Error::Empty))
            } else {
                Step::Wait(ring.block_on(Seq::Data, seen), self.deadline)
            });
        }
        let mut header = [0; FRAME_HEADER];
        ring.copy_out(pos, &mut header);
        let len = u32::from_le_bytes(header) as usize;
        let must_be_whole = self.deadline.is_now() && !sys::can_block();
        if must_be_whole && available < FRAME_HEADER + len {
            return Some(Step::Done(Err(Error::Empty)));
        }
        // Nothing is consumed until the frame is read whole or freed in part (below): a reader
        // that dies before that leaves the frame for the next one.
        self.frame = Some(Frame {
            pos: pos.wrapping_add(FRAME_HEADER as u32),
            payload: vec![0; len],
            filled: 0,
        });
        None
    }
}

impl Op for Receiving {
    type Output = Vec<u8>;

    fn step(&mut self) -> Step<Vec<u8>> {
        if self.frame.is_none() {
            if let Some(step) = self.begin() {
                return step;
            }
        }
        let ring = self.hold.ring;
        let frame = self.frame.as_mut().expect("begun");
        loop {
            let seen = ring.seen(Seq::Data);
            let n = ring
                .available_at(frame.pos)
                .min(frame.payload.len() - frame.filled);
            ring.copy_out(
                frame.pos,
                &mut frame.payload[frame.filled..frame.filled + n],
            );
            frame.pos = frame.pos.wrapping_add(n as u32);
            frame.filled += n;
            if frame.filled == frame.payload.len() {
                // Consumed and counted together: a death between them breaks the ring.
                self.hold.in_frame(true);
                ring.word(READ_POS).swap(frame.pos, SeqCst);
                ring.word(USED).fetch_sub(1, SeqCst);
                self.hold.in_frame(false);
                ring.bump(Seq::Room);
                let payload = std::mem::take(&mut frame.payload);
                self.frame = None;
                self.hold.release();
                return Step::Done(Ok(payload));
            }
            if n == 0 {
                // Free what was read, so that the writer can stream the rest: from here the
                // frame is partly consumed, and a death breaks the ring.
                self.hold.in_frame(true);
                ring.word(READ_POS).swap(frame.pos, SeqCst);
                ring.bump(Seq::Room);
                if let Err(broken) = ring.check_broken() {
                    return Step::Done(Err(broken));
                }
                return Step::Wait(ring.block_on(Seq::Data, seen), Deadline::NEVER);
            }
        }
    }

    fn on_quiet(&mut self) -> Result<(), Error> {
        let ring = self.hold.ring;
        if !self.hold.held {
            return self.hold.take_over();
        }
        // A writer that died holding its lock in the middle of a frame (perhaps before
        // publishing any of it) left a partial frame: the ring is broken.
        ring.check_partner(Side::Write)?;
        let pos = ring.word(READ_POS).load(SeqCst);
        if self.frame.is_none() && self.ending == Ending::WithLastWriter && ring.writer_gone(pos) {
            return Err(self.at_end.clone());
        }
        Ok(())
    }

    fn mid_frame(&self) -> bool {
        self.frame.is_some()
    }
}

/// A wait for something to read (see [`Ring::polling`]).
pub(crate) struct Polling {
    ring: Ring,
    deadline: Deadline,
    ending: Ending,
}

impl Op for Polling {
    type Output = bool;

    fn step(&mut self) -> Step<bool> {
        let ring = self.ring;
        let seen = ring.seen(Seq::Data);
        if let Err(broken) = ring.check_broken() {
            return Step::Done(Err(broken));
        }
        let pos = ring.word(READ_POS).load(SeqCst);
        let ready = ring.available_at(pos) > 0
            || ring.flags() & WRITE_CLOSED != 0
            || (self.ending == Ending::WithLastWriter && ring.writer_gone(pos));
        if ready {
            Step::Done(Ok(true))
        } else if self.deadline.is_now() {
            Step::Done(Ok(false))
        } else {
            Step::Wait(ring.block_on(Seq::Data, seen), self.deadline)
        }
    }

    fn on_quiet(&mut self) -> Result<(), Error> {
        self.ring.check_partner(Side::Write)
    }

    fn mid_frame(&self) -> bool {
        false
    }
}
