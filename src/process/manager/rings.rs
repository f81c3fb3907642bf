//! The transport of a manager inside its process tree, over the shared region: a registry
//! object, and two byte rings (`ring`) per client connection, both created by the client. The
//! server needs no thread of its own: it waits on one word of the registry (natively in a
//! child process, in the browser in a process worker).
//!
//! # The registry
//!
//! One object per manager, made by [`create_registry`]:
//! - a flags word ([`CLOSED`]: the manager shut down, or its last handle was dropped);
//! - the doorbell, a sequence word the server sleeps on and every client bumps (waking the
//!   server only if it announced its sleep) after it wrote into one of its rings or
//!   registered a connection;
//! - [`SLOTS`] registration slots, through which a client hands the server a new connection:
//!   it claims a free slot (its `owner` word from 0 to its pid), writes the connection's
//!   numbers and ring handles, then sets the slot's `ready` word. The server adopts a ready
//!   slot's connection and frees the slot (`ready`, then `owner`, back to 0, bumping the
//!   room word that a client waiting for a free slot sleeps on). A slot claimed by a process
//!   that died before it was ready is freed by the server's sweep.
//!
//! # Connections
//!
//! A connection is a request ring (the client writes, the server reads) and, for calls, a
//! reply ring (the other way). Each client process has any number of call connections, each
//! carrying one call at a time (a thread or future takes an idle one or makes one, and puts
//! it back after the reply), and one post connection, with no reply ring, for the requests
//! that have no answer (reference counts), so that they reach the server in the order they
//! were made. A frame on a request ring is the JSON of a `protocol::Request`, as it is.
//!
//! The server, woken by the doorbell, adopts the ready registrations, then reads at most one
//! frame from each connection that has one (so no connection starves another), answering a
//! call on its connection's reply ring; it sleeps once a round found nothing. A request longer
//! than its ring streams in while the server reads it: the server takes what has come and
//! resumes at a later round (the writer rings as it writes), and so does a reply longer than
//! its ring (the client rings as it reads one): a client slow to write or read, or stopped in
//! the middle, holds up no other connection.
//!
//! A blocking call, and the server between requests, poll their word for up to [`SPIN`]
//! before they sleep (yielding the CPU between looks after [`SPIN_ALONE`]): a reply usually
//! comes within microseconds, and a futex sleep and wake-up cost tens of them on a virtual
//! machine. The `_async` forms never poll.
//!
//! A connection whose call did not end with its reply (it timed out, or its future was
//! dropped) is closed, never reused: the client closes its rings, and the server forgets it
//! when it finds the request ring closed (or the reply refused).
//!
//! # Deaths
//!
//! - The server: a client's every wait (for a slot, for room in its request ring, for its
//!   reply) sleeps in slices of `drive::SLICE`, and after each quiet one asks whether the
//!   server still runs ([`Watched`]: its pid, and natively its start time, so that a pid
//!   reused by another process does not pass for it); once it does not, the call fails with
//!   [`Error::ManagerGone`]. A manager that ends closes the registry and every ring it
//!   serves, so later calls, and calls waiting, fail at once.
//! - A client: the server asks, every [`SWEEP`], whether each client still runs (its pid,
//!   and natively the start time it registered, since a new process may get a dead client's
//!   pid within the sweep's period); for one that ended, it reads what the client had
//!   finished writing (its last reference counts), then releases its references
//!   (`State::client_gone`) and drops its connections. A reply to a client that died fails
//!   (`BrokenPipe` once its reader is gone) instead of waiting.
//! - A client killed in the middle of writing a request (a window of a few instructions, or a
//!   long request streaming) leaves a torn frame in its own request ring only: the server
//!   finds the ring broken (`Error::PeerDied`) and drops that connection; every other
//!   connection, and the manager, go on. (One request ring shared by every client, as before,
//!   was broken for everyone by such a death.)
//!
//! # Reference counts that cannot wait
//!
//! A post on a thread that may not block (the browser's main thread, a proxy dropped there)
//! whose ring is full, or that finds no free slot for the post connection, is queued in the
//! channel, in order, and sent before the next post or call of the process, instead of being
//! lost.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::channel::Channel;
use super::state::{pid_of, ClientId, State};
use crate::process::region::{Handle, Object, Place, SharedWord};
use crate::process::ring::drive::{self, Block, Op, Step};
use crate::process::ring::{Ending, Receiving, Ring, Sending, READ_CLOSED, WRITE_CLOSED};
use crate::sync::atomic::Ordering::SeqCst;
use crate::sync::Word;
use crate::time::{Deadline, Instant};
use crate::{sys, Error};

/// The kind of a manager's registry.
const KIND_REGISTRY: u32 = 0x30;
/// The kind of a connection's reply ring.
const KIND_REPLIES: u32 = 0x31;
/// The kind of a connection's request ring.
const KIND_REQUESTS: u32 = 0x32;

