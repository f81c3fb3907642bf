//! `Pipe` conformance over every backend, after `_TestConnection` and `_TestPoll` in CPython's
//! `Lib/test/_test_multiprocessing.py`: each body is written once against
//! `conformance::Backend` and run with thread pipes on threads, process pipes in child
//! processes, and process pipes on threads of one process; natively and, through
//! `wasm-pack test`, in the browser.

// The async conformance macro goes unused here.
#[macro_use]
#[allow(unused_macros)]
mod common;
#[macro_use]
mod conformance;

use std::time::Duration;

use amphi::time::Instant;
use common::{assert_waited_at_least, PATIENCE};
use conformance::{pause, Backend, Connection, Outcome};

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

/// Echoes every message upper-cased until end of file: how many it echoed, or how it failed.
fn echo_until_eof<C: Connection>(end: C) -> Result<u32, Outcome> {
    let mut echoed = 0;
    loop {
        match end.recv_timeout(PATIENCE) {
            Ok(message) => {
                assert_eq!(end.send(message.to_uppercase()), Outcome::Ok);
                echoed += 1;
            }
            Err(Outcome::Eof) => return Ok(echoed),
            Err(other) => return Err(other),
        }
    }
}

/// Sends `count` messages of growing length, then closes its end.
fn send_then_close<C: Connection>((end, count): (C, u32)) -> Vec<Outcome> {
    let outcomes = (0..count)
        .map(|n| end.send("m".repeat(n as usize)))
        .collect();
    end.close();
    outcomes
}

/// Waits a moment, then sends one message.
fn send_later<C: Connection>(end: C) -> Outcome {
    pause();
    end.send("late".to_owned())
}

/// What the wrong direction of a one-way pipe's sending end gives.
fn misuse_the_sender<C: Connection>(writer: C) -> (bool, bool, Result<String, Outcome>) {
    (writer.readable(), writer.writable(), writer.try_recv())
}

fn pipe_echo_in_a_peer_until_end_of_file<B: Backend>() {
    // _TestConnection.test_connection, with an echo peer.
    let (conn, peer_end) = B::pipe(true);
    let echo = B::start(echo_until_eof::<B::Connection>, peer_end.clone());
    for message in ["hello", "", "world"] {
        assert_eq!(conn.send(message.to_owned()), Outcome::Ok);
        assert_eq!(conn.recv_timeout(PATIENCE), Ok(message.to_uppercase()));
    }
    conn.close();
    assert_eq!(
        echo.join(),
        Ok(3),
        "the peer saw every message, then end of file"
    );
}

fn pipe_messages_arrive_whole_in_order_then_end_of_file<B: Backend>() {
    const COUNT: u32 = 50;
    let (conn, peer_end) = B::pipe(true);
    let sender = B::start(send_then_close::<B::Connection>, (peer_end.clone(), COUNT));
    assert_eq!(sender.join(), vec![Outcome::Ok; COUNT as usize]);
    for n in 0..COUNT {
        assert_eq!(conn.recv(), Ok("m".repeat(n as usize)), "message {n}");
    }
    assert_eq!(conn.recv(), Err(Outcome::Eof), "after the messages");
    assert_eq!(conn.try_recv(), Err(Outcome::Eof));
    assert_eq!(conn.recv_timeout(PATIENCE), Err(Outcome::Eof), "at once");
}

fn pipe_poll_times_out_then_sees_a_message<B: Backend>() {
    // _TestConnection.test_connection's poll checks, and _TestPoll.
    let (conn, peer_end) = B::pipe(true);
    assert_eq!(conn.poll(Duration::ZERO), Ok(false));
    let timeout = Duration::from_millis(100);
    let start = Instant::now();
    assert_eq!(conn.poll(timeout), Ok(false));
    assert_waited_at_least(start.elapsed(), timeout);
    let sender = B::start(send_later::<B::Connection>, peer_end.clone());
    assert_eq!(conn.poll(PATIENCE), Ok(true));
    assert_eq!(conn.poll(Duration::ZERO), Ok(true), "a poll takes nothing");
    assert_eq!(conn.recv(), Ok("late".to_owned()));
    assert_eq!(sender.join(), Outcome::Ok);
}

fn pipe_try_and_timed_receives_of_an_empty_pipe<B: Backend>() {
    let (conn, _peer_end) = B::pipe(true);
    assert_eq!(conn.try_recv(), Err(Outcome::Empty));
    let timeout = Duration::from_millis(50);
    let start = Instant::now();
    assert_eq!(conn.recv_timeout(timeout), Err(Outcome::Timeout));
    assert_waited_at_least(start.elapsed(), timeout);
}

fn pipe_one_way_refuses_the_wrong_direction<B: Backend>() {
    // _TestConnection.test_duplex_false.
    let (reader, writer) = B::pipe(false);
    assert!(reader.readable() && !reader.writable());
    assert_eq!(
        B::start(misuse_the_sender::<B::Connection>, writer.clone()).join(),
        (false, true, Err(Outcome::NotReadable))
    );
    assert_eq!(writer.send("one".to_owned()), Outcome::Ok);
    assert_eq!(reader.recv(), Ok("one".to_owned()));
    assert_eq!(reader.send("back".to_owned()), Outcome::NotWritable);
    assert_eq!(writer.recv(), Err(Outcome::NotReadable));
    assert_eq!(writer.poll(Duration::ZERO), Err(Outcome::NotReadable));
}

fn pipe_closed_ends_refuse_and_the_other_end_sees_a_broken_pipe<B: Backend>() {
    let (a, b) = B::pipe(true);
    assert!(!a.is_closed());
    a.close();
    assert!(a.is_closed());
    assert_eq!(a.recv(), Err(Outcome::Closed));
    assert_eq!(a.send("x".to_owned()), Outcome::Closed);
    assert_eq!(a.poll(Duration::ZERO), Err(Outcome::Closed));
    assert_eq!(
        b.send("x".to_owned()),
        Outcome::BrokenPipe,
        "nobody will receive it"
    );
    assert_eq!(b.recv(), Err(Outcome::Eof));
}

every_backend! {
    pipe_echo_in_a_peer_until_end_of_file,
    pipe_messages_arrive_whole_in_order_then_end_of_file,
    pipe_poll_times_out_then_sees_a_message,
    pipe_try_and_timed_receives_of_an_empty_pipe,
    pipe_one_way_refuses_the_wrong_direction,
    pipe_closed_ends_refuse_and_the_other_end_sees_a_broken_pipe,
}
