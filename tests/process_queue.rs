//! [`amphi::process::Queue`] and [`amphi::process::Pipe`] between processes, on both targets: producers and consumers in
//! child processes, the `try_` and `_timeout` forms, items that do not serialise, a 16 MiB item
//! streamed through the 64 KiB ring, closing, processes killed while they wait or in the middle
//! of an item, and a stress case of 4 producers and 4 consumers; pipes both ways, one-way misuse, `poll`, end of file and a
//! 16 MiB message through a pipe.

#[allow(unused_macros)]
#[macro_use]
mod common;

use std::collections::HashMap;
use std::time::Duration;

use amphi::process::{Connection, Pipe, Process, Queue};
use amphi::time::Instant;
use amphi::{GetError, PutError, RecvError, SendError};
use common::{assert_waited_at_least, big_text, BIG, PATIENCE};
use serde::{Deserialize, Serialize, Serializer};

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

fn sum_until_sentinel(queue: Queue<Option<u64>>) -> u64 {
    let mut total = 0;
    while let Some(n) = queue.get().expect("get in the child") {
        total += n;
    }
    total
}

fn put_words(queue: Queue<String>) {
    for word in ["one", "two", "three"] {
        queue.put(word.to_owned()).expect("put in the child");
    }
}

fn get_three(queue: Queue<String>) -> Vec<String> {
    (0..3)
        .map(|_| queue.get().expect("get in the child"))
        .collect()
}

fn put_big(queue: Queue<String>) {
    queue.put(big_text()).expect("put a 16 MiB item");
}

fn get_big(queue: Queue<String>) -> bool {
    queue.get().expect("get a 16 MiB item") == big_text()
}

fn get_until_closed(queue: Queue<u32>) -> Result<Vec<u32>, String> {
    let mut got = Vec::new();
    loop {
        match queue.get() {
            Ok(n) => got.push(n),
            Err(GetError::Closed) => return Ok(got),
            Err(other) => return Err(other.to_string()),
        }
    }
}

#[cfg_attr(target_arch = "wasm32", allow(dead_code))] // used by a native-only test
fn get_one(queue: Queue<u32>) -> u32 {
    queue.get().expect("get in the child")
}

fn produce(args: (Queue<Option<(u32, u32)>>, u32, u32)) {
    let (queue, producer, count) = args;
    for seq in 0..count {
        queue.put(Some((producer, seq))).expect("put in a producer");
    }
}

fn consume(queue: Queue<Option<(u32, u32)>>) -> Vec<(u32, u32)> {
    let mut got = Vec::new();
    while let Some(item) = queue.get().expect("get in a consumer") {
        got.push(item);
    }
    got
}

fn shout_until_eof(end: Connection<String>) -> Result<u32, String> {
    let mut echoed = 0;
    loop {
        match end.recv() {
            Ok(message) => end
                .send(message.to_uppercase())
                .map_err(|e| e.to_string())?,
            Err(RecvError::Eof) => return Ok(echoed),
            Err(other) => return Err(other.to_string()),
        }
        echoed += 1;
    }
}

fn send_later_then_close(end: Connection<String>) {
    amphi::thread::sleep(Duration::from_millis(200)).unwrap();
    end.send("late".to_owned()).unwrap();
    end.close();
}

/// Sends two messages and returns without closing its end.
fn send_two_and_leave(end: Connection<u32>) {
    end.send(1).unwrap();
    end.send(2).unwrap();
}

/// Takes the sending end and sleeps until it is killed, without ever sending.
fn hold_silently(end: Connection<u32>) {
    let _end = end;
    nap_long();
}

fn nap_long() {
    amphi::thread::sleep(Duration::from_secs(600)).unwrap();
}

fn send_big(end: Connection<String>) {
    end.send(big_text()).expect("send a 16 MiB message");
}

/// A type whose `Serialize` fails.
struct Unserialisable;

