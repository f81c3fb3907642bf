//! Unix and TCP stream sockets (`std`'s), with deadlines through `poll(2)` and `SO_RCVTIMEO`,
//! and writes through `sendmsg(2)` with `MSG_NOSIGNAL`; random bytes from `getrandom(2)`.
//! The interface is described in `sys/socket.rs`.
//!
//! # A TCP peer that vanishes
//!
//! A peer whose machine vanishes (powered off, cut off the network) sends no reset: a read
//! waiting for it, without a deadline, would wait forever. Every TCP stream (connected or
//! accepted) therefore has the kernel watch its peer: keepalive probes after [`dead_peer`]`/2`
//! of silence, then every quarter of it, the connection dropped after two unanswered
//! (`SO_KEEPALIVE`, `TCP_KEEPIDLE`, `TCP_KEEPINTVL`, `TCP_KEEPCNT`), and data written but not
//! acknowledged within [`dead_peer`] drops it too (`TCP_USER_TIMEOUT`). A dropped connection
//! wakes a read blocked on it, which then sees the end of the stream, and fails a write with
//! [`Error::BrokenPipe`]. [`dead_peer`] is 30 s (so a lost peer is noticed within about
//! 30-40 s, in whole seconds of probes), or the milliseconds of `AMPHI_TCP_DEAD_PEER_MS`.
//! A peer process that is only stopped (its kernel still answers) is not lost: its calls
//! wait, as they would for a slow server. Unix sockets need none of this: their peer is on
//! this machine, and its death closes them.

use std::io::{ErrorKind, Read};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use crate::sys::socket::Endpoint;
use crate::time::Deadline;
use crate::Error;

/// A platform failure in words.
fn failure(error: std::io::Error) -> Error {
    Error::Socket(error.to_string())
}

/// The variable that sets [`dead_peer`], in milliseconds.
const DEAD_PEER_ENV: &str = "AMPHI_TCP_DEAD_PEER_MS";
/// How long a silent TCP peer may stay silent before its connection is dropped, by default.
const DEAD_PEER: Duration = Duration::from_secs(30);

/// How long a silent TCP peer may stay silent before its connection is dropped (see the
/// module docs): [`DEAD_PEER`], or `AMPHI_TCP_DEAD_PEER_MS` when it is a whole number of
/// milliseconds above 0.
fn dead_peer() -> Duration {
    dead_peer_from(std::env::var(DEAD_PEER_ENV).ok().as_deref())
}

fn dead_peer_from(value: Option<&str>) -> Duration {
    value
        .and_then(|text| text.trim().parse::<u64>().ok())
        .filter(|&millis| millis > 0)
        .map_or(DEAD_PEER, Duration::from_millis)
}

/// The keepalive settings for a dead-peer time of `bound`: idle seconds before the first
/// probe, seconds between probes, probes unanswered before the connection is dropped, and
/// the user timeout in milliseconds.
fn keepalive_settings(bound: Duration) -> (i32, i32, i32, u32) {
    let seconds = |duration: Duration| i32::try_from(duration.as_secs().max(1)).unwrap_or(i32::MAX);
    let millis = u32::try_from(bound.as_millis()).unwrap_or(u32::MAX);
    (seconds(bound / 2), seconds(bound / 4), 2, millis)
}

/// Sets an integer socket option.
fn set_option(fd: RawFd, level: i32, name: i32, value: i32) -> Result<(), Error> {
    // SAFETY: setsockopt reads `size_of::<c_int>()` bytes from the valid integer `value`.
    let done = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&value as *const i32).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if done == 0 {
        Ok(())
    } else {
        Err(failure(std::io::Error::last_os_error()))
    }
}

/// Has the kernel watch a TCP stream's peer (see the module docs).
fn watch_peer(stream: &TcpStream) -> Result<(), Error> {
    let fd = stream.as_raw_fd();
    let (idle, interval, count, user_timeout) = keepalive_settings(dead_peer());
    set_option(fd, libc::SOL_SOCKET, libc::SO_KEEPALIVE, 1)?;
    set_option(fd, libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, idle)?;
    set_option(fd, libc::IPPROTO_TCP, libc::TCP_KEEPINTVL, interval)?;
    set_option(fd, libc::IPPROTO_TCP, libc::TCP_KEEPCNT, count)?;
    // Older kernels lack it: the keepalive alone then bounds a silent peer.
    let _ = set_option(
        fd,
        libc::IPPROTO_TCP,
        libc::TCP_USER_TIMEOUT,
        i32::try_from(user_timeout).unwrap_or(i32::MAX),
    );
    Ok(())
}

