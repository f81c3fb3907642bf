//! The transport of a manager inside its process tree: one request ring into the server,
//! written by every client, and one reply ring per client connection, over the byte rings of
//! the shared region (`ring`). The server needs no thread of its own for it: it waits on one
//! ring (natively in a child process, in the browser in a process worker).
//!
//! A frame on the request ring is a header, the client's id and the connection's (two
//! little-endian `u64`s) and a tag, then the body:
//! - [`HELLO`]: a new connection; the body is the JSON handle of its reply ring, created by the
//!   client, which the server opens and writes the connection's replies into;
//! - [`CALL`]: a request (the JSON of a `protocol::Request`), answered on the connection's ring;
//! - [`POST`]: a request that has no answer (a reference count; connection 0);
//! - [`CLOSE`]: the client abandoned the connection (a call that timed out, or whose future was
//!   dropped): the server forgets it.
//!
//! A blocking call, and the server between requests, poll their ring for up to [`SPIN`]
//! before they sleep (yielding the CPU between looks after [`SPIN_ALONE`]): a reply usually
//! comes within microseconds, and a futex sleep and wake-up cost tens of them on a virtual
//! machine. The `_async` forms never poll.
//!
//! A connection carries one call at a time: a client takes an idle connection of its process
//! (or makes one) for a call and puts it back after the reply, so threads and futures of one
//! process never share a reply ring. A connection whose call did not end with its reply is
//! closed, never reused.
//!
//! # Deaths
//!
//! - The server: a client's every wait (for room in the request ring, for its reply) sleeps in
//!   slices of `drive::SLICE`, and after each quiet one asks whether the server's pid still
//!   runs ([`Watched`]); once it does not, the call fails with [`Error::ManagerGone`]. A
//!   manager shut down closes the request ring, so later calls fail at once.
//! - A client: the server asks, every [`SWEEP`], whether each client's pid still runs, and
//!   releases the references of those that ended (`State::client_gone`). A reply to a client
//!   that died fails (`BrokenPipe` once its reader is gone) instead of waiting.
//! - A client killed in the middle of writing a request frame (a window of a few
//!   instructions, or a long request streaming) breaks the request ring: the server then ends,
//!   and every client gets [`Error::ManagerGone`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::channel::Channel;
use super::state::{pid_of, ClientId, State};
use crate::process::region::{Handle, Object};
use crate::process::ring::drive::{self, Block, Op, Step};
use crate::process::ring::{Ending, Receiving, Ring, Sending, READ_CLOSED, WRITE_CLOSED};
use crate::sync::atomic::Ordering::SeqCst;
use crate::sync::Word;
use crate::time::{Deadline, Instant};
use crate::{sys, Error};

/// The kind of a manager's request ring.
const KIND_REQUESTS: u32 = 0x30;
/// The kind of a connection's reply ring.
const KIND_REPLIES: u32 = 0x31;

/// A new connection (see the module docs).
const HELLO: u8 = 0;
/// A request with an answer.
const CALL: u8 = 1;
/// A request without one.
const POST: u8 = 2;
/// An abandoned connection.
const CLOSE: u8 = 3;
const HEADER: usize = 17;

/// How often the server looks for clients that died.
pub(crate) const SWEEP: Duration = Duration::from_millis(250);
/// How long the server gives a client to take a reply that does not fit its ring before it
/// gives up on the connection.
const REPLY_PATIENCE: Duration = Duration::from_secs(10);
/// How long a one-way request may wait for room in the request ring.
const POST_PATIENCE: Duration = Duration::from_secs(1);

/// Where a manager of this process tree is: its request ring and its server's pid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RingAddress {
    pub(crate) requests: Handle,
    pub(crate) server: u32,
}

/// A new request ring, for a manager about to start.
pub(crate) fn create_requests() -> Result<(Object, Ring), Error> {
    Ring::create(KIND_REQUESTS, 0)
}

/// Closes a manager's request ring: its server ends once it sees it, and calls fail at once.
pub(crate) fn close_requests(requests: &Ring) {
    requests.close(WRITE_CLOSED);
}

fn frame(client: ClientId, connection: u64, tag: u8, body: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(HEADER + body.len());
    frame.extend_from_slice(&client.to_le_bytes());
    frame.extend_from_slice(&connection.to_le_bytes());
    frame.push(tag);
    frame.extend_from_slice(body);
    frame
}

fn refuse_requests(flags: u32) -> Option<Error> {
    (flags & WRITE_CLOSED != 0).then_some(Error::ManagerGone)
}

