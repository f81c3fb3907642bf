//! Seed 001, "Pipe": a sender sends three messages through a [`pipe`] and closes its end; a
//! receiver prints messages until `recv` reports the end of file.
//!
//! The Python original runs the sender and the receiver as two processes joined by a
//! `multiprocessing.Pipe`, and the receiver stops on `EOFError`; this version runs them as two
//! amphi threads joined by [`pipe`] (pipes between processes come later), and the receiver stops
//! on [`RecvError::Eof`]. The sender waits 50 ms between messages, as the original does.

use std::time::Duration;

use crate::Run;
use amphi::{pipe, thread, Error, RecvError};

const MESSAGES: u32 = 3;
const PAUSE: Duration = Duration::from_millis(50);

pub(super) fn run(run: &mut Run) -> Result<(), Error> {
    let (parent_conn, child_conn) = pipe::<String>();

    let sender = thread::Builder::new().name("sender").spawn(move || {
        for i in 0..MESSAGES {
            child_conn.send(format!("message {i}"))?;
            thread::sleep(PAUSE)?;
        }
        child_conn.close();
        Ok::<_, Error>(())
    })?;
    let receiver = {
        let out = run.out().clone();
        thread::Builder::new().name("receiver").spawn(move || {
            let mut received = Vec::new();
            let end = loop {
                match parent_conn.recv() {
                    Ok(message) => {
                        out.line(format!("received: {message}"));
                        received.push(message);
                    }
                    Err(end) => break end,
                }
            };
            out.line(match &end {
                RecvError::Eof => "receiver: end of file, stopping".to_owned(),
                other => format!("receiver stopped: {other}"),
            });
            let again = parent_conn.recv_timeout(Duration::from_secs(5));
            (received, end, again)
        })?
    };

    sender.join()??;
    let (received, end, again) = receiver.join()?;
    let expected: Vec<String> = (0..MESSAGES).map(|i| format!("message {i}")).collect();
    run.check(
        "the receiver got the 3 messages, whole and in order",
        received == expected,
        format!("received {received:?}"),
    );
    run.check(
        "recv after the sender closed reports the end of file",
        end == RecvError::Eof,
        format!("the receiving loop ended with {end:?}"),
    );
    run.check(
        "a drained pipe keeps answering end of file at once (no hang)",
        again == Err(RecvError::Eof),
        format!("the next recv returned {again:?}"),
    );
    Ok(())
}