/// The registry's flags word.
const FLAGS: usize = 0;
/// Flag: the manager is gone; nothing more is served.
const CLOSED: u32 = 1;
/// The doorbell and its sleepers (the server).
const BELL: usize = 64;
const BELL_SLEEPERS: usize = 68;
/// Bumped whenever the server frees a slot, and its sleepers (clients waiting for one).
const ROOM: usize = 128;
const ROOM_SLEEPERS: usize = 132;
/// Where the slots begin, and each slot's length.
const SLOTS_AT: usize = 192;
const SLOT_LEN: usize = 64;
/// How many registrations may wait for the server at once.
const SLOTS: usize = 32;
const REGISTRY_BODY: usize = SLOTS_AT + SLOTS * SLOT_LEN;

/// A slot's words: its owner's pid (0: free), whether it is ready, the client, the
/// connection's number, the client's start time (`u64::MAX`: unknown), and the offsets and
/// checks of the request ring's and the reply ring's handles (a reply offset of 0: none).
const OWNER: usize = 0;
const READY: usize = 4;
const CLIENT: usize = 8;
const CONNECTION: usize = 16;
const STARTED: usize = 24;
const REQUESTS_OFFSET: usize = 32;
const REQUESTS_CHECK: usize = 40;
const REPLIES_OFFSET: usize = 48;
const REPLIES_CHECK: usize = 56;
/// A start time that could not be read.
const UNKNOWN_START: u64 = u64::MAX;

/// How often the server looks for clients that died.
pub(crate) const SWEEP: Duration = Duration::from_millis(250);
/// How long a one-way request may wait for room in its ring on a thread that may block
/// (after that it stays queued for the next post or call).
const POST_PATIENCE: Duration = Duration::from_secs(1);

/// A process, told apart from a later one with the same pid by its start time where the
/// platform has one (natively; the browser never reuses process ids).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Identity {
    pid: u32,
    started: Option<u64>,
}

impl Identity {
    /// Process `pid`, with its start time read now.
    fn of(pid: u32) -> Identity {
        Identity {
            pid,
            started: sys::process_start_time(pid),
        }
    }

    /// Whether the process still runs: its pid does, with the same start time.
    fn runs(&self) -> bool {
        sys::pid_alive(self.pid)
            && match self.started {
                None => true,
                Some(started) => sys::process_start_time(self.pid) == Some(started),
            }
    }
}

/// Where a manager of this process tree is: its registry and its server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RingAddress {
    registry: Handle,
    server: Identity,
}

impl RingAddress {
    /// The address of the manager whose registry is `registry` and whose server's pid is
    /// `server` (read with its start time now, while it runs).
    pub(crate) fn new(registry: &Object, server: u32) -> RingAddress {
        RingAddress {
            registry: registry.handle(),
            server: Identity::of(server),
        }
    }
}

/// A new registry, for a manager about to start.
pub(crate) fn create_registry() -> Result<Object, Error> {
    Object::create(KIND_REGISTRY, 0, REGISTRY_BODY)
}

/// Closes a manager's registry: its server ends once it sees it, and calls fail at once.
pub(crate) fn close_registry(registry: &Object) {
    Registry(registry.place()).close();
}

fn open_registry(handle: Handle) -> Result<Object, String> {
    Object::open(handle, KIND_REGISTRY, |_| Some(REGISTRY_BODY))
}

/// A view of a registry (see the module docs), valid while its [`Object`] is held.
#[derive(Debug, Clone, Copy)]
struct Registry(Place);

impl Registry {
    fn word(&self, at: usize) -> SharedWord {
        self.0.word(at)
    }

    fn slot(&self, slot: usize, at: usize) -> SharedWord {
        self.word(SLOTS_AT + slot * SLOT_LEN + at)
    }

    fn store64(&self, slot: usize, at: usize, value: u64) {
        self.slot(slot, at).swap(value as u32, SeqCst);
        self.slot(slot, at + 4).swap((value >> 32) as u32, SeqCst);
    }

    fn load64(&self, slot: usize, at: usize) -> u64 {
        u64::from(self.slot(slot, at).load(SeqCst))
            | (u64::from(self.slot(slot, at + 4).load(SeqCst)) << 32)
    }

    fn closed(&self) -> bool {
        self.word(FLAGS).load(SeqCst) & CLOSED != 0
    }

    /// Marks the manager gone and wakes whoever sleeps on the registry.
    fn close(&self) {
        self.0
            .atom::<crate::sys::region_atomics::AtomicU32>(FLAGS)
            .fetch_or(CLOSED, SeqCst);
        for seq in [BELL, ROOM] {
            let word = self.word(seq);
            word.fetch_add(1, SeqCst);
            word.wake_all();
        }
    }

    /// Rings the doorbell: the server looks at its rings again.
    fn ring(&self) {
        bump(self.word(BELL), self.word(BELL_SLEEPERS));
    }

    /// The doorbell's value now, to sleep on (read before looking for work).
    fn bell(&self) -> u32 {
        self.word(BELL).load(SeqCst)
    }