/// Milliseconds for `poll(2)` until `deadline`: -1 for none, 0 once passed, rounded up.
fn poll_millis(deadline: Deadline) -> i32 {
    match deadline.remaining() {
        Ok(None) => -1,
        Ok(Some(left)) => {
            let millis = left.as_micros().div_ceil(1000);
            i32::try_from(millis).unwrap_or(i32::MAX)
        }
        Err(_) => 0,
    }
}

/// Waits until `fd` is readable (or at its end, or in error), until `deadline`: `Ok(false)`
/// once the deadline passed first.
fn wait_fd_readable(fd: RawFd, deadline: Deadline) -> Result<bool, Error> {
    loop {
        let millis = poll_millis(deadline);
        let mut watched = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: `watched` is one valid pollfd, and the count passed is 1.
        let ready = unsafe { libc::poll(&mut watched, 1, millis) };
        if ready > 0 {
            return Ok(true);
        }
        if ready == 0 {
            if millis == 0 || deadline.passed() {
                return Ok(false);
            }
            continue;
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != ErrorKind::Interrupted {
            return Err(failure(error));
        }
    }
}

enum ListenerSocket {
    Unix(UnixListener),
    Tcp(TcpListener),
}

/// A bound, listening socket. A Unix socket's file is removed when the listener is dropped,
/// as Python's `Listener.close` does.
pub(crate) struct SocketListener {
    socket: ListenerSocket,
    unix_path: Option<PathBuf>,
}

impl std::fmt::Debug for SocketListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketListener")
            .field("fd", &self.fd())
            .finish()
    }
}

impl SocketListener {
    /// Binds and listens at `endpoint`.
    pub(crate) fn bind(endpoint: Endpoint<'_>) -> Result<SocketListener, Error> {
        let (socket, unix_path) = match endpoint {
            Endpoint::Unix(path) => (
                ListenerSocket::Unix(UnixListener::bind(path).map_err(failure)?),
                Some(path.to_path_buf()),
            ),
            Endpoint::Tcp { host, port } => (
                ListenerSocket::Tcp(TcpListener::bind((host, port)).map_err(failure)?),
                None,
            ),
        };
        let listener = SocketListener { socket, unix_path };
        // Accepts wait in poll(2), so that they can give up on time.
        match &listener.socket {
            ListenerSocket::Unix(socket) => socket.set_nonblocking(true),
            ListenerSocket::Tcp(socket) => socket.set_nonblocking(true),
        }
        .map_err(failure)?;
        Ok(listener)
    }

    fn fd(&self) -> RawFd {
        match &self.socket {
            ListenerSocket::Unix(socket) => socket.as_raw_fd(),
            ListenerSocket::Tcp(socket) => socket.as_raw_fd(),
        }
    }

    /// The next connection, accepted before `deadline` ([`Error::Timeout`] after it), and
    /// the peer's address in words (`tcp://ip:port`; a Unix socket's peer has no name, so
    /// `unix:` and the listener's path).
    pub(crate) fn accept(&self, deadline: Deadline) -> Result<(SocketStream, String), Error> {
        loop {
            let accepted = match &self.socket {
                ListenerSocket::Unix(socket) => socket.accept().map(|(stream, _)| {
                    let path = self
                        .unix_path
                        .as_deref()
                        .unwrap_or(std::path::Path::new(""));
                    (
                        StreamSocket::Unix(stream),
                        format!("unix:{}", path.display()),
                    )
                }),
                ListenerSocket::Tcp(socket) => socket.accept().map(|(stream, peer)| {
                    // Requests and replies are small: send them at once.
                    let _ = stream.set_nodelay(true);
                    (StreamSocket::Tcp(stream), format!("tcp://{peer}"))
                }),
            };
            if let Ok((StreamSocket::Tcp(stream), _)) = &accepted {
                watch_peer(stream)?;
            }
            match accepted {
                Ok((socket, peer)) => return Ok((SocketStream::new(socket)?, peer)),
                Err(error) if error.kind() == ErrorKind::WouldBlock => {
                    if !wait_fd_readable(self.fd(), deadline)? {
                        return Err(Error::Timeout);
                    }
                }
                Err(error) if error.kind() == ErrorKind::Interrupted => {}
                // A connection reset before it was accepted concerns that client only.
                Err(error) if error.kind() == ErrorKind::ConnectionAborted => {}
                Err(error) => return Err(failure(error)),
            }
        }
    }

