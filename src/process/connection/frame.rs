//! Frames on the socket, as CPython writes them: a message's length as a big-endian `i32`,
//! or -1 and the length as a big-endian `u64` for 2 GiB and more, then its bytes. The
//! [`FrameReader`] takes frames out of a stream, refuses a length above the caller's limit
//! from the header alone, and keeps a partly read frame across a timeout, so that the next
//! receive resumes it.

use crate::sys::SocketStream;
use crate::time::Deadline;
use crate::Error;

/// The longest header: -1, then the 64-bit length.
const LONG_HEADER: usize = 12;

/// How much the reader's buffer holds: one read brings in this much at most, so that small
/// messages take one system call each.
const BUFFER_SIZE: usize = 16 * 1024;

/// The most a large message's body grows by per read: a peer that announces a message within
/// the limit but sends it slowly does not make the reader allocate all of it at once.
const BODY_STEP: usize = 1 << 20;

/// The header of a message of `length` bytes, and how many of its bytes to send.
pub(super) fn header(length: usize) -> ([u8; LONG_HEADER], usize) {
    let mut header = [0; LONG_HEADER];
    match i32::try_from(length) {
        Ok(short) => {
            header[..4].copy_from_slice(&short.to_be_bytes());
            (header, 4)
        }
        Err(_) => {
            header[..4].copy_from_slice(&(-1i32).to_be_bytes());
            header[4..].copy_from_slice(&(length as u64).to_be_bytes());
            (header, LONG_HEADER)
        }
    }
}

/// What [`FrameReader::receive`] can fail with, beyond the stream's own errors.
#[derive(Debug)]
pub(super) enum FrameError {
    /// The deadline passed; a partly read frame is kept for the next call.
    Timeout,
    /// The stream ended between frames.
    Eof,
    /// The stream broke the framing or the limit; nothing more can be read from it (the
    /// caller closes the connection). The error says how.
    Broken(Error),
    /// The platform's error on a read.
    Failed(Error),
}

/// Takes frames out of a stream; see the module docs.
pub(super) struct FrameReader {
    /// Bytes read but not yet taken: `buffer[start..end]`.
    buffer: Box<[u8]>,
    start: usize,
    end: usize,
    /// The header being read, and how much of it has come.
    header: [u8; LONG_HEADER],
    header_filled: usize,
    /// The body being read, once its header is complete: its full length, the room made for
    /// it so far (zeroed once, grown by steps), and how much of that has come.
    expected: Option<usize>,
    body: Vec<u8>,
    body_filled: usize,
}

impl FrameReader {
    pub(super) fn new() -> FrameReader {
        FrameReader {
            buffer: vec![0; BUFFER_SIZE].into_boxed_slice(),
            start: 0,
            end: 0,
            header: [0; LONG_HEADER],
            header_filled: 0,
            expected: None,
            body: Vec::new(),
            body_filled: 0,
        }
    }

    /// Whether bytes already read wait to be taken (then a receive starts without reading).
    pub(super) fn has_buffered(&self) -> bool {
        self.start < self.end
    }

    /// How much of the header is needed, given what has come of it.
    fn header_needed(&self) -> usize {
        if self.header_filled >= 4 && self.header[..4] == (-1i32).to_be_bytes() {
            LONG_HEADER
        } else {
            4
        }
    }

    /// The next message, into `message` (cleared first), before `deadline`.
    ///
    /// A message longer than `limit` is refused from its header. Each read takes at most
    /// `read_size` bytes from the stream (the handshake reads a few hundred at a time).
    pub(super) fn receive(
        &mut self,
        stream: &SocketStream,
        message: &mut Vec<u8>,
        limit: usize,
        read_size: usize,
        deadline: Deadline,
    ) -> Result<(), FrameError> {
        loop {
            if self.expected.is_none() {
                let needed = self.header_needed();
                let take = (needed - self.header_filled).min(self.end - self.start);
                self.header[self.header_filled..self.header_filled + take]
                    .copy_from_slice(&self.buffer[self.start..self.start + take]);
                self.header_filled += take;
                self.start += take;
                if self.header_filled == self.header_needed() {
                    let length = self.parse_header(limit)?;
                    self.body.clear();
                    self.body_filled = 0;
                    self.expected = Some(length);
                }
            }
            if let Some(length) = self.expected {
                let take = (length - self.body_filled).min(self.end - self.start);
                self.grow_body(self.body_filled + take, length);
                self.body[self.body_filled..self.body_filled + take]
                    .copy_from_slice(&self.buffer[self.start..self.start + take]);
                self.body_filled += take;
                self.start += take;
                if self.body_filled == length {
                    self.expected = None;
                    self.header_filled = 0;
                    self.body.truncate(length);
                    message.clear();
                    std::mem::swap(message, &mut self.body);
                    return Ok(());
                }
            }
            // A long header's first four bytes may have left the rest of it buffered.
            if !self.has_buffered() {
                self.fill(stream, read_size, deadline)?;
            }
        }
    }

    /// The length the complete header announces, if within `limit`.
    fn parse_header(&self, limit: usize) -> Result<usize, FrameError> {
        let short = i32::from_be_bytes(self.header[..4].try_into().expect("four bytes"));
        let length = match short {
            -1 => u64::from_be_bytes(self.header[4..].try_into().expect("eight bytes")),
            short if short >= 0 => short as u64,
            negative => {
                return Err(FrameError::Broken(Error::Socket(format!(
                    "malformed message header (length {negative})"
                ))))
            }
        };
        match usize::try_from(length) {
            Ok(length) if length <= limit => Ok(length),
            _ => Err(FrameError::Broken(Error::MessageTooLong { length, limit })),
        }
    }

    /// Makes room for at least `at_least` bytes of a body of `length`, growing by
    /// [`BODY_STEP`] at least (and never past `length`), so that each byte is zeroed once.
    fn grow_body(&mut self, at_least: usize, length: usize) {
        if self.body.len() < at_least {
            let grown = at_least.max(self.body.len() + BODY_STEP).min(length);
            self.body.resize(grown, 0);
        }
    }

    /// Reads more of the stream: into the body directly when a long one is missing more than
    /// the buffer holds, else into the buffer.
    fn fill(
        &mut self,
        stream: &SocketStream,
        read_size: usize,
        deadline: Deadline,
    ) -> Result<(), FrameError> {
        let read = |buffer: &mut [u8]| match stream.read(buffer, deadline) {
            Ok(count) => Ok(count),
            Err(Error::Timeout) => Err(FrameError::Timeout),
            Err(error) => Err(FrameError::Failed(error)),
        };
        debug_assert!(!self.has_buffered(), "reads only once the buffer is taken");
        let count = match self.expected {
            Some(length) if length - self.body_filled >= self.buffer.len() => {
                self.grow_body(self.body_filled + 1, length);
                let room = (self.body.len() - self.body_filled).min(read_size.max(1));
                let count = read(&mut self.body[self.body_filled..self.body_filled + room])?;
                self.body_filled += count;
                count
            }
            _ => {
                self.start = 0;
                self.end = 0;
                let room = self.buffer.len().min(read_size.max(1));
                let count = read(&mut self.buffer[..room])?;
                self.end = count;
                count
            }
        };
        if count > 0 {
            return Ok(());
        }
        if self.header_filled == 0 && self.expected.is_none() {
            Err(FrameError::Eof)
        } else {
            Err(FrameError::Broken(Error::Socket(
                "the peer closed the connection in the middle of a message".to_owned(),
            )))
        }
    }
}
