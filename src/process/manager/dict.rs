//! [`DictProxy`]: Python's `DictProxy`, a dict served by a manager, and [`ProxyIter`], the
//! iterator over a served dict or list that fails once the container changed size.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::hash::Hash;
use std::marker::PhantomData;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::channel::Session;
use super::protocol::Method;
use super::proxy::{
    decode, decode_found, deserialize_remote, encode, remote_calls, serialize_remote, Remote,
};
use crate::time::Deadline;
use crate::Error;

/// How many entries an [`ProxyIter`] fetches per call.
const CHUNK: usize = 64;

/// The marker of a proxy's key and value types: invariant in both, and `Send` and `Sync`
/// whatever they are (a proxy holds no `K` or `V`).
type Entry<K, V> = fn((K, V)) -> (K, V);

/// A dict served by a [`Manager`](super::Manager): Python's `manager.dict()`.
///
/// Keys and values are serde types, stored in the server as JSON, in insertion order. A
/// proxy is a small token: clone it, or pass it to children as (part of) a process's
/// arguments, and every copy is the same dict. Each call is one round trip to the server, so a
/// read-modify-write made of two calls races with other processes: use the server-side
/// [`add`](DictProxy::add) and [`compare_and_set`](DictProxy::compare_and_set), or a lock.
/// Every call has blocking, `_timeout` and `_async` forms.
///
/// A value may be another proxy (a dict of lists): the dict then keeps the list alive, and a
/// write through a list taken from it is seen by every process, as in Python.
///
/// # Examples
///
/// ```
/// let manager = amphi::process::Manager::start()?;
/// let ages = manager.dict::<String, u32>()?;
/// ages.insert(&"ada".into(), &36)?;
/// assert_eq!(ages.get(&"ada".into())?, Some(36));
/// assert_eq!(ages.add(&"ada".into(), &1)?, 37);
/// assert_eq!(ages.len()?, 1);
/// # Ok::<(), amphi::Error>(())
/// ```
pub struct DictProxy<K, V> {
    remote: Arc<Remote>,
    types: PhantomData<Entry<K, V>>,
}

impl<K, V> DictProxy<K, V> {
    pub(crate) fn from_remote(remote: Arc<Remote>) -> DictProxy<K, V> {
        DictProxy {
            remote,
            types: PhantomData,
        }
    }

    fn session(&self) -> &Session {
        &self.remote.session
    }

    fn method(&self, method: Method) -> crate::process::manager::protocol::Request {
        self.remote.method(method)
    }
}

impl<K, V> DictProxy<K, V>
where
    K: Serialize + DeserializeOwned + Eq + Hash,
    V: Serialize + DeserializeOwned,
{
    remote_calls! {
        /// The value of `key`, `None` when absent.
        fn get, get_timeout, get_async(&self, key: &K) -> Option<V> {
            request: self.method(Method::Get { key: encode(key)? }),
            reply: |reply| decode_found(reply)
        }

        /// The value of `key`, or [`Error::KeyNotFound`] (Python's `d[key]`).
        fn item, item_timeout, item_async(&self, key: &K) -> V {
            request: self.method(Method::Get { key: encode(key)? }),
            reply: |reply| decode_found(reply)?.ok_or_else(|| {
                Error::KeyNotFound(serde_json::to_string(key).unwrap_or_default())
            })
        }

        /// Sets `key` to `value`; the old value, if there was one.
        fn insert, insert_timeout, insert_async(&self, key: &K, value: &V) -> Option<V> {
            request: self.method(Method::Insert { key: encode(key)?, value: encode(value)? }),
            reply: |reply| decode_found(reply)
        }

        /// Removes `key`; its value, if it was there (Python's `pop(key, None)`).
        fn remove, remove_timeout, remove_async(&self, key: &K) -> Option<V> {
            request: self.method(Method::Remove { key: encode(key)? }),
            reply: |reply| decode_found(reply)
        }

        /// Whether `key` is there (Python's `key in d`).
        fn contains_key, contains_key_timeout, contains_key_async(&self, key: &K) -> bool {
            request: self.method(Method::Contains { key: encode(key)? }),
            reply: |reply| decode(reply)
        }

        /// The number of entries.
        fn len, len_timeout, len_async(&self) -> usize {
            request: self.method(Method::Len),
            reply: |reply| decode(reply)
        }

        /// Whether the dict is empty.
        fn is_empty, is_empty_timeout, is_empty_async(&self) -> bool {
            request: self.method(Method::Len),
            reply: |reply| Ok(decode::<usize>(reply)? == 0)
        }

        /// The keys, in insertion order (a snapshot, as Python's proxy `keys()` is a list).
        fn keys, keys_timeout, keys_async(&self) -> Vec<K> {
            request: self.method(Method::Keys),
            reply: |reply| decode(reply)
        }

        /// The values, in insertion order.
        fn values, values_timeout, values_async(&self) -> Vec<V> {
            request: self.method(Method::Values),
            reply: |reply| decode(reply)
        }

        /// The entries, in insertion order.
        fn items, items_timeout, items_async(&self) -> Vec<(K, V)> {
            request: self.method(Method::Items),
            reply: |reply| decode(reply)
        }

        /// A copy of the dict, here (Python's `copy()`, which returns a plain dict).
        fn copy, copy_timeout, copy_async(&self) -> HashMap<K, V> {
            request: self.method(Method::Items),
            reply: |reply| Ok(decode::<Vec<(K, V)>>(reply)?.into_iter().collect())
        }

        /// Removes every entry.
        fn clear, clear_timeout, clear_async(&self) -> () {
            request: self.method(Method::Clear),
            reply: |reply| decode(reply)
        }

        /// Inserts every pair of `entries`, in order, in one call.
        fn update, update_timeout, update_async(&self, entries: &[(K, V)]) -> () {
            request: self.method(Method::Update {
                items: entries
                    .iter()
                    .map(|(key, value)| Ok((encode(key)?, encode(value)?)))
                    .collect::<Result<_, Error>>()?,
            }),
            reply: |reply| decode(reply)
        }

        /// Adds `delta` to the number at `key` (0 when absent) in the server, atomically, and
        /// returns the sum: a counter that races with nobody. [`Error::Remote`] if the value
        /// is not a number.
        fn add, add_timeout, add_async(&self, key: &K, delta: &V) -> V {
            request: self.method(Method::Add { key: encode(key)?, delta: encode(delta)? }),
            reply: |reply| decode(reply)
        }

        /// Sets `key` to `new` if it holds `expected` now (`None`: if it is absent), in the
        /// server, atomically; whether it did.
        fn compare_and_set, compare_and_set_timeout, compare_and_set_async(
            &self,
            key: &K,
            expected: Option<&V>,
            new: &V
        ) -> bool {
            request: self.method(Method::CompareAndSet {
                key: encode(key)?,
                expected: expected.map(encode).transpose()?.into_iter().collect(),
                new: encode(new)?,
            }),
            reply: |reply| decode(reply)
        }
    }

    /// An iterator over the entries, fetched in chunks; an item is [`Error::ChangedSize`]
    /// once the dict gained or lost entries since the iteration began (Python's
    /// `RuntimeError`), and the iteration ends after it. The size is checked with each chunk
    /// fetched, the last (empty) one included, so a change is always reported before the
    /// iteration ends.
    ///
    /// # Examples
    ///
    /// ```
    /// let manager = amphi::process::Manager::start()?;
    /// let squares = manager.dict::<u32, u32>()?;
    /// squares.update(&[(1, 1), (2, 4)])?;
    /// let mut entries = squares.iter();
    /// assert_eq!(entries.next(), Some(Ok((1, 1))));
    /// squares.insert(&3, &9)?;
    /// let rest: Vec<_> = entries.collect();
    /// assert_eq!(rest.last(), Some(&Err(amphi::Error::ChangedSize)));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn iter(&self) -> ProxyIter<(K, V)> {
        ProxyIter::new(Arc::clone(&self.remote))
    }
}

