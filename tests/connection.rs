//! Conformance of [`amphi::process::connection`] with Python's `multiprocessing.connection`:
//! listeners and clients over Unix sockets and TCP, messages of bytes and of serde values,
//! the message size limit, and the mutual challenge-response (after CPython's
//! `_TestListenerClient`, `_TestAuthkey`-style wrong keys, and hostile peers that send huge
//! length prefixes, floods or nothing before authenticating). A Python client, when `python3`
//! is installed, checks the wire format against CPython's own `Connection`.
//!
//! Native only: a page has no sockets. Every test runs under a watchdog.

#![cfg(not(target_arch = "wasm32"))]

// The conformance macros serve the two-target suites; this one is native only.
#[allow(unused_macros)]
mod common;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use amphi::process::connection::{
    Address, AuthKey, Client, Listener, SocketConnection, DEFAULT_MAX_MESSAGE_SIZE,
    HANDSHAKE_MESSAGE_LIMIT,
};
use amphi::process::Process;
use amphi::Error;
use serde::{Deserialize, Serialize};

/// How long any one test may take before the watchdog fails it.
const WATCHDOG: Duration = Duration::from_secs(120);
/// How long a test waits for one accept or one message.
const PATIENCE: Duration = Duration::from_secs(30);

/// Runs `body` on a thread and fails the test if it does not finish within [`WATCHDOG`].
fn within_watchdog<F: FnOnce() + Send + 'static>(body: F) {
    let (done, finished) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        body();
        let _ = done.send(());
    });
    match finished.recv_timeout(WATCHDOG) {
        Ok(()) => worker.join().expect("the test body"),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            if let Err(panic) = worker.join() {
                std::panic::resume_unwind(panic);
            }
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("the test did not finish in {WATCHDOG:?}"),
    }
}

/// A fresh Unix socket path for `what`, unique to this process.
fn socket_path(what: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!(
        "amphi-connection-{}-{what}.sock",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&path);
    path
}

fn key(text: &str) -> AuthKey {
    AuthKey::new(text.as_bytes().to_vec()).expect("a key")
}

/// A loopback TCP address with a port the system chooses.
fn any_tcp_port() -> Address {
    Address::tcp("127.0.0.1", 0)
}

