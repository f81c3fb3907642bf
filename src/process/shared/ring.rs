//! A ring of bytes in the shared region: the channel under process [`Queue`](super::Queue)s
//! and [`Connection`](super::Connection)s. It carries frames (a little-endian `u32` length,
//! then that many bytes) from any number of writers to any number of readers, in any
//! processes of the tree.
//!
//! # Layout
//!
//! Body (after the object header): 64 bytes of words, then [`RING_LEN`] bytes of data.
//!
//! | offset | word |
//! |---|---|
//! | 0, 4, 8 | the writer lock (`RawLock`), its holder's pid (0 when free), whether the holder is in the middle of a frame |
//! | 12, 16, 20 | the same three for the reader lock |
//! | 24, 28 | `write_pos`, `read_pos`: bytes ever written and read (wrapping; `pos % RING_LEN` is the index) |
//! | 32, 36 | `data_seq` and its sleepers: bumped whenever bytes are published or the ring is closed |
//! | 40, 44 | `room_seq` and its sleepers: bumped whenever bytes are consumed or the ring is closed |
//! | 48 | flags: [`WRITE_CLOSED`], [`READ_CLOSED`] |
//! | 52 | broken: the pid of a process that died in the middle of a frame, else 0 |
//! | 56 | used: frames started and not yet wholly read (a queue's `qsize`) |
//! | 60 | the last writer: the pid of the process that last sent, or took the sending end (pipes) |
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
//! - a reader that asked for it ([`Ending::WithLastWriter`], a pipe's receiving end) sees the
//!   end of the stream once the last writer has ended and everything it sent was read, as a
//!   pipe's reader does when the last process holding the other end exits.
//!
//! Pids are checked with `sys::pid_alive`: a pid reused by a new process looks alive.

use std::time::Duration;

use super::object::{Handle, Object, SharedWord};
use crate::atomic::Ordering::SeqCst;
use crate::lock::RawLock;
use crate::sys::region_atomics::AtomicU32;
use crate::time::Deadline;
use crate::word::Word;
use crate::{sys, Error};

/// The ring's bytes of data.
pub(super) const RING_LEN: usize = 64 << 10;
/// The ring's object body.
const BODY: usize = DATA + RING_LEN;
const DATA: usize = 64;
const FRAME_HEADER: usize = 4;

const W_LOCK: usize = 0;
const W_OWNER: usize = 4;
const W_PARTIAL: usize = 8;
const R_LOCK: usize = 12;
const R_OWNER: usize = 16;
const R_PARTIAL: usize = 20;
const WRITE_POS: usize = 24;
const READ_POS: usize = 28;
const DATA_SEQ: usize = 32;
const DATA_SLEEPERS: usize = 36;
const ROOM_SEQ: usize = 40;
const ROOM_SLEEPERS: usize = 44;
const FLAGS: usize = 48;
const BROKEN: usize = 52;
const USED: usize = 56;
const LAST_WRITER: usize = 60;

/// When a reader waiting for a frame sees the end of the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ending {
    /// Only once the ring is closed for writing (a queue: producers come and go).
    WhenClosed,
    /// Also once the last writer (see [`Ring::note_writer`]) has ended (a pipe).
    WithLastWriter,
}

/// Flag: no more frames will be written (a closed queue; a pipe end closed by its sender).
pub(super) const WRITE_CLOSED: u32 = 1;
/// Flag: nobody will read any more (a pipe end closed by its receiver).
pub(super) const READ_CLOSED: u32 = 2;

/// The longest sleep before a waiter checks on the processes it waits for.
const SLICE: Duration = Duration::from_millis(100);

/// How long a call may wait.
#[derive(Debug, Clone, Copy)]
pub(super) enum Wait {
    /// Not at all: the `try_` forms.
    Never,
    /// Until the deadline (which may be never).
    Until(Deadline),
}

impl Wait {
    /// Blocking forms.
    pub(super) const FOREVER: Wait = Wait::Until(Deadline::NEVER);

    /// `_timeout` forms.
    pub(super) fn timeout(timeout: Duration) -> Wait {
        Wait::Until(Deadline::after(timeout))
    }
}

/// Which lock.
#[derive(Debug, Clone, Copy)]
enum Side {
    Write,
    Read,
}

