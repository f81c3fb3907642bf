//! The bytes a parent and its child exchange over the child's socket, and the socket calls.
//!
//! Parent to child, once: a fixed [`Header`] followed by the payload.
//!
//! ```text
//! magic "AMPHIPR2" | exe dev u64 | exe inode u64 | entry offset i64 | target offset i64
//! | payload length u64 | inherited length u64 | payload | inherited
//! ```
//!
//! The inherited part is what the parent's process tree hands down to every child rather
//! than through the environment (which every descendant, even a program that is not amphi,
//! inherits, and `/proc/PID/environ` shows): the values of `sys::set_inherited`, as a JSON
//! array of `[name, value]` pairs.
//!
//! ```text
//! ```
//!
//! Child to parent, once, just before it exits: a report frame.
//!
//! ```text
//! magic "AMPR" | kind u8 (0 = the entry's report, 1 = why the child could not run) | length u64 | bytes
//! ```
//!
//! Integers are little-endian. Everything read is validated: a wrong magic, an unknown kind, a
//! length above the limit or bytes after the frame make the report [`ChildReport::Broken`];
//! nothing a child sends can make the parent misbehave.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

use crate::sys::ChildReport;

const HEADER_MAGIC: &[u8; 8] = b"AMPHIPR2";
const REPORT_MAGIC: &[u8; 4] = b"AMPR";
/// The size of an encoded [`Header`].
pub(super) const HEADER_LEN: usize = 8 + 8 + 8 + 8 + 8 + 8 + 8;
const REPORT_HEAD_LEN: usize = 4 + 1 + 8;
/// The most a payload or a report may weigh.
pub(super) const MAX_BODY: u64 = 1 << 30;
/// Report kind: the entry's report.
pub(super) const KIND_REPORT: u8 = 0;
/// Report kind: the child could not run the entry; the bytes say why (UTF-8).
pub(super) const KIND_BROKEN: u8 = 1;

/// What a child needs before it can run anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Header {
    /// The device and inode of the parent's executable.
    pub(super) exe: (u64, u64),
    /// Where the entry is, relative to the anchor (see `child.rs`).
    pub(super) entry_offset: i64,
    /// Where the target is, relative to the anchor.
    pub(super) target_offset: i64,
    /// How many payload bytes follow.
    pub(super) payload_len: u64,
    /// How many bytes of inherited values follow the payload.
    pub(super) inherited_len: u64,
}

impl Header {
    /// The header's bytes.
    pub(super) fn encode(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(HEADER_LEN);
        bytes.extend_from_slice(HEADER_MAGIC);
        bytes.extend_from_slice(&self.exe.0.to_le_bytes());
        bytes.extend_from_slice(&self.exe.1.to_le_bytes());
        bytes.extend_from_slice(&self.entry_offset.to_le_bytes());
        bytes.extend_from_slice(&self.target_offset.to_le_bytes());
        bytes.extend_from_slice(&self.payload_len.to_le_bytes());
        bytes.extend_from_slice(&self.inherited_len.to_le_bytes());
        bytes
    }

    /// Reads a header back, or says what is wrong with it.
    pub(super) fn decode(bytes: &[u8; HEADER_LEN]) -> Result<Header, String> {
        if &bytes[..8] != HEADER_MAGIC {
            return Err("the start-up message does not come from amphi".to_owned());
        }
        let mut at = 8;
        let mut field = || {
            let mut word = [0u8; 8];
            word.copy_from_slice(&bytes[at..at + 8]);
            at += 8;
            u64::from_le_bytes(word)
        };
        let header = Header {
            exe: (field(), field()),
            entry_offset: field() as i64,
            target_offset: field() as i64,
            payload_len: field(),
            inherited_len: field(),
        };
        if header.payload_len > MAX_BODY {
            return Err(format!(
                "a payload of {} bytes is over the limit",
                header.payload_len
            ));
        }
        if header.inherited_len > MAX_BODY {
            return Err(format!(
                "inherited values of {} bytes are over the limit",
                header.inherited_len
            ));
        }
        Ok(header)
    }
}

/// A report frame's bytes.
pub(super) fn report_frame(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(REPORT_HEAD_LEN + body.len());
    bytes.extend_from_slice(REPORT_MAGIC);
    bytes.push(kind);
    bytes.extend_from_slice(&(body.len() as u64).to_le_bytes());
    bytes.extend_from_slice(body);
    bytes
}

/// The parent's side of a report: bytes in, one validated [`ChildReport`] out.
#[derive(Debug, Default)]
pub(super) struct Inbox {
    bytes: Vec<u8>,
    broken: Option<String>,
}