/// Connects a client to `listener` on a thread, accepts it, and returns both ends
/// (server's, client's).
fn connected_pair(listener: &Listener, authkey: &AuthKey) -> (SocketConnection, SocketConnection) {
    let address = listener.address().clone();
    let authkey = authkey.clone();
    let client = std::thread::spawn(move || Client::connect_timeout(&address, &authkey, PATIENCE));
    let server_end = listener.accept_timeout(PATIENCE).expect("accept a client");
    let client_end = client.join().expect("the client thread").expect("connect");
    (server_end, client_end)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Order {
    item: String,
    quantity: u32,
    notes: Vec<String>,
}

fn round_trip(address: Address) {
    let authkey = key("round trip");
    let listener = Listener::bind(&address, &authkey).expect("bind");
    let (server, client) = connected_pair(&listener, &authkey);
    client.send_bytes(b"hello").expect("send bytes");
    assert_eq!(server.recv_bytes().expect("recv bytes"), b"hello");
    server.send_bytes(b"").expect("an empty message");
    assert_eq!(client.recv_bytes().expect("recv empty"), b"");
    let order = Order {
        item: "spam".to_owned(),
        quantity: 3,
        notes: vec!["no eggs".to_owned()],
    };
    server.send(&order).expect("send a value");
    assert_eq!(client.recv::<Order>().expect("recv a value"), order);
    client.send(&(1u8, "two", [3.0f64])).expect("send a tuple");
    assert_eq!(
        server
            .recv::<(u8, String, Vec<f64>)>()
            .expect("recv a tuple"),
        (1, "two".to_owned(), vec![3.0])
    );
    // A message that is not a T is a decode error, and is consumed.
    client.send_bytes(b"not json").expect("send");
    assert!(matches!(server.recv::<Order>(), Err(Error::Decode(_))));
    client.send(&7u32).expect("send");
    assert_eq!(server.recv::<u32>().expect("the next message"), 7);
}

#[test]
fn bytes_and_values_round_trip_over_a_unix_socket() {
    within_watchdog(|| {
        let path = socket_path("round-trip");
        round_trip(Address::unix(&path));
        assert!(
            !path.exists(),
            "the listener removes its socket file when dropped"
        );
    });
}

#[test]
fn bytes_and_values_round_trip_over_tcp() {
    within_watchdog(|| round_trip(any_tcp_port()));
}

#[test]
fn addresses_parse_and_display() {
    let parse = |text: &str| text.parse::<Address>().expect(text);
    assert_eq!(parse("unix:/run/a.sock"), Address::unix("/run/a.sock"));
    assert_eq!(parse("/run/a.sock"), Address::unix("/run/a.sock"));
    assert_eq!(parse("a.sock"), Address::unix("a.sock"));
    assert_eq!(parse("tcp://localhost:80"), Address::tcp("localhost", 80));
    assert_eq!(parse("127.0.0.1:5000"), Address::tcp("127.0.0.1", 5000));
    assert_eq!(parse("[::1]:5000"), Address::tcp("::1", 5000));
    for address in [
        Address::unix("/tmp/x.sock"),
        Address::tcp("::1", 1),
        Address::tcp("example.org", 65535),
    ] {
        assert_eq!(parse(&address.to_string()), address);
    }
    for bad in ["", "unix:", "tcp://nohost", "tcp://:80", "tcp://host:99999"] {
        assert!(
            matches!(bad.parse::<Address>(), Err(Error::InvalidArgument(_))),
            "{bad:?} parsed"
        );
    }
}

#[test]
fn keys_come_from_the_environment_or_a_file_and_never_print() {
    let secret = "s3cret-key";
    std::env::set_var("AMPHI_TEST_CONNECTION_KEY", secret);
    let from_env = AuthKey::from_env("AMPHI_TEST_CONNECTION_KEY").expect("from env");
    assert_eq!(from_env.as_bytes(), secret.as_bytes());
    assert!(!format!("{from_env:?}").contains(secret));
    assert!(matches!(
        AuthKey::from_env("AMPHI_TEST_CONNECTION_KEY_UNSET"),
        Err(Error::InvalidArgument(_))
    ));
    let file = std::env::temp_dir().join(format!("amphi-key-{}", std::process::id()));
    std::fs::write(&file, format!("{secret}\n")).expect("write the key file");
    let from_file = AuthKey::from_file(&file).expect("from file");
    assert_eq!(from_file.as_bytes(), secret.as_bytes());
    std::fs::write(&file, "\n").expect("write an empty key");
    assert!(matches!(
        AuthKey::from_file(&file),
        Err(Error::InvalidArgument(_))
    ));
    let _ = std::fs::remove_file(&file);
    assert!(AuthKey::from_file(&file).is_err());
    let (first, second) = (AuthKey::random().unwrap(), AuthKey::random().unwrap());
    assert_ne!(first.as_bytes(), second.as_bytes());
}

#[test]
fn many_messages_cross_both_ways_at_once() {
    within_watchdog(|| {
        const COUNT: u32 = 5_000;
        let authkey = key("many");
        let listener = Listener::bind(&Address::unix(socket_path("many")), &authkey).unwrap();
        let (server, client) = connected_pair(&listener, &authkey);
        let server = std::sync::Arc::new(server);
        let sender = {
            let server = server.clone();
            std::thread::spawn(move || {
                for number in 0..COUNT {
                    server.send(&number).expect("server send");
                }
            })
        };
        let echo = std::thread::spawn(move || {
            for number in 0..COUNT {
                assert_eq!(client.recv::<u32>().expect("client recv"), number);
                client
                    .send_bytes(format!("reply {number}").as_bytes())
                    .expect("client send");
            }
            client
        });
        for number in 0..COUNT {
            let reply = server.recv_bytes_timeout(PATIENCE).expect("server recv");
            assert_eq!(reply, format!("reply {number}").as_bytes());
        }
        sender.join().unwrap();
        let _client = echo.join().unwrap();
    });
}

#[test]
fn a_large_message_within_the_limit_arrives_whole() {
    within_watchdog(|| {
        let authkey = key("large");
        let listener = Listener::bind(&any_tcp_port(), &authkey).unwrap();
        let (server, client) = connected_pair(&listener, &authkey);
        let large: Vec<u8> = (0..24 << 20).map(|i: u32| (i % 251) as u8).collect();
        let sent = large.clone();
        let sender = std::thread::spawn(move || {
            client.send_bytes(&sent).expect("send a large message");
            client
        });
        let mut buffer = Vec::new();
        let length = server.recv_bytes_into_vec(&mut buffer).expect("receive it");
        assert_eq!(length, large.len());
        assert!(buffer == large, "the large message arrived changed");
        assert!(large.len() <= DEFAULT_MAX_MESSAGE_SIZE);
        let client = sender.join().unwrap();
        // Several parts make one message.
        client
            .send_bytes_vectored(&[b"head:", b"", b"payload"])
            .unwrap();
        assert_eq!(server.recv_bytes().unwrap(), b"head:payload");
    });
}

#[test]
fn a_message_over_the_limit_is_refused_and_closes_the_connection() {
    within_watchdog(|| {
        let authkey = key("limit");
        let listener = Listener::bind(&any_tcp_port(), &authkey).unwrap();
        let (server, client) = connected_pair(&listener, &authkey);
        server.set_max_message_size(1024);
        client
            .send_bytes(&[7; 1024])
            .expect("a message at the limit");
        assert_eq!(server.recv_bytes().unwrap().len(), 1024);
        client
            .send_bytes(&[7; 1025])
            .expect("a message over the limit");
        assert_eq!(
            server.recv_bytes(),
            Err(Error::MessageTooLong {
                length: 1025,
                limit: 1024
            })
        );
        assert!(server.is_closed());
        assert_eq!(server.recv_bytes(), Err(Error::Closed));
        assert_eq!(server.send_bytes(b"x"), Err(Error::Closed));
        assert_eq!(client.recv_bytes_timeout(PATIENCE), Err(Error::Eof));
    });
}

#[test]
fn a_timed_out_receive_keeps_a_partial_message_for_the_next() {
    within_watchdog(|| {
        let authkey = key("partial");
        let listener = Listener::bind(&any_tcp_port(), &authkey).unwrap();
        let (server, client) = connected_pair(&listener, &authkey);
        assert_eq!(
            server.recv_bytes_timeout(Duration::from_millis(50)),
            Err(Error::Timeout)
        );
        assert!(!server.poll(Duration::from_millis(20)).unwrap());
        let started = amphi::time::Instant::now();
        assert_eq!(
            server.recv_bytes_timeout(Duration::from_millis(100)),
            Err(Error::Timeout)
        );
        common::assert_waited_at_least(started.elapsed(), Duration::from_millis(100));
        // A message larger than a socket buffer, so that a short timeout may cut it.
        let message = vec![42u8; 8 << 20];
        let sent = message.clone();
        let sender = std::thread::spawn(move || {
            client.send_bytes(&sent).unwrap();
            client
        });
        let received = loop {
            match server.recv_bytes_timeout(Duration::from_millis(1)) {
                Ok(received) => break received,
                Err(Error::Timeout) => continue,
                Err(other) => panic!("receive failed: {other}"),
            }
        };
        assert!(received == message);
        let client = sender.join().unwrap();
        assert!(server.poll(Duration::ZERO).is_ok());
        client.send_bytes(b"next").unwrap();
        assert!(server.poll(PATIENCE).unwrap());
        assert_eq!(server.recv_bytes().unwrap(), b"next");
    });
}

#[test]
fn a_wrong_key_fails_on_both_sides() {
    within_watchdog(|| {
        for address in [Address::unix(socket_path("wrong-key")), any_tcp_port()] {
            let listener = Listener::bind(&address, &key("the right key")).unwrap();
            let address = listener.address().clone();
            let client = std::thread::spawn(move || {
                Client::connect_timeout(&address, &key("a wrong key"), PATIENCE)
            });
            let accepted = listener.accept_timeout(PATIENCE);
            let Err(Error::AuthenticationFailed(why)) = accepted else {
                panic!("the listener accepted a wrong key: {accepted:?}");
            };
            assert!(why.contains("keys differ"), "{why}");
            let connected = client.join().unwrap();
            let Err(Error::AuthenticationFailed(why)) = connected else {
                panic!("the client connected with a wrong key: {connected:?}");
            };
            assert!(why.contains("keys differ"), "{why}");
            // The listener keeps serving clients with the right key.
            let (server, client) = connected_pair(&listener, &key("the right key"));
            client.send_bytes(b"after").unwrap();
            assert_eq!(server.recv_bytes().unwrap(), b"after");
        }
    });
}

/// Connects a raw socket to `path`, reads the listener's challenge, and hands the socket to
/// `misbehave`, on a thread.
fn raw_client(
    path: PathBuf,
    misbehave: impl FnOnce(UnixStream) + Send + 'static,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut stream = UnixStream::connect(&path).expect("connect a raw socket");
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        let mut length = [0u8; 4];
        stream
            .read_exact(&mut length)
            .expect("the challenge's header");
        let mut challenge = vec![0; u32::from_be_bytes(length) as usize];
        stream.read_exact(&mut challenge).expect("the challenge");
        assert!(challenge.starts_with(b"#CHALLENGE#{sha256}"));
        misbehave(stream);
    })
}