impl Serialize for Unserialisable {
    fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom(
            "this value refuses to be serialised",
        ))
    }
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
enum Item {
    Number(u32),
    #[serde(skip_deserializing)]
    Refusing(#[serde(serialize_with = "refuse")] ()),
}

fn refuse<S: Serializer>(_: &(), serializer: S) -> Result<S::Ok, S::Error> {
    Unserialisable.serialize(serializer)
}

conformance! {
    fn producer_and_consumer_processes_with_a_sentinel() {
        let queue = Queue::new(4).unwrap();
        let consumer = Process::new(sum_until_sentinel, queue.clone());
        consumer.start().unwrap();
        for n in 1..=200 {
            queue.put(Some(n)).unwrap();
        }
        queue.put(None).unwrap();
        assert_eq!(consumer.join_timeout(PATIENCE).unwrap(), 200 * 201 / 2);
        assert!(queue.empty());
    }

    fn put_in_a_child_and_get_in_the_parent() {
        let queue = Queue::new(0).unwrap();
        let child = Process::new(put_words, queue.clone());
        child.start().unwrap();
        let got: Vec<String> = (0..3).map(|_| queue.get().unwrap()).collect();
        assert_eq!(got, ["one", "two", "three"]);
        child.join_timeout(PATIENCE).unwrap();
    }

    fn put_in_the_parent_and_get_in_a_child() {
        let queue = Queue::new(0).unwrap();
        for word in ["x", "", "z"] {
            queue.put(word.to_owned()).unwrap();
        }
        let child = Process::new(get_three, queue.clone());
        child.start().unwrap();
        assert_eq!(child.join_timeout(PATIENCE).unwrap(), ["x", "", "z"]);
        assert!(queue.empty());
    }

    fn qsize_empty_and_full() {
        let queue = Queue::new(2).unwrap();
        assert_eq!((queue.qsize(), queue.empty(), queue.full()), (0, true, false));
        queue.put(1u8).unwrap();
        assert_eq!((queue.qsize(), queue.empty(), queue.full()), (1, false, false));
        queue.put(2u8).unwrap();
        assert_eq!((queue.qsize(), queue.empty(), queue.full()), (2, false, true));
        assert_eq!(queue.get().unwrap(), 1);
        assert_eq!((queue.qsize(), queue.empty(), queue.full()), (1, false, false));
        let unbounded = Queue::<u8>::unbounded().unwrap();
        for n in 0..50 {
            unbounded.put(n).unwrap();
        }
        assert_eq!((unbounded.qsize(), unbounded.full()), (50, false));
    }

    fn try_and_timeout_forms_give_full_empty_and_timeout() {
        let queue = Queue::new(1).unwrap();
        assert_eq!(queue.try_get(), Err(GetError::Empty));
        let timeout = Duration::from_millis(100);
        let started = Instant::now();
        assert_eq!(queue.get_timeout(timeout), Err(GetError::Timeout));
        assert_waited_at_least(started.elapsed(), timeout);
        queue.try_put(10u32).unwrap();
        assert_eq!(queue.try_put(11), Err(PutError::Full(11)));
        let started = Instant::now();
        assert_eq!(queue.put_timeout(12, timeout), Err(PutError::Timeout(12)));
        assert_waited_at_least(started.elapsed(), timeout);
        assert_eq!(queue.get_timeout(timeout), Ok(10));
        assert_eq!(queue.put_timeout(13, timeout), Ok(()));
        assert_eq!(queue.try_get(), Ok(13));
    }

    fn an_unserialisable_item_is_an_error_and_the_queue_still_works() {
        let queue = Queue::new(1).unwrap();
        assert!(matches!(queue.put(Item::Refusing(())), Err(PutError::Encode { .. })));
        queue.put(Item::Number(1)).unwrap();
        assert_eq!(queue.get(), Ok(Item::Number(1)));

        let maps = Queue::new(0).unwrap();
        let mut keyed_by_pairs = HashMap::new();
        keyed_by_pairs.insert((1u8, 2u8), 3u8);
        let refused = maps.put(keyed_by_pairs).unwrap_err();
        assert!(matches!(&refused, PutError::Encode { reason, .. } if reason.contains("key")), "{refused}");
        assert_eq!(maps.qsize(), 0);
        maps.put(HashMap::new()).unwrap();
        assert_eq!(maps.get(), Ok(HashMap::new()));
    }

    fn a_16_mib_item_streams_from_a_child() {
        let queue = Queue::new(0).unwrap();
        let child = Process::new(put_big, queue.clone());
        child.start().unwrap();
        let got = queue.get().unwrap();
        assert!(got.len() == BIG && got == big_text());
        child.join_timeout(PATIENCE).unwrap();
    }

    fn a_16_mib_item_streams_to_a_child() {
        let queue = Queue::new(0).unwrap();
        let child = Process::new(get_big, queue.clone());
        child.start().unwrap();
        queue.put(big_text()).unwrap();
        assert!(child.join_timeout(PATIENCE).unwrap());
        assert!(queue.empty());
    }

    fn close_drains_then_wakes_getters_with_closed() {
        let queue = Queue::new(0).unwrap();
        let child = Process::new(get_until_closed, queue.clone());
        child.start().unwrap();
        for n in 0..5 {
            queue.put(n).unwrap();
        }
        queue.close();
        assert_eq!(queue.put(9), Err(PutError::Closed(9)));
        assert_eq!(child.join_timeout(PATIENCE).unwrap(), Ok(vec![0, 1, 2, 3, 4]));
        assert!(queue.is_closed());
        assert_eq!(queue.try_get(), Err(GetError::Closed));
    }

    fn a_consumer_killed_while_waiting_costs_nothing() {
        let queue = Queue::new(0).unwrap();
        let child = Process::new(get_one, queue.clone());
        child.start().unwrap();
        // Give the child time to take the getters' lock and sleep in get.
        amphi::thread::sleep(Duration::from_millis(300)).unwrap();
        child.kill().unwrap();
        assert!(child.join_timeout(PATIENCE).is_err());
        queue.put(5).unwrap();
        assert_eq!(queue.get_timeout(PATIENCE), Ok(5));
    }

    fn a_producer_killed_in_the_middle_of_an_item_breaks_the_queue() {
        let queue = Queue::new(0).unwrap();
        let child = Process::new(put_big, queue.clone());
        child.start().unwrap();
        // The item fills the ring and waits for a getter, in the middle of the item.
        common::wait_for("the child to begin its item", || queue.qsize() == 1);
        child.kill().unwrap();
        assert!(child.join_timeout(PATIENCE).is_err());
        let pid = match queue.get_timeout(PATIENCE) {
            Err(GetError::PeerDied { pid }) => pid,
            other => panic!("expected PeerDied, got {:?}", other.map(|text| text.len())),
        };
        assert_eq!(queue.try_put("x".to_owned()), Err(PutError::PeerDied { item: "x".to_owned(), pid }));
        assert_eq!(queue.try_get().map(|text| text.len()), Err(GetError::PeerDied { pid }));
    }

    fn four_producers_and_four_consumers_through_a_bounded_queue() {
        // 4 producers x 100,000 items through a queue of 1,000, natively and in the browser.
        let per_producer: u32 = 100_000;
        let queue = Queue::new(1_000).unwrap();
        let consumers: Vec<_> = (0..4).map(|_| Process::new(consume, queue.clone())).collect();
        let producers: Vec<_> = (0..4)
            .map(|producer| Process::new(produce, (queue.clone(), producer, per_producer)))
            .collect();
        for process in &consumers {
            process.start().unwrap();
        }
        for process in &producers {
            process.start().unwrap();
        }
        for process in &producers {
            process.join_timeout(PATIENCE).unwrap();
        }
        for _ in &consumers {
            queue.put(None).unwrap();
        }
        let mut seen = vec![vec![false; per_producer as usize]; 4];
        for process in &consumers {
            let got = process.join_timeout(PATIENCE).unwrap();
            let mut last = [None; 4];
            for (producer, seq) in got {
                let producer = producer as usize;
                assert!(last[producer] < Some(seq), "producer {producer}'s items out of order");
                last[producer] = Some(seq);
                assert!(!seen[producer][seq as usize], "({producer}, {seq}) twice");
                seen[producer][seq as usize] = true;
            }
        }
        assert!(seen.iter().flatten().all(|&got| got), "an item was lost");
        assert!(queue.empty());
    }

    fn pipe_messages_both_ways_keep_their_boundaries() {
        let (here, there) = Pipe::new(true).unwrap();
        let child = Process::new(shout_until_eof, there);
        child.start().unwrap();
        for message in ["a", "", "bc"] {
            here.send(message.to_owned()).unwrap();
            assert_eq!(here.recv().unwrap(), message.to_uppercase());
        }
        here.close();
        assert_eq!(child.join_timeout(PATIENCE).unwrap(), Ok(3));
    }

    fn one_way_pipe_ends_refuse_the_wrong_direction() {
        let (receiver, sender) = Pipe::new::<u8>(false).unwrap();
        assert_eq!(receiver.send(1), Err(SendError::NotWritable(1)));
        assert_eq!(sender.recv(), Err(RecvError::NotReadable));
        assert_eq!(sender.poll(Duration::ZERO), Err(RecvError::NotReadable));
        sender.send(2).unwrap();
        assert_eq!(receiver.recv(), Ok(2));
        let (receiver, sender) = Pipe::new::<Item>(false).unwrap();
        assert!(matches!(sender.send(Item::Refusing(())), Err(SendError::Encode { .. })));
        sender.send(Item::Number(4)).unwrap();
        assert_eq!(receiver.recv(), Ok(Item::Number(4)));
    }

    fn poll_times_out_then_sees_a_message_and_eof_follows_the_peer_closing() {
        let (here, there) = Pipe::new(true).unwrap();
        let timeout = Duration::from_millis(100);
        let started = Instant::now();
        assert_eq!(here.poll(timeout), Ok(false));
        assert_waited_at_least(started.elapsed(), timeout);
        assert_eq!(here.recv_timeout(timeout), Err(RecvError::Timeout));
        assert_eq!(here.try_recv(), Err(RecvError::Empty));
        let child = Process::new(send_later_then_close, there);
        child.start().unwrap();
        assert_eq!(here.poll(PATIENCE), Ok(true));
        assert_eq!(here.recv().unwrap(), "late");
        child.join_timeout(PATIENCE).unwrap();
        assert_eq!(here.recv(), Err(RecvError::Eof));
        assert_eq!(here.poll(Duration::ZERO), Ok(true));
        assert_eq!(here.send("anyone?".to_owned()), Err(SendError::BrokenPipe("anyone?".to_owned())));
        here.close();
        assert_eq!(here.recv(), Err(RecvError::Closed));
    }

    fn a_16_mib_message_streams_through_a_pipe() {
        let (receiver, sender) = Pipe::new(false).unwrap();
        let child = Process::new(send_big, sender);
        child.start().unwrap();
        let got = receiver.recv().unwrap();
        assert!(got.len() == BIG && got == big_text());
        child.join_timeout(PATIENCE).unwrap();
    }

    fn a_sender_that_ends_without_closing_gives_eof_after_its_messages() {
        let (receiver, sender) = Pipe::new(false).unwrap();
        let child = Process::new(send_two_and_leave, sender);
        child.start().unwrap();
        child.join_timeout(PATIENCE).unwrap();
        assert_eq!(receiver.recv_timeout(PATIENCE), Ok(1));
        assert_eq!(receiver.recv_timeout(PATIENCE), Ok(2));
        assert_eq!(receiver.recv_timeout(PATIENCE), Err(RecvError::Eof));
        assert!(receiver.poll(Duration::ZERO).unwrap(), "the end of file is readable");
    }

    fn a_killed_sender_that_never_sent_gives_eof() {
        let (receiver, sender) = Pipe::new(false).unwrap();
        let child = Process::new(hold_silently, sender);
        child.start().unwrap();
        // The child takes the end as it starts; until it has, the parent is the last writer.
        assert_eq!(
            receiver.recv_timeout(Duration::from_millis(300)),
            Err(RecvError::Timeout)
        );
        child.kill().unwrap();
        assert!(child.join_timeout(PATIENCE).is_err());
        assert_eq!(receiver.recv_timeout(PATIENCE), Err(RecvError::Eof));
    }
}
