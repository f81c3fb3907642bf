//! Conformance of [`amphi::pipe`], [`amphi::Pipe`] and [`amphi::Connection`] with Python's
//! `multiprocessing.Pipe`, after CPython's `_TestConnection` and `_TestPoll` in
//! `Lib/test/_test_multiprocessing.py` (their `threads` flavour), with thread peers: on native
//! threads and, through `wasm-pack test`, on Web Workers. Plus end of file, broken pipes,
//! one-way misuse, dying peers and the async forms.

#[macro_use]
mod common;

use std::sync::Arc;
use std::time::Duration;

use amphi::time::Instant;
use amphi::{pipe, thread, Connection, Error, Pipe, RecvError, SendError, Thread};
use common::assert_waited_at_least;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

/// CPython's `SENTINEL`: the empty message tells the echo thread to quit.
const SENTINEL: &[u8] = b"";

/// CPython's `_echo`: sends back every message until the sentinel, then closes.
fn echo(conn: Connection<Vec<u8>>) -> Thread<()> {
    Thread::spawn(move || {
        loop {
            let message = conn.recv_bytes().unwrap();
            if message == SENTINEL {
                break;
            }
            conn.send_bytes(&message).unwrap();
        }
        conn.close();
    })
    .unwrap()
}

conformance! {
    fn connection_with_an_echo_thread() {
        // _TestConnection.test_connection.
        let (conn, child_conn) = pipe::<Vec<u8>>();
        let child = echo(child_conn);

        conn.send(vec![1, 2, 25]).unwrap();
        assert_eq!(conn.recv().unwrap(), [1, 2, 25]);
        conn.send_bytes(b"hello world").unwrap();
        assert_eq!(conn.recv_bytes().unwrap(), b"hello world");

        let start = Instant::now();
        assert!(!conn.try_poll().unwrap());
        assert!(!conn.poll(Duration::ZERO).unwrap());
        let timeout = Duration::from_millis(100);
        assert!(!conn.poll(timeout).unwrap());
        assert_waited_at_least(start.elapsed(), timeout);

        conn.send_bytes(b"x").unwrap();
        thread::sleep(Duration::from_millis(100)).unwrap();
        assert!(conn.poll(timeout).unwrap());
        assert_eq!(conn.recv_bytes().unwrap(), b"x");

        // A big message (16 MiB; 4 KiB under Miri) moves whole.
        let size = if cfg!(miri) { 1 << 12 } else { 1 << 24 };
        let really_big = vec![b'X'; size];
        conn.send(really_big.clone()).unwrap();
        assert_eq!(conn.recv_bytes().unwrap(), really_big);

        conn.send_bytes(SENTINEL).unwrap(); // tell the child to quit
        child.join().unwrap();
        assert_eq!(conn.recv(), Err(RecvError::Eof));
        assert_eq!(conn.recv_bytes(), Err(RecvError::Eof));
    }

    fn one_way_pipe_refuses_the_wrong_direction() {
        // _TestConnection.test_duplex_false.
        let (reader, writer) = Pipe::new::<i32>(false);
        writer.send(1).unwrap();
        assert_eq!(reader.recv(), Ok(1));
        assert!(reader.readable() && !reader.writable());
        assert!(writer.writable() && !writer.readable());
        assert!(matches!(reader.send(2), Err(SendError::NotWritable(2))));
        assert_eq!(writer.recv(), Err(RecvError::NotReadable));
        assert_eq!(writer.try_recv(), Err(RecvError::NotReadable));
        assert_eq!(writer.recv_timeout(Duration::from_millis(1)), Err(RecvError::NotReadable));
        assert_eq!(writer.poll(Duration::ZERO), Err(RecvError::NotReadable));
        assert_eq!(writer.try_poll(), Err(RecvError::NotReadable));
        assert_eq!(
            format!("{writer:?}"),
            "Connection { readable: false, writable: true, closed: false }"
        );
    }

    fn closing_one_end_right_after_spawning() {
        // _TestConnection.test_spawn_close: the parent's copy of the child's end goes away at
        // once (here: the child end moves into the thread); the pipe still works.
        let (conn, child_conn) = pipe::<Vec<u8>>();
        let child = echo(child_conn);
        conn.send_bytes(b"hello").unwrap();
        assert_eq!(conn.recv_bytes().unwrap(), b"hello");
        conn.send_bytes(SENTINEL).unwrap();
        conn.close();
        child.join().unwrap();
    }

    fn ends_close_at_the_end_of_their_scope() {
        // _TestConnection.test_context.
        let (a, b) = pipe();
        a.send(1729).unwrap();
        assert_eq!(b.recv(), Ok(1729));
        a.close();
        b.close();
        assert!(a.is_closed() && b.is_closed());
        assert_eq!(a.recv(), Err(RecvError::Closed));
        assert_eq!(b.recv(), Err(RecvError::Closed));
        assert!(matches!(a.send(1), Err(SendError::Closed(1))));
        assert_eq!(a.poll(Duration::ZERO), Err(RecvError::Closed));
    }

    fn an_empty_message_is_a_message() {
        // _TestPoll.test_empty_string.
        let (a, b) = pipe::<Vec<u8>>();
        assert!(!a.try_poll().unwrap());
        b.send_bytes(b"").unwrap();
        assert!(a.try_poll().unwrap());
        assert!(a.try_poll().unwrap(), "polling takes nothing");
        assert_eq!(a.recv_bytes().unwrap(), b"");
        assert!(!a.try_poll().unwrap());
    }

    fn strings_arrive_whole_and_in_order() {
        // _TestPoll.test_strings.
        let strings: [&[u8]; 8] = [b"hello", b"", b"a", b"b", b"", b"bye", b"", b"lop"];
        let (a, b) = pipe::<Vec<u8>>();
        let child = Thread::spawn(move || {
            for s in strings {
                thread::sleep(Duration::from_millis(20)).unwrap();
                b.send_bytes(s).unwrap();
            }
        })
        .unwrap();
        for s in strings {
            for _ in 0..200 {
                if a.poll(Duration::from_millis(10)).unwrap() {
                    break;
                }
            }
            assert_eq!(a.recv_bytes().unwrap(), s);
        }
        child.join().unwrap();
        assert_eq!(a.recv(), Err(RecvError::Eof), "the child's end was dropped with it");
    }

    fn a_poll_never_takes_part_of_a_message() {
        // _TestPoll.test_boundaries: a thread polling the reader takes nothing.
        let (r, w) = Pipe::new::<Vec<u8>>(false);
        let r = Arc::new(r);
        let child = {
            let r = r.clone();
            Thread::spawn(move || r.poll(Duration::from_secs(5)).unwrap()).unwrap()
        };
        thread::sleep(Duration::from_millis(100)).unwrap();
        let messages: [&[u8]; 2] = [b"first", b"second"];
        for m in messages {
            w.send_bytes(m).unwrap();
        }
        w.close();
        assert!(child.join().unwrap());
        assert_eq!(r.recv_bytes().unwrap(), b"first");
        assert_eq!(r.recv_bytes().unwrap(), b"second");
        assert_eq!(r.recv_bytes(), Err(RecvError::Eof));
    }

    fn messages_are_never_merged() {
        // _TestPoll.test_dont_merge.
        let (a, b) = pipe::<Vec<u8>>();
        assert!(!a.poll(Duration::ZERO).unwrap());
        assert!(!a.poll(Duration::from_millis(100)).unwrap());
        let child = Thread::spawn(move || {
            b.send_bytes(b"a").unwrap();
            b.send_bytes(b"b").unwrap();
            b.send_bytes(b"cd").unwrap();
            b // keep the end open until joined
        })
        .unwrap();
        assert_eq!(a.recv_bytes().unwrap(), b"a");
        assert!(a.poll(Duration::from_secs(1)).unwrap());
        assert!(a.poll(Duration::from_secs(1)).unwrap());
        assert_eq!(a.recv_bytes().unwrap(), b"b");
        assert!(a.poll(Duration::from_secs(1)).unwrap());
        assert!(a.poll(Duration::ZERO).unwrap());
        assert_eq!(a.recv_bytes().unwrap(), b"cd");
        drop(child.join().unwrap());
    }

    fn end_of_file_after_draining_never_hangs() {
        let (a, b) = pipe();
        b.send("one").unwrap();
        b.send("two").unwrap();
        drop(b);
        assert!(a.poll(Duration::from_secs(10)).unwrap(), "end of file makes poll true");
        assert_eq!(a.recv(), Ok("one"));
        assert_eq!(a.recv(), Ok("two"));
        for _ in 0..3 {
            assert_eq!(a.recv(), Err(RecvError::Eof));
            assert_eq!(a.try_recv(), Err(RecvError::Eof));
            assert_eq!(a.recv_timeout(Duration::from_secs(10)), Err(RecvError::Eof));
            assert!(a.try_poll().unwrap());
        }
        assert!(matches!(a.send("three"), Err(SendError::BrokenPipe("three"))));
    }

    fn a_blocked_recv_wakes_with_eof_when_the_peer_closes() {
        let (a, b) = pipe::<u32>();
        let receiver = Thread::spawn(move || a.recv()).unwrap();
        thread::sleep(Duration::from_millis(50)).unwrap();
        b.close();
        assert_eq!(receiver.join().unwrap(), Err(RecvError::Eof));
    }

    fn closing_drops_messages_not_yet_received() {
        let (a, b) = pipe();
        let message = Arc::new(());
        b.send(Arc::clone(&message)).unwrap();
        assert_eq!(Arc::strong_count(&message), 2);
        a.close();
        assert_eq!(Arc::strong_count(&message), 1, "nobody will receive it");
        let refused = b.send(Arc::clone(&message)).unwrap_err();
        assert_eq!(refused.error(), Error::BrokenPipe);
        assert_eq!(refused.to_string(), Error::BrokenPipe.to_string());
        assert!(Arc::ptr_eq(&refused.into_inner(), &message), "the value comes back");
    }

    fn closing_wakes_a_receiver_sharing_the_end() {
        let (a, _b) = pipe::<u32>();
        let a = Arc::new(a);
        let receiver = {
            let a = a.clone();
            Thread::spawn(move || a.recv()).unwrap()
        };
        thread::sleep(Duration::from_millis(50)).unwrap();
        a.close();
        assert_eq!(receiver.join().unwrap(), Err(RecvError::Closed));
    }

    fn values_move_without_serialisation() {
        // Any `T: Send` moves as it is: a closure (which could not be serialised), and a box
        // whose allocation arrives unchanged.
        let (a, b) = pipe::<Box<dyn FnOnce() -> u32 + Send>>();
        let answer = Box::new(41);
        a.send(Box::new(move || *answer + 1)).unwrap();
        assert_eq!((b.recv().unwrap())(), 42);
        let (c, d) = pipe::<Box<u32>>();
        let boxed = Box::new(7);
        let address: *const u32 = &*boxed;
        c.send(boxed).unwrap();
        assert_eq!(&*d.recv().unwrap() as *const u32, address, "the same allocation arrives");
    }

    fn duplex_traffic_both_ways_at_once() {
        const OFFSET: u32 = 1_000_000;
        let count = if cfg!(miri) { 50 } else { 5_000 };
        let (a, b) = pipe::<u32>();
        let peer = Thread::spawn(move || {
            let b = Arc::new(b);
            let sender = {
                let b = b.clone();
                Thread::spawn(move || (0..count).for_each(|i| b.send(i + OFFSET).unwrap()))
                    .unwrap()
            };
            let received: Vec<u32> = (0..count).map(|_| b.recv().unwrap()).collect();
            sender.join().unwrap();
            received
        })
        .unwrap();
        for i in 0..count {
            a.send(i).unwrap();
        }
        let from_peer: Vec<u32> = (0..count).map(|_| a.recv().unwrap()).collect();
        assert_eq!(from_peer, (OFFSET..OFFSET + count).collect::<Vec<_>>());
        assert_eq!(peer.join().unwrap(), (0..count).collect::<Vec<_>>());
    }

    fn a_peer_that_panics() {
        // The panic unwinds (in the browser too) and drops the peer's end: end of file.
        let (a, b) = pipe::<u32>();
        let peer = Thread::spawn(move || {
            b.send(1).unwrap();
            panic!("peer died holding its end");
        })
        .unwrap();
        assert_eq!(a.recv(), Ok(1));
        assert!(matches!(peer.join(), Err(Error::Panicked(_))));
        assert_eq!(a.recv_timeout(Duration::from_millis(200)), Err(RecvError::Eof));
    }
}

conformance_async! {
    async fn recv_async_waits_for_a_send() {
        let (a, b) = pipe();
        let sender = Thread::spawn(move || {
            thread::sleep(Duration::from_millis(20)).unwrap();
            b.send("late").unwrap();
            b
        })
        .unwrap();
        assert_eq!(a.recv_async().await, Ok("late"));
        drop(sender.join_async().await.unwrap());
        assert_eq!(a.recv_async().await, Err(RecvError::Eof));
    }

    async fn poll_async_wakes_on_a_message_and_on_end_of_file() {
        let (a, b) = pipe::<u8>();
        let sender = Thread::spawn(move || {
            thread::sleep(Duration::from_millis(20)).unwrap();
            b.send(5).unwrap();
            thread::sleep(Duration::from_millis(20)).unwrap();
        })
        .unwrap();
        a.poll_async().await.unwrap();
        assert_eq!(a.try_recv(), Ok(5));
        a.poll_async().await.unwrap(); // the end of file, once the sender's end is dropped
        assert_eq!(a.try_recv(), Err(RecvError::Eof));
        sender.join_async().await.unwrap();
    }
}