fn assert_still_serves(listener: &Listener, authkey: &AuthKey) {
    let (server, client) = connected_pair(listener, authkey);
    client.send(&"still here").unwrap();
    assert_eq!(server.recv::<String>().unwrap(), "still here");
}

#[test]
fn an_oversized_handshake_is_refused_from_its_header_and_the_listener_goes_on() {
    within_watchdog(|| {
        let authkey = key("oversized");
        let path = socket_path("oversized");
        let listener = Listener::bind(&Address::unix(&path), &authkey).unwrap();

        // A 1 GiB length prefix, then silence: refused from the four bytes, nothing read or
        // allocated for the announced body (the refusal names the length).
        let peer = raw_client(path.clone(), |mut stream| {
            stream.write_all(&(1u32 << 30).to_be_bytes()).unwrap();
            let mut rest = Vec::new();
            // The listener closes the socket: the read ends without a #WELCOME#.
            let _ = stream.read_to_end(&mut rest);
            assert!(!rest.windows(9).any(|w| w == b"#WELCOME#"));
        });
        let refused = listener.accept_timeout(PATIENCE);
        let Err(Error::AuthenticationFailed(why)) = refused else {
            panic!("a 1 GiB handshake message was not refused: {refused:?}");
        };
        assert!(why.contains("1073741824 bytes"), "{why}");
        assert!(why.contains(&HANDSHAKE_MESSAGE_LIMIT.to_string()), "{why}");
        peer.join().unwrap();
        assert_still_serves(&listener, &authkey);

        // 10 MB of garbage: refused likewise; the flood's writes fail once the socket closes.
        let peer = raw_client(path.clone(), |mut stream| {
            let garbage = vec![b'A'; 10 << 20];
            let _ = stream.write_all(&garbage);
        });
        let refused = listener.accept_timeout(PATIENCE);
        assert!(
            matches!(refused, Err(Error::AuthenticationFailed(_))),
            "{refused:?}"
        );
        peer.join().unwrap();

        // A flood of bytes that do not even make a length.
        let peer = raw_client(path.clone(), |mut stream| {
            let _ = stream.write_all(&vec![0xAB; 10 << 20]);
        });
        assert!(matches!(
            listener.accept_timeout(PATIENCE),
            Err(Error::AuthenticationFailed(_))
        ));
        peer.join().unwrap();

        // A well-formed answer of the wrong shape (a legacy HMAC-MD5 length).
        let peer = raw_client(path.clone(), |mut stream| {
            stream.write_all(&16u32.to_be_bytes()).unwrap();
            stream.write_all(&[0; 16]).unwrap();
            let _ = stream.read_to_end(&mut Vec::new());
        });
        let refused = listener.accept_timeout(PATIENCE);
        let Err(Error::AuthenticationFailed(why)) = refused else {
            panic!("an MD5-sized answer was accepted: {refused:?}");
        };
        assert!(why.contains("HMAC-MD5"), "{why}");
        peer.join().unwrap();

        assert_still_serves(&listener, &authkey);
    });
}