    /// The TCP port the listener got (the one asked for, or the system's choice for 0).
    pub(crate) fn tcp_port(&self) -> Option<u16> {
        match &self.socket {
            ListenerSocket::Unix(_) => None,
            ListenerSocket::Tcp(socket) => socket.local_addr().ok().map(|address| address.port()),
        }
    }
}

impl Drop for SocketListener {
    fn drop(&mut self) {
        if let Some(path) = &self.unix_path {
            let _ = std::fs::remove_file(path);
        }
    }
}

enum StreamSocket {
    Unix(UnixStream),
    Tcp(TcpStream),
}

/// A connected stream socket, in blocking mode.
pub(crate) struct SocketStream {
    socket: StreamSocket,
    /// The receive timeout last set (`SO_RCVTIMEO`), so that reads without a deadline set it
    /// once rather than on every read.
    read_timeout: Mutex<Option<Duration>>,
}

impl std::fmt::Debug for SocketStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketStream")
            .field("fd", &self.fd())
            .finish()
    }
}

impl SocketStream {
    fn new(socket: StreamSocket) -> Result<SocketStream, Error> {
        match &socket {
            StreamSocket::Unix(stream) => stream.set_nonblocking(false),
            StreamSocket::Tcp(stream) => stream.set_nonblocking(false),
        }
        .map_err(failure)?;
        Ok(SocketStream {
            socket,
            read_timeout: Mutex::new(None),
        })
    }

    /// Connects to `endpoint`, giving up at `deadline` (for TCP; a Unix socket connects at once
    /// or is refused).
    pub(crate) fn connect(
        endpoint: Endpoint<'_>,
        deadline: Deadline,
    ) -> Result<SocketStream, Error> {
        let socket = match endpoint {
            Endpoint::Unix(path) => StreamSocket::Unix(UnixStream::connect(path).map_err(failure)?),
            Endpoint::Tcp { host, port } => {
                let mut last = None;
                let mut connected = None;
                for address in (host, port).to_socket_addrs().map_err(failure)? {
                    let attempt = match deadline.remaining()? {
                        None => TcpStream::connect(address),
                        Some(left) => TcpStream::connect_timeout(&address, left),
                    };
                    match attempt {
                        Ok(stream) => {
                            connected = Some(stream);
                            break;
                        }
                        Err(error) if error.kind() == ErrorKind::TimedOut => {
                            return Err(Error::Timeout)
                        }
                        Err(error) => last = Some(error),
                    }
                }
                let stream = match (connected, last) {
                    (Some(stream), _) => stream,
                    (None, Some(error)) => return Err(failure(error)),
                    (None, None) => {
                        return Err(Error::Socket(format!("no address found for {host}")))
                    }
                };
                let _ = stream.set_nodelay(true);
                watch_peer(&stream)?;
                StreamSocket::Tcp(stream)
            }
        };
        SocketStream::new(socket)
    }

    fn fd(&self) -> RawFd {
        match &self.socket {
            StreamSocket::Unix(stream) => stream.as_raw_fd(),
            StreamSocket::Tcp(stream) => stream.as_raw_fd(),
        }
    }

    fn set_read_timeout(&self, timeout: Option<Duration>) -> Result<(), Error> {
        let mut current = self.read_timeout.lock().unwrap_or_else(|e| e.into_inner());
        if *current == timeout && timeout.is_none() {
            return Ok(());
        }
        match &self.socket {
            StreamSocket::Unix(stream) => stream.set_read_timeout(timeout),
            StreamSocket::Tcp(stream) => stream.set_read_timeout(timeout),
        }
        .map_err(failure)?;
        *current = timeout;
        Ok(())
    }