impl Inbox {
    /// Takes the next bytes the child sent. Once the frame is known to be broken, later bytes
    /// are dropped (still read, so the child never blocks on a full socket).
    pub(super) fn feed(&mut self, chunk: &[u8]) {
        if self.broken.is_some() {
            return;
        }
        self.bytes.extend_from_slice(chunk);
        if let Err(why) = self.check() {
            self.broken = Some(why);
            self.bytes = Vec::new();
        }
    }

    fn check(&self) -> Result<(), String> {
        let Some(head) = self.bytes.get(..REPORT_HEAD_LEN) else {
            return Ok(());
        };
        if &head[..4] != REPORT_MAGIC || head[4] > KIND_BROKEN {
            return Err("the child's report is not an amphi report".to_owned());
        }
        let len = u64::from_le_bytes(head[5..].try_into().unwrap_or_default());
        if len > MAX_BODY {
            return Err(format!(
                "the child's report claims {len} bytes, over the limit"
            ));
        }
        if self.bytes.len() as u64 > REPORT_HEAD_LEN as u64 + len {
            return Err("the child sent bytes after its report".to_owned());
        }
        Ok(())
    }

    /// What was heard, once the child has ended.
    pub(super) fn finish(self) -> ChildReport {
        if let Some(why) = self.broken {
            return ChildReport::Broken(why);
        }
        let Some(head) = self.bytes.get(..REPORT_HEAD_LEN) else {
            return ChildReport::Missing;
        };
        let len = u64::from_le_bytes(head[5..].try_into().unwrap_or_default());
        if (self.bytes.len() - REPORT_HEAD_LEN) as u64 != len {
            return ChildReport::Missing;
        }
        let body = self.bytes[REPORT_HEAD_LEN..].to_vec();
        match head[4] {
            KIND_REPORT => ChildReport::Sent(body),
            _ => ChildReport::Broken(String::from_utf8_lossy(&body).into_owned()),
        }
    }
}

/// `send` with `MSG_NOSIGNAL`: a closed peer is `EPIPE`, never a `SIGPIPE` (which would kill
/// a child still in its start-up, where the Rust runtime has not yet ignored `SIGPIPE`).
pub(super) fn send(socket: BorrowedFd<'_>, bytes: &[u8]) -> io::Result<usize> {
    // SAFETY: `bytes` is a valid readable buffer of `bytes.len()` bytes for the whole call, and
    // `socket` is an open descriptor borrowed for the call.
    let sent = unsafe {
        libc::send(
            socket.as_raw_fd(),
            bytes.as_ptr().cast(),
            bytes.len(),
            libc::MSG_NOSIGNAL,
        )
    };
    if sent < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(sent as usize)
    }
}

/// Sends all of `bytes` on a blocking socket, retrying interrupted calls.
pub(super) fn send_all(socket: BorrowedFd<'_>, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        match send(socket, bytes) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(sent) => bytes = &bytes[sent..],
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn heard(chunks: &[&[u8]]) -> ChildReport {
        let mut inbox = Inbox::default();
        chunks.iter().for_each(|chunk| inbox.feed(chunk));
        inbox.finish()
    }

    #[test]
    fn a_header_round_trips() {
        let header = Header {
            exe: (7, 1 << 40),
            entry_offset: -123_456,
            target_offset: 99,
            payload_len: 17,
            inherited_len: 5,
        };
        let bytes: [u8; HEADER_LEN] = header.encode().try_into().unwrap();
        assert_eq!(Header::decode(&bytes), Ok(header));
    }

    #[test]
    fn a_report_arrives_in_pieces() {
        let frame = report_frame(KIND_REPORT, b"hello");
        let (a, b) = frame.split_at(6);
        assert_eq!(heard(&[a, b]), ChildReport::Sent(b"hello".to_vec()));
        assert_eq!(heard(&[&frame[..9]]), ChildReport::Missing);
        assert_eq!(heard(&[]), ChildReport::Missing);
    }

    #[test]
    fn garbage_is_broken_never_trusted() {
        assert!(matches!(
            heard(&[b"garbage that is long"]),
            ChildReport::Broken(_)
        ));
        let mut huge = report_frame(KIND_REPORT, b"");
        huge[5..13].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(matches!(heard(&[&huge]), ChildReport::Broken(_)));
        let mut extra = report_frame(KIND_REPORT, b"x");
        extra.push(0);
        assert!(matches!(heard(&[&extra]), ChildReport::Broken(_)));
        let why = report_frame(KIND_BROKEN, b"not the same executable");
        assert_eq!(
            heard(&[&why]),
            ChildReport::Broken("not the same executable".into())
        );
    }
}