#[test]
fn a_silent_client_times_out_the_handshake_and_the_listener_goes_on() {
    within_watchdog(|| {
        let authkey = key("silent");
        let path = socket_path("silent");
        let mut listener = Listener::bind(&Address::unix(&path), &authkey).unwrap();
        let handshake = Duration::from_millis(300);
        listener.set_handshake_timeout(handshake);
        let (release, released) = mpsc::channel::<()>();
        let peer = raw_client(path, move |_stream| {
            // Says nothing until the test is over.
            let _ = released.recv_timeout(PATIENCE);
        });
        let started = amphi::time::Instant::now();
        let refused = listener.accept_timeout(PATIENCE);
        let Err(Error::AuthenticationFailed(why)) = refused else {
            panic!("a silent client was not refused: {refused:?}");
        };
        assert!(why.contains("in time"), "{why}");
        common::assert_waited_at_least(started.elapsed(), handshake);
        listener.set_handshake_timeout(PATIENCE);
        assert_still_serves(&listener, &authkey);
        release.send(()).unwrap();
        peer.join().unwrap();
    });
}

#[test]
fn accept_timeout_without_a_client_times_out() {
    within_watchdog(|| {
        let listener = Listener::bind(&any_tcp_port(), &key("nobody")).unwrap();
        let timeout = Duration::from_millis(100);
        let started = amphi::time::Instant::now();
        assert_eq!(
            listener.accept_timeout(timeout).unwrap_err(),
            Error::Timeout
        );
        common::assert_waited_at_least(started.elapsed(), timeout);
    });
}