fn refuse_replies(flags: u32) -> Option<Error> {
    (flags & READ_CLOSED != 0).then_some(Error::BrokenPipe)
}

/// How long a blocking call (and the server, between requests) polls its ring before it
/// sleeps: a reply usually comes within a few microseconds, and a sleep costs two system calls
/// and a wake-up of the other side, which on a virtual machine can take tens of microseconds.
const SPIN: Duration = Duration::from_micros(50);
/// How much of [`SPIN`] is spent without yielding the CPU.
const SPIN_ALONE: Duration = Duration::from_micros(5);

/// A ring op that also fails with [`Error::ManagerGone`] once the server's pid no longer runs
/// (asked after every quiet slice), and that polls for up to [`SPIN`] before it sleeps when
/// `spin` is set (the blocking forms; never a future's, which must not hold its thread).
struct Watched<O> {
    op: O,
    server: u32,
    spin: bool,
}

impl<O: Op> Op for Watched<O> {
    type Output = O::Output;

    fn step(&mut self) -> Step<O::Output> {
        let mut spun_since = None;
        loop {
            let step = self.op.step();
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
        if sys::pid_alive(self.server) {
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
fn poll_until_moved(seq: crate::process::region::SharedWord, seen: u32, since: Instant) -> bool {
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

/// One connection: its number and its reply ring.
struct Connection {
    id: u64,
    ring: Ring,
    object: Object,
    /// Whether the server has not heard of it yet (its hello goes before its first call).
    fresh: bool,
}

/// A client's channel to a manager of its process tree (see the module docs).
pub(crate) struct RingChannel {
    client: ClientId,
    requests: Ring,
    requests_object: Object,
    server: u32,
    idle: Mutex<Vec<Connection>>,
}

impl RingChannel {
    /// Opens the manager's request ring.
    pub(crate) fn open(address: &RingAddress) -> Result<RingChannel, Error> {
        let (requests_object, requests) =
            Ring::open(address.requests, KIND_REQUESTS, |_| true).map_err(Error::Decode)?;
        Ok(RingChannel {
            client: next_client(),
            requests,
            requests_object,
            server: address.server,
            idle: Mutex::new(Vec::new()),
        })
    }

    fn idle(&self) -> MutexGuard<'_, Vec<Connection>> {
        self.idle
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// An idle connection, or a new one.
    fn connection(&self) -> Result<Connection, Error> {
        if let Some(connection) = self.idle().pop() {
            return Ok(connection);
        }
        let (object, ring) = Ring::create(KIND_REPLIES, 0)?;
        ring.note_reader();
        Ok(Connection {
            id: next_connection(),
            ring,
            object,
            fresh: true,
        })
    }

    /// Puts a connection whose call ended with its reply back, or closes one whose did not.
    fn settle(&self, mut connection: Connection, answered: bool) {
        if answered {
            connection.fresh = false;
            self.idle().push(connection);
            return;
        }
        connection.ring.close(READ_CLOSED);
        // Also for a fresh one: its hello may have gone out before the call failed.
        self.post_frame(frame(self.client, connection.id, CLOSE, &[]));
    }

    /// The frames a call sends: the hello of a fresh connection, then the call.
    fn frames(&self, connection: &Connection, request: &[u8]) -> Vec<Vec<u8>> {
        let mut frames = Vec::with_capacity(2);
        if connection.fresh {
            let handle =
                serde_json::to_vec(&connection.ring.handle()).expect("a handle serialises");
            frames.push(frame(self.client, connection.id, HELLO, &handle));
        }
        frames.push(frame(self.client, connection.id, CALL, request));
        frames
    }

    fn sending(
        &self,
        frame: Vec<u8>,
        deadline: Deadline,
        spin: bool,
    ) -> Result<Watched<Sending>, Error> {
        let sending = self
            .requests
            .sending(frame, deadline, 0, refuse_requests)?
            .keeping(self.requests_object.clone());
        Ok(Watched {
            op: sending,
            server: self.server,
            spin,
        })
    }

    fn receiving(
        &self,
        connection: &Connection,
        deadline: Deadline,
        spin: bool,
    ) -> Watched<Receiving> {
        let receiving = connection
            .ring
            .receiving(deadline, Error::ManagerGone, Ending::WithLastWriter)
            .keeping(connection.object.clone());
        Watched {
            op: receiving,
            server: self.server,
            spin,
        }
    }

    fn exchange(
        &self,
        connection: &Connection,
        request: &[u8],
        deadline: Deadline,
    ) -> Result<Vec<u8>, Error> {
        for frame in self.frames(connection, request) {
            drive::run(&mut self.sending(frame, deadline, true)?)?;
        }
        drive::run(&mut self.receiving(connection, deadline, true))
    }

    async fn exchange_async(
        &self,
        connection: &Connection,
        request: &[u8],
    ) -> Result<Vec<u8>, Error> {
        for frame in self.frames(connection, request) {
            drive::run_async(self.sending(frame, Deadline::NEVER, false)?).await?;
        }
        drive::run_async(self.receiving(connection, Deadline::NEVER, false)).await
    }

    fn post_frame(&self, frame: Vec<u8>) {
        let deadline = if sys::can_block() {
            Deadline::after(POST_PATIENCE)
        } else {
            Deadline::NOW
        };
        if let Ok(mut sending) = self.sending(frame, deadline, false) {
            // Lost when the server is gone, or its ring stays full: nothing to count then.
            let _ = drive::run(&mut sending);
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
        let connection = self.connection()?;
        let reply = self.exchange(&connection, request, deadline).map_err(gone);
        self.settle(connection, reply.is_ok());
        reply
    }

    async fn call_async(&self, request: Vec<u8>) -> Result<Vec<u8>, Error> {
        let mut taken = Taken {
            channel: self,
            connection: Some(self.connection()?),
        };
        let connection = taken.connection.as_ref().expect("taken above");
        let reply = self
            .exchange_async(connection, &request)
            .await
            .map_err(gone);
        if reply.is_ok() {
            let connection = taken.connection.take().expect("taken above");
            self.settle(connection, true);
        }
        reply
    }

    fn post(&self, request: &[u8]) {
        self.post_frame(frame(self.client, 0, POST, request));
    }
}

impl Drop for RingChannel {
    fn drop(&mut self) {
        let idle = std::mem::take(&mut *self.idle());
        for connection in idle {
            connection.ring.close(READ_CLOSED);
            self.post_frame(frame(self.client, connection.id, CLOSE, &[]));
        }
    }
}

/// What the server process is started with.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ServerStart {
    pub(crate) requests: Handle,
}

/// The server's loop: the target of the manager's process (see the module docs).
pub(crate) fn serve(start: ServerStart) {
    let Ok((_requests_object, requests)) = Ring::open(start.requests, KIND_REQUESTS, |_| true)
    else {
        return;
    };
    requests.note_reader();
    let state = State::default();
    let mut connections: HashMap<(ClientId, u64), (Object, Ring)> = HashMap::new();
    let mut swept = Instant::now();
    loop {
        let mut receiving = Watched {
            op: requests.receiving(Deadline::after(SWEEP), Error::Closed, Ending::WhenClosed),
            server: sys::current_pid(),
            spin: true,
        };
        match drive::run(&mut receiving) {
            Ok(frame) => serve_frame(&state, &mut connections, &frame),
            Err(Error::Timeout) => {}
            // Closed (the manager shut down, or its last handle dropped) or broken.
            Err(_) => break,
        }
        if state.shutting_down() {
            requests.close(WRITE_CLOSED);
            break;
        }
        if swept.elapsed() >= SWEEP {
            swept = Instant::now();
            for client in state.clients() {
                if !sys::pid_alive(pid_of(client)) {
                    state.client_gone(client);
                    connections.retain(|(owner, _), _| *owner != client);
                }
            }
        }
    }
}

fn serve_frame(
    state: &State,
    connections: &mut HashMap<(ClientId, u64), (Object, Ring)>,
    frame: &[u8],
) {
    if frame.len() < HEADER {
        return;
    }
    let client = u64::from_le_bytes(frame[0..8].try_into().expect("8 bytes"));
    let connection = u64::from_le_bytes(frame[8..16].try_into().expect("8 bytes"));
    let body = &frame[HEADER..];
    match frame[16] {
        HELLO => {
            let opened = serde_json::from_slice::<Handle>(body)
                .ok()
                .and_then(|handle| Ring::open(handle, KIND_REPLIES, |_| true).ok());
            if let Some(opened) = opened {
                connections.insert((client, connection), opened);
            }
        }
        CALL => {
            let Some(reply) = state.dispatch(client, body) else {
                return;
            };
            let Some((_, ring)) = connections.get(&(client, connection)) else {
                return;
            };
            let sent = ring
                .sending(reply, Deadline::after(REPLY_PATIENCE), 0, refuse_replies)
                .and_then(|sending| drive::run(&mut sending.broken_when_reader_gone()));
            if sent.is_err() {
                connections.remove(&(client, connection));
            }
        }
        POST => {
            let _ = state.dispatch(client, body);
        }
        CLOSE => {
            connections.remove(&(client, connection));
        }
        _ => {}
    }
}