impl<K, V> Clone for DictProxy<K, V> {
    fn clone(&self) -> Self {
        DictProxy::from_remote(Arc::clone(&self.remote))
    }
}

impl<K, V> fmt::Debug for DictProxy<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DictProxy").field(&self.remote).finish()
    }
}

impl<K, V> Serialize for DictProxy<K, V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_remote(&self.remote, serializer)
    }
}

impl<'de, K, V> Deserialize<'de> for DictProxy<K, V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserialize_remote(deserializer).map(DictProxy::from_remote)
    }
}

/// An iterator over a served dict's entries or a list's items (see [`DictProxy::iter`] and
/// [`ListProxy::iter`](super::ListProxy::iter)): fetched [`CHUNK`] at a time with blocking
/// calls, each item a `Result`: [`Error::ChangedSize`] once the container changed size since
/// the first chunk (checked as each chunk is fetched, the last, empty one included), [`Error::ManagerGone`] and the like as any call's; it ends after an error.
pub struct ProxyIter<T> {
    remote: Arc<Remote>,
    position: usize,
    version: Option<u64>,
    fetched: VecDeque<Value>,
    finished: bool,
    item: PhantomData<fn() -> T>,
}

impl<T> ProxyIter<T> {
    pub(crate) fn new(remote: Arc<Remote>) -> ProxyIter<T> {
        ProxyIter {
            remote,
            position: 0,
            version: None,
            fetched: VecDeque::new(),
            finished: false,
            item: PhantomData,
        }
    }

    fn fetch(&mut self) -> Result<(), Error> {
        #[derive(Deserialize)]
        struct Chunk {
            version: u64,
            items: Vec<Value>,
        }
        let request = self.remote.method(Method::Chunk {
            start: self.position,
            count: CHUNK,
            version: self.version,
        });
        let chunk: Chunk = decode(self.remote.session.call(&request, Deadline::NEVER)?)?;
        self.version = Some(chunk.version);
        self.position += chunk.items.len();
        self.fetched.extend(chunk.items);
        Ok(())
    }
}

impl<T: DeserializeOwned> Iterator for ProxyIter<T> {
    type Item = Result<T, Error>;

    fn next(&mut self) -> Option<Result<T, Error>> {
        if self.finished {
            return None;
        }
        if self.fetched.is_empty() {
            // Until a fetch comes back empty: the last one also checks the size.
            if let Err(error) = self.fetch() {
                self.finished = true;
                return Some(Err(error));
            }
            if self.fetched.is_empty() {
                self.finished = true;
                return None;
            }
        }
        self.fetched.pop_front().map(decode)
    }
}

impl<T> fmt::Debug for ProxyIter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyIter")
            .field("remote", &self.remote)
            .field("position", &self.position)
            .finish()
    }
}