#[test]
fn connecting_where_nobody_listens_is_a_socket_error() {
    within_watchdog(|| {
        let nowhere = Address::unix(socket_path("nobody-here"));
        assert!(matches!(
            Client::connect(&nowhere, &key("k")),
            Err(Error::Socket(_))
        ));
        let path = socket_path("in-use");
        let _first = Listener::bind(&Address::unix(&path), &key("k")).unwrap();
        assert!(matches!(
            Listener::bind(&Address::unix(&path), &key("k")),
            Err(Error::Socket(_))
        ));
    });
}

#[test]
fn a_closed_peer_is_end_of_file_and_a_broken_pipe() {
    within_watchdog(|| {
        let authkey = key("eof");
        let listener = Listener::bind(&any_tcp_port(), &authkey).unwrap();
        let (server, client) = connected_pair(&listener, &authkey);
        client.send_bytes(b"last words").unwrap();
        drop(client);
        assert_eq!(server.recv_bytes().unwrap(), b"last words");
        assert_eq!(server.recv_bytes_timeout(PATIENCE), Err(Error::Eof));
        assert_eq!(server.recv_bytes(), Err(Error::Eof), "end of file stays");
        assert!(
            server.poll(Duration::ZERO).unwrap(),
            "end of file is readable"
        );
        // Sends to a gone peer fail once the system knows (the first may still be buffered).
        let started = amphi::time::Instant::now();
        let refused = loop {
            match server.send_bytes(&[0; 4096]) {
                Err(error) => break error,
                Ok(()) if started.elapsed() < PATIENCE => {
                    std::thread::sleep(Duration::from_millis(1))
                }
                Ok(()) => panic!("sends to a closed peer went on succeeding"),
            }
        };
        assert_eq!(refused, Error::BrokenPipe);
        assert!(server.is_closed(), "a failed send closes the connection");

        let (server, client) = connected_pair(&listener, &authkey);
        client.close();
        assert_eq!(client.send_bytes(b"x"), Err(Error::Closed));
        assert_eq!(client.recv_bytes(), Err(Error::Closed));
        assert_eq!(server.recv_bytes_timeout(PATIENCE), Err(Error::Eof));
    });
}

