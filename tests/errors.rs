//! Errors by operation shape, the same in the thread and process families, on both targets: for
//! each family and each operation of a queue or a pipe, the error type it returns (the helpers
//! below only accept the right one), the failures it can have, and that an item that could not
//! be delivered comes back. Also byte messages (`send_bytes`, `recv_bytes`, `recv_bytes_max`,
//! `recv_bytes_into`, with a message too long for the buffer handed back whole, 16 MiB through
//! a process pipe included), how bytes and typed messages share a process pipe, the conversion
//! of each error into `amphi::Error` for `?`, and handles opened as the wrong type.

#[allow(unused_macros)]
#[macro_use]
mod common;

use std::time::Duration;

use amphi::process;
use amphi::{
    Error, GetError, JoinableQueue, Pipe, PutError, Queue, RecvBytesError, RecvError, SendError,
    SimpleQueue,
};
use common::{big_text, BIG, PATIENCE};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

const SHORT: Duration = Duration::from_millis(5);

/// The refusal of a put, checked to be a [`PutError`] handing `item` back.
fn put_refused<T: PartialEq + std::fmt::Debug>(outcome: Result<(), PutError<T>>, item: T) -> Error {
    let refused = outcome.expect_err("the put should fail");
    let error = refused.error();
    assert_eq!(refused.into_inner(), item, "the item comes back");
    error
}

/// The refusal of a send, checked to be a [`SendError`] handing `value` back.
fn send_refused<T: PartialEq + std::fmt::Debug>(
    outcome: Result<(), SendError<T>>,
    value: T,
) -> Error {
    let refused = outcome.expect_err("the send should fail");
    let error = refused.error();
    assert_eq!(refused.into_inner(), value, "the value comes back");
    error
}

/// The failure of a get, checked to be a [`GetError`].
fn get_failed<T: std::fmt::Debug>(outcome: Result<T, GetError>) -> GetError {
    outcome.expect_err("the get should fail")
}

/// The failure of a receive, checked to be a [`RecvError`].
fn recv_failed<T: std::fmt::Debug>(outcome: Result<T, RecvError>) -> RecvError {
    outcome.expect_err("the receive should fail")
}

/// A parcel that refuses to be serialised when `refuse` is set; otherwise travels as its label.
#[derive(Debug, Clone, PartialEq)]
struct Parcel {
    label: String,
    refuse: bool,
}

impl Parcel {
    fn fine(label: &str) -> Parcel {
        Parcel {
            label: label.to_owned(),
            refuse: false,
        }
    }

    fn refusing(label: &str) -> Parcel {
        Parcel {
            label: label.to_owned(),
            refuse: true,
        }
    }
}