    /// Frees `slot` (the server adopted it, or its owner died before it was ready).
    fn free(&self, slot: usize) {
        self.slot(slot, READY).swap(0, SeqCst);
        self.slot(slot, OWNER).swap(0, SeqCst);
        bump(self.word(ROOM), self.word(ROOM_SLEEPERS));
    }
}

/// Bumps a sequence word, waking its sleepers if any announced themselves.
fn bump(seq: SharedWord, sleepers: SharedWord) {
    seq.fetch_add(1, SeqCst);
    if sleepers.load(SeqCst) != 0 {
        seq.wake_all();
    }
}

/// What a client refuses to write into a request ring: one the server closed (it ended), or
/// that the client closed itself.
fn refuse_requests(flags: u32) -> Option<Error> {
    (flags & (WRITE_CLOSED | READ_CLOSED) != 0).then_some(Error::ManagerGone)
}

fn refuse_replies(flags: u32) -> Option<Error> {
    (flags & READ_CLOSED != 0).then_some(Error::BrokenPipe)
}

/// How long a blocking call (and the server, between requests) polls its word before it
/// sleeps: a reply usually comes within a few microseconds, and a sleep costs two system calls
/// and a wake-up of the other side, which on a virtual machine can take tens of microseconds.
const SPIN: Duration = Duration::from_micros(50);
/// How much of [`SPIN`] is spent without yielding the CPU.
const SPIN_ALONE: Duration = Duration::from_micros(5);

/// When a client's op rings the server's doorbell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bell {
    /// Never (a wait for a slot; the server's own waits).
    Never,
    /// After each step (a request being written).
    EachStep,
    /// After each step that leaves a frame half read (a long reply, whose rest the server
    /// writes as room is freed).
    MidFrame,
}

/// An op that also fails with [`Error::ManagerGone`] once the server no longer runs (asked
/// after every quiet slice), that polls for up to [`SPIN`] before it sleeps when `spin` is
/// set (the blocking forms; never a future's, which must not hold its thread), and that
/// rings the server's doorbell as `bell` says.
struct Watched<O> {
    op: O,
    server: Identity,
    spin: bool,
    bell: Option<(Registry, Bell)>,
}

impl<O: Op> Op for Watched<O> {
    type Output = O::Output;

    fn step(&mut self) -> Step<O::Output> {
        let mut spun_since = None;
        loop {
            let step = self.op.step();
            match self.bell {
                Some((registry, Bell::EachStep)) => registry.ring(),
                Some((registry, Bell::MidFrame)) if self.op.mid_frame() => registry.ring(),
                _ => {}
            }
            let Step::Wait(Block::Seq { seq, seen, .. }, _) = &step else {
                return step;
            };
            if !self.spin {
                return step;
            }
            let since = *spun_since.get_or_insert_with(Instant::now);
            if !poll_until_moved(*seq, *seen, since) {
                return step;
            }
        }
    }

    fn on_quiet(&mut self) -> Result<(), Error> {
        self.op.on_quiet()?;
        if self.server.runs() {
            Ok(())
        } else {
            Err(Error::ManagerGone)
        }
    }

    fn mid_frame(&self) -> bool {
        self.op.mid_frame()
    }
}

/// Polls `seq` until it moves from `seen` (`true`) or [`SPIN`] has passed since `since`:
/// spinning for the first [`SPIN_ALONE`], then yielding the CPU between polls, so that on a
/// busy machine the process that will answer (perhaps waiting for this very CPU) can run.
fn poll_until_moved(seq: SharedWord, seen: u32, since: Instant) -> bool {
    loop {
        for _ in 0..64 {
            if seq.load(SeqCst) != seen {
                return true;
            }
            std::hint::spin_loop();
        }
        let spun = since.elapsed();
        if spun >= SPIN {
            return false;
        }
        if spun >= SPIN_ALONE {
            std::thread::yield_now();
        }
    }
}

/// The server's wait for its doorbell to ring (from `seen`), until `deadline`.
struct Doorbell {
    registry: Registry,
    seen: u32,
    deadline: Deadline,
}

impl Op for Doorbell {
    type Output = ();

    fn step(&mut self) -> Step<()> {
        if self.registry.bell() != self.seen || self.registry.closed() {
            return Step::Done(Ok(()));
        }
        Step::Wait(
            Block::Seq {
                seq: self.registry.word(BELL),
                sleepers: self.registry.word(BELL_SLEEPERS),
                seen: self.seen,
            },
            self.deadline,
        )
    }

    fn on_quiet(&mut self) -> Result<(), Error> {
        Ok(())
    }

    fn mid_frame(&self) -> bool {
        false
    }
}

/// What a registration hands the server (see the module docs).
struct Record {
    client: ClientId,
    connection: u64,
    started: u64,
    requests: Handle,
    replies: Option<Handle>,
}

/// A client's wait for a free slot, and its registration there, in one step.
struct Registering {
    registry: Registry,
    record: Record,
    deadline: Deadline,
}

impl Op for Registering {
    type Output = ();

