//! [`NamespaceProxy`]: Python's `manager.Namespace()`, named attributes served by a manager;
//! and [`ValueProxy`]: Python's `manager.Value()`, one value.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::channel::Session;
use super::protocol::{Method, Request};
use super::proxy::{
    decode, decode_found, deserialize_remote, encode, remote_calls, serialize_remote, Remote,
};
use crate::Error;

/// Named attributes served by a [`Manager`](super::Manager): Python's `manager.Namespace()`.
///
/// Each attribute holds a serde value of its own type; reading one that is not there is
/// [`Error::KeyNotFound`] (Python's `AttributeError`). A proxy is a small token, passed to
/// children like any other; every call has blocking, `_timeout` and `_async` forms.
///
/// # Examples
///
/// ```
/// let manager = amphi::process::Manager::start()?;
/// let settings = manager.namespace()?;
/// settings.set("rounds", &3u32)?;
/// settings.set("name", &"trial")?;
/// assert_eq!(settings.get::<u32>("rounds")?, 3);
/// assert_eq!(settings.names()?, ["rounds", "name"]);
/// assert!(matches!(settings.get::<u32>("missing"), Err(amphi::Error::KeyNotFound(_))));
/// # Ok::<(), amphi::Error>(())
/// ```
#[derive(Clone)]
pub struct NamespaceProxy {
    remote: Arc<Remote>,
}

impl NamespaceProxy {
    pub(crate) fn from_remote(remote: Arc<Remote>) -> NamespaceProxy {
        NamespaceProxy { remote }
    }

    fn session(&self) -> &Session {
        &self.remote.session
    }

    fn method(&self, method: Method) -> Request {
        self.remote.method(method)
    }

    remote_calls! {
        /// The attribute `name`, as a `T`; [`Error::KeyNotFound`] if it is not set.
        fn get, get_timeout, get_async[T: DeserializeOwned](&self, name: &str) -> T {
            request: self.method(Method::Get { key: name.into() }),
            reply: |reply| decode_found(reply)?.ok_or_else(|| Error::KeyNotFound(name.to_owned()))
        }

        /// Sets the attribute `name` to `value`.
        fn set, set_timeout, set_async[T: Serialize + ?Sized](&self, name: &str, value: &T) -> () {
            request: self.method(Method::Insert { key: name.into(), value: encode(value)? }),
            reply: |reply| decode::<serde_json::Value>(reply).map(drop)
        }

        /// Removes the attribute `name` (Python's `del ns.name`); [`Error::KeyNotFound`] if it
        /// is not set.
        fn remove, remove_timeout, remove_async(&self, name: &str) -> () {
            request: self.method(Method::Remove { key: name.into() }),
            reply: |reply| decode_found::<serde_json::Value>(reply)?
                .map(drop)
                .ok_or_else(|| Error::KeyNotFound(name.to_owned()))
        }

        /// Whether the attribute `name` is set (Python's `hasattr`).
        fn contains, contains_timeout, contains_async(&self, name: &str) -> bool {
            request: self.method(Method::Contains { key: name.into() }),
            reply: |reply| decode(reply)
        }

        /// The names of the attributes, in the order they were first set.
        fn names, names_timeout, names_async(&self) -> Vec<String> {
            request: self.method(Method::Keys),
            reply: |reply| decode(reply)
        }
    }
}

impl fmt::Debug for NamespaceProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("NamespaceProxy").field(&self.remote).finish()
    }
}

impl Serialize for NamespaceProxy {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_remote(&self.remote, serializer)
    }
}

impl<'de> Deserialize<'de> for NamespaceProxy {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserialize_remote(deserializer).map(NamespaceProxy::from_remote)
    }
}

/// One value served by a [`Manager`](super::Manager): Python's `manager.Value()`, of any serde
/// type, with server-side [`add`](ValueProxy::add) and
/// [`compare_and_set`](ValueProxy::compare_and_set). (Within a process tree, the shared-memory
/// [`process::Value`](crate::process::Value) is faster for numbers.)
///
/// # Examples
///
/// ```
/// let manager = amphi::process::Manager::start()?;
/// let total = manager.value(10i64)?;
/// assert_eq!(total.add(&5)?, 15);
/// assert!(total.compare_and_set(&15, &0)?);
/// assert_eq!(total.get()?, 0);
/// # Ok::<(), amphi::Error>(())
/// ```
pub struct ValueProxy<T> {
    remote: Arc<Remote>,
    value: PhantomData<fn(T) -> T>,
}

impl<T> ValueProxy<T> {
    pub(crate) fn from_remote(remote: Arc<Remote>) -> ValueProxy<T> {
        ValueProxy {
            remote,
            value: PhantomData,
        }
    }

    fn session(&self) -> &Session {
        &self.remote.session
    }

    fn method(&self, method: Method) -> Request {
        self.remote.method(method)
    }
}

impl<T: Serialize + DeserializeOwned> ValueProxy<T> {
    remote_calls! {
        /// The value.
        fn get, get_timeout, get_async(&self) -> T {
            request: self.method(Method::Load),
            reply: |reply| decode(reply)
        }

        /// Sets the value.
        fn set, set_timeout, set_async(&self, value: &T) -> () {
            request: self.method(Method::Store { value: encode(value)? }),
            reply: |reply| decode(reply)
        }

        /// Adds `delta` to the number in the server, atomically; the sum.
        fn add, add_timeout, add_async(&self, delta: &T) -> T {
            request: self.method(Method::Add { key: serde_json::Value::Null, delta: encode(delta)? }),
            reply: |reply| decode(reply)
        }

        /// Sets the value to `new` if it equals `expected`, atomically; whether it did.
        fn compare_and_set, compare_and_set_timeout, compare_and_set_async(&self, expected: &T, new: &T) -> bool {
            request: self.method(Method::CompareAndSet {
                key: serde_json::Value::Null,
                expected: vec![encode(expected)?],
                new: encode(new)?,
            }),
            reply: |reply| decode(reply)
        }
    }
}

impl<T> Clone for ValueProxy<T> {
    fn clone(&self) -> Self {
        ValueProxy::from_remote(Arc::clone(&self.remote))
    }
}

impl<T> fmt::Debug for ValueProxy<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ValueProxy").field(&self.remote).finish()
    }
}

impl<T> Serialize for ValueProxy<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_remote(&self.remote, serializer)
    }
}

impl<'de, T> Deserialize<'de> for ValueProxy<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserialize_remote(deserializer).map(ValueProxy::from_remote)
    }
}