#[test]
fn close_wakes_a_receive_blocked_in_another_thread() {
    within_watchdog(|| {
        let authkey = key("close");
        let listener = Listener::bind(&any_tcp_port(), &authkey).unwrap();
        let (server, _client) = connected_pair(&listener, &authkey);
        let server = std::sync::Arc::new(server);
        let receiver = {
            let server = server.clone();
            std::thread::spawn(move || server.recv_bytes())
        };
        std::thread::sleep(Duration::from_millis(50));
        server.close();
        assert_eq!(receiver.join().unwrap(), Err(Error::Closed));
    });
}

/// A child process's side: connects to `address` with `key`, sends its pid, returns the reply.
fn child_client((address, key): (String, Vec<u8>)) -> Result<String, String> {
    let address: Address = address.parse().map_err(|e: Error| e.to_string())?;
    let authkey = AuthKey::new(key).map_err(|e| e.to_string())?;
    let connection =
        Client::connect_timeout(&address, &authkey, PATIENCE).map_err(|e| e.to_string())?;
    connection
        .send(&std::process::id())
        .map_err(|e| e.to_string())?;
    connection
        .recv_timeout::<String>(PATIENCE)
        .map_err(|e| e.to_string())
}

#[test]
fn a_child_process_connects_to_a_listener_of_its_parent() {
    within_watchdog(|| {
        let authkey = AuthKey::random().unwrap();
        for address in [Address::unix(socket_path("child")), any_tcp_port()] {
            let listener = Listener::bind(&address, &authkey).unwrap();
            let child = Process::new(
                child_client,
                (listener.address().to_string(), authkey.as_bytes().to_vec()),
            );
            child.start().expect("start the child");
            let connection = listener.accept_timeout(PATIENCE).expect("accept the child");
            let pid: u32 = connection.recv_timeout(PATIENCE).expect("the child's pid");
            assert_eq!(Some(pid), child.pid());
            connection.send(&format!("welcome, {pid}")).unwrap();
            let reply = child.join_timeout(PATIENCE).expect("join the child");
            assert_eq!(reply, Ok(format!("welcome, {pid}")));
        }
    });
}

#[test]
fn a_child_process_with_a_wrong_key_is_refused() {
    within_watchdog(|| {
        let listener = Listener::bind(&any_tcp_port(), &key("parent's")).unwrap();
        let child = Process::new(
            child_client,
            (listener.address().to_string(), b"child's".to_vec()),
        );
        child.start().expect("start the child");
        assert!(matches!(
            listener.accept_timeout(PATIENCE),
            Err(Error::AuthenticationFailed(_))
        ));
        let refused = child.join_timeout(PATIENCE).expect("join the child");
        let why = refused.expect_err("the child was not refused");
        assert!(why.starts_with("authentication failed"), "{why}");
    });
}

/// Whether `python3` runs here; says so on stderr when it does not (the CPython wire tests
/// then do not run).
fn python3_is_installed() -> bool {
    let probe = std::process::Command::new("python3")
        .arg("--version")
        .output();
    let installed = probe.is_ok_and(|output| output.status.success());
    if !installed {
        eprintln!("python3 is not installed: the CPython wire test did not run");
    }
    installed
}

