//! Connections between unrelated processes: Python's `multiprocessing.connection`, natively,
//! over Unix sockets and TCP, with its mutual challenge-response authentication.
//!
//! A [`Listener`] is bound to an [`Address`] with an [`AuthKey`]; [`Client::connect`] reaches
//! it with the same key. Both ends then hold a [`SocketConnection`], which carries messages
//! both ways: bytes ([`send_bytes`](SocketConnection::send_bytes),
//! [`recv_bytes`](SocketConnection::recv_bytes)) or serde values as JSON
//! ([`send`](SocketConnection::send), [`recv`](SocketConnection::recv)), each with a
//! timeout form, [`poll`](SocketConnection::poll) and [`close`](SocketConnection::close).
//!
//! ```
//! use std::time::Duration;
//! use amphi::process::connection::{AuthKey, Client, Listener};
//!
//! let key = AuthKey::random()?;
//! let listener = Listener::bind(&"tcp://127.0.0.1:0".parse()?, &key)?;
//! let address = listener.address().clone();
//! let server = std::thread::spawn(move || -> amphi::Result<()> {
//!     let connection = listener.accept_timeout(Duration::from_secs(10))?;
//!     let request = connection.recv_bytes()?;
//!     connection.send_bytes(&request.to_ascii_uppercase())
//! });
//! let client = Client::connect(&address, &key)?;
//! client.send_bytes(b"hello")?;
//! assert_eq!(client.recv_bytes()?, b"HELLO");
//! server.join().unwrap()?;
//! # Ok::<(), amphi::Error>(())
//! ```
//!
//! ## The wire
//!
//! CPython's, so that either end may be a Python program (Python 3.12 or later: see below).
//! Each message is a frame: its length as a big-endian signed 32-bit integer, then its bytes;
//! a message of 2 GiB or more is announced by -1 and its length as a big-endian unsigned
//! 64-bit integer. A [`SocketConnection`] refuses a message longer than its limit
//! ([`DEFAULT_MAX_MESSAGE_SIZE`] unless [`set_max_message_size`](SocketConnection::set_max_message_size)
//! says otherwise) from its header alone, before reading or allocating any of it:
//! [`Error::MessageTooLong`], and the connection is closed (the rest of the stream cannot be
//! trusted), as Python's `recv_bytes(maxlength)` closes it.
//!
//! ## Authentication
//!
//! On every new connection the listener challenges the client, then the client challenges
//! the listener ([`deliver_challenge`], [`answer_challenge`]), so that each end proves to the
//! other that it holds the key without sending it: the challenger sends
//! `#CHALLENGE#{sha256}` and 40 random bytes from the operating system; the answer is
//! `{sha256}` and the HMAC-SHA256, keyed by the [`AuthKey`], of everything after
//! `#CHALLENGE#`; the challenger compares it in constant time and replies `#WELCOME#` or
//! `#FAILURE#`. This is CPython's protocol since 3.12. CPython's legacy HMAC-MD5 form (the
//! only one of Python 3.11 and earlier) is refused, with a message that says so: a key is
//! never answered with MD5.
//!
//! Before the handshake completes nothing received is deserialised, and each message may be
//! at most [`HANDSHAKE_MESSAGE_LIMIT`] bytes (Python's 256): a longer length prefix is
//! refused from its four bytes, and the socket is read a few hundred bytes at a time. A
//! handshake that does not complete within the listener's
//! [`handshake_timeout`](Listener::handshake_timeout) fails. Every failure is
//! [`Error::AuthenticationFailed`] on the end that sees it, the connection closed; with
//! different keys both ends get it. The listener keeps serving the next client.
//!
//! Authentication is not encryption: what follows the handshake travels in clear and is not
//! protected against tampering by someone on the path. Prefer a Unix socket (whose file's
//! permissions also decide who may connect), or a TCP port on the loopback interface or
//! through a tunnel (SSH, WireGuard).
//!
//! ## Names
//!
//! [`process::Connection`](crate::process::Connection) is one end of a [`Pipe`](crate::process::Pipe)
//! between processes of one tree, typed by its items. The end of a socket connection is a
//! [`SocketConnection`]: untyped (one socket carries requests and replies of many kinds, as
//! Python's), and reached through a path or a port rather than inherited. Its calls return
//! amphi's [`Error`](crate::Error) rather than the pipe's [`SendError`](crate::SendError)
//! and [`RecvError`](crate::RecvError): a send takes its value by reference, so there is
//! nothing to hand back, and the socket adds failures a pipe does not have
//! ([`Error::Socket`], [`Error::MessageTooLong`], [`Error::AuthenticationFailed`]).
//!
//! ## Serving raw requests
//!
//! A server thread dispatches raw bytes: [`recv_bytes_into_vec`](SocketConnection::recv_bytes_into_vec)
//! reuses one buffer for every request, and [`send_bytes_vectored`](SocketConnection::send_bytes_vectored)
//! sends a reply made of several slices (a header and a payload) as one message, without
//! copying them together. [`Listener::accept_unauthenticated`] hands out a
//! [`PendingConnection`] whose handshake a per-client thread runs, so that a client that stalls
//! its handshake delays no other. A [`SocketConnection`] is `Send` and `Sync`: one thread may receive
//! while another sends; whole messages never interleave.
//!
//! ## In the browser
//!
//! A page has no sockets to listen on: [`Listener::bind`] and [`Client::connect`] return
//! [`Error::Unsupported`] there, and so does [`AuthKey::random`].
//!
//! Sub-modules, one concept each: `address` ([`Address`]), `authkey` ([`AuthKey`]),
//! `frame` (the length prefix, and the reader that resumes a message after a timeout),
//! `socket_connection` ([`SocketConnection`]), `challenge` ([`deliver_challenge`],
//! [`answer_challenge`]), `listener` ([`Listener`], [`PendingConnection`]), `client`
//! ([`Client`]).
//!
//! [`Error::MessageTooLong`]: crate::Error::MessageTooLong
//! [`Error::AuthenticationFailed`]: crate::Error::AuthenticationFailed
//! [`Error::Socket`]: crate::Error::Socket
//! [`Error::Unsupported`]: crate::Error::Unsupported

mod address;
mod authkey;
mod challenge;
mod client;
mod frame;
mod listener;
mod socket_connection;

pub use address::Address;
pub use authkey::AuthKey;
pub use challenge::{answer_challenge, deliver_challenge, HANDSHAKE_MESSAGE_LIMIT};
pub use client::Client;
pub use listener::{Listener, PendingConnection, DEFAULT_HANDSHAKE_TIMEOUT};
pub use socket_connection::{SocketConnection, DEFAULT_MAX_MESSAGE_SIZE};