    fn step(&mut self) -> Step<()> {
        let registry = self.registry;
        if registry.closed() {
            return Step::Done(Err(Error::ManagerGone));
        }
        let seen = registry.word(ROOM).load(SeqCst);
        let me = sys::current_pid();
        for slot in 0..SLOTS {
            if registry
                .slot(slot, OWNER)
                .compare_exchange(0, me, SeqCst, SeqCst)
                .is_err()
            {
                continue;
            }
            let record = &self.record;
            let (requests_offset, _, requests_check) = record.requests.to_parts();
            let (replies_offset, _, replies_check) =
                record.replies.map_or((0, 0, 0), Handle::to_parts);
            registry.store64(slot, CLIENT, record.client);
            registry.store64(slot, CONNECTION, record.connection);
            registry.store64(slot, STARTED, record.started);
            registry.store64(slot, REQUESTS_OFFSET, requests_offset);
            registry.store64(slot, REQUESTS_CHECK, requests_check);
            registry.store64(slot, REPLIES_OFFSET, replies_offset);
            registry.store64(slot, REPLIES_CHECK, replies_check);
            registry.slot(slot, READY).swap(1, SeqCst);
            registry.ring();
            return Step::Done(Ok(()));
        }
        if self.deadline.is_now() {
            return Step::Done(Err(Error::Full));
        }
        Step::Wait(
            Block::Seq {
                seq: registry.word(ROOM),
                sleepers: registry.word(ROOM_SLEEPERS),
                seen,
            },
            self.deadline,
        )
    }

    fn on_quiet(&mut self) -> Result<(), Error> {
        Ok(())
    }

    fn mid_frame(&self) -> bool {
        false
    }
}

/// What a failed ring op means to a client: the manager is gone, unless the caller's
/// deadline passed or its thread may not block.
fn gone(error: Error) -> Error {
    match error {
        Error::Timeout | Error::WouldBlock | Error::Full => error,
        _ => Error::ManagerGone,
    }
}

/// This process's client id: its pid in the high half, a number of its own in the low.
fn next_client() -> ClientId {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    (u64::from(sys::current_pid()) << 32) | u64::from(NEXT.fetch_add(1, Ordering::Relaxed))
}

fn next_connection() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// One connection, the client's side: its number, its rings (a post connection has no reply
/// ring), and whether the server has been handed it yet.
struct Connection {
    id: u64,
    requests: (Object, Ring),
    replies: Option<(Object, Ring)>,
    registered: bool,
}

impl Connection {
    fn new(replies: bool) -> Result<Connection, Error> {
        let requests = Ring::create(KIND_REQUESTS, 0)?;
        requests.1.note_writer();
        let replies = if replies {
            let replies = Ring::create(KIND_REPLIES, 0)?;
            replies.1.note_reader();
            Some(replies)
        } else {
            None
        };
        Ok(Connection {
            id: next_connection(),
            requests,
            replies,
            registered: false,
        })
    }

    /// Closes both rings: the server forgets the connection when it sees it.
    fn close(&self) {
        self.requests.1.close(WRITE_CLOSED);
        if let Some((_, replies)) = &self.replies {
            replies.close(READ_CLOSED);
        }
    }
}

/// The requests without an answer: the post connection, and what could not be sent yet.
#[derive(Default)]
struct Posts {
    connection: Option<Connection>,
    queued: VecDeque<Vec<u8>>,
}

/// A client's channel to a manager of its process tree (see the module docs).
pub(crate) struct RingChannel {
    client: ClientId,
    started: u64,
    registry: Registry,
    registry_object: Object,
    server: Identity,
    idle: Mutex<Vec<Connection>>,
    posts: Mutex<Posts>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poison| poison.into_inner())
}

impl RingChannel {
    /// Opens the manager's registry.
    pub(crate) fn open(address: &RingAddress) -> Result<RingChannel, Error> {
        let registry_object = open_registry(address.registry).map_err(Error::Decode)?;
        Ok(RingChannel {
            client: next_client(),
            started: sys::process_start_time(sys::current_pid()).unwrap_or(UNKNOWN_START),
            registry: Registry(registry_object.place()),
            registry_object,
            server: address.server,
            idle: Mutex::new(Vec::new()),
            posts: Mutex::new(Posts::default()),
        })
    }

    fn watched<O: Op>(&self, op: O, spin: bool, bell: Bell) -> Watched<O> {
        Watched {
            op,
            server: self.server,
            spin,
            bell: (bell != Bell::Never).then_some((self.registry, bell)),
        }
    }

    /// An idle connection, or a new one.
    fn connection(&self) -> Result<Connection, Error> {
        if let Some(connection) = lock(&self.idle).pop() {
            return Ok(connection);
        }
        Connection::new(true)
    }

    /// Puts a connection whose call ended with its reply back, or closes one whose did not.
    fn settle(&self, connection: Connection, answered: bool) {
        if answered {
            lock(&self.idle).push(connection);
            return;
        }
        connection.close();
        self.registry.ring();
    }

