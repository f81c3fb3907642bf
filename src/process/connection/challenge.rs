//! The mutual challenge-response of CPython's `multiprocessing.connection` (its protocol since
//! Python 3.12, with HMAC-SHA256): [`deliver_challenge`] and [`answer_challenge`].

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{AuthKey, SocketConnection};
use crate::time::Deadline;
use crate::{sys, Error};

/// The longest message either end accepts before the handshake completes, in bytes (Python's
/// `recv_bytes(256)`).
pub const HANDSHAKE_MESSAGE_LIMIT: usize = 256;

/// How many bytes a handshake reads from the socket at a time: a message of the limit and its
/// longest header.
const HANDSHAKE_READ_SIZE: usize = HANDSHAKE_MESSAGE_LIMIT + 12;

const CHALLENGE: &[u8] = b"#CHALLENGE#";
const WELCOME: &[u8] = b"#WELCOME#";
const FAILURE: &[u8] = b"#FAILURE#";
/// The digest every challenge names, and every answer repeats.
const DIGEST: &[u8] = b"{sha256}";
/// The random part of a challenge (CPython's `MESSAGE_LENGTH`).
const RANDOM_LENGTH: usize = 40;
/// The length of a challenge from Python 3.11 and earlier, which answer with HMAC-MD5 only.
const LEGACY_CHALLENGE_LENGTH: usize = 20;
/// The length of an HMAC-MD5 answer from Python 3.11 and earlier.
const LEGACY_ANSWER_LENGTH: usize = 16;

type HmacSha256 = Hmac<Sha256>;

fn keyed(authkey: &AuthKey, message: &[u8]) -> HmacSha256 {
    let mut mac =
        HmacSha256::new_from_slice(authkey.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(message);
    mac
}

/// Challenges the peer to prove it holds `authkey` (the listener's side first, then the
/// client's): sends `#CHALLENGE#{sha256}` and 40 random bytes, checks the answer, and tells
/// the peer `#WELCOME#` or `#FAILURE#`.
///
/// [`Error::AuthenticationFailed`] if the answer is wrong (the keys differ) or malformed, or
/// the peer does not answer within `timeout`, sends more than [`HANDSHAKE_MESSAGE_LIMIT`]
/// bytes, or closes. [`Listener::accept`](super::Listener::accept) and
/// [`Client::connect`](super::Client::connect) run both halves of the handshake; these are
/// public for a program that runs its own.
pub fn deliver_challenge(
    connection: &SocketConnection,
    authkey: &AuthKey,
    timeout: Duration,
) -> Result<(), Error> {
    deliver(connection, authkey, Deadline::after(timeout))
}

/// Answers the peer's challenge with `authkey` (the client's side first, then the
/// listener's): the HMAC-SHA256 of the challenge, then waits for `#WELCOME#`.
///
/// [`Error::AuthenticationFailed`] if the peer rejects the answer (the keys differ), asks for
/// something else than CPython's modern challenge (Python 3.11's HMAC-MD5 challenge is
/// refused: this end never answers with MD5), or does not complete within `timeout`.
pub fn answer_challenge(
    connection: &SocketConnection,
    authkey: &AuthKey,
    timeout: Duration,
) -> Result<(), Error> {
    answer(connection, authkey, Deadline::after(timeout))
}

/// A handshake message, of at most [`HANDSHAKE_MESSAGE_LIMIT`] bytes, read a few hundred bytes
/// at a time; every failure is an authentication failure that says what happened.
fn receive(connection: &SocketConnection, deadline: Deadline) -> Result<Vec<u8>, Error> {
    let mut message = Vec::new();
    connection
        .receive_limited(
            &mut message,
            HANDSHAKE_MESSAGE_LIMIT,
            HANDSHAKE_READ_SIZE,
            deadline,
        )
        .map_err(|error| {
            Error::AuthenticationFailed(match error {
                Error::Timeout => "the peer did not complete the handshake in time".to_owned(),
                Error::Eof | Error::Closed => {
                    "the peer closed the connection during the handshake".to_owned()
                }
                Error::MessageTooLong { length, limit } => format!(
                    "the peer sent a message of {length} bytes before authenticating \
                     (at most {limit} are read)"
                ),
                other => format!("the handshake failed: {other}"),
            })
        })?;
    Ok(message)
}

fn send(connection: &SocketConnection, message: &[&[u8]]) -> Result<(), Error> {
    connection
        .send_bytes_vectored(message)
        .map_err(|error| Error::AuthenticationFailed(format!("the handshake failed: {error}")))
}

pub(super) fn deliver(
    connection: &SocketConnection,
    authkey: &AuthKey,
    deadline: Deadline,
) -> Result<(), Error> {
    let mut challenge = [0u8; DIGEST.len() + RANDOM_LENGTH];
    challenge[..DIGEST.len()].copy_from_slice(DIGEST);
    sys::fill_random(&mut challenge[DIGEST.len()..])?;
    send(connection, &[CHALLENGE, &challenge])?;
    let answer = receive(connection, deadline)?;
    match check_answer(authkey, &challenge, &answer) {
        Ok(()) => send(connection, &[WELCOME]),
        Err(why) => {
            // Tell the peer, as CPython does, so that it reports the failure too.
            let _ = connection.send_bytes(FAILURE);
            Err(Error::AuthenticationFailed(why))
        }
    }
}

/// Checks `answer` to `challenge`: `{sha256}` and the HMAC-SHA256 of the challenge, compared
/// in constant time. The reason in words otherwise.
fn check_answer(authkey: &AuthKey, challenge: &[u8], answer: &[u8]) -> Result<(), String> {
    let Some(mac) = answer.strip_prefix(DIGEST) else {
        return Err(if answer.len() == LEGACY_ANSWER_LENGTH {
            "the peer answered with HMAC-MD5 (Python 3.11 or earlier), which is not accepted: \
             use Python 3.12 or later"
                .to_owned()
        } else {
            "the peer's answer is not an HMAC-SHA256 ({sha256} prefix missing)".to_owned()
        });
    };
    keyed(authkey, challenge)
        .verify_slice(mac)
        .map_err(|_| "the peer's answer to our challenge is wrong: the keys differ".to_owned())
}

pub(super) fn answer(
    connection: &SocketConnection,
    authkey: &AuthKey,
    deadline: Deadline,
) -> Result<(), Error> {
    let message = receive(connection, deadline)?;
    let refuse = |why: &str| Err(Error::AuthenticationFailed(why.to_owned()));
    let Some(challenge) = message.strip_prefix(CHALLENGE) else {
        return refuse("the peer did not send a challenge (is it an amphi or Python listener?)");
    };
    if challenge.len() == LEGACY_CHALLENGE_LENGTH {
        return refuse(
            "the peer sent an HMAC-MD5 challenge (Python 3.11 or earlier), which is not \
             answered: use Python 3.12 or later",
        );
    }
    if !challenge.starts_with(DIGEST) || challenge.len() < DIGEST.len() + LEGACY_CHALLENGE_LENGTH {
        return refuse("the peer's challenge does not ask for HMAC-SHA256");
    }
    let mac = keyed(authkey, challenge).finalize().into_bytes();
    send(connection, &[DIGEST, &mac])?;
    let verdict = receive(connection, deadline)?;
    if verdict == WELCOME {
        Ok(())
    } else if verdict == FAILURE {
        refuse("the peer rejected our answer to its challenge: the keys differ")
    } else {
        refuse("the peer's reply to our answer is neither #WELCOME# nor #FAILURE#")
    }
}