/// A ring in the region.
#[derive(Debug, Clone, Copy)]
pub(super) struct Ring {
    object: Object,
}

/// A held writer or reader lock; releases it when dropped.
struct Held<'a> {
    ring: &'a Ring,
    side: Side,
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        let (lock, owner, _) = self.ring.side(self.side);
        owner.swap(0, SeqCst);
        lock.unlock();
    }
}

/// What is left of `deadline`, at most a [`SLICE`]; [`Error::Timeout`] once passed.
fn slice_of(deadline: Deadline) -> Result<Duration, Error> {
    Ok(deadline.remaining()?.map_or(SLICE, |left| left.min(SLICE)))
}

impl Ring {
    /// A new, empty ring object of `kind`, with `aux` in its header.
    pub(super) fn create(kind: u32, aux: u32) -> Result<Ring, Error> {
        Object::create(kind, aux, BODY).map(|object| Ring { object })
    }

    /// Validates `handle` as a ring object of `kind` whose aux satisfies `aux_ok`.
    pub(super) fn open(
        handle: Handle,
        kind: u32,
        aux_ok: impl FnOnce(u32) -> bool,
    ) -> Result<Ring, String> {
        Object::open(handle, kind, |aux| aux_ok(aux).then_some(BODY)).map(|object| Ring { object })
    }

    /// The handle that opens this ring.
    pub(super) fn handle(&self) -> Handle {
        self.object.handle()
    }

    /// The aux number recorded at creation.
    pub(super) fn aux(&self) -> u32 {
        self.object.aux()
    }

    fn word(&self, at: usize) -> SharedWord {
        self.object.word(at)
    }

    fn side(&self, side: Side) -> (RawLock<SharedWord>, SharedWord, SharedWord) {
        let (lock, owner, partial) = match side {
            Side::Write => (W_LOCK, W_OWNER, W_PARTIAL),
            Side::Read => (R_LOCK, R_OWNER, R_PARTIAL),
        };
        (
            RawLock::from_word(self.word(lock)),
            self.word(owner),
            self.word(partial),
        )
    }

    /// The flags now.
    /// Records this process as the ring's last writer (it sends, or it took the sending end).
    pub(super) fn note_writer(&self) {
        let me = sys::current_pid();
        let last = self.word(LAST_WRITER);
        if last.load(SeqCst) != me {
            last.swap(me, SeqCst);
        }
    }

    /// Whether the last writer has ended and left nothing to read at `pos`.
    fn writer_gone(&self, pos: u32) -> bool {
        let pid = self.word(LAST_WRITER).load(SeqCst);
        pid != 0 && !sys::pid_alive(pid) && self.available_at(pos) == 0
    }

    pub(super) fn flags(&self) -> u32 {
        self.word(FLAGS).load(SeqCst)
    }

    /// Frames started and not yet wholly read.
    pub(super) fn used(&self) -> u32 {
        self.word(USED).load(SeqCst)
    }

    /// Sets `flag` and wakes every sleeper, who re-examines the ring.
    pub(super) fn close(&self, flag: u32) {
        self.object.atom::<AtomicU32>(FLAGS).fetch_or(flag, SeqCst);
        self.wake_everyone();
    }

    fn wake_everyone(&self) {
        for seq in [DATA_SEQ, ROOM_SEQ] {
            self.word(seq).fetch_add(1, SeqCst);
            self.word(seq).wake_all();
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
        let (lock, owner, partial) = self.side(side);
        let pid = owner.load(SeqCst);
        if pid != 0 && lock.locked() && partial.load(SeqCst) != 0 && !sys::pid_alive(pid) {
            return Err(self.mark_broken(pid));
        }
        Ok(())
    }

    /// Takes `side`'s lock (see the module docs for holders that died); `busy` when `wait`
    /// is [`Wait::Never`] and the lock is held.
    fn lock(&self, side: Side, wait: Wait, busy: Error) -> Result<Held<'_>, Error> {
        self.check_broken()?;
        let (lock, owner, partial) = self.side(side);
        let me = sys::current_pid();
        if !lock.try_lock() {
            let Wait::Until(deadline) = wait else {
                return Err(busy);
            };
            loop {
                match lock.lock_until(Deadline::after(slice_of(deadline)?)) {
                    Ok(()) => break,
                    Err(Error::Timeout) => {}
                    Err(other) => return Err(other),
                }
                self.check_broken()?;
                let pid = owner.load(SeqCst);
                if pid == 0 || !lock.locked() || sys::pid_alive(pid) {
                    continue;
                }
                // The holder died. Whoever swaps its pid for their own now holds the lock.
                if owner.compare_exchange(pid, me, SeqCst, SeqCst).is_ok() {
                    let held = Held { ring: self, side };
                    if partial.load(SeqCst) != 0 {
                        return Err(self.mark_broken(pid));
                    }
                    return Ok(held);
                }
            }
        }
        owner.swap(me, SeqCst);
        let held = Held { ring: self, side };
        self.check_broken()?;
        Ok(held)
    }