    fn registering(
        &self,
        connection: &Connection,
        deadline: Deadline,
        spin: bool,
    ) -> Watched<Registering> {
        let op = Registering {
            registry: self.registry,
            record: Record {
                client: self.client,
                connection: connection.id,
                started: self.started,
                requests: connection.requests.1.handle(),
                replies: connection.replies.as_ref().map(|(_, ring)| ring.handle()),
            },
            deadline,
        };
        self.watched(op, spin, Bell::Never)
    }

    fn sending(
        &self,
        connection: &Connection,
        request: Vec<u8>,
        deadline: Deadline,
        spin: bool,
    ) -> Result<Watched<Sending>, Error> {
        let (object, ring) = &connection.requests;
        let sending = ring
            .sending(request, deadline, 0, refuse_requests)?
            .keeping((object.clone(), self.registry_object.clone()));
        Ok(self.watched(sending, spin, Bell::EachStep))
    }

    fn receiving(
        &self,
        connection: &Connection,
        deadline: Deadline,
        spin: bool,
    ) -> Result<Watched<Receiving>, Error> {
        let (object, ring) = connection
            .replies
            .as_ref()
            .ok_or_else(|| Error::Remote("a post connection has no replies".into()))?;
        let receiving = ring
            .receiving(deadline, Error::ManagerGone, Ending::WithLastWriter)
            .keeping(object.clone());
        Ok(self.watched(receiving, spin, Bell::MidFrame))
    }

    fn exchange(
        &self,
        connection: &mut Connection,
        request: &[u8],
        deadline: Deadline,
    ) -> Result<Vec<u8>, Error> {
        if !connection.registered {
            drive::run(&mut self.registering(connection, deadline, true))?;
            connection.registered = true;
        }
        drive::run(&mut self.sending(connection, request.to_vec(), deadline, true)?)?;
        drive::run(&mut self.receiving(connection, deadline, true)?)
    }

    async fn exchange_async(
        &self,
        connection: &mut Connection,
        request: Vec<u8>,
    ) -> Result<Vec<u8>, Error> {
        if !connection.registered {
            drive::run_async(self.registering(connection, Deadline::NEVER, false)).await?;
            connection.registered = true;
        }
        drive::run_async(self.sending(connection, request, Deadline::NEVER, false)?).await?;
        drive::run_async(self.receiving(connection, Deadline::NEVER, false)?).await
    }

    /// Sends what is queued of the posts, in order, as far as the thread and the rings allow
    /// (see the module docs): a post waits for room up to [`POST_PATIENCE`] where the thread
    /// may block, not at all where it may not; what is not sent stays queued, unless the
    /// manager is gone (nothing to count then).
    fn flush(&self, posts: &mut Posts) {
        let deadline = if sys::can_block() {
            Deadline::after(POST_PATIENCE)
        } else {
            Deadline::NOW
        };
        self.flush_until(posts, deadline);
    }

    /// [`flush`](RingChannel::flush), each post waiting for room until `deadline`.
    fn flush_until(&self, posts: &mut Posts, deadline: Deadline) {
        while let Some(request) = posts.queued.pop_front() {
            match self.send_post(posts, request, deadline) {
                Ok(()) => {}
                Err((error, request)) => {
                    if matches!(error, Error::Full | Error::WouldBlock | Error::Timeout) {
                        posts.queued.push_front(request);
                    } else {
                        posts.queued.clear();
                    }
                    return;
                }
            }
        }
    }

    /// Sends one post on the post connection (made and registered first if need be); on
    /// failure, the error and the request, unsent.
    fn send_post(
        &self,
        posts: &mut Posts,
        request: Vec<u8>,
        deadline: Deadline,
    ) -> Result<(), (Error, Vec<u8>)> {
        if self.registry.closed() {
            return Err((Error::ManagerGone, request));
        }
        if posts.connection.is_none() {
            match Connection::new(false) {
                Ok(connection) => posts.connection = Some(connection),
                Err(error) => return Err((error, request)),
            }
        }
        let connection = posts.connection.as_mut().expect("made above");
        if !connection.registered {
            if let Err(error) = drive::run(&mut self.registering(connection, deadline, false)) {
                return Err((error, request));
            }
            connection.registered = true;
        }
        let mut sending = match self.sending(connection, request, deadline, false) {
            Ok(sending) => sending,
            Err(error) => return Err((error, Vec::new())),
        };
        // A post fits whole; a post that did not begin is handed back, to be sent later.
        drive::run(&mut sending).map_err(|error| (error, sending.op.into_payload()))
    }

    /// Sends the posts queued by threads that could not wait (before a call, whose request
    /// may depend on them having been counted).
    fn flush_queued(&self) {
        let mut posts = lock(&self.posts);
        if !posts.queued.is_empty() {
            self.flush(&mut posts);
        }
    }
}

/// A connection taken for a call: closed if the call's future is dropped before its reply.
struct Taken<'a> {
    channel: &'a RingChannel,
    connection: Option<Connection>,
}

