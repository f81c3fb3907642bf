//! Pipes between threads: Python's `multiprocessing.Pipe` and its `Connection`s.
//!
//! ## A tour
//!
//! - [`pipe`] (or `Pipe::new(true)`): two [`Connection`]s joined both ways.
//! - [`Pipe::new(false)`](Pipe::new): a one-way pair `(receiver, sender)`, as Python's
//!   `Pipe(duplex=False)`; using an end the wrong way is an error
//!   ([`Error::NotReadable`](crate::Error::NotReadable),
//!   [`SendError::NotWritable`]).
//! - [`Connection::send`] never waits; [`Connection::recv`] comes in four forms, and so does
//!   waiting for a message ([`Connection::poll`] with a timeout, `try_poll`, `poll_async`).
//! - Bytes are `Connection<Vec<u8>>`, with [`send_bytes`](Connection::send_bytes) and
//!   [`recv_bytes`](Connection::recv_bytes).
//!
//! Each `send` is one message, received whole by one `recv`: messages are never merged or
//! split, and an empty message is a message. Between threads a message moves as it is (no copy,
//! no serialisation): any `T: Send`.
//!
//! ```
//! use amphi::{pipe, Error, Thread};
//!
//! let (parent, child) = pipe::<String>();
//! let echo = Thread::spawn(move || {
//!     while let Ok(message) = child.recv() {
//!         child.send(message.to_uppercase()).ok();
//!     }
//!     // `child` is dropped here, which closes it
//! })?;
//! parent.send("hello".into())?;
//! assert_eq!(parent.recv()?, "HELLO");
//! parent.close(); // the echo thread's recv now returns Eof
//! echo.join()?;
//! # Ok::<(), amphi::Error>(())
//! ```
//!
//! ## End of file, and ends that die
//!
//! Closing an end, explicitly or by dropping it, is the end of file for its peer: the peer
//! receives everything already sent, then every `recv` returns [`Error::Eof`](crate::Error::Eof)
//! at once (never a hang) and `poll` returns `true`; the peer's sends fail with
//! [`SendError::BrokenPipe`], value handed back.
//!
//! A thread that panics unwinds, natively and in the browser, and drops the connections it
//! owns, so its peer sees the end of file as above; the peer's `join` reports the panic.
//!
//! ## How it is built
//!
//! Each direction is an unbounded queue (the state machine of [`crate::queue`]): the sending
//! end closes it for end of file; the receiving end closes it, dropping what is left, when it
//! goes away. A pipe between processes will keep the same ends and errors over a queue of
//! serialised messages in shared memory.

mod connection;
mod error;

use std::sync::Arc;

pub use connection::Connection;
pub use error::SendError;

use crate::queue::LocalStore;
use connection::Channel;

/// Makes pipes, as Python's `multiprocessing.Pipe(duplex)`.
///
/// # Examples
///
/// ```
/// let (receiver, sender) = amphi::Pipe::new::<u32>(false);
/// sender.send(1)?;
/// assert_eq!(receiver.recv()?, 1);
/// assert!(receiver.send(2).is_err(), "a one-way receiver cannot send");
/// # Ok::<(), amphi::Error>(())
/// ```
#[derive(Debug)]
pub struct Pipe {
    _not_constructed: (),
}

impl Pipe {
    /// A pair of connected ends. With `duplex`, both ends send and receive; without, the pair
    /// is `(receiver, sender)`: the first only receives, the second only sends.
    ///
    /// # Examples
    ///
    /// ```
    /// let (a, b) = amphi::Pipe::new::<&str>(true);
    /// a.send("to b")?;
    /// b.send("to a")?;
    /// assert_eq!((a.recv()?, b.recv()?), ("to a", "to b"));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    #[allow(clippy::new_ret_no_self)] // as Python's `Pipe(duplex)`, it makes a pair of ends
    pub fn new<T: Send>(duplex: bool) -> (Connection<T>, Connection<T>) {
        let forward = Arc::new(channel());
        if duplex {
            let backward = Arc::new(channel());
            (
                Connection::new(Some(Arc::clone(&backward)), Some(Arc::clone(&forward))),
                Connection::new(Some(forward), Some(backward)),
            )
        } else {
            (
                Connection::new(Some(Arc::clone(&forward)), None),
                Connection::new(None, Some(forward)),
            )
        }
    }
}

/// A pair of connected ends that both send and receive (Python's `Pipe()`).
///
/// # Examples
///
/// ```
/// let (a, b) = amphi::pipe();
/// a.send(42)?;
/// assert_eq!(b.recv()?, 42);
/// # Ok::<(), amphi::Error>(())
/// ```
pub fn pipe<T: Send>() -> (Connection<T>, Connection<T>) {
    Pipe::new(true)
}

fn channel<T>() -> Channel<T> {
    Channel::new(LocalStore::new(), 0)
}