    /// Sleeps on `seq` until `ready` holds (or fails), within `wait`: `busy` if `wait` is
    /// [`Wait::Never`], [`Error::Timeout`] past the deadline. After every quiet slice,
    /// `on_quiet` checks on the processes waited for.
    fn wait_for(
        &self,
        (seq, sleepers): (usize, usize),
        wait: Wait,
        busy: Error,
        mut ready: impl FnMut() -> Result<bool, Error>,
        mut on_quiet: impl FnMut() -> Result<(), Error>,
    ) -> Result<(), Error> {
        let seq = self.word(seq);
        let sleepers = self.word(sleepers);
        loop {
            let seen = seq.load(SeqCst);
            if ready()? {
                return Ok(());
            }
            let Wait::Until(deadline) = wait else {
                return Err(busy);
            };
            if !sys::can_block() {
                return Err(Error::WouldBlock);
            }
            let slice = slice_of(deadline)?;
            sleepers.fetch_add(1, SeqCst);
            let woken = seq.load(SeqCst) != seen || seq.wait(seen, Some(slice));
            sleepers.fetch_sub(1, SeqCst);
            if !woken {
                on_quiet()?;
            }
        }
    }

    /// Bumps `seq`, waking its sleepers if there are any.
    fn bump(&self, (seq, sleepers): (usize, usize)) {
        let seq = self.word(seq);
        seq.fetch_add(1, SeqCst);
        if self.word(sleepers).load(SeqCst) != 0 {
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

    /// Writes one frame holding `payload`.
    ///
    /// Waits (within `wait`; `Error::Full` for [`Wait::Never`]) for the writer lock, for
    /// fewer than `maxsize` frames in use (0: no limit) and for room for the frame, or its
    /// first [`RING_LEN`] bytes if it is longer; `refuse` turns the flags into an error when
    /// no frame may be written. A longer frame then streams to its end whatever the
    /// deadline, as the reader drains it (failing only if the ring breaks or its reader
    /// closes it: [`Error::BrokenPipe`]).
    pub(super) fn send(
        &self,
        payload: &[u8],
        wait: Wait,
        maxsize: u32,
        refuse: impl Fn(u32) -> Option<Error>,
    ) -> Result<(), Error> {
        let len = u32::try_from(payload.len())
            .ok()
            .filter(|&len| len <= u32::MAX - FRAME_HEADER as u32)
            .ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "a message of {} bytes is too long (at most 4 GiB)",
                    payload.len()
                ))
            })?;
        if let Some(refused) = refuse(self.flags()) {
            return Err(refused);
        }
        let _held = self.lock(Side::Write, wait, Error::Full)?;
        self.note_writer();
        let first = (FRAME_HEADER + payload.len()).min(RING_LEN);
        let mut pos = self.word(WRITE_POS).load(SeqCst);
        self.wait_for(
            (ROOM_SEQ, ROOM_SLEEPERS),
            wait,
            Error::Full,
            || {
                self.check_broken()?;
                if let Some(refused) = refuse(self.flags()) {
                    return Err(refused);
                }
                Ok((maxsize == 0 || self.used() < maxsize) && self.room_at(pos) >= first)
            },
            || self.check_partner(Side::Read),
        )?;
        self.word(W_PARTIAL).swap(1, SeqCst);
        self.word(USED).fetch_add(1, SeqCst);
        self.copy_in(pos, &len.to_le_bytes());
        pos = pos.wrapping_add(FRAME_HEADER as u32);
        let mut rest = payload;
        loop {
            let n = rest.len().min(self.room_at(pos));
            self.copy_in(pos, &rest[..n]);
            pos = pos.wrapping_add(n as u32);
            rest = &rest[n..];
            self.word(WRITE_POS).swap(pos, SeqCst);
            self.bump((DATA_SEQ, DATA_SLEEPERS));
            if rest.is_empty() {
                break;
            }
            self.wait_for(
                (ROOM_SEQ, ROOM_SLEEPERS),
                Wait::FOREVER,
                Error::Full,
                || {
                    self.check_broken()?;
                    if self.flags() & READ_CLOSED != 0 {
                        return Err(Error::BrokenPipe);
                    }
                    Ok(self.room_at(pos) > 0)
                },
                || self.check_partner(Side::Read),
            )?;
        }
        self.word(W_PARTIAL).swap(0, SeqCst);
        Ok(())
    }

    /// Reads one frame's payload.
    ///
    /// Waits (within `wait`; `Error::Empty` for [`Wait::Never`]) for the reader lock and the
    /// start of a frame; `at_end` once the ring is closed for writing and drained. The rest of
    /// a long frame is then read whatever the deadline, as the writer streams it (failing only
    /// if the ring breaks).
    pub(super) fn recv(&self, wait: Wait, at_end: Error, ending: Ending) -> Result<Vec<u8>, Error> {
        let _held = self.lock(Side::Read, wait, Error::Empty)?;
        let mut pos = self.word(READ_POS).load(SeqCst);
        self.wait_for(
            (DATA_SEQ, DATA_SLEEPERS),
            wait,
            Error::Empty,
            || {
                self.check_broken()?;
                if self.available_at(pos) >= FRAME_HEADER {
                    return Ok(true);
                }
                if self.flags() & WRITE_CLOSED != 0 {
                    return Err(at_end.clone());
                }
                Ok(false)
            },
            || {
                // A writer that died holding its lock in the middle of a frame (perhaps before
                // publishing any of it) left a partial frame: the ring is broken.
                self.check_partner(Side::Write)?;
                if ending == Ending::WithLastWriter && self.writer_gone(pos) {
                    return Err(at_end.clone());
                }
                Ok(())
            },
        )?;
        self.word(R_PARTIAL).swap(1, SeqCst);
        let mut header = [0; FRAME_HEADER];
        self.copy_out(pos, &mut header);
        pos = pos.wrapping_add(FRAME_HEADER as u32);
        let len = u32::from_le_bytes(header) as usize;
        let mut payload = vec![0; len];
        let mut filled = 0;
        while filled < len {
            let available = self.available_at(pos);
            if available == 0 {
                self.word(READ_POS).swap(pos, SeqCst);
                self.bump((ROOM_SEQ, ROOM_SLEEPERS));
                self.wait_for(
                    (DATA_SEQ, DATA_SLEEPERS),
                    Wait::FOREVER,
                    Error::Empty,
                    || {
                        self.check_broken()?;
                        Ok(self.available_at(pos) > 0)
                    },
                    || self.check_partner(Side::Write),
                )?;
                continue;
            }
            let n = available.min(len - filled);
            self.copy_out(pos, &mut payload[filled..filled + n]);
            pos = pos.wrapping_add(n as u32);
            filled += n;
        }
        self.word(USED).fetch_sub(1, SeqCst);
        self.word(READ_POS).swap(pos, SeqCst);
        self.word(R_PARTIAL).swap(0, SeqCst);
        self.bump((ROOM_SEQ, ROOM_SLEEPERS));
        Ok(payload)
    }

    /// Whether a frame (or the end: the ring closed for writing) can be read, waiting for one
    /// within `wait`; `false` once the wait is over.
    pub(super) fn poll(&self, wait: Wait, ending: Ending) -> Result<bool, Error> {
        let waited = self.wait_for(
            (DATA_SEQ, DATA_SLEEPERS),
            wait,
            Error::Empty,
            || {
                self.check_broken()?;
                let pos = self.word(READ_POS).load(SeqCst);
                Ok(self.available_at(pos) > 0
                    || self.flags() & WRITE_CLOSED != 0
                    || (ending == Ending::WithLastWriter && self.writer_gone(pos)))
            },
            || self.check_partner(Side::Write),
        );
        match waited {
            Ok(()) => Ok(true),
            Err(Error::Empty | Error::Timeout) => Ok(false),
            Err(other) => Err(other),
        }
    }
}