impl Drop for Taken<'_> {
    fn drop(&mut self) {
        if let Some(connection) = self.connection.take() {
            self.channel.settle(connection, false);
        }
    }
}

impl Channel for RingChannel {
    fn call(&self, request: &[u8], deadline: Deadline) -> Result<Vec<u8>, Error> {
        if !sys::can_block() {
            return Err(Error::WouldBlock);
        }
        if self.registry.closed() {
            return Err(Error::ManagerGone);
        }
        self.flush_queued();
        let mut connection = self.connection()?;
        let reply = self
            .exchange(&mut connection, request, deadline)
            .map_err(gone);
        self.settle(connection, reply.is_ok());
        reply
    }

    async fn call_async(&self, request: Vec<u8>) -> Result<Vec<u8>, Error> {
        if self.registry.closed() {
            return Err(Error::ManagerGone);
        }
        self.flush_queued();
        let mut taken = Taken {
            channel: self,
            connection: Some(self.connection()?),
        };
        let connection = taken.connection.as_mut().expect("taken above");
        let reply = self.exchange_async(connection, request).await.map_err(gone);
        if reply.is_ok() {
            let connection = taken.connection.take().expect("taken above");
            self.settle(connection, true);
        }
        reply
    }

    fn post(&self, request: &[u8]) {
        let mut posts = lock(&self.posts);
        posts.queued.push_back(request.to_vec());
        self.flush(&mut posts);
    }
}

impl Drop for RingChannel {
    fn drop(&mut self) {
        let idle = std::mem::take(&mut *lock(&self.idle));
        let mut posts = std::mem::take(&mut *lock(&self.posts));
        if !posts.queued.is_empty() {
            self.flush(&mut posts);
        }
        for connection in idle.iter().chain(&posts.connection) {
            connection.close();
        }
        self.registry.ring();
    }
}

/// What the server process is started with.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ServerStart {
    pub(crate) registry: Handle,
}

/// One connection, the server's side.
struct Served {
    client: ClientId,
    requests: (Object, Ring),
    /// A request begun and not yet whole (longer than the ring, streaming in): resumed at the
    /// next look, so that a client slow to write it (or stopped) holds up nobody else.
    reading: Option<Receiving>,
    /// A reply begun and not yet whole (longer than the ring, streaming out): resumed at the
    /// next look, before anything else of the connection.
    writing: Option<Sending>,
    /// `None` for a post connection.
    replies: Option<(Object, Ring)>,
}

/// What a look at a connection found.
enum Looked {
    /// Nothing to read.
    Idle,
    /// A request.
    Request(Vec<u8>),
    /// The connection is over (closed by its client, or broken by its death): forget it.
    Over,
}

/// The server's loop and what it knows (see the module docs).
struct Server {
    registry: Registry,
    state: State,
    connections: Vec<Served>,
    /// The start time each client registered (`None`: unknown).
    clients: HashMap<ClientId, Option<u64>>,
}

impl Server {
    /// Adopts the connections of the ready slots; whether there were any.
    fn adopt(&mut self) -> bool {
        let registry = self.registry;
        let mut adopted = false;
        for slot in 0..SLOTS {
            if registry.slot(slot, READY).load(SeqCst) == 0 {
                continue;
            }
            adopted = true;
            let client = registry.load64(slot, CLIENT);
            let started = registry.load64(slot, STARTED);
            let requests = Handle::from_parts(
                registry.load64(slot, REQUESTS_OFFSET),
                KIND_REQUESTS,
                registry.load64(slot, REQUESTS_CHECK),
            );
            let replies = match registry.load64(slot, REPLIES_OFFSET) {
                0 => None,
                offset => Some(Handle::from_parts(
                    offset,
                    KIND_REPLIES,
                    registry.load64(slot, REPLIES_CHECK),
                )),
            };
            registry.free(slot);
            self.clients
                .entry(client)
                .or_insert((started != UNKNOWN_START).then_some(started));
            let Ok(requests) = Ring::open(requests, KIND_REQUESTS, |_| true) else {
                continue;
            };
            let replies = match replies.map(|handle| Ring::open(handle, KIND_REPLIES, |_| true)) {
                None => None,
                Some(Ok(replies)) => Some(replies),
                Some(Err(_)) => continue,
            };
            requests.1.note_reader();
            self.connections.push(Served {
                client,
                requests,
                reading: None,
                writing: None,
                replies,
            });
        }
        adopted
    }

    /// Reads the next request of `served`, as far as it has come without waiting: a request
    /// that is not whole yet is kept, and resumed at the next look.
    fn read(served: &mut Served) -> Looked {
        let ring = served.requests.1;
        let mut reading = match served.reading.take() {
            Some(reading) => reading,
            None => {
                match drive::run(&mut ring.polling(Deadline::NOW, Ending::WhenClosed)) {
                    Ok(false) => return Looked::Idle,
                    Ok(true) => {}
                    Err(_) => return Looked::Over,
                }
                ring.receiving(Deadline::NOW, Error::Closed, Ending::WhenClosed)
            }
        };
        match reading.step() {
            Step::Done(Ok(request)) => Looked::Request(request),
            Step::Done(Err(Error::Empty)) => Looked::Idle,
            Step::Done(Err(_)) => Looked::Over,
            // The rest of a long request: its writer rings the doorbell as it writes.
            Step::Wait(..) => {
                served.reading = Some(reading);
                Looked::Idle
            }
        }
    }