/// Waits (at most [`PATIENCE`], then kills it) for a Python peer to exit, and fails the test
/// unless it succeeded.
fn assert_python_succeeds(mut python: std::process::Child) {
    let started = amphi::time::Instant::now();
    let status = loop {
        if let Some(status) = python.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > PATIENCE {
            let _ = python.kill();
            panic!("python3 did not exit");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(status.success(), "python3 failed: {status}");
}

/// A CPython `multiprocessing.connection` client: on Python 3.12 and later its own `Client`
/// with the authkey; before, its `Client` without one (the framing is still CPython's) and the
/// modern handshake in a few lines, as 3.12's `answer_challenge` and `deliver_challenge`.
const PYTHON_CLIENT: &str = r##"
import hmac, os, struct, sys, time
from multiprocessing.connection import Client
address, key = sys.argv[1], os.environ["AMPHI_TEST_KEY"].encode()
if sys.version_info >= (3, 12):
    connection = Client(address, authkey=key)
else:
    connection = Client(address)
    challenge = connection.recv_bytes(256)
    assert challenge.startswith(b"#CHALLENGE#{sha256}"), challenge
    message = challenge[len(b"#CHALLENGE#"):]
    connection.send_bytes(b"{sha256}" + hmac.new(key, message, "sha256").digest())
    assert connection.recv_bytes(256) == b"#WELCOME#"
    ours = b"{sha256}" + os.urandom(40)
    connection.send_bytes(b"#CHALLENGE#" + ours)
    answer = connection.recv_bytes(256)
    expected = b"{sha256}" + hmac.new(key, ours, "sha256").digest()
    if hmac.compare_digest(answer, expected):
        connection.send_bytes(b"#WELCOME#")
    else:
        connection.send_bytes(b"#FAILURE#")
        sys.exit("the amphi listener answered wrongly")
connection.send_bytes(b"hello from python")
# The long header (-1, then a 64-bit length), which CPython sends from 2 GiB on.
connection._send(struct.pack("!iQ", -1, 5) + b"long!")
# A message that comes a byte at a time, header included.
for byte in struct.pack("!i", 3) + b"abc":
    connection._send(bytes([byte]))
    time.sleep(0.005)
reply = connection.recv_bytes()
big = connection.recv_bytes()
assert big == bytes(i % 251 for i in range(300000)), "the large message differs"
connection.send_bytes(reply + b"!")
connection.close()
"##;

#[test]
fn a_python_client_speaks_the_same_wire() {
    within_watchdog(|| {
        if !python3_is_installed() {
            return;
        }
        let authkey = key("shared with python");
        let path = socket_path("python");
        let listener = Listener::bind(&Address::unix(&path), &authkey).unwrap();
        let mut python = std::process::Command::new("python3")
            .arg("-c")
            .arg(PYTHON_CLIENT)
            .arg(&path)
            .env("AMPHI_TEST_KEY", "shared with python")
            .spawn()
            .expect("start python3");
        let connection = listener.accept_timeout(PATIENCE);
        if connection.is_err() {
            let _ = python.kill();
        }
        let connection = connection.expect("accept the Python client");
        assert_eq!(
            connection.recv_bytes_timeout(PATIENCE).unwrap(),
            b"hello from python"
        );
        assert_eq!(connection.recv_bytes_timeout(PATIENCE).unwrap(), b"long!");
        assert_eq!(connection.recv_bytes_timeout(PATIENCE).unwrap(), b"abc");
        connection.send_bytes(b"hello from amphi").unwrap();
        let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        connection.send_bytes(&big).unwrap();
        assert_eq!(
            connection.recv_bytes_timeout(PATIENCE).unwrap(),
            b"hello from amphi!"
        );
        assert_eq!(connection.recv_bytes_timeout(PATIENCE), Err(Error::Eof));
        assert_python_succeeds(python);
    });
}

/// A CPython `multiprocessing.connection` listener that echoes one message: on Python 3.12
/// and later its own `Listener` with the authkey; before, its `Listener` without one and the
/// modern handshake (the listener's side: challenge first, then answer).
const PYTHON_LISTENER: &str = r##"
import hmac, os, sys
from multiprocessing.connection import Listener
address, key = sys.argv[1], os.environ["AMPHI_TEST_KEY"].encode()
modern = sys.version_info >= (3, 12)
listener = Listener(address, authkey=key if modern else None)
print("listening", flush=True)
connection = listener.accept()
if not modern:
    ours = b"{sha256}" + os.urandom(40)
    connection.send_bytes(b"#CHALLENGE#" + ours)
    answer = connection.recv_bytes(256)
    if not hmac.compare_digest(answer, b"{sha256}" + hmac.new(key, ours, "sha256").digest()):
        connection.send_bytes(b"#FAILURE#")
        sys.exit("the amphi client answered wrongly")
    connection.send_bytes(b"#WELCOME#")
    challenge = connection.recv_bytes(256)
    assert challenge.startswith(b"#CHALLENGE#{sha256}"), challenge
    message = challenge[len(b"#CHALLENGE#"):]
    connection.send_bytes(b"{sha256}" + hmac.new(key, message, "sha256").digest())
    assert connection.recv_bytes(256) == b"#WELCOME#"
connection.send_bytes(connection.recv_bytes()[::-1])
connection.close()
listener.close()
"##;

#[test]
fn an_amphi_client_reaches_a_python_listener() {
    within_watchdog(|| {
        if !python3_is_installed() {
            return;
        }
        let path = socket_path("python-listener");
        let mut python = std::process::Command::new("python3")
            .arg("-c")
            .arg(PYTHON_LISTENER)
            .arg(&path)
            .env("AMPHI_TEST_KEY", "python's key")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("start python3");
        let mut ready = [0u8; 10];
        let listening = python
            .stdout
            .take()
            .expect("python's output")
            .read_exact(&mut ready);
        let connection = match listening {
            Ok(()) => {
                Client::connect_timeout(&Address::unix(&path), &key("python's key"), PATIENCE)
            }
            Err(error) => Err(Error::Socket(format!(
                "python3 did not start listening: {error}"
            ))),
        };
        if connection.is_err() {
            let _ = python.kill();
        }
        let connection = connection.expect("connect to the Python listener");
        connection.send_bytes(b"amphi").unwrap();
        assert_eq!(connection.recv_bytes_timeout(PATIENCE).unwrap(), b"ihpma");
        assert_python_succeeds(python);
    });
}

#[test]
fn handshakes_on_threads_of_their_own_let_a_silent_client_delay_nobody() {
    within_watchdog(|| {
        let authkey = key("pending");
        let mut listener = Listener::bind(&any_tcp_port(), &authkey).unwrap();
        // Longer than the test may take: the silent client's handshake outlives the good one.
        listener.set_handshake_timeout(WATCHDOG);
        let Address::Tcp { port, .. } = listener.address().clone() else {
            panic!("a TCP listener has a TCP address");
        };
        // A client that connects and says nothing, for the whole test.
        let silent = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let pending = listener
            .accept_unauthenticated_timeout(PATIENCE)
            .expect("accept the silent client");
        assert!(
            pending.peer().starts_with("tcp://127.0.0.1:"),
            "{}",
            pending.peer()
        );
        let stalled = std::thread::spawn(move || pending.authenticate());
        // Meanwhile a good client is served.
        let address = listener.address().clone();
        let good_key = authkey.clone();
        let client =
            std::thread::spawn(move || Client::connect_timeout(&address, &good_key, PATIENCE));
        let server = listener
            .accept_unauthenticated_timeout(PATIENCE)
            .unwrap()
            .authenticate()
            .expect("authenticate the good client");
        let client = client.join().unwrap().expect("connect");
        client.send_bytes(b"served").unwrap();
        assert_eq!(server.recv_bytes().unwrap(), b"served");
        assert!(
            !stalled.is_finished(),
            "the silent client's handshake still waits"
        );
        drop(silent);
        let refused = stalled.join().unwrap();
        assert!(
            matches!(&refused, Err(Error::AuthenticationFailed(why)) if why.contains("closed")),
            "{refused:?}"
        );
    });
}

#[test]
fn connections_and_listeners_are_send_and_sync() {
    fn send_and_sync<T: Send + Sync>() {}
    send_and_sync::<SocketConnection>();
    send_and_sync::<Listener>();
    send_and_sync::<amphi::process::connection::PendingConnection>();
    send_and_sync::<AuthKey>();
}
