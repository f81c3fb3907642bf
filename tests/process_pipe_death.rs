//! A process pipe whose receiving process dies: a sender never waits forever for room that
//! only the dead receiver would have made. Natively the child is SIGKILLed, in the browser its
//! worker is terminated. The pipe's other promise (a receiver sees `Eof` once the last sender
//! has ended) is in `conformance_pipe` and the kill-point suite.

// The async conformance macro goes unused here.
#[macro_use]
#[allow(unused_macros)]
mod common;

use std::time::Duration;

use amphi::process::{Connection, Pipe, Process, Value};
use amphi::{SendError, Thread};
use common::PATIENCE;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

/// Receives one message, says so, then waits (for a kill) without receiving more.
fn receive_once((receiver, received): (Connection<Vec<u8>>, Value<u32>)) {
    receiver.recv().expect("the first message");
    received.set(1);
    amphi::thread::sleep(PATIENCE).expect("children may block");
}

conformance! {
    fn a_sender_learns_that_the_only_receiver_died() {
        let (receiver, sender) = Pipe::new::<Vec<u8>>(false).unwrap();
        let received = Value::new_without_lock(0u32).unwrap();
        let child = Process::new(receive_once, (receiver, received.clone()));
        child.start().unwrap();
        sender.send(vec![1]).unwrap();
        common::wait_for("the child's receive", || received.get() == 1);
        child.kill().unwrap();
        assert!(child.join_timeout(PATIENCE).is_err(), "killed");
        // 1 MiB fills the 64 KiB ring long before it is sent: the sends must stop there with
        // BrokenPipe, handing the message back, instead of waiting for room forever.
        let sends = Thread::spawn(move || {
            for number in 0..64 {
                match sender.send(vec![7; 16 << 10]) {
                    Ok(()) => continue,
                    Err(SendError::BrokenPipe(message)) => {
                        assert_eq!(message.len(), 16 << 10, "the message comes back");
                        return Ok(number);
                    }
                    Err(other) => return Err(format!("send {number}: {other:?}")),
                }
            }
            Err("1 MiB went into a pipe nobody reads".to_owned())
        })
        .unwrap();
        let sent = sends
            .join_timeout(Duration::from_secs(30))
            .expect("the sends ended (a hang otherwise)")
            .unwrap();
        assert!(sent <= 4, "the ring holds at most four 16 KiB messages, {sent} went in");
    }
}
