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

/// The calls that create a served object and return its proxy, in their three forms
/// ([`remote_calls`]): `dict`, `dict_from`, `list`, `list_from`, `namespace`, `value`, and
/// `stats`. Written once for every kind of manager handle (`Manager` in the process tree,
/// `SocketManager` over a socket); the type must have `session(&self) -> &Session` and
/// `proxy(&self, reply) -> Result<Arc<Remote>, Error>`.
macro_rules! object_constructors {
    () => {
        $crate::process::manager::proxy::remote_calls! {
            /// A new, empty dict (Python's `manager.dict()`).
            fn dict, dict_timeout, dict_async[K, V](&self) -> $crate::process::DictProxy<K, V> {
                request: $crate::process::manager::protocol::Request::Create {
                    kind: $crate::process::manager::protocol::Kind::Dict,
                    init: serde_json::Value::Null,
                },
                reply: |reply| self.proxy(reply).map($crate::process::DictProxy::from_remote)
            }

            /// A new dict holding `entries` (Python's `manager.dict(pairs)`).
            fn dict_from, dict_from_timeout, dict_from_async[K: serde::Serialize, V: serde::Serialize](
                &self,
                entries: &[(K, V)]
            ) -> $crate::process::DictProxy<K, V> {
                request: $crate::process::manager::protocol::Request::Create {
                    kind: $crate::process::manager::protocol::Kind::Dict,
                    init: entries
                        .iter()
                        .map(|(key, value)| {
                            Ok(serde_json::Value::Array(vec![
                                $crate::process::manager::proxy::encode(key)?,
                                $crate::process::manager::proxy::encode(value)?,
                            ]))
                        })
                        .collect::<Result<serde_json::Value, $crate::Error>>()?,
                },
                reply: |reply| self.proxy(reply).map($crate::process::DictProxy::from_remote)
            }

            /// A new, empty list (Python's `manager.list()`).
            fn list, list_timeout, list_async[T](&self) -> $crate::process::ListProxy<T> {
                request: $crate::process::manager::protocol::Request::Create {
                    kind: $crate::process::manager::protocol::Kind::List,
                    init: serde_json::Value::Null,
                },
                reply: |reply| self.proxy(reply).map($crate::process::ListProxy::from_remote)
            }

            /// A new list holding `items` (Python's `manager.list(items)`).
            fn list_from, list_from_timeout, list_from_async[T: serde::Serialize](
                &self,
                items: &[T]
            ) -> $crate::process::ListProxy<T> {
                request: $crate::process::manager::protocol::Request::Create {
                    kind: $crate::process::manager::protocol::Kind::List,
                    init: $crate::process::manager::proxy::encode(items)?,
                },
                reply: |reply| self.proxy(reply).map($crate::process::ListProxy::from_remote)
            }

            /// A new namespace with no attributes (Python's `manager.Namespace()`).
            fn namespace, namespace_timeout, namespace_async(&self) -> $crate::process::NamespaceProxy {
                request: $crate::process::manager::protocol::Request::Create {
                    kind: $crate::process::manager::protocol::Kind::Namespace,
                    init: serde_json::Value::Null,
                },
                reply: |reply| self.proxy(reply).map($crate::process::NamespaceProxy::from_remote)
            }

            /// A new value holding `initial` (Python's `manager.Value(typecode, value)`).
            fn value, value_timeout, value_async[T: serde::Serialize + serde::de::DeserializeOwned](
                &self,
                initial: T
            ) -> $crate::process::ValueProxy<T> {
                request: $crate::process::manager::protocol::Request::Create {
                    kind: $crate::process::manager::protocol::Kind::Value,
                    init: $crate::process::manager::proxy::encode(&initial)?,
                },
                reply: |reply| self.proxy(reply).map($crate::process::ValueProxy::from_remote)
            }

            /// The server's numbers: the objects alive and the clients (connections) it knows.
            fn stats, stats_timeout, stats_async(&self) -> $crate::process::ManagerStats {
                request: $crate::process::manager::protocol::Request::Stats,
                reply: |reply| $crate::process::manager::proxy::decode(reply)
            }
        }
    };
}

pub(crate) use object_constructors;

impl Remote {
    /// The proxy's handle on the object a `Create` request's `reply` names.
    pub(crate) fn created(session: &Arc<Session>, reply: Value) -> Result<Arc<Remote>, Error> {
        Ok(Arc::new(Remote {
            session: Arc::clone(session),
            id: decode(reply)?,
        }))
    }
}