    /// Runs `request` of `served`, and begins its reply on a call connection (what does not
    /// fit yet is kept for [`Server::write`]): `false` once the connection is over (its reply
    /// refused).
    fn serve(state: &State, served: &mut Served, request: &[u8]) -> bool {
        let Some(reply) = state.dispatch(served.client, request) else {
            return true;
        };
        let Some((_, replies)) = &served.replies else {
            return true;
        };
        match replies.sending(reply, Deadline::NEVER, 0, refuse_replies) {
            Ok(sending) => {
                served.writing = Some(sending);
                Server::write(served)
            }
            Err(_) => false,
        }
    }

    /// Writes as much of `served`'s pending reply as its ring takes now: `false` once the
    /// connection is over (the client closed its reply ring, or it broke).
    fn write(served: &mut Served) -> bool {
        let Some(mut sending) = served.writing.take() else {
            return true;
        };
        match sending.step() {
            Step::Done(done) => done.is_ok(),
            // The rest, as the client reads (it rings the doorbell as it does).
            Step::Wait(..) => {
                served.writing = Some(sending);
                true
            }
        }
    }

    /// Serves every post `client` has written so far: a client's posts (reference counts)
    /// count before any call it made after them, as they would on one ring. Its post
    /// connection's registration came before those posts, so it is adopted first if need be.
    fn serve_posts_of(&mut self, client: ClientId) {
        let has_posts = |connections: &[Served]| {
            connections
                .iter()
                .any(|served| served.client == client && served.replies.is_none())
        };
        if !has_posts(&self.connections) {
            self.adopt();
        }
        for served in &mut self.connections {
            if served.client != client || served.replies.is_some() {
                continue;
            }
            while let Looked::Request(request) = Server::read(served) {
                Server::serve(&self.state, served, &request);
            }
        }
    }

    /// One look at every connection (after adopting the new ones), serving at most one
    /// request of each; whether anything was done.
    fn round(&mut self) -> bool {
        let mut worked = self.adopt();
        let mut at = 0;
        while at < self.connections.len() {
            let served = &mut self.connections[at];
            // A reply still going out comes before the connection's next request.
            if served.writing.is_some() {
                if !Server::write(served) {
                    self.connections.swap_remove(at);
                    continue;
                }
                if served.writing.is_some() {
                    at += 1;
                    continue;
                }
            }
            match Server::read(served) {
                Looked::Idle => at += 1,
                Looked::Over => {
                    self.connections.swap_remove(at);
                }
                Looked::Request(request) => {
                    worked = true;
                    if self.connections[at].replies.is_some() {
                        // Only appends to the connections: `at` still names this one.
                        self.serve_posts_of(self.connections[at].client);
                    }
                    if Server::serve(&self.state, &mut self.connections[at], &request) {
                        at += 1;
                    } else {
                        self.connections.swap_remove(at);
                    }
                }
            }
            if self.state.shutting_down() {
                break;
            }
        }
        worked
    }

    /// Frees the slots of registrations whose owner died before they were ready, and
    /// releases what the clients that ended held, after reading what they had finished
    /// writing.
    fn sweep(&mut self) {
        let registry = self.registry;
        for slot in 0..SLOTS {
            let owner = registry.slot(slot, OWNER).load(SeqCst);
            if owner != 0
                && registry.slot(slot, READY).load(SeqCst) == 0
                && !sys::pid_alive(owner)
                && registry
                    .slot(slot, OWNER)
                    .compare_exchange(owner, 0, SeqCst, SeqCst)
                    .is_ok()
            {
                bump(registry.word(ROOM), registry.word(ROOM_SLEEPERS));
            }
        }
        let mut known = self.state.clients();
        known.extend(self.clients.keys().copied());
        known.sort_unstable();
        known.dedup();
        for client in known {
            let identity = Identity {
                pid: pid_of(client),
                started: self.clients.get(&client).copied().flatten(),
            };
            if identity.runs() {
                continue;
            }
            // What it finished writing (its last releases and adoptions) counts first.
            for served in self.connections.iter_mut().filter(|c| c.client == client) {
                while let Looked::Request(request) = Server::read(served) {
                    Server::serve(&self.state, served, &request);
                }
            }
            self.state.client_gone(client);
            self.connections.retain(|served| served.client != client);
            self.clients.remove(&client);
        }
    }

    /// Closes every connection, then the registry: every client waiting fails at once.
    fn close(&self) {
        for served in &self.connections {
            served.requests.1.close(READ_CLOSED);
            if let Some((_, replies)) = &served.replies {
                replies.close(WRITE_CLOSED);
            }
        }
        self.registry.close();
    }
}

