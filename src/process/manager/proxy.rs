//! What every proxy is made of: a [`Remote`] (the session and the object's id, whose last
//! drop releases the client's reference), its token, and the macro that gives each call its
//! blocking, `_timeout` and `_async` forms from one request and one decoding.

use std::fmt;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::channel::{Address, Session};
use super::protocol::{Method, Request};
use crate::Error;

/// One reference of this process to a served object; dropping the last clone of its `Arc`
/// tells the server.
pub(crate) struct Remote {
    pub(crate) session: Arc<Session>,
    pub(crate) id: u64,
}

impl Remote {
    /// The request calling `method` on this object.
    pub(crate) fn method(&self, method: Method) -> Request {
        Request::Call {
            id: self.id,
            method,
        }
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        self.session.post(&Request::Decref { id: self.id });
    }
}

impl fmt::Debug for Remote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Remote")
            .field("id", &self.id)
            .field("manager", self.session.address())
            .finish()
    }
}

/// What a proxy travels as: `{"amphi-manager-proxy": [id, address]}`.
#[derive(Serialize, Deserialize)]
struct Token {
    #[serde(rename = "amphi-manager-proxy")]
    proxy: (u64, Address),
}

/// Serialises a proxy as its token, counting it in transit first.
pub(crate) fn serialize_remote<S: Serializer>(
    remote: &Remote,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    remote.session.post(&Request::Incref { id: remote.id });
    Token {
        proxy: (remote.id, remote.session.address().clone()),
    }
    .serialize(serializer)
}

/// Opens a proxy from its token: this process's session with its manager, and one
/// reference adopted from transit.
pub(crate) fn deserialize_remote<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Arc<Remote>, D::Error> {
    let Token {
        proxy: (id, address),
    } = Token::deserialize(deserializer)?;
    let session = Session::to(&address).map_err(serde::de::Error::custom)?;
    session.post(&Request::Adopt { id });
    Ok(Arc::new(Remote { session, id }))
}

/// `value` as JSON, for a request.
pub(crate) fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Value, Error> {
    serde_json::to_value(value).map_err(|err| Error::Encode(err.to_string()))
}

/// A reply as a `T`.
pub(crate) fn decode<T: DeserializeOwned>(value: Value) -> Result<T, Error> {
    serde_json::from_value(value).map_err(|err| Error::Decode(err.to_string()))
}

/// A reply of `[]` or `[value]` as an `Option<T>`.
pub(crate) fn decode_found<T: DeserializeOwned>(value: Value) -> Result<Option<T>, Error> {
    let mut found: Vec<Value> = decode(value)?;
    found.pop().map(decode).transpose()
}

/// Generates, for each call, its three forms: `name` (blocking; [`Error::WouldBlock`] on the
/// browser's main thread), `name_timeout` ([`Error::Timeout`] after `timeout`) and
/// `name_async` (a future, on any thread). Each call is written once: `request` builds the
/// [`Request`] from the arguments (`?` allowed), `reply` turns the reply's JSON into the result.
/// The type must have a `session(&self) -> &Session`.
macro_rules! remote_calls {
    ($(
        $(#[$doc:meta])*
        fn $name:ident, $timeout:ident, $asynced:ident $([$($generics:tt)*])?
            (&$this:ident $(, $arg:ident : $ty:ty)*) -> $out:ty
        { request: $request:expr, reply: |$reply:ident| $decode:expr $(,)? }
    )*) => {$(
        $(#[$doc])*
        pub fn $name $(<$($generics)*>)? (&$this $(, $arg: $ty)*) -> Result<$out, crate::Error> {
            #[allow(clippy::redundant_closure_call)]
            let request = (|| -> Result<_, crate::Error> { Ok($request) })()?;
            let $reply = $this.session().call(&request, crate::time::Deadline::NEVER)?;
            $decode
        }

        #[doc = concat!("[`", stringify!($name), "`](Self::", stringify!($name),
            "), giving up after `timeout` with [`Error::Timeout`](crate::Error::Timeout).")]
        pub fn $timeout $(<$($generics)*>)? (&$this $(, $arg: $ty)*, timeout: std::time::Duration)
            -> Result<$out, crate::Error>
        {
            #[allow(clippy::redundant_closure_call)]
            let request = (|| -> Result<_, crate::Error> { Ok($request) })()?;
            let $reply = $this.session().call(&request, crate::time::Deadline::after(timeout))?;
            $decode
        }

        #[doc = concat!("[`", stringify!($name), "`](Self::", stringify!($name),
            ") without blocking the thread (also on the browser's main thread).")]
        pub async fn $asynced $(<$($generics)*>)? (&$this $(, $arg: $ty)*) -> Result<$out, crate::Error> {
            #[allow(clippy::redundant_closure_call)]
            let request = (|| -> Result<_, crate::Error> { Ok($request) })()?;
            let $reply = $this.session().call_async(&request).await?;
            $decode
        }
    )*};
}

pub(crate) use remote_calls;