    /// Reads what is there (at least one byte, waiting for it until `deadline`) into `buffer`:
    /// the count, 0 at the end of the stream or when the peer reset the connection.
    pub(crate) fn read(&self, buffer: &mut [u8], deadline: Deadline) -> Result<usize, Error> {
        loop {
            let Ok(timeout) = deadline.remaining() else {
                // Past the deadline, what has already come is still taken, so that a receive
                // with a short timeout makes progress however slow the caller is.
                return self.read_ready(buffer);
            };
            self.set_read_timeout(timeout)?;
            let read = match &self.socket {
                StreamSocket::Unix(stream) => (&*stream).read(buffer),
                StreamSocket::Tcp(stream) => (&*stream).read(buffer),
            };
            match read {
                Ok(count) => return Ok(count),
                Err(error) => match error.kind() {
                    // A receive timeout (`SO_RCVTIMEO`) is `EAGAIN`: the loop looks at the
                    // deadline again.
                    ErrorKind::Interrupted | ErrorKind::WouldBlock => {}
                    // `ETIMEDOUT`: the kernel dropped a connection whose peer vanished.
                    ErrorKind::ConnectionReset
                    | ErrorKind::ConnectionAborted
                    | ErrorKind::TimedOut => return Ok(0),
                    _ => return Err(failure(error)),
                },
            }
        }
    }

    /// Reads what has already come, without waiting: [`Error::Timeout`] if nothing has.
    fn read_ready(&self, buffer: &mut [u8]) -> Result<usize, Error> {
        loop {
            // SAFETY: recv writes at most `buffer.len()` bytes into the valid, writable buffer.
            let count = unsafe {
                libc::recv(
                    self.fd(),
                    buffer.as_mut_ptr().cast(),
                    buffer.len(),
                    libc::MSG_DONTWAIT,
                )
            };
            if count >= 0 {
                return Ok(count as usize);
            }
            let error = std::io::Error::last_os_error();
            match error.kind() {
                ErrorKind::Interrupted => {}
                ErrorKind::WouldBlock => return Err(Error::Timeout),
                ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::TimedOut => {
                    return Ok(0)
                }
                _ => return Err(failure(error)),
            }
        }
    }

    /// Writes every part, in order, as one stream of bytes (blocking until all is written).
    pub(crate) fn write_all(&self, parts: &[&[u8]]) -> Result<(), Error> {
        let mut pending: Vec<&[u8]> = parts
            .iter()
            .copied()
            .filter(|part| !part.is_empty())
            .collect();
        let mut first = 0;
        while first < pending.len() {
            let mut vectors: Vec<libc::iovec> = pending[first..]
                .iter()
                .map(|part| libc::iovec {
                    iov_base: part.as_ptr() as *mut libc::c_void,
                    iov_len: part.len(),
                })
                .collect();
            // SAFETY: an all-zero msghdr is valid (no name, no control data).
            let mut message: libc::msghdr = unsafe { std::mem::zeroed() };
            message.msg_iov = vectors.as_mut_ptr();
            message.msg_iovlen = vectors.len().min(libc::UIO_MAXIOV as usize) as _;
            // SAFETY: `message` points at `msg_iovlen` valid iovecs, each describing a live,
            // readable slice of `pending`; sendmsg only reads them.
            let sent = unsafe { libc::sendmsg(self.fd(), &message, libc::MSG_NOSIGNAL) };
            if sent < 0 {
                let error = std::io::Error::last_os_error();
                match error.kind() {
                    ErrorKind::Interrupted => continue,
                    ErrorKind::BrokenPipe
                    | ErrorKind::ConnectionReset
                    | ErrorKind::ConnectionAborted
                    | ErrorKind::TimedOut
                    | ErrorKind::NotConnected => return Err(Error::BrokenPipe),
                    _ => return Err(failure(error)),
                }
            }
            let mut sent = sent as usize;
            while sent > 0 {
                let part = pending[first];
                if sent >= part.len() {
                    sent -= part.len();
                    first += 1;
                } else {
                    pending[first] = &part[sent..];
                    sent = 0;
                }
            }
        }
        Ok(())
    }