/// The server's loop: the target of the manager's process (see the module docs).
pub(crate) fn serve(start: ServerStart) {
    let Ok(registry_object) = open_registry(start.registry) else {
        return;
    };
    let registry = Registry(registry_object.place());
    let me = Identity::of(sys::current_pid());
    let mut server = Server {
        registry,
        state: State::default(),
        connections: Vec::new(),
        clients: HashMap::new(),
    };
    let mut swept = Instant::now();
    loop {
        let seen = registry.bell();
        if registry.closed() {
            break;
        }
        let worked = server.round();
        if server.state.shutting_down() {
            break;
        }
        if swept.elapsed() >= SWEEP {
            swept = Instant::now();
            server.sweep();
        }
        if !worked {
            let mut waiting = Watched {
                op: Doorbell {
                    registry,
                    seen,
                    deadline: Deadline::after(SWEEP),
                },
                server: me,
                spin: true,
                bell: None,
            };
            match drive::run(&mut waiting) {
                Ok(()) | Err(Error::Timeout) => {}
                Err(_) => break,
            }
        }
    }
    server.close();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::manager::protocol::{Kind, ManagerStats, Request};

    fn request(request: &Request) -> Vec<u8> {
        serde_json::to_vec(request).unwrap()
    }

    fn stats(server: &Server, client: ClientId) -> ManagerStats {
        let reply = server
            .state
            .dispatch(client, &request(&Request::Stats))
            .unwrap();
        let reply: Result<ManagerStats, serde_json::Value> =
            serde_json::from_slice(&reply).unwrap();
        reply.unwrap()
    }

    fn server_of(registry_object: &Object) -> Server {
        Server {
            registry: Registry(registry_object.place()),
            state: State::default(),
            connections: Vec::new(),
            clients: HashMap::new(),
        }
    }

    #[test]
    fn posts_that_find_their_ring_full_are_queued_and_sent_in_order() {
        let registry_object = create_registry().unwrap();
        let mut server = server_of(&registry_object);
        let channel =
            RingChannel::open(&RingAddress::new(&registry_object, sys::current_pid())).unwrap();
        // More posts than the ring holds, written as a thread that may not wait would: the
        // ring fills, and the rest is queued instead of lost.
        let posts: Vec<Vec<u8>> = (0..6000u32)
            .map(|id| request(&Request::Decref { id: id.into() }))
            .collect();
        let mut queue = lock(&channel.posts);
        queue.queued.extend(posts.iter().cloned());
        channel.flush_until(&mut queue, Deadline::NOW);
        assert!(!queue.queued.is_empty(), "the ring filled up");
        assert!(queue.queued.len() < posts.len(), "and took what fitted");
        assert!(server.adopt());
        let mut received = Vec::new();
        let mut rounds = 0;
        loop {
            let served = &mut server.connections[0];
            while let Looked::Request(post) = Server::read(served) {
                received.push(post);
            }
            if queue.queued.is_empty() {
                break;
            }
            rounds += 1;
            channel.flush_until(&mut queue, Deadline::NOW);
        }
        assert!(rounds > 0);
        assert!(received == posts, "every post arrived once, in order");
    }

    #[test]
    fn a_process_with_the_same_pid_and_another_start_time_is_another_process() {
        let me = Identity::of(sys::current_pid());
        assert!(me.runs());
        // Where there is no start time (the browser), pids are never reused.
        let Some(started) = me.started else {
            return;
        };
        let other = Identity {
            pid: me.pid,
            started: Some(started + 1),
        };
        assert!(
            !other.runs(),
            "a pid reused by a new process is not the old one"
        );
    }

    #[test]
    fn a_client_whose_pid_was_reused_is_swept_as_dead() {
        let registry_object = create_registry().unwrap();
        let mut server = server_of(&registry_object);
        // Where there is no start time (the browser), pids are never reused.
        let Some(started) = sys::process_start_time(sys::current_pid()) else {
            return;
        };
        // Two clients with this process's pid: one registered with this process's start
        // time, and one with an earlier one (a client that died, whose pid this process got).
        let alive = next_client();
        let dead = next_client();
        for (client, started) in [(alive, started), (dead, started - 1)] {
            let connection = Connection::new(false).unwrap();
            let mut registering = Registering {
                registry: server.registry,
                record: Record {
                    client,
                    connection: connection.id,
                    started,
                    requests: connection.requests.1.handle(),
                    replies: None,
                },
                deadline: Deadline::NOW,
            };
            drive::run(&mut registering).unwrap();
            assert!(server.adopt());
            let create = Request::Create {
                kind: Kind::Dict,
                init: serde_json::json!({}),
            };
            server.state.dispatch(client, &request(&create)).unwrap();
        }
        assert_eq!(stats(&server, alive).objects, 2);
        server.sweep();
        let after = stats(&server, alive);
        assert_eq!(
            (after.objects, after.clients),
            (1, 1),
            "the dead client's dict is freed"
        );
        assert_eq!(server.connections.len(), 1, "and its connection forgotten");
    }
}
