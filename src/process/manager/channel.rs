//! The client's side of the boundary: [`Channel`], the one small trait a client reaches its
//! server through, and [`Session`], the typed requests every proxy makes over it.
//!
//! A channel carries the bytes of a request (the JSON of a `protocol::Request`) and brings
//! back the bytes of its reply; it knows nothing of objects. The process tree's channel is
//! `rings::RingChannel`; an authenticated socket's is `socket::SocketChannel` (natively), the
//! other variant of [`Transport`] (an enum rather than a trait object, so that the `_async` forms'
//! futures are `Send` where the platform's are), and the proxies need not change: they hold an
//! `Arc<Session>`, and a session a [`Transport`].

use std::sync::{Arc, Mutex, Weak};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::protocol::{Reply, Request};
use super::rings::{self, RingAddress};
use super::socket::SocketChannel;
use crate::time::Deadline;
use crate::Error;

/// How a client reaches its server: requests in, replies out, as bytes.
///
/// Every failure of the transport itself (the server died or shut down, the channel broke) is
/// [`Error::ManagerGone`]; [`Error::Timeout`] when `deadline` passes first (the channel then
/// forgets the call: its late reply is never mistaken for another's); [`Error::WouldBlock`]
/// from [`call`](Channel::call) on a thread that may not block, before anything is sent.
pub(crate) trait Channel: Send + Sync {
    /// Sends `request` and waits for its reply.
    fn call(&self, request: &[u8], deadline: Deadline) -> Result<Vec<u8>, Error>;
    /// Sends `request` and completes with its reply, without blocking the thread.
    async fn call_async(&self, request: Vec<u8>) -> Result<Vec<u8>, Error>;
    /// Sends a request that has no reply (a reference count), not waiting for the server;
    /// lost if the server is gone.
    fn post(&self, request: &[u8]);
}

/// Where a manager is: what a token names, so that any process can reach it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Address {
    /// A manager of this process tree, reached through the shared region's rings.
    Rings(RingAddress),
    /// A manager served over an authenticated socket, at this address (its text form).
    Socket(String),
}

/// The channels a session may speak through, one variant per transport.
pub(crate) enum Transport {
    /// Inside the process tree (boxed: its connection pools make it the larger variant).
    Rings(Box<rings::RingChannel>),
    /// Over an authenticated socket, from any process holding the key.
    Socket(SocketChannel),
}

impl Transport {
    /// Whether the channel is known to be broken (a socket whose server closed it), so that
    /// a new session to the same address opens a new one.
    fn is_broken(&self) -> bool {
        match self {
            Transport::Rings(_) => false,
            Transport::Socket(channel) => channel.is_broken(),
        }
    }
}

impl Channel for Transport {
    fn call(&self, request: &[u8], deadline: Deadline) -> Result<Vec<u8>, Error> {
        match self {
            Transport::Rings(channel) => channel.call(request, deadline),
            Transport::Socket(channel) => channel.call(request, deadline),
        }
    }

    async fn call_async(&self, request: Vec<u8>) -> Result<Vec<u8>, Error> {
        match self {
            Transport::Rings(channel) => channel.call_async(request).await,
            Transport::Socket(channel) => channel.call_async(request).await,
        }
    }

    fn post(&self, request: &[u8]) {
        match self {
            Transport::Rings(channel) => channel.post(request),
            Transport::Socket(channel) => channel.post(request),
        }
    }
}

/// A client's session with one manager: the channel, and the typed requests over it.
pub(crate) struct Session {
    address: Address,
    channel: Transport,
}

/// The sessions of this process, one per manager it talks to.
static SESSIONS: Mutex<Vec<Weak<Session>>> = Mutex::new(Vec::new());

impl Session {
    /// This process's session with the manager at `address`, opened if there is none.
    pub(crate) fn to(address: &Address) -> Result<Arc<Session>, Error> {
        let mut sessions = SESSIONS.lock().unwrap_or_else(|poison| poison.into_inner());
        sessions.retain(|session| session.strong_count() > 0);
        if let Some(session) = sessions
            .iter()
            .filter_map(Weak::upgrade)
            .find(|session| session.address == *address && !session.channel.is_broken())
        {
            return Ok(session);
        }
        let channel = match address {
            Address::Rings(rings) => Transport::Rings(Box::new(rings::RingChannel::open(rings)?)),
            Address::Socket(address) => Transport::Socket(SocketChannel::open(address)?),
        };
        let session = Arc::new(Session {
            address: address.clone(),
            channel,
        });
        sessions.push(Arc::downgrade(&session));
        Ok(session)
    }

    /// The manager's address.
    pub(crate) fn address(&self) -> &Address {
        &self.address
    }

    /// Sends `request` and decodes its reply, waiting until `deadline`.
    pub(crate) fn call(&self, request: &Request, deadline: Deadline) -> Result<Value, Error> {
        let bytes = encode_request(request)?;
        decode_reply(&self.channel.call(&bytes, deadline)?)
    }

    /// Sends `request` and decodes its reply, without blocking the thread.
    pub(crate) async fn call_async(&self, request: &Request) -> Result<Value, Error> {
        let bytes = encode_request(request)?;
        decode_reply(&self.channel.call_async(bytes).await?)
    }

    /// Sends a request that has no reply.
    pub(crate) fn post(&self, request: &Request) {
        if let Ok(bytes) = encode_request(request) {
            self.channel.post(&bytes);
        }
    }
}

/// A request as the bytes every transport carries.
pub(super) fn encode_request(request: &Request) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(request).map_err(|err| Error::Encode(err.to_string()))
}

/// The server's answer to a call: its value, or its refusal as an [`Error`].
pub(super) fn decode_reply(bytes: &[u8]) -> Result<Value, Error> {
    match serde_json::from_slice::<Reply>(bytes) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(refusal)) => Err(refusal.into()),
        Err(err) => Err(Error::Decode(format!(
            "not a valid reply from the manager: {err}"
        ))),
    }
}