    /// Waits until a read would not wait (bytes, the end of the stream, or an error), until
    /// `deadline`: `Ok(false)` if it passed first.
    pub(crate) fn wait_readable(&self, deadline: Deadline) -> Result<bool, Error> {
        wait_fd_readable(self.fd(), deadline)
    }

    /// Shuts both directions down: the peer reads the end of the stream, and a read blocked in
    /// another thread of this process returns.
    pub(crate) fn shutdown(&self) {
        let _ = match &self.socket {
            StreamSocket::Unix(stream) => stream.shutdown(std::net::Shutdown::Both),
            StreamSocket::Tcp(stream) => stream.shutdown(std::net::Shutdown::Both),
        };
    }
}

/// Fills `bytes` from the kernel's cryptographic random source (`getrandom(2)`, which waits
/// for the source to be seeded once at boot).
pub(crate) fn fill_random(bytes: &mut [u8]) -> Result<(), Error> {
    let mut filled = 0;
    while filled < bytes.len() {
        let rest = &mut bytes[filled..];
        // SAFETY: getrandom writes at most `rest.len()` bytes into the valid, writable `rest`.
        let got = unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) };
        if got < 0 {
            let error = std::io::Error::last_os_error();
            if error.kind() != ErrorKind::Interrupted {
                return Err(Error::Socket(format!(
                    "the system's random source failed: {error}"
                )));
            }
            continue;
        }
        filled += got as usize;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An integer socket option's value.
    fn option(fd: RawFd, level: i32, name: i32) -> i32 {
        let mut value: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: getsockopt writes at most `len` bytes into the valid integer `value`.
        let done =
            unsafe { libc::getsockopt(fd, level, name, (&mut value as *mut i32).cast(), &mut len) };
        assert_eq!(done, 0, "{}", std::io::Error::last_os_error());
        value
    }

    #[test]
    fn the_dead_peer_time_is_thirty_seconds_unless_overridden() {
        assert_eq!(dead_peer_from(None), DEAD_PEER);
        assert_eq!(dead_peer_from(Some("2000")), Duration::from_secs(2));
        for bad in ["0", "-5", "1.5", "soon", ""] {
            assert_eq!(dead_peer_from(Some(bad)), DEAD_PEER, "{bad:?}");
        }
        assert_eq!(keepalive_settings(DEAD_PEER), (15, 7, 2, 30_000));
        // Probes are in whole seconds, at least one.
        assert_eq!(
            keepalive_settings(Duration::from_millis(1500)),
            (1, 1, 2, 1500)
        );
    }

    #[test]
    fn both_ends_of_a_tcp_connection_watch_their_peer() {
        let listener = SocketListener::bind(Endpoint::Tcp {
            host: "127.0.0.1",
            port: 0,
        })
        .unwrap();
        let port = listener.tcp_port().unwrap();
        let client = SocketStream::connect(
            Endpoint::Tcp {
                host: "127.0.0.1",
                port,
            },
            Deadline::after(Duration::from_secs(10)),
        )
        .unwrap();
        let (server, _) = listener
            .accept(Deadline::after(Duration::from_secs(10)))
            .unwrap();
        let (idle, interval, count, user_timeout) = keepalive_settings(dead_peer());
        for end in [&client, &server] {
            let fd = end.fd();
            assert_eq!(option(fd, libc::SOL_SOCKET, libc::SO_KEEPALIVE), 1);
            assert_eq!(option(fd, libc::IPPROTO_TCP, libc::TCP_KEEPIDLE), idle);
            assert_eq!(option(fd, libc::IPPROTO_TCP, libc::TCP_KEEPINTVL), interval);
            assert_eq!(option(fd, libc::IPPROTO_TCP, libc::TCP_KEEPCNT), count);
            assert_eq!(
                option(fd, libc::IPPROTO_TCP, libc::TCP_USER_TIMEOUT) as u32,
                user_timeout
            );
        }
    }
}