impl Serialize for Parcel {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.refuse {
            return Err(serde::ser::Error::custom("this parcel refuses to travel"));
        }
        self.label.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Parcel {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Parcel, D::Error> {
        String::deserialize(deserializer).map(|label| Parcel {
            label,
            refuse: false,
        })
    }
}

/// Echoes every byte message back as bytes, until the end of file; how many it echoed.
fn echo_bytes(end: process::Connection<()>) -> u32 {
    let mut echoed = 0;
    while let Ok(message) = end.recv_bytes() {
        end.send_bytes(&message).expect("echo a byte message");
        echoed += 1;
    }
    echoed
}

/// Reopens a process object's handle as another type (as a child given the wrong type would).
fn reopen<A: Serialize, B: for<'de> Deserialize<'de>>(handle: &A) -> Result<B, String> {
    let text = serde_json::to_string(handle).expect("a handle serialises");
    serde_json::from_str(&text).map_err(|err| err.to_string())
}

/// `outcome` through `?` in a function returning amphi's error.
fn amphi_error<T, E>(outcome: Result<T, E>) -> Result<T, Error>
where
    Error: From<E>,
{
    Ok(outcome?)
}

conformance! {
    fn thread_queue_puts_hand_the_item_back_and_gets_say_why() {
        let queue = Queue::bounded(1);
        queue.put("first".to_owned()).unwrap();
        assert_eq!(put_refused(queue.try_put("two".to_owned()), "two".to_owned()), Error::Full);
        assert_eq!(
            put_refused(queue.put_timeout("three".to_owned(), SHORT), "three".to_owned()),
            Error::Timeout
        );
        assert_eq!(queue.get(), Ok("first".to_owned()));
        assert_eq!(get_failed(queue.try_get()), GetError::Empty);
        assert_eq!(get_failed(queue.get_timeout(SHORT)), GetError::Timeout);
        queue.close();
        assert_eq!(put_refused(queue.put("four".to_owned()), "four".to_owned()), Error::Closed);
        let late = futures_executor::block_on(queue.put_async("five".to_owned()));
        assert_eq!(put_refused(late, "five".to_owned()), Error::Closed);
        assert_eq!(get_failed(queue.get()), GetError::Closed);
        assert_eq!(get_failed(futures_executor::block_on(queue.get_async())), GetError::Closed);
        assert_eq!(amphi_error(queue.get()), Err(Error::Closed));
        assert_eq!(amphi_error(queue.put(1.to_string())), Err(Error::Closed));
    }

    fn thread_joinable_and_simple_queues_have_the_same_errors() {
        let joinable = JoinableQueue::bounded(1);
        joinable.put(1).unwrap();
        assert_eq!(put_refused(joinable.try_put(2), 2), Error::Full);
        assert_eq!(put_refused(joinable.put_timeout(3, SHORT), 3), Error::Timeout);
        assert_eq!(joinable.unfinished_tasks(), 1, "a refused item is no task");
        joinable.close();
        assert_eq!(put_refused(joinable.put(4), 4), Error::Closed);
        assert_eq!(joinable.get(), Ok(1));
        assert_eq!(get_failed(joinable.try_get()), GetError::Closed);

        let simple = SimpleQueue::new();
        assert_eq!(get_failed(simple.try_get()), GetError::Empty);
        assert_eq!(get_failed(simple.get_timeout(SHORT)), GetError::Timeout);
        simple.close();
        assert_eq!(put_refused(simple.put(vec![5]), vec![5]), Error::Closed);
        assert_eq!(get_failed(simple.get()), GetError::Closed);
    }

    fn process_queue_puts_hand_the_item_back_and_gets_say_why() {
        let queue = process::Queue::new(1).unwrap();
        queue.put(Parcel::fine("first")).unwrap();
        assert_eq!(put_refused(queue.try_put(Parcel::fine("two")), Parcel::fine("two")), Error::Full);
        assert_eq!(
            put_refused(queue.put_timeout(Parcel::fine("three"), SHORT), Parcel::fine("three")),
            Error::Timeout
        );
        assert_eq!(queue.get(), Ok(Parcel::fine("first")));
        let refused = queue.put(Parcel::refusing("odd")).unwrap_err();
        assert!(
            matches!(&refused, PutError::Encode { reason, .. } if reason.contains("refuses")),
            "{refused}"
        );
        assert_eq!(refused.into_inner(), Parcel::refusing("odd"));
        assert_eq!(queue.qsize(), 0, "a refused item is not in the queue");
        assert_eq!(get_failed(queue.try_get()), GetError::Empty);
        assert_eq!(get_failed(queue.get_timeout(SHORT)), GetError::Timeout);

        // An item that is not a `T` for the getter: `Decode`, and the item is consumed.
        queue.put(Parcel::fine("words")).unwrap();
        let as_numbers: process::Queue<u32> = reopen(&queue).unwrap();
        assert!(matches!(get_failed(as_numbers.get()), GetError::Decode(_)));
        assert!(queue.empty());

        queue.close();
        assert_eq!(put_refused(queue.put(Parcel::fine("four")), Parcel::fine("four")), Error::Closed);
        let late = futures_executor::block_on(queue.put_async(Parcel::fine("five")));
        assert_eq!(put_refused(late, Parcel::fine("five")), Error::Closed);
        assert_eq!(get_failed(queue.get()), GetError::Closed);
        assert_eq!(get_failed(futures_executor::block_on(queue.get_async())), GetError::Closed);
        assert_eq!(amphi_error(queue.get()), Err(Error::Closed));
        assert_eq!(amphi_error(queue.put(Parcel::fine("six"))), Err(Error::Closed));
    }

    fn process_joinable_and_simple_queues_have_the_same_errors() {
        let joinable = process::JoinableQueue::new(1).unwrap();
        joinable.put(1).unwrap();
        assert_eq!(put_refused(joinable.try_put(2), 2), Error::Full);
        assert_eq!(put_refused(joinable.put_timeout(3, SHORT), 3), Error::Timeout);
        assert_eq!(joinable.unfinished_tasks(), 1, "a refused item is no task");
        joinable.close();
        assert_eq!(put_refused(joinable.put(4), 4), Error::Closed);
        let late = futures_executor::block_on(joinable.put_async(5));
        assert_eq!(put_refused(late, 5), Error::Closed);
        assert_eq!(joinable.unfinished_tasks(), 1);
        assert_eq!(joinable.get(), Ok(1));
        assert_eq!(get_failed(joinable.try_get()), GetError::Closed);

        let simple = process::SimpleQueue::new().unwrap();
        assert_eq!(get_failed(simple.try_get()), GetError::Empty);
        assert_eq!(get_failed(simple.get_timeout(SHORT)), GetError::Timeout);
        let refused = simple.put(Parcel::refusing("odd")).unwrap_err();
        assert!(matches!(refused, PutError::Encode { .. }));
        assert_eq!(refused.into_inner(), Parcel::refusing("odd"));
        simple.close();
        assert_eq!(put_refused(simple.put(Parcel::fine("x")), Parcel::fine("x")), Error::Closed);
        assert_eq!(get_failed(simple.get()), GetError::Closed);
    }

    fn thread_pipe_sends_hand_the_value_back_and_receives_say_why() {
        let (receiver, sender) = Pipe::new::<String>(false);
        assert_eq!(send_refused(receiver.send("back".to_owned()), "back".to_owned()), Error::NotWritable);
        assert_eq!(recv_failed(sender.recv()), RecvError::NotReadable);
        assert_eq!(recv_failed(receiver.try_recv()), RecvError::Empty);
        assert_eq!(recv_failed(receiver.recv_timeout(SHORT)), RecvError::Timeout);
        sender.send("last".to_owned()).unwrap();
        sender.close();
        assert_eq!(send_refused(sender.send("shut".to_owned()), "shut".to_owned()), Error::Closed);
        assert_eq!(receiver.recv(), Ok("last".to_owned()));
        assert_eq!(recv_failed(receiver.recv()), RecvError::Eof);
        assert_eq!(recv_failed(futures_executor::block_on(receiver.recv_async())), RecvError::Eof);
        assert_eq!(amphi_error(receiver.recv()), Err(Error::Eof));

        let (a, b) = amphi::pipe::<u8>();
        b.close();
        assert_eq!(send_refused(a.send(7), 7), Error::BrokenPipe);
        assert_eq!(recv_failed(b.recv()), RecvError::Closed);
        assert_eq!(amphi_error(a.send(8)), Err(Error::BrokenPipe));
    }

    fn process_pipe_sends_hand_the_value_back_and_receives_say_why() {
        let (receiver, sender) = process::Pipe::new::<Parcel>(false).unwrap();
        assert_eq!(send_refused(receiver.send(Parcel::fine("back")), Parcel::fine("back")), Error::NotWritable);
        assert_eq!(recv_failed(sender.recv()), RecvError::NotReadable);
        assert_eq!(recv_failed(receiver.try_recv()), RecvError::Empty);
        assert_eq!(recv_failed(receiver.recv_timeout(SHORT)), RecvError::Timeout);
        let refused = sender.send(Parcel::refusing("odd")).unwrap_err();
        assert!(matches!(refused, SendError::Encode { .. }));
        assert_eq!(refused.into_inner(), Parcel::refusing("odd"));
        sender.send(Parcel::fine("last")).unwrap();
        sender.close();
        assert_eq!(send_refused(sender.send(Parcel::fine("shut")), Parcel::fine("shut")), Error::Closed);
        assert_eq!(receiver.recv(), Ok(Parcel::fine("last")));
        assert_eq!(recv_failed(receiver.recv()), RecvError::Eof);
        assert_eq!(recv_failed(futures_executor::block_on(receiver.recv_async())), RecvError::Eof);
        assert_eq!(amphi_error(receiver.recv()), Err(Error::Eof));

        let (a, b) = process::Pipe::new::<u8>(true).unwrap();
        b.close();
        assert_eq!(send_refused(a.send(7), 7), Error::BrokenPipe);
        let late = futures_executor::block_on(a.send_async(8));
        assert_eq!(send_refused(late, 8), Error::BrokenPipe);
        assert_eq!(recv_failed(b.recv()), RecvError::Closed);
        assert_eq!(amphi_error(a.send(9)), Err(Error::BrokenPipe));
    }

    fn thread_pipe_bytes_keep_boundaries_and_a_short_buffer_gets_the_whole_message() {
        let (a, b) = amphi::pipe();
        for message in [&b"hello"[..], b"", b"0123456789"] {
            a.send_bytes(message).unwrap();
        }
        let mut buffer = [0u8; 8];
        assert_eq!(b.recv_bytes_into(&mut buffer), Ok(5));
        assert_eq!(&buffer[..5], b"hello");
        assert_eq!(b.recv_bytes_into(&mut buffer), Ok(0), "an empty message is a message");
        let refused = b.recv_bytes_into(&mut buffer).unwrap_err();
        assert_eq!(refused, RecvBytesError::BufferTooShort(b"0123456789".to_vec()));
        assert_eq!(&buffer[..5], b"hello", "the buffer is untouched");
        assert_eq!(Error::from(refused), Error::BufferTooShort { length: 10 });

        a.send_bytes(b"12345").unwrap();
        a.send_bytes(b"1234").unwrap();
        assert_eq!(b.recv_bytes_max(4), Err(RecvBytesError::BufferTooShort(b"12345".to_vec())));
        assert_eq!(b.recv_bytes_max(4), Ok(b"1234".to_vec()), "the connection stays usable");
        a.close();
        assert_eq!(b.recv_bytes_into(&mut buffer), Err(RecvBytesError::Recv(RecvError::Eof)));
        assert_eq!(b.recv_bytes_max(4), Err(RecvBytesError::Recv(RecvError::Eof)));

        let (a, b) = amphi::pipe::<Vec<u8>>();

        b.close();
        let refused = a.send_bytes(b"nobody").unwrap_err();
        assert!(matches!(refused, SendError::BrokenPipe(_)));
        assert_eq!(refused.into_inner(), b"nobody");
    }

    fn process_pipe_bytes_travel_raw_and_mix_with_typed_messages() {
        let (a, b) = process::Pipe::new::<u32>(true).unwrap();
        a.send_bytes(b"\x00\xffraw").unwrap();
        a.send_bytes(b"").unwrap();
        a.send(42).unwrap();
        a.send_bytes(b"7").unwrap();
        a.send_bytes(b"not json").unwrap();
        a.send(8).unwrap();
        assert_eq!(b.recv_bytes(), Ok(b"\x00\xffraw".to_vec()), "bytes are not encoded");
        assert_eq!(b.recv_bytes(), Ok(Vec::new()), "an empty message is a message");
        assert_eq!(b.recv_bytes(), Ok(b"42".to_vec()), "a value travels as its JSON");
        assert_eq!(b.recv(), Ok(7), "bytes that are the JSON of a T decode");
        assert!(matches!(recv_failed(b.recv()), RecvError::Decode(_)));
        assert_eq!(b.recv(), Ok(8), "the undecodable message was consumed, nothing else");

        let mut buffer = [0u8; 4];
        a.send_bytes(b"too long").unwrap();
        let refused = b.recv_bytes_into(&mut buffer).unwrap_err();
        assert_eq!(refused.clone().into_message(), Some(b"too long".to_vec()));
        assert_eq!(Error::from(refused), Error::BufferTooShort { length: 8 });
        assert_eq!(buffer, [0; 4], "the buffer is untouched");
        a.send_bytes(b"12345").unwrap();
        assert_eq!(b.recv_bytes_max(4), Err(RecvBytesError::BufferTooShort(b"12345".to_vec())));
        a.send_bytes(b"abc").unwrap();
        assert_eq!(b.recv_bytes_into(&mut buffer[1..]), Ok(3));
        assert_eq!(&buffer, b"\0abc");
        a.close();
        assert_eq!(b.recv_bytes_into(&mut buffer), Err(RecvBytesError::Recv(RecvError::Eof)));
        assert_eq!(recv_failed(b.recv_bytes()), RecvError::Eof);

        let (a, b) = process::Pipe::new::<u32>(true).unwrap();
        b.close();
        let refused = a.send_bytes(b"nobody").unwrap_err();
        assert!(matches!(refused, SendError::BrokenPipe(_)));
        assert_eq!(refused.into_inner(), b"nobody");
        let (receiver, _sender) = process::Pipe::new::<()>(false).unwrap();
        assert_eq!(send_refused(receiver.send_bytes(b"wrong way"), b"wrong way".to_vec()), Error::NotWritable);
    }

    fn a_16_mib_bytes_message_goes_through_a_process_pipe_and_back() {
        let (here, there) = process::Pipe::new::<()>(true).unwrap();
        let child = process::Process::new(echo_bytes, there);
        child.start().unwrap();
        let big = big_text().into_bytes();
        here.send_bytes(&big).unwrap();
        let mut short = vec![0u8; BIG - 1];
        let refused = here.recv_bytes_into(&mut short).unwrap_err();
        assert!(
            refused.into_message().is_some_and(|message| message == big),
            "a buffer one byte short gets the whole 16 MiB message back"
        );
        here.send_bytes(&big).unwrap();
        let mut exact = vec![0u8; BIG];
        assert_eq!(here.recv_bytes_into(&mut exact), Ok(BIG));
        assert!(exact == big, "the message came back whole");
        here.close();
        assert_eq!(child.join_timeout(PATIENCE).unwrap(), 2);
    }

    fn a_handle_opened_as_the_wrong_type_names_both_types() {
        let queue = process::Queue::<u32>::new(0).unwrap();
        let refused = reopen::<_, process::Lock>(&queue).unwrap_err();
        assert!(refused.contains("a Queue handle, not a Lock"), "{refused}");
        let event = process::Event::new().unwrap();
        let refused = reopen::<_, process::Queue<u32>>(&event).unwrap_err();
        assert!(refused.contains("an Event handle, not a Queue"), "{refused}");
        let value = process::Value::new(1i32).unwrap();
        let refused = reopen::<_, process::Value<u64>>(&value).unwrap_err();
        assert!(refused.contains("a Value<i32> handle, not a Value<u64>"), "{refused}");
    }
}
